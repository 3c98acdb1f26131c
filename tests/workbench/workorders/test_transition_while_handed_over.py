"""Moving a work order on while a bank feed hands it to the customer's new RM: the transition
waits for the hand-over, then moves the work order as the hand-over left it (never a 404
`work_order.not_found` to a reader who sees it before and after). Two connections, sequenced
through PostgreSQL's lock table."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.locks import waits_for_a_lock
from tests.workbench.workorders.wo_setup import ADMIN, BH_EAST, Bench, user_id
from workbench.access import Caller
from workbench.db import use_json_codecs
from workbench.workorders import handover, service


@pytest.mark.parametrize("reader", [BH_EAST, ADMIN], ids=["branch head", "admin"])
async def test_a_transition_waits_for_the_hand_over_and_moves_the_work_order_on(
    bench: Bench, reader: Caller
) -> None:
    await bench.rule()
    _, opened = await bench.respond(
        answers={"score": 2}, now=datetime.now(UTC) - timedelta(hours=1)
    )
    assert opened is not None
    moving, moving_on = [await asyncpg.connect(bench.settings.database_url) for _ in range(2)]
    try:
        for conn in (moving, moving_on):
            await use_json_codecs(conn)
        tx = moving.transaction()
        await tx.start()  # the feed moved rm01's customer to rm02 (same team), not committed yet
        await moving.execute(
            "update customers set owner_id = $2 where id = $1", bench.customer, user_id("rm02")
        )
        moves = [(bench.customer, user_id("rm01"), user_id("rm02"))]
        assert await handover.hand_over_unfinished(moving, moves) == [opened]

        async def transition() -> Any:
            async with moving_on.transaction():
                return await service.transition(
                    moving_on, vault=bench.vault, caller=reader, work_order_id=opened,
                    to=service.State.IN_PROGRESS, note="已致电客户",
                )  # fmt: skip

        task = asyncio.create_task(transition())
        waited = await waits_for_a_lock(bench.conn, moving_on.get_server_pid(), task)
        await tx.commit()
        moved_on = await task
    finally:
        for conn in (moving, moving_on):
            await conn.close()
    assert waited  # the transition's lock waited for the hand-over, then saw it committed
    assert (moved_on.state, moved_on.assignee_id) == ("in_progress", user_id("rm02"))
    row = await bench.conn.fetchrow("select state, assignee_id from work_orders")
    assert tuple(row) == ("in_progress", user_id("rm02"))

"""The customer confirms a visit while the task's customer changes hands: the link stays valid
and the confirm answers as it would after the change, never as a link not found (the error page
for a forged one). Two connections, sequenced through PostgreSQL's lock table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.locks import waits_for_a_lock
from tests.tasks_data import user
from tests.workbench.tasks.test_confirmation import Visit, visit
from workbench.db import Pool, create_pool
from workbench.tasks import confirmation, handover
from workbench.tasks.confirmation import LinkState

__all__ = ["visit"]  # the fixture

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=4)
    yield made
    await made.close()


async def confirm_while(v: Visit, pool: Pool, change: Any) -> tuple[bool, LinkState, Any]:
    """`change` runs in a transaction left open while the customer confirms (`POST /c/{token}`:
    the link locked and read, then confirmed); whether the confirm waited for it, and what the
    confirm found."""
    token = (await v.request())["token"]
    changing, confirming = await pool.acquire(), await pool.acquire()
    try:
        tx = changing.transaction()
        await tx.start()
        await change(changing)

        async def confirm() -> tuple[LinkState, Any]:
            async with confirming.transaction():
                state, row = await confirmation.open_link(confirming, token=token, lock=True)
                if state is LinkState.OPEN and row is not None:
                    await confirmation.confirm(
                        confirming, vault=v.client.app.state.vault, row=row,
                        customer_location=None, radius_m=v.settings.confirmation_radius_m,
                        tz=v.settings.bank_timezone,
                    )  # fmt: skip
                return state, row

        task = asyncio.create_task(confirm())
        waited = await waits_for_a_lock(v.db, confirming.get_server_pid(), task)
        await tx.commit()
        state, row = await task
    finally:
        await pool.release(changing)
        await pool.release(confirming)
    return waited, state, row


async def confirmed_for(v: Visit, rm: str) -> None:
    """The task is done, still (or now) `rm`'s, and `rm` is told the customer confirmed."""
    task = await v.db.fetchrow("select status, assignee_id from tasks where id = $1", v.task)
    assert tuple(task) == ("done", user(rm))
    assert await v.db.fetchval("select used_at is not null from task_confirmations")
    told = await v.db.fetch("select user_id from notifications where category = 'task.confirmed'")
    assert [r["user_id"] for r in told] == [user(rm)]


async def test_a_feed_moving_the_customer_leaves_the_task_and_the_link_to_its_rm(
    visit: Visit, pool: Pool
) -> None:
    # The feed hands rm01's customer to rm02; a task awaiting the customer's confirmation is a
    # started one: it stays rm01's, and so does the link (the feed's hand-over has it wait for
    # nothing).
    async def move(conn: Any) -> None:
        await conn.execute(
            "update customers set owner_id = $2 where id = $1", visit.customer, user("rm02")
        )
        assert await handover.hand_over_pending(
            conn, [(visit.customer, user("rm01"), user("rm02"))]
        ) == []  # fmt: skip

    waited, state, row = await confirm_while(visit, pool, move)
    assert not waited
    assert state is LinkState.OPEN, state
    assert (row["assignee_id"], row["rm_name"]) == (user("rm01"), "张伟")
    await confirmed_for(visit, "rm01")


async def test_a_confirm_waits_for_the_task_handed_to_another_rm_and_confirms_it_for_them(
    visit: Visit, pool: Pool
) -> None:
    # The feed's hand-over moves pending tasks only; this is any change of an open task's
    # assignee (the lock and the read it answers with must not tell two versions of the task
    # apart): the link stays the task's, and the task is the new RM's to be told about.
    async def reassign(conn: Any) -> None:
        await conn.execute(
            "update tasks set assignee_id = $2, updated_at = now() where id = $1",
            visit.task,
            user("rm02"),
        )

    waited, state, row = await confirm_while(visit, pool, reassign)
    rm02 = await visit.db.fetchval("select name from users where id = $1", user("rm02"))
    assert waited  # the confirm's lock waited for the change, then saw it committed
    assert state is LinkState.OPEN, state  # not `invalid`: the page for a forged link
    assert (row["assignee_id"], row["rm_name"]) == (user("rm02"), rm02)
    await confirmed_for(visit, "rm02")

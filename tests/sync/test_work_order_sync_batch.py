"""A page of work orders is built in a fixed number of queries (`service.details`, one batch per
part), whatever its size, and shows each work order exactly as `service.detail` (the API's
GET /work-orders/{id}) does: only those in the reader's scope, a customer the reader may not see
as "*" with no answers, closed ones with their root cause, in the page's order; one out of scope
or gone is left out."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sync import entities
from tests.customers_data import customer_ids, customer_row, feed
from tests.workbench.workorders.wo_setup import BH_EAST, RM01, Bench, bench, close, unit_id, user_id
from workbench.ids import uuid7
from workbench.workorders import service

__all__ = ["bench"]

TEXT_KEYS = {"reason"}  # the text questions of wo_setup's NPS survey


class Counting:
    """A connection that counts the statements sent through it (as bench/sync.py's `_Timed`)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.statements: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def _counted(self, method: str, sql: str, *args: Any) -> Any:
        self.statements[method] += 1
        return await getattr(self._conn, method)(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._counted("fetch", sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._counted("fetchrow", sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._counted("fetchval", sql, *args)

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self._counted("execute", sql, *args)

    @property
    def total(self) -> int:
        return sum(self.statements.values())


async def _opened(bench: Bench, customer: uuid.UUID) -> uuid.UUID:
    """A low score of the customer with a text answer (24-hour rule): the work order it opened."""
    _, opened = await bench.respond(
        customer=customer, answers={"score": 2, "channel": "counter"},
        texts={"reason": "柜台排队太久，请回电 13812345678 说明情况，" * 3},
        now=datetime.now(UTC) - timedelta(hours=1),
    )  # fmt: skip
    assert opened is not None
    return opened


def _partition(bench: Bench, now: datetime) -> entities.Partition:
    return entities.Partition(caller=BH_EAST, vault=bench.vault, now=now)


async def test_the_batch_shows_each_work_order_in_scope_as_detail_does(bench: Bench) -> None:
    await bench.rule()
    await feed(bench.client, bench.admin, "customers",
               [customer_row("W-4", name="王五", owner="rm04", seq=3)])  # fmt: skip
    w4 = (await customer_ids(bench.conn, ["W-4"]))["W-4"]
    opened = await _opened(bench, bench.customer)  # rm01's (East Team 1)
    working = await _opened(bench, bench.customer)
    async with bench.conn.transaction():
        await service.transition(
            bench.conn, vault=bench.vault, caller=RM01, work_order_id=working,
            to=service.State.IN_PROGRESS, note="已致电客户",
        )  # fmt: skip
    closed = await _opened(bench, bench.customer)
    await close(bench, closed, RM01)
    hidden = await _opened(bench, w4)  # rm04's (East Team 2)
    west = await _opened(bench, bench.west_customer)  # rm05's (West Team 1): not bh.east's
    gone = uuid7()
    # rm04 moved to West Team 1 as an admin's change did before work orders followed it: their
    # customer leaves bh.east's reach, the work order stays with East Team 2.
    await bench.conn.execute(
        "update users set org_unit_id = $2, updated_at = now() where id = $1",
        user_id("rm04"), unit_id("team-west-1"),
    )  # fmt: skip

    now = datetime.now(UTC)
    asked = [west, hidden, gone, closed, opened, working]
    batch = await service.details(
        bench.conn, vault=bench.vault, caller=BH_EAST, work_order_ids=asked, now=now
    )
    in_scope = [hidden, closed, opened, working]
    one_by_one = {
        i: await service.detail(bench.conn, vault=bench.vault, caller=BH_EAST, work_order_id=i,
                                now=now)
        for i in in_scope
    }  # fmt: skip
    assert batch == one_by_one
    assert (batch[hidden].customer, batch[hidden].answers) == ("*", [])
    assert batch[opened].customer not in (None, "*")
    assert [a.key for a in batch[opened].answers] == ["score", "channel", "reason"]
    assert (batch[closed].state, batch[closed].root_cause) == (service.State.CLOSED, "other")
    assert [e.note for e in batch[working].events][-1] == "已致电客户"

    # On the device: the same rows, text answers as snippets, in the order asked.
    part = _partition(bench, now)
    rows = await entities.work_order_rows(bench.conn, part, asked)
    assert rows == {i: entities.sync_work_order(one_by_one[i], TEXT_KEYS) for i in in_scope}
    reason = next(a for a in rows[opened].answers if a.key == "reason").answer
    assert len(reason) == entities.SNIPPET_CHARS
    assert "13812345678" not in reason
    assert await entities.work_order_row(bench.conn, part, west) is None
    assert await entities.work_order_row(bench.conn, part, gone) is None
    assert await entities.work_order_row(bench.conn, part, hidden) == rows[hidden]
    kind = entities.BY_ENTITY["work_order"]
    page, _ = await kind.page(bench.conn, part, None, 1_000)
    assert page == [(str(i), rows[i]) for i in sorted(in_scope)]
    by_keys = await kind.by_keys(bench.conn, part, [str(i) for i in asked])
    assert dict(by_keys) == {str(i): rows[i] for i in in_scope}


async def _counted_page(bench: Bench) -> tuple[int, int, int]:
    """(rows, statements) of bh.east's page of work orders, and the statements of the same
    work orders asked by key (a catch-up)."""
    part = _partition(bench, datetime.now(UTC))
    kind = entities.BY_ENTITY["work_order"]
    paged = Counting(bench.conn)
    rows, _ = await kind.page(paged, part, None, 1_000)  # type: ignore[arg-type]
    by_key = Counting(bench.conn)
    keyed = await kind.by_keys(by_key, part, [key for key, _ in rows])  # type: ignore[arg-type]
    assert len(keyed) == len(rows)
    return len(rows), paged.total, by_key.total


async def test_a_page_of_work_orders_takes_as_many_queries_however_many_rows(bench: Bench) -> None:
    await bench.rule()
    await _opened(bench, bench.west_customer)  # not bh.east's
    first = [await _opened(bench, bench.customer) for _ in range(3)]
    await close(bench, first[0], RM01)
    three = await _counted_page(bench)
    for _ in range(9):
        await _opened(bench, bench.customer)
    twelve = await _counted_page(bench)

    assert (three[0], twelve[0]) == (3, 12)
    assert twelve[1:] == three[1:], f"statements for 3 and for 12 rows: {three[1:]}, {twelve[1:]}"

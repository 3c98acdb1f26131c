"""Work orders an alert rule opens on past answers while a bank feed moves their customers go
where the rule sends them for the customer's owner as the feed leaves them: the rule reads the
owner under a lock the feed's conflicts with, so either the feed commits first (and the new RM,
or the branch head over them, gets the work orders) or it waits and then hands them over.

Each test runs the feed and the rule in transactions of their own on two connections (as the
API and the worker would) and makes them meet in one order: one holds its transaction open after
its work, the other starts and is let through once it waits for a lock (or is done); see
`tests.workbench.tasks.test_owner_race.Meeting`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
import pytest

from mobile_contracts.v1 import customers as customer_wire
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.tasks.test_owner_race import Meeting, connect, until_waiting_or_done
from tests.workbench.workorders.wo_setup import Bench, unit_id, user_id
from workbench.customers import feeds
from workbench.workorders import alerts, queries

ORDERS = "/api/v1/work-orders"
COUNT = 20
# rm01 (team-east-1, under bh.east) -> rm05 (team-west-1, under bh.west).
WHO_GETS = {"owner_rm": "rm05", "branch_head": "bh.west"}
FORMER = {"owner_rm": ("rm01",), "branch_head": ("rm01", "bh.east")}


def rows_of(prefix: str, owner: str, count: int = COUNT) -> list[dict[str, Any]]:
    return [
        customer_row(f"{prefix}-{n:03d}", name="周吴", seq=900 + n, owner=owner)
        for n in range(count)
    ]


async def answered(bench: Bench, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """The customers of `rows`, stored as rm01's, each with a past answer of score 2 (in the
    order given); their responses' ids."""
    await feed(bench.client, bench.admin, "customers", rows)
    ids = await customer_ids(bench.conn, [r["external_id"] for r in rows])
    return [await bench.store(customer=ids[r["external_id"]], answers={"score": 2}) for r in rows]


def applying(rule: Any, bench: Bench) -> Callable[[asyncpg.Connection], Awaitable[int]]:
    """The rule applied to its survey's past answers, one chunk, as the worker does it."""

    async def work(conn: asyncpg.Connection) -> int:
        opened, _ = await alerts.apply_rule(conn, cipher=bench.vault.cipher, rule=rule, after=None)
        return opened

    return work


async def assert_work_orders_with(bench: Bench, login: str, unit: str, *, count: int) -> None:
    """`count` open work orders, each assigned to `login` in `unit` and pushed to them."""
    rows = await bench.conn.fetch("select id, assignee_id, org_unit_id, state from work_orders")
    assert len(rows) == count
    assert {(r["assignee_id"], r["org_unit_id"], r["state"]) for r in rows} == {
        (user_id(login), unit_id(unit), "open")
    }
    told = await bench.conn.fetch(
        "select distinct subject_id from notifications where user_id = $1"
        " and category = 'work_order.assigned' and subject_id = any($2::uuid[])",
        user_id(login),
        [r["id"] for r in rows],
    )
    assert len(told) == count


@pytest.mark.parametrize("assign_to", ["owner_rm", "branch_head"])
@pytest.mark.parametrize("order", ["feed_first", "rule_first"])
async def test_a_rule_applied_during_a_feed_move_gives_the_work_orders_to_the_new_owner(
    bench: Bench, order: str, assign_to: str
) -> None:
    # 20 customers of rm01 with a worrying past answer; a feed moves them all to rm05 (in the
    # west branch) while a new rule is applied to the answers.
    rows = rows_of("AR", "rm01")
    await answered(bench, rows)
    rule = await queries.rule(bench.conn, await bench.rule(assign_to=assign_to))
    meeting = Meeting(bench.settings, bench.conn, [{**r, "owner_login": "rm05"} for r in rows])

    if order == "feed_first":
        moved, opened = await meeting.feed_first(applying(rule, bench))
    else:
        moved, opened = await meeting.work_first(applying(rule, bench))

    assert (moved.updated, opened) == (COUNT, COUNT)
    await assert_work_orders_with(bench, WHO_GETS[assign_to], "team-west-1", count=COUNT)
    # Opened for the new owner, or opened for the former one and handed over with the customer.
    handed = await bench.conn.fetchval(
        "select count(*) from work_order_events where kind = 'handed_over'"
        " and data->>'reason' = 'customer_moved'"
    )
    assert handed == (0 if order == "feed_first" else COUNT)
    # Whoever the rule sends it to now reads it; the former RM (and their branch head) do not.
    work_order = await bench.conn.fetchval("select id from work_orders limit 1")
    for login, status in [(WHO_GETS[assign_to], 200)] + [(f, 404) for f in FORMER[assign_to]]:
        headers = await headers_of(bench.client, login)
        answer = await bench.client.get(f"{ORDERS}/{work_order}", headers=headers)
        assert answer.status_code == status, (login, answer.text)


async def test_a_rule_and_a_feed_moving_several_of_its_customers_do_not_deadlock(
    bench: Bench,
) -> None:
    # Two customers of rm01: the rule meets DL-Z's answer first (response order), the feed
    # locks DL-A first (external id order). The rule is held up at DL-Z's work order (a third
    # transaction locks that answer) while the feed starts and waits; then it is let go. Had the
    # rule locked each customer just before its work order, it would hold DL-Z and wait for
    # DL-A while the feed held DL-A and waited for DL-Z: one of them would fail (40P01).
    rows = rows_of("DL", "rm01", count=2)
    rows = [{**rows[0], "external_id": "DL-Z"}, {**rows[1], "external_id": "DL-A"}]
    first, _ = await answered(bench, rows)
    rule = await queries.rule(bench.conn, await bench.rule())
    moved_rows = [
        msgspec.convert({**r, "owner_login": "rm05"}, customer_wire.CustomerFeedRow) for r in rows
    ]
    blocker, rule_conn, feed_conn = [await connect(bench.settings) for _ in range(3)]

    async def apply() -> int:
        async with rule_conn.transaction():
            return await applying(rule, bench)(rule_conn)

    async def move() -> customer_wire.FeedResult:
        async with feed_conn.transaction():
            return await feeds.upsert_customers(feed_conn, vault=bench.vault, rows=moved_rows)

    running: list[asyncio.Task[Any]] = []
    try:
        held = blocker.transaction()
        await held.start()
        try:
            await blocker.execute("select 1 from survey_responses where id = $1 for update", first)
            running.append(asyncio.create_task(apply()))
            await until_waiting_or_done(bench.conn, rule_conn.get_server_pid(), running[0])
            assert not running[0].done(), "the rule was not held up at DL-Z's work order"
            running.append(asyncio.create_task(move()))
            await until_waiting_or_done(bench.conn, feed_conn.get_server_pid(), running[1])
            assert not running[1].done(), "the feed did not wait for the rule"
        finally:
            await held.rollback()
            outcome = await asyncio.gather(*running, return_exceptions=True)
    finally:
        for conn in (blocker, rule_conn, feed_conn):
            await conn.close()

    opened, moved = outcome
    for result in outcome:
        if isinstance(result, BaseException):
            raise result
    assert isinstance(moved, customer_wire.FeedResult)
    assert (opened, moved.updated) == (2, 2)
    await assert_work_orders_with(bench, "rm05", "team-west-1", count=2)

"""Tasks created while a bank feed moves their customers go to the customer's owner as the feed
leaves them: a dispatch to a customer list, the rules an event fires and a series' next period
each read the owner under a lock the feed's conflicts with, so either the feed commits first
(and the new owner gets the tasks) or it waits and then hands the tasks over with the rest.

Each test runs the feed and the work in transactions of their own on two connections (as two
API processes would) and makes them meet in one order: one holds its transaction open after
its work, the other starts and is let through once it waits for a lock (or is done)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest

from mobile_contracts.v1 import customers as customer_wire
from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.identity import Role
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import create_template
from workbench.access import Caller
from workbench.customers import feeds
from workbench.db import use_json_codecs
from workbench.ids import uuid5_for
from workbench.security.vault import Vault
from workbench.tasks import dispatching, queries, rules
from workbench.tasks.recurrence import period_at

pytestmark = pytest.mark.usefixtures("demo_bank")

COUNT = 60
Work = Callable[[asyncpg.Connection], Awaitable[Any]]


def user(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")


def customer_rows(prefix: str, owner: str) -> list[dict[str, Any]]:
    return [
        customer_row(f"{prefix}-{n:03d}", name="周吴", seq=n, owner=owner) for n in range(COUNT)
    ]


async def connect(settings: Any) -> asyncpg.Connection:
    conn = await asyncpg.connect(settings.database_url)
    await use_json_codecs(conn)
    return conn


async def until_waiting_or_done(db: Any, pid: int, running: asyncio.Task[Any]) -> None:
    """Until the session `pid` waits for a lock, or `running` (its work) is over: it never had
    to wait, nothing held it back (the test then finds what it did)."""
    for _ in range(1200):
        if running.done():
            return
        waiting = await db.fetchval(
            "select count(*) from pg_stat_activity where datname = current_database()"
            " and pid = $1 and wait_event_type = 'Lock'",
            pid,
        )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the second transaction neither waited for a lock nor finished")


class Meeting:
    """A feed moving customers and some work creating tasks for them, each in a transaction on
    a connection of its own."""

    def __init__(self, settings: Any, db: Any, moved: list[dict[str, Any]]) -> None:
        self.settings, self.db = settings, db
        self.vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
        self.moved = [msgspec.convert(r, customer_wire.CustomerFeedRow) for r in moved]

    async def _feed(self, conn: asyncpg.Connection) -> customer_wire.FeedResult:
        return await feeds.upsert_customers(conn, vault=self.vault, rows=self.moved)

    async def feed_first(self, work: Work) -> tuple[customer_wire.FeedResult, Any]:
        """The feed moves the customers and holds its transaction open; the work starts, and
        the feed commits once the work waits for it."""
        return await self._meet(self._feed, work, first_is_feed=True)

    async def work_first(self, work: Work) -> tuple[customer_wire.FeedResult, Any]:
        """The work creates its tasks and holds its transaction open; the feed starts, and the
        work commits once the feed waits for it."""
        return await self._meet(work, self._feed, first_is_feed=False)

    async def _meet(self, first: Work, second: Work, *, first_is_feed: bool) -> Any:
        one, two = await connect(self.settings), await connect(self.settings)
        try:
            held = one.transaction()
            await held.start()
            try:
                done_first = await first(one)
            except BaseException:
                await held.rollback()
                raise

            async def run_second() -> Any:
                async with two.transaction():
                    return await second(two)

            running = asyncio.create_task(run_second())
            try:
                await until_waiting_or_done(self.db, two.get_server_pid(), running)
            finally:
                await held.commit()
            done_second = await running
        finally:
            await one.close()
            await two.close()
        return (done_first, done_second) if first_is_feed else (done_second, done_first)


async def assert_pending_tasks_with(db: Any, owner: str, *, count: int) -> None:
    """`count` pending tasks, each (and its unsent reminders) with its customer's owner now:
    `owner`."""
    tasks = await db.fetch(
        "select t.id, t.assignee_id, c.owner_id from tasks t"
        " join customers c on c.id = t.customer_id where t.status = 'pending'"
    )
    assert len(tasks) == count
    assert {t["owner_id"] for t in tasks} == {user(owner)}
    assert {t["assignee_id"] for t in tasks} == {user(owner)}
    reminders = await db.fetch(
        "select distinct user_id from task_reminders where status = 'pending'"
        " and task_id = any($1::uuid[])",
        [t["id"] for t in tasks],
    )
    assert {r["user_id"] for r in reminders} <= {user(owner)}


# ---- a dispatch to a customer list ------------------------------------------------------------


async def dispatch_work(client: Any, db: Any, prefix: str) -> Work:
    """A dispatch by the admin to the customers of `prefix`, as `POST /dispatches` makes it."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, reminders=[{"minutes_before_due": 60}])
    ids = list((await customer_ids(db, [f"{prefix}-{n:03d}" for n in range(COUNT)])).values())
    admin_unit = await db.fetchval("select org_unit_id from users where id = $1", user("admin"))
    caller = Caller(
        user_id=user("admin"), role=Role.ADMIN, org_unit_id=admin_unit,
        session_id=uuid.uuid4(), device_id="qa",
    )  # fmt: skip
    request = wire.DispatchCreate(
        template_id=uuid.UUID(template["id"]),
        title="Visit",
        customer_ids=ids,
        due_at=datetime.now(UTC) + timedelta(days=3),
    )

    async def work(conn: asyncpg.Connection) -> wire.Dispatch:
        return await dispatching.dispatch(
            conn, caller=caller, request=request, idempotency_key=None, tz="Asia/Shanghai"
        )

    return work


@pytest.mark.parametrize("order", ["feed_first", "dispatch_first"])
async def test_a_dispatch_during_a_feed_move_gives_the_tasks_to_the_new_owner(
    client, db, settings, order
):
    # 60 customers of rm01; a feed moves them all to rm02 while a dispatch to them runs.
    admin = await headers_of(client, "admin")
    rows = customer_rows("DR", "rm01")
    await feed(client, admin, "customers", rows)
    work = await dispatch_work(client, db, "DR")
    meeting = Meeting(settings, db, [{**r, "owner_login": "rm02"} for r in rows])

    if order == "feed_first":
        moved, dispatched = await meeting.feed_first(work)
    else:
        moved, dispatched = await meeting.work_first(work)

    assert moved.updated == COUNT
    assert (dispatched.created, dispatched.not_found) == (COUNT, 0)
    await assert_pending_tasks_with(db, "rm02", count=COUNT)
    # The RM who owns the customers opens their tasks; the former one does not.
    task_id = await db.fetchval("select id from tasks limit 1")
    for login, status in (("rm02", 200), ("rm01", 404)):
        headers = await headers_of(client, login)
        assert (await client.get(f"/api/v1/tasks/{task_id}", headers=headers)).status_code == (
            status
        )


# ---- event rules --------------------------------------------------------------------------------


async def event_work(client: Any, prefix: str) -> Work:
    """A batch of large balance movements of the customers of `prefix`, one event each, as
    `POST /integration/events` records it, and a rule turning them into tasks."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, name="大额变动回访")
    rule = {
        "name": "Large inflow", "event_kind": "balance_movement", "field": "amount",
        "op": "gte", "value": 1_000_000, "template_id": template["id"], "within_days": 30,
        "due_in_hours": 48,
    }  # fmt: skip
    response = await client.post("/api/v1/task-rules", json=rule, headers=admin)
    assert response.status_code == 201, response.text
    at = datetime.now(UTC) - timedelta(minutes=5)
    events = [
        wire.Event(
            kind="balance_movement",
            customer_external_id=f"{prefix}-{n:03d}",
            occurred_at=at,
            data={"amount": 2_000_000},
        )
        for n in range(COUNT)
    ]

    async def work(conn: asyncpg.Connection) -> wire.EventResult:
        return await rules.ingest(conn, events=events)

    return work


@pytest.mark.parametrize("order", ["feed_first", "events_first"])
async def test_events_during_a_feed_move_give_their_tasks_to_the_new_owner(
    client, db, settings, order
):
    # 60 customers of rm05; a feed moves them to rm06 while events about them fire a rule.
    admin = await headers_of(client, "admin")
    rows = customer_rows("ER", "rm05")
    await feed(client, admin, "customers", rows)
    work = await event_work(client, "ER")
    meeting = Meeting(settings, db, [{**r, "owner_login": "rm06"} for r in rows])

    if order == "feed_first":
        moved, ingested = await meeting.feed_first(work)
    else:
        moved, ingested = await meeting.work_first(work)

    assert moved.updated == COUNT
    assert (ingested.accepted, ingested.tasks_created, ingested.rejected) == (COUNT, COUNT, [])
    await assert_pending_tasks_with(db, "rm06", count=COUNT)


# ---- a series' next period ----------------------------------------------------------------------


@pytest.mark.parametrize("order", ["feed_first", "period_first"])
async def test_a_series_next_period_during_a_feed_move_goes_to_the_new_owner(
    client, db, settings, order
):
    # A weekly series to 60 customers of rm01; next week's tasks are created (as the worker
    # does once the week has begun) while a feed moves the customers to rm02.
    admin = await headers_of(client, "admin")
    rows = customer_rows("SR", "rm01")
    await feed(client, admin, "customers", rows)
    template = await create_template(client, admin, recurrence="FREQ=WEEKLY;BYDAY=MO")
    ids = await customer_ids(db)
    body = {"template_id": template["id"], "title": "例行周报",
            "customer_ids": [str(i) for i in ids.values()]}  # fmt: skip
    response = await client.post("/api/v1/dispatches", json=body, headers=admin)
    assert response.status_code == 201, response.text
    dispatch_id = uuid.UUID(response.json()["id"])
    series = await queries.recurring_dispatch(db, dispatch_id)
    assert series is not None
    first_start, first_due = await db.fetchrow(
        "select period_start, due_at from tasks where dispatch_id = $1 limit 1", dispatch_id
    )
    tz = settings.bank_timezone
    following = period_at(
        series["recurrence"], anchor=series["anchor"], at=first_due + timedelta(minutes=5), tz=tz
    )
    assert following is not None

    async def work(conn: asyncpg.Connection) -> int:
        return await dispatching.open_period(
            conn, dispatch_row=series, period=following, source_start=first_start, tz=tz
        )

    meeting = Meeting(settings, db, [{**r, "owner_login": "rm02"} for r in rows])
    if order == "feed_first":
        moved, created = await meeting.feed_first(work)
    else:
        moved, created = await meeting.work_first(work)

    assert moved.updated == COUNT
    assert created == COUNT
    await assert_pending_tasks_with(db, "rm02", count=2 * COUNT)
    next_week = await db.fetchval(
        "select count(*) from tasks where dispatch_id = $1 and period_start = $2 "
        " and assignee_id = $3",
        dispatch_id,
        following.start,
        user("rm02"),
    )
    assert next_week == COUNT

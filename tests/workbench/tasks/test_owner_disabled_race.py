"""Tasks created while an admin disables their RM, or gives them another role, never go to that
RM once the change has committed: a dispatch to a customer list or to an org unit, the rules an
event fires and a series' next period each hold the owners' (or the unit's RMs') user rows
before reading whether they are active RMs, so an admin's change under way (its FOR UPDATE on
the user) is waited for and then seen; one that comes second waits, and its hand-over counts
the tasks.

The admin's change runs in a transaction on a connection of its own (as another API process
would), holding the user's row; the work starts on another, and the change commits once the
work waits for a lock (`tests.locks`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.identity import Role
from tests.customers_data import customer_ids, feed, headers_of
from tests.locks import waits_for_a_lock
from tests.tasks_data import create_template
from tests.workbench.tasks.test_owner_race import (
    COUNT,
    connect,
    customer_rows,
    dispatch_work,
    event_work,
    user,
)
from workbench.access import Caller
from workbench.identity import queries as identity_queries
from workbench.tasks import dispatching, queries
from workbench.tasks.recurrence import period_at
from workbench.workorders import handover as work_order_handover

pytestmark = pytest.mark.usefixtures("demo_bank")

Work = Callable[[asyncpg.Connection], Awaitable[Any]]


async def disable(conn: asyncpg.Connection, rm: uuid.UUID) -> None:
    """What `POST /admin/users/{id}/disable` does to the user's row: in turn with other staff
    changes, the user locked (FOR UPDATE), then disabled."""
    await work_order_handover.serialise_staff_changes(conn)
    assert await identity_queries.user_for_update(conn, rm) is not None
    await identity_queries.set_user_active(conn, rm, active=False)


async def make_branch_head(conn: asyncpg.Connection, rm: uuid.UUID) -> None:
    """An admin's change of the user's role away from RM (`PATCH /admin/users/{id}`)."""
    await work_order_handover.serialise_staff_changes(conn)
    assert await identity_queries.user_for_update(conn, rm) is not None
    await conn.execute("update users set role = 'branch_head' where id = $1", rm)


async def change_then(
    settings: Any, db: Any, change: Callable[[asyncpg.Connection], Awaitable[None]], work: Work
) -> Any:
    """`change` holds the user's row in an open transaction; `work` starts in its own, and the
    change commits once the work waits for a lock. What the work returned."""
    admin, worker = await connect(settings), await connect(settings)
    try:
        held = admin.transaction()
        await held.start()
        try:
            await change(admin)
        except BaseException:
            await held.rollback()
            raise

        async def run() -> Any:
            async with worker.transaction():
                return await work(worker)

        running = asyncio.create_task(run())
        try:
            waited = await waits_for_a_lock(db, worker.get_server_pid(), running)
        finally:
            await held.commit()
        result = await running
    finally:
        await admin.close()
        await worker.close()
    assert waited, "the work did not wait for the admin's change to the user"
    return result


async def tasks_of(db: Any, rm: uuid.UUID) -> int:
    count: int = await db.fetchval("select count(*) from tasks where assignee_id = $1", rm)
    return count


CHANGES = {"disabled": disable, "made_branch_head": make_branch_head}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_dispatch_to_customers_gives_no_task_to_an_rm_disabled_meanwhile(
    client, db, settings, change
):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", customer_rows("DD", "rm01"))
    work = await dispatch_work(client, db, "DD")

    dispatched = await change_then(settings, db, lambda c: CHANGES[change](c, user("rm01")), work)

    assert (dispatched.created, dispatched.skipped, dispatched.not_found) == (0, 0, 0)
    assert dispatched.no_active_rm == COUNT
    assert await tasks_of(db, user("rm01")) == 0


async def test_a_disable_after_a_dispatch_counts_its_tasks_in_the_hand_over(client, db, settings):
    # The other order: the dispatch holds its transaction open; the disable waits for it, and
    # its hand-over (read in its own transaction) counts the tasks.
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", customer_rows("DA", "rm01"))
    work = await dispatch_work(client, db, "DA")
    one, two = await connect(settings), await connect(settings)
    try:
        held = one.transaction()
        await held.start()
        dispatched = await work(one)

        async def disable_and_count() -> int:
            async with two.transaction():
                await disable(two, user("rm01"))
                row = await identity_queries.handover(two, user("rm01"))
                return int(row["open_tasks"])

        running = asyncio.create_task(disable_and_count())
        try:
            assert await waits_for_a_lock(db, two.get_server_pid(), running)
        finally:
            await held.commit()
        handed_over = await running
    finally:
        await one.close()
        await two.close()
    assert dispatched.created == COUNT
    assert handed_over == COUNT


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_dispatch_to_a_unit_gives_no_task_to_an_rm_disabled_meanwhile(
    client, db, settings, change
):
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin)
    team = await db.fetchval("select org_unit_id from users where id = $1", user("rm01"))
    rms = await db.fetchval(
        "select count(*) from users where role = 'rm' and active and org_unit_id = $1", team
    )
    assert rms >= 2  # someone else of the team still gets the task
    admin_unit = await db.fetchval("select org_unit_id from users where id = $1", user("admin"))
    caller = Caller(
        user_id=user("admin"), role=Role.ADMIN, org_unit_id=admin_unit,
        session_id=uuid.uuid4(), device_id="qa",
    )  # fmt: skip
    request = wire.DispatchCreate(
        template_id=uuid.UUID(template["id"]),
        title="Team visit",
        org_unit_id=team,
        due_at=datetime.now(UTC) + timedelta(days=3),
    )

    async def work(conn: asyncpg.Connection) -> wire.Dispatch:
        return await dispatching.dispatch(
            conn, caller=caller, request=request, idempotency_key=None, tz="Asia/Shanghai"
        )

    dispatched = await change_then(settings, db, lambda c: CHANGES[change](c, user("rm01")), work)

    assert dispatched.created == rms - 1
    assert await tasks_of(db, user("rm01")) == 0


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_events_give_no_task_to_an_rm_disabled_meanwhile(client, db, settings, change):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", customer_rows("ED", "rm05"))
    work = await event_work(client, "ED")

    ingested = await change_then(settings, db, lambda c: CHANGES[change](c, user("rm05")), work)

    assert (ingested.accepted, ingested.tasks_created, ingested.rejected) == (COUNT, 0, [])
    assert await tasks_of(db, user("rm05")) == 0


@pytest.mark.parametrize("target", ["customers", "unit"])
async def test_a_series_next_period_gives_no_task_to_an_rm_disabled_meanwhile(
    client, db, settings, target
):
    # A weekly series to rm01's customers (or to rm01's team); next week's tasks are created
    # (as the worker does once the week has begun) while an admin disables rm01.
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", customer_rows("SD", "rm01"))
    template = await create_template(client, admin, recurrence="FREQ=WEEKLY;BYDAY=MO")
    team = await db.fetchval("select org_unit_id from users where id = $1", user("rm01"))
    body: dict[str, Any] = {"template_id": template["id"], "title": "例行周报"}
    if target == "customers":
        body["customer_ids"] = [str(i) for i in (await customer_ids(db)).values()]
    else:
        body["org_unit_id"] = str(team)
    response = await client.post("/api/v1/dispatches", json=body, headers=admin)
    assert response.status_code == 201, response.text
    dispatch_id = uuid.UUID(response.json()["id"])
    series = await queries.recurring_dispatch(db, dispatch_id)
    assert series is not None
    first_start, first_due = await db.fetchrow(
        "select period_start, due_at from tasks where dispatch_id = $1 and assignee_id = $2"
        " limit 1",
        dispatch_id,
        user("rm01"),
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

    await change_then(settings, db, lambda c: disable(c, user("rm01")), work)

    next_week = await db.fetchval(
        "select count(*) from tasks where dispatch_id = $1 and period_start = $2"
        " and assignee_id = $3",
        dispatch_id,
        following.start,
        user("rm01"),
    )
    assert next_week == 0

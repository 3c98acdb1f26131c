"""The reminder outbox: every task with a due time gets a row per reminder of its template (before
the due time) and one at the due time, for the push service; they are cancelled when the task is
done, cancelled or expires."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from workbench.db import create_pool
from workbench.ids import uuid5_for
from workbench.tasks import jobs
from workbench.tasks.recurrence import next_period, period_at, periods_started

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
TZ = "Asia/Shanghai"
FORM = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}
WEEKLY = "FREQ=WEEKLY;BYDAY=MO"


def user(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")


def unit(key: str) -> uuid.UUID:
    return uuid5_for(f"org:{key}")


def offsets(*minutes: int) -> list[dict[str, int]]:
    return [{"minutes_before_due": m} for m in minutes]


async def make_template(client: Any, headers: dict[str, str], **extra: Any) -> str:
    body = {"name": "回访提醒", "form": FORM, **extra}
    response = await client.post(f"{API}/task-templates", json=body, headers=headers)
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


async def dispatch(client: Any, headers: dict[str, str], template_id: str, **target: Any) -> str:
    body = {"template_id": template_id, "title": "回访", **target}
    response = await client.post(f"{API}/dispatches", json=body, headers=headers)
    assert response.status_code == 201, response.text
    dispatch_id: str = response.json()["id"]
    return dispatch_id


async def db_now(db: Any) -> datetime:
    now: datetime = await db.fetchval("select date_trunc('second', now())")
    return now


async def reminders(db: Any, task_id: Any = None) -> list[tuple[Any, ...]]:
    """(task, user, kind, offset, send_at, status) of every reminder (or one task's), by time."""
    rows = await db.fetch(
        "select task_id, user_id, kind, offset_minutes, send_at, status from task_reminders"
        " where $1::uuid is null or task_id = $1 order by task_id, send_at",
        task_id,
    )
    return [tuple(r.values()) for r in rows]


def expected_for(task: Any, minutes: tuple[int, ...], status: str = "pending") -> list[tuple]:
    """The reminder rows a task with these offsets should have, earliest first."""
    due = task["due_at"]
    rows = [(task["id"], task["assignee_id"], "before_due", m, due - timedelta(minutes=m), status)
            for m in sorted(set(minutes) - {0}, reverse=True)]  # fmt: skip
    rows.append((task["id"], task["assignee_id"], "at_due", 0, due, status))
    # Reminders whose time had already passed when the task was created are not written, but
    # while the due time is ahead the passed one closest to it is sent at once (at creation).
    created = task.get("created_at")
    if created is None:
        return rows
    kept = [r for r in rows if r[4] > created]
    passed = [r for r in rows if r[4] <= created and r[2] == "before_due"]
    if passed and due > created:
        closest = min(passed, key=lambda r: r[3])
        kept.insert(0, (*closest[:4], created, closest[5]))
    return kept


async def task_of(db: Any, login_name: str) -> Any:
    return await db.fetchrow(
        "select id, assignee_id, due_at, period_start, created_at from tasks where assignee_id = $1"
        " order by created_at, id limit 1",
        user(login_name),
    )


async def start_and_submit(client: Any, headers: dict[str, str], task_id: Any) -> dict:
    started = await client.post(f"{API}/tasks/{task_id}/start", headers=headers)
    assert started.status_code == 200, started.text
    submitted = await client.post(
        f"{API}/tasks/{task_id}/submit", json={"values": {"note": "ok"}}, headers=headers
    )
    assert submitted.status_code == 200, submitted.text
    body: dict[str, Any] = submitted.json()
    return body


@pytest.fixture
async def job_ctx(settings: Any) -> AsyncIterator[dict[str, Any]]:
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        yield {"pool": pool, "settings": settings}
    finally:
        await pool.close()


# ---- recorded ---------------------------------------------------------------------------------


async def test_dispatched_tasks_get_their_reminders(client, db):
    admin = await headers_of(client, "admin")
    rows = [customer_row("R1", name="客户一", owner="rm01", seq=1),
            customer_row("R2", name="客户二", owner="rm01", seq=2),
            customer_row("R3", name="客户三", owner="rm05", seq=3)]  # fmt: skip
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    ids = await customer_ids(db)
    template_id = await make_template(client, admin, reminders=offsets(60, 1440))
    due = await db_now(db) + timedelta(days=4)

    await dispatch(client, admin, template_id, due_at=due.isoformat(),
                   customer_ids=[str(i) for i in ids.values()])  # fmt: skip
    tasks = await db.fetch("select id, assignee_id, due_at from tasks order by id")
    assert len(tasks) == 3
    assert {t["due_at"] for t in tasks} == {due}
    assert await reminders(db) == [r for t in tasks for r in expected_for(t, (1440, 60))]


async def test_due_reminder_always_and_offsets_counted_once(client, db):
    admin = await headers_of(client, "admin")
    no_offsets = await make_template(client, admin, sla_hours=8)
    repeated = await make_template(client, admin, sla_hours=8, reminders=offsets(30, 0, 30))

    await dispatch(client, admin, no_offsets, org_unit_id=str(unit("team-east-1")))
    first = await task_of(db, "rm01")
    assert await reminders(db, first["id"]) == expected_for(first, ())

    await db.execute("delete from task_reminders")
    await db.execute("delete from tasks")
    await dispatch(client, admin, repeated, org_unit_id=str(unit("team-east-1")))
    second = await task_of(db, "rm01")
    assert await reminders(db, second["id"]) == expected_for(second, (30,))
    created = await db.fetchval("select created_at from tasks where id = $1", second["id"])
    assert abs(second["due_at"] - (created + timedelta(hours=8))) < timedelta(minutes=1)


async def test_tasks_without_a_due_time_get_no_reminders(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, reminders=offsets(60))
    await dispatch(client, admin, template_id, org_unit_id=str(unit("branch-west")))
    assert await db.fetchval("select count(*) from tasks where due_at is null") == 4
    assert await reminders(db) == []


async def test_rule_created_tasks_get_their_reminders(client, db):
    admin = await headers_of(client, "admin")
    rows = [customer_row("E1", name="客户一", owner="rm06", seq=1)]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    template_id = await make_template(client, admin, reminders=offsets(240))
    rule = {"name": "inflow", "event_kind": "deposit", "field": "amount", "op": "gt", "value": 0,
            "template_id": template_id, "within_days": 7, "due_in_hours": 24}  # fmt: skip
    assert (await client.post(f"{API}/task-rules", json=rule, headers=admin)).status_code == 201
    now = await db_now(db)
    events = {"events": [{"kind": "deposit", "customer_external_id": "E1",
                          "occurred_at": now.isoformat(), "data": {"amount": 10}}]}  # fmt: skip
    response = await client.post(f"{API}/integration/events", json=events, headers=admin)
    assert response.json()["tasks_created"] == 1

    task = await task_of(db, "rm06")
    assert await reminders(db) == expected_for(task, (240,))


async def test_recurring_tasks_get_reminders_in_every_period(client, db, job_ctx):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, recurrence=WEEKLY, reminders=offsets(1440))
    dispatch_id = uuid.UUID(
        await dispatch(client, admin, template_id, org_unit_id=str(unit("team-east-1")))
    )
    first = await task_of(db, "rm01")
    assert first["period_start"] is not None
    assert await reminders(db, first["id"]) == expected_for(first, (1440,))

    # Done: the next period's task, with its reminders (the done task's are cancelled).
    rm01 = await headers_of(client, "rm01")
    await start_and_submit(client, rm01, first["id"])
    assert await reminders(db, first["id"]) == expected_for(first, (1440,), "cancelled")
    following = await db.fetchrow(
        "select id, assignee_id, due_at, created_at from tasks"
        " where assignee_id = $1 and period_start = $2",
        user("rm01"), first["due_at"],
    )  # fmt: skip
    assert following is not None
    assert await reminders(db, following["id"]) == expected_for(following, (1440,))

    # Periods opened by the worker job get theirs too.
    await db.execute("delete from tasks where period_start <> $1", first["period_start"])
    await db.execute("update tasks set status = 'pending'")
    anchor = await db.fetchval("select anchor from dispatches") - timedelta(weeks=3)
    period = period_at(WEEKLY, anchor=anchor, at=first["period_start"] - timedelta(weeks=3), tz=TZ)
    assert period is not None
    after = next_period(WEEKLY, anchor=anchor, after=period, tz=TZ)
    assert after is not None
    await db.execute("update dispatches set anchor = $1", anchor)
    await db.execute("update tasks set period_start = $1, due_at = $2, expires_at = $3",
                     period.start, period.end, after.end)  # fmt: skip
    missing = periods_started(WEEKLY, anchor=anchor, since=period.start, until=await db_now(db),
                              tz=TZ)  # fmt: skip
    missing = missing[-1:]  # the job opens the running period only (no stale back-fill)
    assert await jobs.open_recurring_periods(job_ctx) == 2 * len(missing) > 0
    opened = await db.fetch(
        "select id, assignee_id, due_at, created_at from tasks"
        " where dispatch_id = $1 and period_start > $2",
        dispatch_id, period.start,
    )  # fmt: skip
    assert len(opened) == 2 * len(missing)
    for task in opened:
        assert await reminders(db, task["id"]) == expected_for(task, (1440,))


# ---- cancelled -------------------------------------------------------------------------------


@pytest.fixture
async def two_tasks(client: Any, db: Any) -> dict[str, Any]:
    """rm01's and rm02's tasks of one dispatch, due in two days, reminders 1 day and 1 hour."""
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, sla_hours=48, reminders=offsets(1440, 60))
    await dispatch(client, admin, template_id, org_unit_id=str(unit("team-east-1")))
    return {"admin": admin, "rm01": await task_of(db, "rm01"), "rm02": await task_of(db, "rm02")}


async def assert_rm02_untouched(db: Any, two_tasks: dict[str, Any]) -> None:
    task = two_tasks["rm02"]
    assert await reminders(db, task["id"]) == expected_for(task, (1440, 60))


async def test_done_task_stops_its_pending_reminders(client, db, two_tasks):
    task = two_tasks["rm01"]
    # The push service already sent the one-day reminder: it stays sent.
    await db.execute(
        "update task_reminders set status = 'sent' where task_id = $1 and offset_minutes = 1440",
        task["id"],
    )
    rm01 = await headers_of(client, "rm01")
    assert (await start_and_submit(client, rm01, task["id"]))["status"] == "done"

    statuses = [(r[3], r[5]) for r in await reminders(db, task["id"])]
    assert statuses == [(1440, "sent"), (60, "cancelled"), (0, "cancelled")]
    await assert_rm02_untouched(db, two_tasks)


async def test_reminders_run_on_while_awaiting_the_customer_and_stop_on_confirmation(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(
        client, admin, sla_hours=24, reminders=offsets(60), requires_customer_confirmation=True
    )
    await dispatch(client, admin, template_id, org_unit_id=str(unit("team-east-2")))
    task = await task_of(db, "rm03")
    rm03 = await headers_of(client, "rm03")

    assert (await start_and_submit(client, rm03, task["id"]))["status"] == "awaiting_confirmation"
    assert await reminders(db, task["id"]) == expected_for(task, (60,))

    response = await client.post(f"{API}/tasks/{task['id']}/confirmation", headers=rm03)
    assert response.status_code == 201, response.text
    page = urlsplit(response.json()["url"]).path
    confirmed = await client.post(page, data={"lat": "", "lng": ""})
    assert confirmed.status_code == 200, confirmed.text
    assert await db.fetchval("select status from tasks where id = $1", task["id"]) == "done"
    assert await reminders(db, task["id"]) == expected_for(task, (60,), "cancelled")
    other = await task_of(db, "rm04")
    assert await reminders(db, other["id"]) == expected_for(other, (60,))


@pytest.mark.parametrize("who", ["rm01", "bh.east"])
async def test_cancelled_task_stops_its_reminders(client, db, two_tasks, who):
    task = two_tasks["rm01"]
    headers = await headers_of(client, who)
    response = await client.post(
        f"{API}/tasks/{task['id']}/cancel", json={"reason": "客户已销户"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"

    assert await reminders(db, task["id"]) == expected_for(task, (1440, 60), "cancelled")
    await assert_rm02_untouched(db, two_tasks)


async def test_expired_task_stops_its_reminders(db, two_tasks, job_ctx):
    task = two_tasks["rm01"]
    await db.execute(
        "update tasks set expires_at = now() - interval '1 minute' where id = $1", task["id"]
    )
    assert await jobs.expire_tasks(job_ctx) == 1
    assert await db.fetchval("select status from tasks where id = $1", task["id"]) == "expired"
    assert await reminders(db, task["id"]) == expected_for(task, (1440, 60), "cancelled")
    await assert_rm02_untouched(db, two_tasks)
    assert await jobs.expire_tasks(job_ctx) == 0


async def test_illegal_transition_leaves_reminders_alone(client, db, two_tasks):
    task = two_tasks["rm01"]
    rm01 = await headers_of(client, "rm01")
    response = await client.post(
        f"{API}/tasks/{task['id']}/submit", json={"values": {"note": "x"}}, headers=rm01
    )
    assert response.status_code == 409, response.text
    assert response.json()["current_status"] == "pending"
    assert await reminders(db, task["id"]) == expected_for(task, (1440, 60))

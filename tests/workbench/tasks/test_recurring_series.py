"""Recurring series: a recurring template's dispatch creates the current period's tasks (periods
in the bank's time zone), the next period's task appears when one is done or when its period
starts (worker job), and the series never holds two tasks for one RM, customer and period."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from workbench.db import create_pool
from workbench.ids import uuid5_for
from workbench.tasks import jobs, lifecycle
from workbench.tasks.recurrence import Period, next_period, period_at, periods_started

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
FORM = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}
WEEKLY = "FREQ=WEEKLY;BYDAY=MO"
MONTHLY_ON_THE_1ST = "FREQ=MONTHLY;BYMONTHDAY=1"
EAST_RMS = ("rm01", "rm02", "rm03", "rm04")


def user(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")


def unit(key: str) -> uuid.UUID:
    return uuid5_for(f"org:{key}")


async def make_template(client: Any, headers: dict[str, str], recurrence: str, **extra: Any) -> str:
    body = {"name": "周报 Weekly report", "form": FORM, "recurrence": recurrence, **extra}
    response = await client.post(f"{API}/task-templates", json=body, headers=headers)
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


async def dispatch(client: Any, headers: dict[str, str], template_id: str, **target: Any) -> str:
    body = {"template_id": template_id, "title": "例行任务", **target}
    response = await client.post(f"{API}/dispatches", json=body, headers=headers)
    assert response.status_code == 201, response.text
    dispatch_id: str = response.json()["id"]
    return dispatch_id


async def complete(client: Any, headers: dict[str, str], task_id: Any) -> None:
    started = await client.post(f"{API}/tasks/{task_id}/start", headers=headers)
    assert started.status_code == 200, started.text
    submitted = await client.post(
        f"{API}/tasks/{task_id}/submit", json={"values": {"note": "完成"}}, headers=headers
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "done"


def current_or_next(rule: str, *, anchor: datetime, now: datetime) -> Period:
    """The period containing `now`, or (before the series' first occurrence) the first one."""
    current = period_at(rule, anchor=anchor, at=now, tz=TZ)
    if current is not None:
        return current
    upcoming = periods_started(
        rule, anchor=anchor, since=now, until=now + timedelta(days=400), tz=TZ, limit=1
    )
    return upcoming[0]


async def db_now(db: Any) -> datetime:
    now: datetime = await db.fetchval("select now()")
    return now


async def series_tasks(db: Any, dispatch_id: Any) -> list[Any]:
    return await db.fetch(
        "select id, assignee_id, customer_id, status, period_start, due_at, expires_at"
        " from tasks where dispatch_id = $1 order by period_start, assignee_id",
        uuid.UUID(str(dispatch_id)),
    )


async def rewind(db: Any, dispatch_id: Any, *, rule: str, anchor: datetime, at: datetime) -> Period:
    """Move a series into the past: its anchor, and every task into the period containing `at`
    (due at its end, expiring at the end of the next), as if dispatched back then."""
    period = period_at(rule, anchor=anchor, at=at, tz=TZ)
    assert period is not None
    following = next_period(rule, anchor=anchor, after=period, tz=TZ)
    assert following is not None
    series = uuid.UUID(str(dispatch_id))
    await db.execute("update dispatches set anchor = $2, due_at = $3 where id = $1",
                     series, anchor, period.end)  # fmt: skip
    await db.execute(
        "update tasks set period_start = $2, due_at = $3, expires_at = $4, created_at = $2"
        " where dispatch_id = $1",
        series, period.start, period.end, following.end,
    )  # fmt: skip
    return period


@pytest.fixture
async def job_ctx(settings: Any) -> AsyncIterator[dict[str, Any]]:
    pool = await create_pool(settings.database_url, max_size=4)
    try:
        yield {"pool": pool, "settings": settings}
    finally:
        await pool.close()


# ---- the first period ------------------------------------------------------------------------


async def test_weekly_series_starts_with_the_current_period_in_the_bank_time_zone(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, WEEKLY)
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=str(unit("branch-east")))

    now = await db_now(db)
    row = await db.fetchrow("select recurring, anchor, due_at from dispatches")
    assert row["recurring"] is True
    anchor = row["anchor"].astimezone(SHANGHAI)
    # The series starts with the period containing the dispatch (this week, from Monday 00:00
    # in Shanghai, not UTC): a mid-week dispatch does not skip the current week.
    assert (anchor.weekday(), anchor.hour, anchor.minute, anchor.second) == (0, 0, 0, 0)

    expected = current_or_next(WEEKLY, anchor=row["anchor"], now=now)
    assert expected.start == row["anchor"]
    assert expected.start <= now < expected.end
    following = next_period(WEEKLY, anchor=row["anchor"], after=expected, tz=TZ)
    assert following is not None
    tasks = await series_tasks(db, dispatch_id)
    assert sorted(t["assignee_id"] for t in tasks) == sorted(user(u) for u in EAST_RMS)
    for task in tasks:
        assert (task["period_start"], task["due_at"]) == (expected.start, expected.end)
        assert task["expires_at"] == following.end  # open (overdue) through the next period
        assert task["customer_id"] is None
    start = expected.start.astimezone(SHANGHAI)
    assert (start.weekday(), start.hour, start.minute) == (0, 0, 0)  # a Monday, 00:00 local
    assert expected.end - expected.start == timedelta(days=7)
    assert now < expected.end
    assert expected.start <= now + timedelta(days=7)
    assert row["due_at"] == expected.end


async def test_monthly_series_period_contains_the_dispatch_moment(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, "FREQ=MONTHLY")
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=str(unit("team-east-1")))

    now = await db_now(db)
    anchor = await db.fetchval("select anchor from dispatches")
    expected = period_at("FREQ=MONTHLY", anchor=anchor, at=now, tz=TZ)
    assert expected is not None
    assert expected.start <= now < expected.end
    tasks = await series_tasks(db, dispatch_id)
    assert len(tasks) == 2
    assert {(t["period_start"], t["due_at"]) for t in tasks} == {(expected.start, expected.end)}
    start, end = expected.start.astimezone(SHANGHAI), expected.end.astimezone(SHANGHAI)
    assert start == anchor.astimezone(SHANGHAI)
    assert (end.hour, end.minute) == (0, 0)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) >= 1


async def test_monthly_series_on_the_first_runs_from_first_to_first(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, MONTHLY_ON_THE_1ST)
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=str(unit("team-east-2")))

    now = await db_now(db)
    anchor = await db.fetchval("select anchor from dispatches")
    expected = current_or_next(MONTHLY_ON_THE_1ST, anchor=anchor, now=now)
    tasks = await series_tasks(db, dispatch_id)
    assert {(t["period_start"], t["due_at"]) for t in tasks} == {(expected.start, expected.end)}
    start, end = expected.start.astimezone(SHANGHAI), expected.end.astimezone(SHANGHAI)
    assert (start.day, start.hour, end.day, end.hour) == (1, 0, 1, 0)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == 1


# ---- done → the next period ------------------------------------------------------------------


async def test_completing_a_task_opens_that_rms_next_period_once(client, db):
    admin = await headers_of(client, "admin")
    rows = [customer_row("K1", name="客户一", owner="rm01", seq=1),
            customer_row("K2", name="客户二", owner="rm03", seq=2)]  # fmt: skip
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    ids = await customer_ids(db)
    template_id = await make_template(
        client, admin, WEEKLY, reminders=[{"minutes_before_due": 120}]
    )
    customers = [str(ids["K1"]), str(ids["K2"])]
    dispatch_id = await dispatch(client, admin, template_id, customer_ids=customers)
    anchor = await db.fetchval("select anchor from dispatches")
    first = {t["assignee_id"]: t for t in await series_tasks(db, dispatch_id)}
    assert {a: t["customer_id"] for a, t in first.items()} == {
        user("rm01"): ids["K1"],
        user("rm03"): ids["K2"],
    }
    period = Period(first[user("rm01")]["period_start"], first[user("rm01")]["due_at"])
    second = next_period(WEEKLY, anchor=anchor, after=period, tz=TZ)
    assert second is not None
    third = next_period(WEEKLY, anchor=anchor, after=second, tz=TZ)
    assert third is not None

    rm01 = await headers_of(client, "rm01")
    await complete(client, rm01, first[user("rm01")]["id"])
    mine = [t for t in await series_tasks(db, dispatch_id) if t["assignee_id"] == user("rm01")]
    assert [(t["status"], t["period_start"], t["due_at"], t["customer_id"]) for t in mine] == [
        ("done", period.start, period.end, ids["K1"]),
        ("pending", second.start, second.end, ids["K1"]),
    ]
    reminders = await db.fetch(
        "select kind, send_at from task_reminders where task_id = $1 order by send_at",
        mine[1]["id"],
    )
    assert [(r["kind"], r["send_at"]) for r in reminders] == [
        ("before_due", second.end - timedelta(minutes=120)),
        ("at_due", second.end),
    ]

    # Done twice is refused, and another RM's completion does not add a second task for rm01.
    again = await client.post(f"{API}/tasks/{mine[0]['id']}/start", headers=rm01)
    assert again.status_code == 409
    rm03 = await headers_of(client, "rm03")
    await complete(client, rm03, first[user("rm03")]["id"])
    tasks = await series_tasks(db, dispatch_id)
    per_slot = Counter((t["assignee_id"], t["customer_id"], t["period_start"]) for t in tasks)
    assert per_slot == {
        (user("rm01"), ids["K1"], period.start): 1,
        (user("rm01"), ids["K1"], second.start): 1,
        (user("rm03"), ids["K2"], period.start): 1,
        (user("rm03"), ids["K2"], second.start): 1,
    }

    # Finishing the next period's task early does not run the series further ahead: the
    # third period's task comes when the second period starts (the worker job).
    await complete(client, rm01, mine[1]["id"])
    mine = [t for t in await series_tasks(db, dispatch_id) if t["assignee_id"] == user("rm01")]
    assert [(t["status"], t["period_start"], t["due_at"]) for t in mine] == [
        ("done", period.start, period.end),
        ("done", second.start, second.end),
    ]
    assert third.start > period.start


async def test_cancelling_a_recurring_task_opens_no_next_period(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, WEEKLY)
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=str(unit("team-east-1")))
    task = next(t for t in await series_tasks(db, dispatch_id) if t["assignee_id"] == user("rm01"))

    rm01 = await headers_of(client, "rm01")
    response = await client.post(f"{API}/tasks/{task['id']}/cancel", headers=rm01)
    assert response.status_code == 200, response.text
    assert len(await series_tasks(db, dispatch_id)) == 2


# ---- moving a recurring task's due time ------------------------------------------------------


async def rm01_task(client: Any, db: Any) -> tuple[Any, dict[str, str]]:
    """rm01's task of a fresh weekly series (due at the period's end, expiring a week later)."""
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, WEEKLY, reminders=[{"minutes_before_due": 60}])
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=str(unit("team-east-1")))
    task = next(t for t in await series_tasks(db, dispatch_id) if t["assignee_id"] == user("rm01"))
    assert task["expires_at"] - task["due_at"] == timedelta(days=7)
    return task, await headers_of(client, "rm01")


async def times_of(db: Any, task_id: Any) -> Any:
    return await db.fetchrow("select status, due_at, expires_at from tasks where id = $1", task_id)


async def test_moving_a_recurring_task_later_moves_its_expiry_by_as_much(client, db):
    """Else it would expire (and its moved reminders stop) weeks before it is due."""
    task, rm01 = await rm01_task(client, db)
    later = task["due_at"] + timedelta(weeks=12)
    response = await client.patch(
        f"{API}/tasks/{task['id']}", json={"due_at": later.isoformat()}, headers=rm01
    )
    assert response.status_code == 200, response.text
    moved = await times_of(db, task["id"])
    assert (moved["due_at"], moved["expires_at"]) == (later, later + timedelta(days=7))

    # The clock passes the old expiry (every time of the task moved back by as much): the
    # expiry job leaves the task open, and its reminders pending.
    passed = task["expires_at"] + timedelta(minutes=1) - await db_now(db)
    await db.execute("update tasks set due_at = due_at - $2::interval,"
                     " expires_at = expires_at - $2::interval where id = $1",
                     task["id"], passed)  # fmt: skip
    assert await lifecycle.expire_overdue(db) == 0
    assert (await times_of(db, task["id"]))["status"] == "pending"
    assert await db.fetchval(
        "select count(*) from task_reminders where task_id = $1 and status = 'pending'", task["id"]
    ) == 2  # fmt: skip


async def test_moving_a_recurring_task_earlier_keeps_its_expiry(client, db):
    task, rm01 = await rm01_task(client, db)
    now = await db_now(db)
    earlier = max(now + timedelta(hours=2), task["due_at"] - timedelta(days=1))
    response = await client.patch(
        f"{API}/tasks/{task['id']}", json={"due_at": earlier.isoformat()}, headers=rm01
    )
    assert response.status_code == 200, response.text
    moved = await times_of(db, task["id"])
    assert (moved["due_at"], moved["expires_at"]) == (earlier, task["expires_at"])


async def test_a_task_without_an_expiry_gets_none_when_moved(client, db):
    admin = await headers_of(client, "admin")
    response = await client.post(
        f"{API}/task-templates", json={"name": "一次性", "form": FORM}, headers=admin
    )
    template_id = response.json()["id"]
    due = await db_now(db) + timedelta(days=1)
    await dispatch(client, admin, template_id, org_unit_id=str(unit("team-east-1")),
                   due_at=due.isoformat())  # fmt: skip
    task_id = await db.fetchval("select id from tasks where assignee_id = $1", user("rm01"))
    later = due + timedelta(days=30)
    rm01 = await headers_of(client, "rm01")
    patched = await client.patch(
        f"{API}/tasks/{task_id}", json={"due_at": later.isoformat()}, headers=rm01
    )
    assert patched.status_code == 200, patched.text
    assert tuple((await times_of(db, task_id))[1:]) == (later, None)


# ---- the worker job: periods that started ----------------------------------------------------


async def test_job_creates_the_started_periods_for_every_active_rm_once(client, db, job_ctx):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, WEEKLY, reminders=[{"minutes_before_due": 30}])
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=str(unit("branch-east")))
    anchor = await db.fetchval("select anchor from dispatches")
    old = (await series_tasks(db, dispatch_id))[0]["period_start"]
    # As if dispatched three weeks earlier (whole weeks keep the Mondays).
    period = await rewind(
        db,
        dispatch_id,
        rule=WEEKLY,
        anchor=anchor - timedelta(weeks=3),
        at=old - timedelta(weeks=3),
    )
    await db.execute("update users set active = false where login = 'rm04'")
    now = await db_now(db)
    missing = periods_started(
        WEEKLY, anchor=anchor - timedelta(weeks=3), since=period.start, until=now, tz=TZ
    )
    assert len(missing) >= 2
    # Periods missed while nothing ran are not back-filled (their tasks would be stale at
    # once): the job opens the period that is running now, for every active RM.
    missing = [missing[-1]]

    assert await jobs.open_recurring_periods(job_ctx) == 3 * len(missing)
    tasks = await series_tasks(db, dispatch_id)
    slots = Counter((t["assignee_id"], t["period_start"]) for t in tasks)
    assert slots == Counter(
        {(user(rm), period.start): 1 for rm in EAST_RMS}
        | {(user(rm), p.start): 1 for rm in ("rm01", "rm02", "rm03") for p in missing}
    )
    for task in tasks:
        if task["period_start"] != period.start:
            p = next(p for p in missing if p.start == task["period_start"])
            assert (task["due_at"], task["status"], task["customer_id"]) == (p.end, "pending", None)
    assert max(p.start for p in missing) <= now < max(p.end for p in missing)
    # Each new task has its reminders.
    assert await db.fetchval(
        "select count(*) from task_reminders r join tasks t on t.id = r.task_id"
        " where t.period_start <> $1",
        period.start,
    ) == 2 * 3 * len(missing)  # fmt: skip

    # Nothing new has started: a second run creates nothing.
    assert await jobs.open_recurring_periods(job_ctx) == 0
    assert len(await series_tasks(db, dispatch_id)) == len(tasks)


async def test_job_catches_up_a_monthly_series_across_month_ends(client, db, job_ctx):
    admin = await headers_of(client, "admin")
    rows = [customer_row("M1", name="客户一", owner="rm02", seq=1)]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    customer = (await customer_ids(db))["M1"]
    template_id = await make_template(client, admin, MONTHLY_ON_THE_1ST)
    dispatch_id = await dispatch(client, admin, template_id, customer_ids=[str(customer)])
    now = await db_now(db)
    local_now = now.astimezone(SHANGHAI)
    # Dispatched on the 15th three months ago: its first period began on the 1st after.
    month = local_now.year * 12 + local_now.month - 1 - 3
    anchor = datetime(month // 12, month % 12 + 1, 15, tzinfo=SHANGHAI)
    period = await rewind(
        db, dispatch_id, rule=MONTHLY_ON_THE_1ST, anchor=anchor, at=anchor + timedelta(days=20)
    )
    missing = periods_started(MONTHLY_ON_THE_1ST, anchor=anchor, since=period.start, until=now,
                              tz=TZ)  # fmt: skip
    assert len(missing) == 2
    missing = [missing[-1]]  # only the running period is opened (see the weekly test)

    assert await jobs.open_recurring_periods(job_ctx) == 1
    tasks = await series_tasks(db, dispatch_id)
    assert [
        (t["period_start"], t["due_at"], t["customer_id"], t["assignee_id"]) for t in tasks
    ] == [(p.start, p.end, customer, user("rm02")) for p in [period, *missing]]
    for task in tasks:
        start = task["period_start"].astimezone(SHANGHAI)
        assert (start.day, start.hour, start.minute) == (1, 0, 0)
    assert await jobs.open_recurring_periods(job_ctx) == 0


async def test_concurrent_job_runs_never_duplicate_a_period(client, db, settings):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin, WEEKLY)
    dispatch_id = await dispatch(client, admin, template_id, org_unit_id=str(unit("head-office")))
    anchor = await db.fetchval("select anchor from dispatches")
    old = (await series_tasks(db, dispatch_id))[0]["period_start"]
    period = await rewind(
        db,
        dispatch_id,
        rule=WEEKLY,
        anchor=anchor - timedelta(weeks=5),
        at=old - timedelta(weeks=5),
    )
    now = await db_now(db)
    missing = periods_started(
        WEEKLY, anchor=anchor - timedelta(weeks=5), since=period.start, until=now, tz=TZ
    )
    assert len(missing) >= 4
    missing = [missing[-1]]  # only the running period is opened

    pools = [await create_pool(settings.database_url, max_size=2) for _ in range(2)]
    try:
        created = await asyncio.gather(
            *(jobs.open_recurring_periods({"pool": p, "settings": settings}) for p in pools)
        )
    finally:
        for pool in pools:
            await pool.close()
    assert sum(created) == 8 * len(missing)
    tasks = await series_tasks(db, dispatch_id)
    assert len(tasks) == 8 * (1 + len(missing))
    slots = Counter((t["assignee_id"], t["period_start"]) for t in tasks)
    assert set(slots.values()) == {1}
    assert {s for _, s in slots} == {period.start} | {p.start for p in missing}

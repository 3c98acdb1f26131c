"""A recurring series' schedule does not depend on the day it was dispatched: a rule without a
day part (no BYDAY/BYMONTHDAY) runs on the calendar periods of its frequency in the bank's time
zone (FREQ=MONTHLY: the 1st to the 1st; WEEKLY: Monday to Monday; YEARLY: Jan 1 to Jan 1;
DAILY: midnight to midnight), consecutive periods tile time with no gap, overlap or skipped
month, and a rule with a day part keeps its meaning.

The clock is set by hand (the dispatch and the worker job read it), then the series is followed
the way it runs: the dispatch opens the period under way, the worker job each next one."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.customers_data import headers_of
from tests.workbench.tasks.conftest import Clock
from workbench.ids import uuid5_for
from workbench.tasks import jobs

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
FORM = {"fields": [{"key": "note", "label": "Note", "type": "text"}]}
TEAM = ("rm01", "rm02")  # the RMs of team-east-1


def at(*args: int) -> datetime:
    """A wall-clock time in the bank's zone (Asia/Shanghai, UTC+8)."""
    return datetime(*args, tzinfo=SHANGHAI)


def local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


async def start_series(client: Any, clock: Clock, rule: str, when: datetime) -> str:
    """An admin makes a template with `rule` and dispatches it to team-east-1 at `when`."""
    admin = await headers_of(client, "admin")
    body = {"name": "月报 Monthly report", "form": FORM, "recurrence": rule}
    made = await client.post(f"{API}/task-templates", json=body, headers=admin)
    assert made.status_code == 201, made.text
    clock(when)
    sent = {
        "template_id": made.json()["id"],
        "title": "经营月报",
        "org_unit_id": str(uuid5_for("org:team-east-1")),
    }
    response = await client.post(f"{API}/dispatches", json=sent, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["created"] == len(TEAM)
    dispatch_id: str = response.json()["id"]
    return dispatch_id


async def periods_of(db: Any, dispatch_id: str) -> list[tuple[datetime, datetime]]:
    """The series' periods (start, due), each held by one task per RM of the team."""
    rows = await db.fetch(
        "select period_start, due_at, count(*) as tasks from tasks where dispatch_id = $1"
        " group by period_start, due_at order by period_start",
        uuid.UUID(dispatch_id),
    )
    assert all(r["tasks"] == len(TEAM) for r in rows), [dict(r) for r in rows]
    return [(r["period_start"], r["due_at"]) for r in rows]


async def follow(
    client: Any, db: Any, clock: Clock, job_ctx: Any, rule: str, when: datetime, count: int
) -> list[tuple[datetime, datetime]]:
    """Dispatch at `when`, then run the worker just after each period's due time: the first
    `count` periods of the series."""
    dispatch_id = await start_series(client, clock, rule, when)
    periods = await periods_of(db, dispatch_id)
    assert len(periods) == 1
    start, due = periods[0]
    assert start <= when < due  # the period under way when dispatched
    while len(periods) < count:
        clock(periods[-1][1] + timedelta(minutes=1))
        assert await jobs.open_recurring_periods(job_ctx) == len(TEAM)
        periods = await periods_of(db, dispatch_id)
    return periods


def assert_tiles(periods: list[tuple[datetime, datetime]]) -> None:
    for (_, due), (start, _) in pairwise(periods):
        assert start == due, "a gap or an overlap between consecutive periods"
    for start, due in periods:
        assert due > start
        assert (local(start).hour, local(start).minute, local(due).hour) == (0, 0, 0)


DISPATCH_TIMES = {
    "the QA morning (Sat 2026-12-05 07:00)": at(2026, 12, 5, 7),
    "late evening, UTC's previous day": at(2026, 12, 4, 23),
    "Sunday": at(2026, 12, 6, 12),
    "the last minute of a year": at(2026, 12, 31, 23, 59),
    "Jan 29": at(2027, 1, 29, 10),
    "Jan 30": at(2027, 1, 30, 10),
    "Jan 31": at(2027, 1, 31, 10),
    "Mar 31": at(2027, 3, 31, 0, 0),
    "Feb 28 of a leap year": at(2028, 2, 28, 9),
    "Feb 29": at(2028, 2, 29, 18),
    "Nov 30": at(2026, 11, 30, 8),
}


@pytest.mark.parametrize("when", DISPATCH_TIMES.values(), ids=DISPATCH_TIMES.keys())
async def test_plain_monthly_has_one_period_per_calendar_month(client, db, clock, job_ctx, when):
    periods = await follow(client, db, clock, job_ctx, "FREQ=MONTHLY", when, 14)
    assert_tiles(periods)
    first = local(periods[0][0])
    assert (first.year, first.month) == (local(when).year, local(when).month)
    months = []
    for start, due in periods:
        assert (local(start).day, local(due).day) == (1, 1)
        months.append(local(start).year * 12 + local(start).month)
    # Each month exactly once, none skipped (February included).
    assert months == list(range(months[0], months[0] + len(months)))


async def test_the_same_month_whatever_the_day_of_dispatch(client, db, clock, job_ctx):
    """Dispatched on the 4th (late) or the 5th (early): the same December, due Jan 1."""
    due = []
    for when in (at(2026, 12, 4, 23), at(2026, 12, 5, 7)):
        dispatch_id = await start_series(client, clock, "FREQ=MONTHLY", when)
        [(start, end)] = await periods_of(db, dispatch_id)
        due.append((start, end))
    assert due == [(at(2026, 12, 1), at(2027, 1, 1))] * 2

    # What the RM sees: the task due at the start of January, in December's period.
    rm01 = await headers_of(client, "rm01")
    inbox = await client.get(f"{API}/tasks", headers=rm01)
    assert inbox.status_code == 200, inbox.text
    assert {datetime.fromisoformat(t["due_at"]) for t in inbox.json()["items"]} == {at(2027, 1, 1)}


@pytest.mark.parametrize(
    "when",
    [at(2026, 12, 5, 7), at(2026, 12, 6, 23, 30), at(2026, 12, 7, 0, 0), at(2028, 2, 29, 12)],
    ids=["Saturday", "Sunday night", "Monday midnight", "Feb 29 2028 (Tuesday)"],
)
async def test_plain_weekly_runs_monday_to_monday(client, db, clock, job_ctx, when):
    periods = await follow(client, db, clock, job_ctx, "FREQ=WEEKLY", when, 4)
    assert_tiles(periods)
    for start, due in periods:
        assert local(start).weekday() == 0
        assert due - start == timedelta(days=7)


async def test_a_weekly_report_every_monday_still_runs_monday_to_monday(client, db, clock, job_ctx):
    periods = await follow(
        client, db, clock, job_ctx, "FREQ=WEEKLY;BYDAY=MO", at(2026, 12, 5, 7), 3
    )
    assert periods[0] == (at(2026, 11, 30), at(2026, 12, 7))
    assert_tiles(periods)
    assert all(local(s).weekday() == 0 and e - s == timedelta(days=7) for s, e in periods)


@pytest.mark.parametrize("when", [at(2026, 12, 5, 7), at(2028, 2, 29, 12)], ids=["Dec 5", "Feb 29"])
async def test_plain_yearly_runs_from_january_to_january(client, db, clock, job_ctx, when):
    periods = await follow(client, db, clock, job_ctx, "FREQ=YEARLY", when, 3)
    assert_tiles(periods)
    year = local(when).year
    assert periods == [(at(y, 1, 1), at(y + 1, 1, 1)) for y in range(year, year + 3)]


async def test_plain_daily_runs_from_midnight_to_midnight(client, db, clock, job_ctx):
    periods = await follow(client, db, clock, job_ctx, "FREQ=DAILY", at(2028, 2, 28, 15), 3)
    assert periods == [
        (at(2028, 2, 28), at(2028, 2, 29)),
        (at(2028, 2, 29), at(2028, 3, 1)),
        (at(2028, 3, 1), at(2028, 3, 2)),
    ]


@pytest.mark.parametrize(
    ("rule", "when", "expected"),
    [
        (
            "FREQ=MONTHLY;BYMONTHDAY=15",
            at(2026, 12, 5, 7),
            [(2026, 11, 15), (2026, 12, 15), (2027, 1, 15), (2027, 2, 15)],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            at(2028, 1, 31, 12),
            [(2028, 1, 31), (2028, 2, 29), (2028, 3, 31), (2028, 4, 30)],
        ),
        (
            "FREQ=WEEKLY;BYDAY=FR",
            at(2026, 12, 5, 7),
            [(2026, 12, 4), (2026, 12, 11), (2026, 12, 18), (2026, 12, 25)],
        ),
    ],
    ids=["on the 15th", "on the last day", "Fridays"],
)
async def test_rules_with_a_day_part_keep_their_meaning(
    client, db, clock, job_ctx, rule, when, expected
):
    periods = await follow(client, db, clock, job_ctx, rule, when, len(expected) - 1)
    bounds = [at(*day) for day in expected]
    assert periods == list(pairwise(bounds))


async def test_an_interval_counts_calendar_periods(client, db, clock, job_ctx):
    """FREQ=MONTHLY;INTERVAL=3 is calendar quarters, whichever day of a quarter it starts."""
    for when in (at(2026, 11, 30, 8), at(2026, 12, 31, 22)):
        dispatch_id = await start_series(client, clock, "FREQ=MONTHLY;INTERVAL=3", when)
        assert await periods_of(db, dispatch_id) == [(at(2026, 10, 1), at(2027, 1, 1))]


async def test_count_counts_the_periods_from_the_dispatched_one(client, db, clock, job_ctx):
    """COUNT=3 is three monthly periods, counting the one dispatched: December to February,
    then nothing more."""
    periods = await follow(
        client, db, clock, job_ctx, "FREQ=MONTHLY;COUNT=3", at(2026, 12, 5, 7), 3
    )
    assert periods == [
        (at(2026, 12, 1), at(2027, 1, 1)),
        (at(2027, 1, 1), at(2027, 2, 1)),
        (at(2027, 2, 1), at(2027, 3, 1)),
    ]
    clock(at(2027, 3, 1, 0, 1))
    assert await jobs.open_recurring_periods(job_ctx) == 0

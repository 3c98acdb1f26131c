"""UNTIL is inclusive: the period starting on the UNTIL day (or at UNTIL's time) belongs to the
series, as COUNT's last period does; the rule's next occurrence only ends it. A rule that truly
has no period left is refused when saved, saying why once: its UNTIL passed, or its periods
outlast the 100-year horizon of a series (a huge INTERVAL).

The clock is set by hand (template saving, dispatch, the worker job and finishing a task all
read it): it is Saturday 2026-12-05, 07:00 in the bank's time zone (Asia/Shanghai)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import TEMPLATES, template_body
from tests.workbench.tasks.conftest import Clock
from tests.workbench.tasks.test_recurring_schedule import at, follow, start_series
from workbench.tasks import dispatching, jobs, lifecycle, templates

pytestmark = pytest.mark.usefixtures("demo_bank")

SATURDAY = at(2026, 12, 5, 7)


@pytest.fixture
def today(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clock, also for saving templates and finishing tasks; set to SATURDAY."""
    for module in (templates, lifecycle):
        monkeypatch.setattr(module, "datetime", dispatching.datetime)
    clock(SATURDAY)
    return clock


@pytest.mark.parametrize(
    ("rule", "period"),
    [
        ("FREQ=DAILY;UNTIL=20261205", (at(2026, 12, 5), at(2026, 12, 6))),
        ("FREQ=WEEKLY;BYDAY=SA;UNTIL=20261205", (at(2026, 12, 5), at(2026, 12, 12))),
    ],
)
async def test_a_rule_until_today_is_saved_and_runs_its_last_period(
    client, db, today, job_ctx, rule, period
):
    periods = await follow(client, db, today, job_ctx, rule, SATURDAY, 1)
    assert periods == [period]
    today(period[1] + timedelta(minutes=1))
    assert await jobs.open_recurring_periods(job_ctx) == 0  # and none after it


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "FREQ=DAILY;UNTIL=20261206",
            [(at(2026, 12, 5), at(2026, 12, 6)), (at(2026, 12, 6), at(2026, 12, 7))],
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261207",  # the week from Monday Dec 7 is the last
            [(at(2026, 11, 30), at(2026, 12, 7)), (at(2026, 12, 7), at(2026, 12, 14))],
        ),
    ],
)
async def test_the_period_starting_on_the_until_day_belongs_to_the_series(
    client, db, today, job_ctx, rule, expected
):
    periods = await follow(client, db, today, job_ctx, rule, SATURDAY, len(expected))
    assert periods == expected
    today(expected[-1][1] + timedelta(days=3))
    assert await jobs.open_recurring_periods(job_ctx) == 0


async def test_finishing_the_task_of_the_day_before_until_opens_the_until_day(client, db, today):
    dispatch_id = await start_series(client, today, "FREQ=DAILY;UNTIL=20261206", SATURDAY)
    rm01 = await headers_of(client, "rm01")
    task_id = await db.fetchval(
        "select t.id from tasks t join users u on u.id = t.assignee_id"
        " where t.dispatch_id = $1 and u.login = 'rm01'",
        uuid.UUID(dispatch_id),
    )
    assert (await client.post(f"/api/v1/tasks/{task_id}/start", headers=rm01)).status_code == 200
    done = await client.post(
        f"/api/v1/tasks/{task_id}/submit", json={"values": {"note": "已完成"}}, headers=rm01
    )
    assert done.status_code == 200, done.text
    rows = await db.fetch(
        "select period_start, due_at from tasks t join users u on u.id = t.assignee_id"
        " where t.dispatch_id = $1 and u.login = 'rm01' order by period_start",
        uuid.UUID(dispatch_id),
    )
    assert [(r["period_start"], r["due_at"]) for r in rows] == [
        (at(2026, 12, 5), at(2026, 12, 6)),
        (at(2026, 12, 6), at(2026, 12, 7)),
    ]


@pytest.mark.parametrize(
    ("rule", "cause"),
    [
        ("FREQ=DAILY;UNTIL=20261204", "UNTIL (20261204) has passed"),
        ("FREQ=WEEKLY;INTERVAL=9999", "100-year horizon"),
        ("FREQ=YEARLY;INTERVAL=101", "100-year horizon"),
    ],
)
async def test_a_rule_with_no_period_left_says_its_real_cause_once(client, db, today, rule, cause):
    admin = await headers_of(client, "admin")
    made = await client.post(TEMPLATES, json=template_body(recurrence=rule), headers=admin)
    assert made.status_code == 422, made.text
    problem: dict[str, Any] = made.json()
    assert problem["code"] == "template.bad_recurrence"
    [error] = problem["errors"]
    assert error["path"] == "$.recurrence"
    assert cause in error["message"]
    assert cause in problem["detail"]
    assert problem["detail"].lower().count("no period left") == 1
    if "horizon" in cause:
        assert "UNTIL" not in problem["detail"]
        assert "INTERVAL" in problem["detail"]
    assert await db.fetchval("select count(*) from task_templates") == 0

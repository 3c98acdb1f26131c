"""COUNT=n is n periods, counting the one under way at dispatch (COUNT=1: that one only), and a
rule with no period left (an UNTIL passed) is refused when the template is saved, naming
`$.recurrence`, instead of making every dispatch of it fail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import TEMPLATES, create_template, template_body
from tests.workbench.tasks.test_recurring_schedule import at, follow
from workbench.tasks import jobs

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.mark.parametrize(
    ("rule", "when", "expected"),
    [
        ("FREQ=DAILY;COUNT=1", at(2026, 12, 5, 7), [(at(2026, 12, 5), at(2026, 12, 6))]),
        (
            "FREQ=DAILY;COUNT=2",
            at(2026, 12, 5, 7),
            [(at(2026, 12, 5), at(2026, 12, 6)), (at(2026, 12, 6), at(2026, 12, 7))],
        ),
        (
            "FREQ=WEEKLY;COUNT=2",
            at(2026, 12, 5, 7),  # a Saturday: the week from Monday Nov 30 counts as the first
            [(at(2026, 11, 30), at(2026, 12, 7)), (at(2026, 12, 7), at(2026, 12, 14))],
        ),
    ],
)
async def test_count_gives_that_many_periods(client, db, clock, job_ctx, rule, when, expected):
    periods = await follow(client, db, clock, job_ctx, rule, when, len(expected))
    assert periods == expected
    clock(expected[-1][1] + timedelta(days=3))
    assert await jobs.open_recurring_periods(job_ctx) == 0


@pytest.mark.parametrize(
    "rule", ["FREQ=DAILY;UNTIL=20000101T000000Z", "FREQ=WEEKLY;BYDAY=MO;UNTIL=20200101"]
)
async def test_a_rule_with_no_period_left_is_refused_when_saved(client, db, rule):
    admin = await headers_of(client, "admin")
    made = await client.post(TEMPLATES, json=template_body(recurrence=rule), headers=admin)
    assert made.status_code == 422, made.text
    problem = made.json()
    assert problem["code"] == "template.bad_recurrence"
    assert [e["path"] for e in problem["errors"]] == ["$.recurrence"]
    assert "no period left" in problem["detail"]
    assert await db.fetchval("select count(*) from task_templates") == 0

    template = await create_template(client, admin, recurrence="FREQ=DAILY")
    edit = await client.put(
        f"{TEMPLATES}/{template['id']}", json=template_body(recurrence=rule), headers=admin
    )
    assert edit.status_code == 422, edit.text
    assert [e["path"] for e in edit.json()["errors"]] == ["$.recurrence"]


async def test_a_bad_rule_names_the_field(client):
    admin = await headers_of(client, "admin")
    made = await client.post(TEMPLATES, json=template_body(recurrence="FREQ=HOURLY"), headers=admin)
    assert made.status_code == 422, made.text
    assert made.json()["code"] == "template.bad_recurrence"
    assert [e["path"] for e in made.json()["errors"]] == ["$.recurrence"]

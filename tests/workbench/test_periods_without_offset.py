"""A period bound written as a time without an offset (`?from=2026-12-01T00:00:00`) is UTC, as
every time without an offset is in this API (due times, `due_after`/`due_before`, events'
`occurred_at`); a plain day stays a day of the bank (Asia/Shanghai). Team progress, `/funnels`
and the survey results (and so the dashboard, its exports and the monthly report) agree."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tests.customers_data import headers_of
from tests.workbench.tasks.test_team_progress import (
    PROGRESS,
    dispatch_to,
    make_template,
    set_task,
    tasks_of,
)
from workbench.periods import bounded_period, period_bound
from workbench.surveys.results import _periods as survey_periods

pytestmark = pytest.mark.usefixtures("demo_bank")

SHANGHAI = timezone(timedelta(hours=8))
TZ = "Asia/Shanghai"


async def test_team_progress_reads_a_time_without_an_offset_as_utc(client, db):
    admin = await headers_of(client, "admin")
    template_id = await make_template(client, admin)
    assert await dispatch_to(client, admin, template_id, "team-east-1") == 2
    rm01_task, rm02_task = (await tasks_of(db, "rm01"))[0], (await tasks_of(db, "rm02"))[0]
    # Dec 1, 04:00 UTC (noon in Shanghai): inside; Nov 30, 20:00 UTC (Dec 1, 04:00 in
    # Shanghai): before a period starting at Dec 1, 00:00 UTC.
    await set_task(db, rm01_task, created_at=datetime(2026, 12, 1, 4, tzinfo=UTC))
    await set_task(db, rm02_task, created_at=datetime(2026, 11, 30, 20, tzinfo=UTC))
    east = await headers_of(client, "bh.east")

    response = await client.get(
        PROGRESS,
        params={"from": "2026-12-01T00:00:00", "to": "2026-12-05T00:00:00"},
        headers=east,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert datetime.fromisoformat(answer["from"]) == datetime(2026, 12, 1, tzinfo=UTC)
    assert datetime.fromisoformat(answer["to"]) == datetime(2026, 12, 5, tzinfo=UTC)
    assert datetime.fromisoformat(answer["from"]).utcoffset() == timedelta(0)
    assigned = {r["name"]: r["assigned"] for r in answer["rows"]}
    assert assigned["张伟"] == 1  # rm01
    assert assigned.get("王芳", 0) == 0  # rm02's task came before the period


async def test_funnels_read_a_time_without_an_offset_as_utc(client):
    marketing = await headers_of(client, "marketing")
    response = await client.get(
        "/api/v1/funnels",
        params={"from": "2026-12-01T00:00:00", "to": "2026-12-05T12:30:00"},
        headers=marketing,
    )
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["from"]) == datetime(2026, 12, 1, tzinfo=UTC)
    assert datetime.fromisoformat(response.json()["to"]) == datetime(
        2026, 12, 5, 12, 30, tzinfo=UTC
    )


def test_every_reader_of_a_period_takes_the_same_instants() -> None:
    assert period_bound("2026-12-01T00:00:00", name="from", tz=TZ) == datetime(
        2026, 12, 1, tzinfo=UTC
    )
    assert bounded_period("2026-12-01T00:00:00", "2026-12-05T00:00:00", tz=TZ) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 5, tzinfo=UTC),
    )
    # Days stay the bank's: Dec 1 from its midnight in Shanghai, Dec 5 to the next midnight.
    assert bounded_period("2026-12-01", "2026-12-05", tz=TZ) == (
        datetime(2026, 12, 1, tzinfo=SHANGHAI),
        datetime(2026, 12, 6, tzinfo=SHANGHAI),
    )
    # Survey results (and the dashboard) take the bank day of a time: 20:00 UTC on Dec 1 is
    # already Dec 2 in Shanghai.
    now = datetime(2026, 12, 10, tzinfo=UTC)
    days = survey_periods.period("2026-12-01T20:00:00", "2026-12-03", tz=TZ, now=now)
    assert (days.first_day, days.end_day) == (date(2026, 12, 2), date(2026, 12, 4))
    same = survey_periods.period("2026-12-01T20:00:00Z", "2026-12-03", tz=TZ, now=now)
    assert same == days

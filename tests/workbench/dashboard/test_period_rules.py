"""A period is judged alike by GET /team/progress, GET /funnels and the survey results: a day is
the day as written, in the bank's time zone (January 2000 was refused by /team/progress, its
first midnight being 1999 in UTC), and a period spans at most 366 days everywhere (/team/progress
had no limit). /team/progress keeps its own code and status for a period that cannot be counted
(400 `progress.bad_period`, as the released contract documents it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import unit
from tests.workbench.dashboard.dash_data import connect
from tests.workbench.surveys.results_data import RESULTS, publish

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"


async def _answers(client: Any, settings: Any, params: dict[str, str]) -> dict[str, Any]:
    """The three APIs' answers (status, code) to one period, as East Branch's head."""
    conn = await connect(settings.database_url)
    try:
        survey = await publish(conn)
    finally:
        await conn.close()
    bh = await headers_of(client, "bh.east")
    branch = str(unit("branch-east"))
    asked = {
        "progress": (f"{API}/team/progress", {"org_unit_id": branch}),
        "funnels": (f"{API}/funnels", {"group_by": "rm", "org_unit_id": branch}),
        "survey": (RESULTS.format(survey), {"org_unit_id": branch}),
    }
    out = {}
    for name, (path, extra) in asked.items():
        got = await client.get(path, params={**params, **extra}, headers=bh)
        body = got.json()
        out[name] = (got.status_code, body.get("code"), body)
    return out


@pytest.mark.parametrize(
    "period",
    [
        {"from": "2000-01-01", "to": "2000-01-31"},  # its first day's midnight: 1999 in UTC
        {"from": "2999-12-01", "to": "2999-12-31"},
        {"from": "2028-01-01", "to": "2028-12-31"},  # 366 days
    ],
)
async def test_a_period_every_api_takes_team_progress_takes(
    client: Any, settings: Any, period: dict[str, str]
) -> None:
    answers = await _answers(client, settings, period)
    assert {name: status for name, (status, _, _) in answers.items()} == {
        "progress": 200, "funnels": 200, "survey": 200,
    }, answers  # fmt: skip
    progress = answers["progress"][2]
    assert progress["from"].startswith(period["from"])


async def test_a_time_written_in_2999_is_in_2999() -> None:
    """A time is judged in its own offset: 2999-12-31 23:00 at -12:00 is 3000 in UTC."""
    from workbench.periods import bounded_period

    start, end = bounded_period("2999-12-01", "2999-12-31T23:00:00-12:00", tz="Asia/Shanghai")
    assert end.year == 2999
    assert start < end


@pytest.mark.parametrize(
    ("period", "detail"),
    [
        ({"from": "2026-12-05", "to": "2026-12-01"}, "`to` must be after `from`"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "a period spans at most 366 days"),  # 367
    ],
)
async def test_a_period_none_can_count_is_refused_alike(
    client: Any, settings: Any, period: dict[str, str], detail: str
) -> None:
    answers = await _answers(client, settings, period)
    # The same rule and words; each API its own code, /team/progress its documented 400.
    assert answers["progress"][:2] == (400, "progress.bad_period"), answers["progress"]
    assert answers["funnels"][:2] == (422, "funnel.bad_period"), answers["funnels"]
    assert answers["survey"][:2] == (422, "survey.bad_period"), answers["survey"]
    assert answers["progress"][2]["detail"] == detail
    assert answers["funnels"][2]["detail"] == detail


@pytest.mark.parametrize(
    ("period", "named"),
    [
        ({"from": "1999-12-31", "to": "2000-01-31"}, "query.from"),
        ({"from": "2999-12-01", "to": "3000-01-01"}, "query.to"),
        ({"from": "2026-12-01", "to": "0001-01-01T00:00:00+05:00"}, "query.to"),  # was a 500
        ({"from": "0001-01-01T00:00:00+05:00", "to": "2026-12-01"}, "query.from"),
    ],
)
async def test_a_day_outside_the_years_names_its_parameter(
    client: Any, period: dict[str, str], named: str
) -> None:
    bh = await headers_of(client, "bh.east")
    got = await client.get(f"{API}/team/progress", params=period, headers=bh)
    assert got.status_code == 422, got.text
    assert [e["path"] for e in got.json()["errors"]] == [named]
    assert "2000" in got.json()["errors"][0]["message"]

"""The low-scores export (低分评价) holds every low score of its period, however many: a month
with more than 500 low-scoring answers (two low rows each) once downloaded exactly 1,000 rows,
the newest part of the month only, under a file name that said the whole month, sometimes cutting
one answer's two rows apart. A large one goes through the worker as the other big exports do;
the dashboard lists the newest and says how many there are in all, with the export's links."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.console.conftest import make_console, signed_in  # noqa: F401
from tests.tasks_data import unit, user
from tests.workbench.dashboard.dash_data import BH_EAST, TZ, connect
from tests.workbench.exports.test_exports import read_csv, read_xlsx, start, worker
from tests.workbench.surveys.results_data import add_customer, publish
from workbench.dashboard import numbers
from workbench.db import Pool, create_pool
from workbench.exports import jobs, service
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

SHANGHAI = ZoneInfo(TZ)
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
TWO_LOW = 520  # answers with two low scores each (NPS 3, rating 1): 1,040 rows
ONE_LOW = 7  # answers with one (NPS 9, rating 1), all at the same moment (a keyset's tie)
EXPECTED = 2 * TWO_LOW + ONE_LOW
FIRST = datetime(2026, 10, 1, 0, 30, tzinfo=SHANGHAI)
STEP = timedelta(minutes=80)  # 520 answers over the month: the last on 29 October


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    p = await create_pool(settings.database_url, max_size=4)
    try:
        yield p
    finally:
        await p.close()


async def _answers(
    db: Any,
    survey: Any,
    customer: Any,
    *,
    team: str,
    first: datetime,
    step: timedelta,
    count: int,
    answers: dict[str, int],
) -> None:
    """`count` answered invitations of a customer of `team`, `step` apart from `first`."""
    await db.execute(
        """with made as (
               insert into survey_invitations (id, survey_id, version, customer_id, rm_id,
                                               org_unit_id, sent_by, sent_at, expires_at,
                                               responded_at)
               select gen_random_uuid(), $1, 1, $2, $3, $4, $3, $5::timestamptz + g * $6::interval,
                      $5 + g * $6::interval + interval '14 days', $5 + g * $6::interval
                 from generate_series(0, $7 - 1) g
               returning id, sent_at)
           insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                         rm_id, org_unit_id, answers, submitted_at)
           select gen_random_uuid(), m.id, $1, 1, $2, $3, $4, $8::jsonb, m.sent_at from made m""",
        survey, customer, user("rm01" if team.startswith("team-east") else "rm05"), unit(team),
        first, step, count, answers,
    )  # fmt: skip


async def _a_month_of_low_scores(settings: Any) -> None:
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    conn = await connect(settings.database_url)
    try:
        survey = await publish(conn)
        east = await add_customer(conn, vault, "赵一", owner="rm01")
        west = await add_customer(conn, vault, "周五", owner="rm05")
        low, one_low = {"score": 3, "stars": 1}, {"score": 9, "stars": 1}
        await _answers(conn, survey, east, team="team-east-1", first=FIRST, step=STEP,
                       count=TWO_LOW, answers=low)  # fmt: skip
        await _answers(conn, survey, east, team="team-east-2",
                       first=datetime(2026, 10, 15, 12, tzinfo=SHANGHAI), step=timedelta(0),
                       count=ONE_LOW, answers=one_low)  # fmt: skip
        # Not of the period or not of the East: never in its file.
        for first in (datetime(2026, 9, 30, 23, 30, tzinfo=SHANGHAI),
                      datetime(2026, 11, 1, 0, 10, tzinfo=SHANGHAI)):  # fmt: skip
            await _answers(conn, survey, east, team="team-east-1", first=first,
                           step=timedelta(minutes=1), count=3, answers=low)  # fmt: skip
        await _answers(conn, survey, west, team="team-west-1", first=FIRST, step=STEP, count=5,
                       answers=low)  # fmt: skip
        await _answers(conn, survey, east, team="team-east-1", first=FIRST, step=STEP, count=9,
                       answers={"score": 10, "stars": 5})  # fmt: skip
    finally:
        await conn.close()


def _export(table_format: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {**OCTOBER, "unit": unit("branch-east")}.items())
    return f"/console/exports/new?table=low_scores&format={table_format}&{query}"


async def test_the_export_holds_every_low_score_of_the_period(
    make_console: Any,  # noqa: F811
    settings: Any,
    pool: Pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _a_month_of_low_scores(settings)
    blob_dir = tmp_path / "blobs"
    console = await make_console(blob_store="local", blob_dir=str(blob_dir))
    await signed_in(console, "bh.east")

    got = await console.get(_export("csv"))
    assert got.status_code == 200, got.text
    assert "20261001-20261031" in got.headers["content-disposition"]
    header, *rows = read_csv(got.content)
    assert header[:4] == ["回答时间", "问卷", "题目", "分数"]
    assert len(rows) == EXPECTED  # once exactly 1,000
    times = [row[0] for row in rows]
    assert times == sorted(times, reverse=True)  # newest first
    # The whole month, its first answer too; nothing of September, November or the West.
    assert times[-1] == "2026-10-01 00:30:00"
    assert times[0] == (FIRST + (TWO_LOW - 1) * STEP).strftime("%Y-%m-%d %H:%M:%S")
    assert {t[:7] for t in times} == {"2026-10"}
    assert "周*" not in {row[5] for row in rows}
    # Every answer whole: its two low scores, NPS and rating, one after the other.
    per_answer = Counter(times)
    assert Counter(per_answer.values()) == {2: TWO_LOW, ONE_LOW: 1}  # the tie: 7 answers
    runs = [(at, [row[3] for row in run]) for at, run in groupby(rows, key=lambda r: r[0])]
    assert len(runs) == len(per_answer)  # each answer's rows together
    assert {tuple(scores) for at, scores in runs if per_answer[at] == 2} == {("3", "1")}

    # The same through the worker when it is a large file (as every table decides it).
    monkeypatch.setattr(service, "DIRECT_LIMIT", 1000)
    asked = await start(console, _export("xlsx").split("?", 1)[1])
    assert asked.status_code == 303, asked.text
    assert await jobs.build_exports(worker(pool, settings, blob_dir)) == 1
    built = await console.get(f"{asked.headers['location']}/file")
    assert built.status_code == 200
    [sheet] = read_xlsx(built.content).values()
    assert len(sheet) == 1 + EXPECTED


async def test_every_page_of_low_scores_joins_up_whatever_its_size(settings: Any) -> None:
    """Read in keyset pages of answers (ties of one moment included), nothing is lost or read
    twice, and no answer is cut; the count says as many."""
    await _a_month_of_low_scores(settings)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    conn = await connect(settings.database_url)
    try:
        v = await numbers.view(conn, caller=BH_EAST, org_unit_id=unit("branch-east"),
                               from_=OCTOBER["from"], to=OCTOBER["to"], tz=TZ,
                               now=datetime.now(SHANGHAI))  # fmt: skip
        assert await numbers.low_score_count(conn, v) == EXPECTED
        whole = [s async for s in numbers.all_low_scores(conn, vault, BH_EAST, v)]
        for page in (3, 7, 520):
            paged = [s async for s in numbers.all_low_scores(conn, vault, BH_EAST, v, page=page)]
            assert paged == whole
        assert len(whole) == EXPECTED
        newest = await numbers.low_scores(conn, vault, BH_EAST, v, limit=1)
        assert [(s.score, s.scale) for s in newest] == [(3, "nps"), (1, "rating")]  # not cut
    finally:
        await conn.close()


async def test_the_dashboard_lists_the_newest_and_says_how_many_there_are(
    make_console: Any,  # noqa: F811
    settings: Any,
) -> None:
    await _a_month_of_low_scores(settings)
    console = await make_console()
    await signed_in(console, "bh.east")
    page = await console.get("/console/dashboard", params=OCTOBER)
    assert page.status_code == 200, page.text
    shown = len(re.findall(r'<li class="dash-low">', page.text))
    assert shown == 20  # the newest 10 answers, both their rows
    note = re.search(r'<p class="dash-note" data-note="low-scores">(.*?)</p>', page.text)
    assert note, "the list says it shows part of the period's low scores"
    assert f"显示前 {shown} 条，共 {EXPECTED} 条" in note.group(1)
    for fmt in ("csv", "xlsx"):
        assert f"table=low_scores&amp;format={fmt}&amp;unit={unit('branch-east')}" in note.group(1)
        assert "from=2026-10-01&amp;to=2026-10-31" in note.group(1)

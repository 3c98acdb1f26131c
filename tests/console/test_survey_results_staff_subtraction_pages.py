"""The console's results of a staff survey cannot be subtracted into a few people's answers: the
page covers the survey's whole life (no period filter, and says why), shows one team of a
branch with the rest as 其他, withholds the other team asked directly, and exports figures; a
draft's results page is 404 to whom the draft is."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.console.conftest import signed_in
from tests.tasks_data import unit, user
from tests.workbench.surveys.results_data import QUESTIONS, respond
from tests.workbench.surveys.staff_results_data import close_staff, publish_staff
from workbench.db import use_json_codecs
from workbench.ids import uuid7
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=3)
OTHER = "其他（本级及不足 5 份的下级合并）"
TEXT = {"comment": "等待时间太长"}


async def _branch_of_fourteen(settings: Any, db: Any) -> Any:
    """East Branch: 6 answers in each team and the branch head's own 2."""
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey_id = await publish_staff(db)
    for team, many in (("team-east-1", 6), ("team-east-2", 6), ("branch-east", 2)):
        for n in range(many):
            await respond(db, vault, survey_id, {"score": 9, "stars": 4}, team=team,
                          sent_at=DAY - timedelta(days=n), texts=TEXT)  # fmt: skip
    await close_staff(db, survey_id)  # its answers show once it is closed
    return survey_id


async def test_a_branch_page_shows_one_team_and_the_rest_together_over_the_whole_survey(
    make_console: Any, settings: Any, db: Any
) -> None:
    survey = await _branch_of_fourteen(settings, db)
    console = await make_console()
    await signed_in(console, "bh.east")
    base = f"/console/surveys/{survey}/results"
    page = await console.get(base, params={"from": DAY.date().isoformat()})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-figure="responded">14<' in html  # the period asked is not applied
    assert "员工问卷按全部时间统计" in html
    assert 'name="from"' not in html  # no period filter offered
    assert html.count("满 5 份，计入“其他”（原因见“其他”一行）") == 1  # a team of 6 joins
    assert html.count("不足 5 份，计入“其他”") == 1  # the branch's own 2
    assert 'data-row="other"' in html
    assert "导出汇总 CSV" in html

    withheld = []
    for team in ("team-east-1", "team-east-2"):
        team_page = await console.get(base, params={"org_unit_id": str(unit(team))})
        if "上级机构的其余回答不足 5 份" in team_page.text:
            withheld.append(team)
            assert '<svg class="chart' not in team_page.text
            csv_page = await console.get(f"{base}.csv", params={"org_unit_id": str(unit(team))})
            assert csv_page.status_code == 409
            assert "这里有 6 份" in csv_page.text
    assert len(withheld) == 1

    exported = await console.get(f"{base}.csv")
    assert exported.status_code == 200, exported.text
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0] == ["部分", "机构", "题目", "项目", "数值"]
    assert ["其他", OTHER, "", "已回复", "8"] in table


async def test_a_draft_results_page_is_not_found_for_a_branch_head(
    make_console: Any, settings: Any, db: Any
) -> None:
    secret = "机密草稿：明年裁员满意度"
    draft = uuid7()
    await use_json_codecs(db)
    await db.execute(
        """insert into surveys (id, title, audience, questions, owner_unit_id, created_by)
           values ($1, $2, 'staff', $3::jsonb, $4, $5)""",
        draft, secret, QUESTIONS, unit("head-office"), user("marketing"),
    )  # fmt: skip
    console = await make_console()
    await signed_in(console, "bh.east")
    page = await console.get(f"/console/surveys/{draft}/results")
    assert page.status_code == 404
    assert secret not in page.text


async def test_the_rest_row_says_which_units_it_holds_and_why_a_team_of_six_is_in_it(
    make_console: Any, settings: Any, db: Any
) -> None:
    """The row said 其他（本级及不足 5 份的下级合并） while it held a team of 6 too, marked 并入
    "其他" above it: its label now names what it adds up, and why the team is among them."""
    survey = await _branch_of_fourteen(settings, db)
    console = await make_console()
    await signed_in(console, "bh.east")
    html = (await console.get(f"/console/surveys/{survey}/results")).text
    rest = html[html.index('data-row="other"') :]
    rest = rest[: rest.index("</tr>")]
    assert OTHER not in rest
    assert re.search(r'class="results-other-label">其他<', rest)
    holds = re.search(r'data-other="holds">([^<]*)<', rest)
    assert holds is not None
    teams = ("东城一组 East Team 1", "东城二组 East Team 2")
    merged = [team for team in teams if team in holds.group(1)]
    assert len(merged) == 1  # the team withheld, by name, with the branch's own level
    assert holds.group(1) in (f"合计：东城支行 East Branch（本级）、{merged[0]}",
                              f"合计：{merged[0]}、东城支行 East Branch（本级）")  # fmt: skip
    assert (
        f"{merged[0]}（6 份）单独显示会使其余回答不足 5 份、可被推算，所以一并计入“其他”。" in rest
    )
    assert ">8<" in rest

"""The survey results pages of the staff console: figures, charts, words linking to their
answers, exports; a branch head sees their subtree only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.console.conftest import signed_in
from tests.tasks_data import unit
from tests.workbench.surveys.results_data import add_customer, publish, respond
from workbench.db import use_json_codecs
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=3)


@pytest.fixture
async def survey(settings: Any, db: Any) -> Any:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey_id = await publish(db)
    zhang = await add_customer(db, vault, "张小三")
    await respond(db, vault, survey_id, {"score": 3, "service": "slow", "stars": 2},
                  texts={"reason": "等待时间太长"}, customer_id=zhang, sent_at=DAY)  # fmt: skip
    await respond(db, vault, survey_id, {"score": 10, "service": "fast", "stars": 5},
                  sent_at=DAY)  # fmt: skip
    await respond(db, vault, survey_id, {"score": 9, "topics": ["wealth"]},
                  team="team-west-1", sent_at=DAY)  # fmt: skip
    return survey_id


async def test_marketing_reads_the_results_page_and_a_words_answers(
    make_console: Any, survey: Any
) -> None:
    console = await make_console()
    await signed_in(console, "marketing")
    page = await console.get(f"/console/surveys/{survey}/results")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-figure="delivered">3<' in html
    assert 'data-figure="responded">3<' in html
    assert 'data-figure="nps">+33.3<' in html  # 2 promoters, 1 detractor of 3
    assert 'data-figure="csat">50.0%<' in html
    assert "东城支行 East Branch" in html  # a row per branch
    assert '<svg class="chart chart-columns"' in html  # the NPS question's columns
    assert "等待时间" in html
    assert f"/console/surveys/{survey}/results.csv?" in html

    words = await console.get(
        f"/console/surveys/{survey}/results/answers", params={"term": "等待时间"}
    )
    assert words.status_code == 200, words.text
    assert "<mark>等待时间</mark>太长" in words.text
    assert "张*三" not in words.text  # marketing sees no part of a customer's name
    csv = await console.get(f"/console/surveys/{survey}/results.csv")
    assert csv.content.startswith("\ufeff回复编号".encode())


async def test_the_filter_form_left_at_all_units_shows_the_whole_scope(
    make_console: Any, survey: Any
) -> None:
    # The form sends every field: 机构 left at 全部 is an empty org_unit_id, a cleared date an
    # empty one. Both mean "not chosen", never an error page.
    console = await make_console()
    await signed_in(console, "marketing")
    day = DAY.date()
    query = f"from={day - timedelta(days=1)}&to={day + timedelta(days=1)}&org_unit_id="
    page = await console.get(f"/console/surveys/{survey}/results?{query}")
    assert page.status_code == 200, page.text
    assert 'data-figure="responded">3<' in page.text
    cleared = await console.get(f"/console/surveys/{survey}/results?from=&to=+&org_unit_id=")
    assert cleared.status_code == 200, cleared.text
    assert 'data-figure="responded">3<' in cleared.text
    words = await console.get(
        f"/console/surveys/{survey}/results/answers?term=%E7%AD%89%E5%BE%85%E6%97%B6%E9%97%B4"
        "&org_unit_id="
    )
    assert "<mark>等待时间</mark>太长" in words.text


async def test_a_branch_head_sees_their_subtree_only(make_console: Any, survey: Any) -> None:
    console = await make_console()
    await signed_in(console, "bh.west")
    page = await console.get(f"/console/surveys/{survey}/results")
    assert 'data-figure="responded">1<' in page.text
    assert "东城" not in page.text.split('aria-label="总体"')[1]
    other = await console.get(
        f"/console/surveys/{survey}/results", params={"org_unit_id": str(unit("branch-east"))}
    )
    assert other.status_code == 404
    words = await console.get(
        f"/console/surveys/{survey}/results/answers", params={"term": "等待时间"}
    )
    assert "没有包含这个词的回答" in words.text


async def test_a_period_that_cannot_be_read_shows_the_form_again(
    make_console: Any, survey: Any
) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    east = str(unit("branch-east"))
    for page, reason in (
        ("results", "结束日期不能早于开始日期"),
        ("results/answers", "结束日期不能早于开始日期"),
    ):
        bad = await console.get(
            f"/console/surveys/{survey}/{page}",
            params={"from": "2026-11-30", "to": "2026-11-01", "org_unit_id": east},
        )
        assert bad.status_code == 422, bad.text
        assert "时间范围无效" in bad.text
        assert reason in bad.text
        assert 'value="2026-11-30"' in bad.text  # what was typed stays
        assert f'name="org_unit_id" value="{east}"' in bad.text  # and the unit chosen
    typo = await console.get(f"/console/surveys/{survey}/results", params={"from": "11/01"})
    assert typo.status_code == 422
    assert "日期格式" in typo.text

"""The console's results of a staff survey still open: its counts only (回收情况), saying its
answers come once it is closed, to protect anonymity; its authors are pointed to where they
close it (the editor's 归档问卷), others told who does; no exports, and its answers and export
addresses say the same. Closed, the page shows its answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.console.conftest import signed_in
from tests.workbench.surveys.results_data import respond
from tests.workbench.surveys.staff_results_data import close_staff, publish_staff
from workbench.db import use_json_codecs
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=3)
OPEN = "员工问卷结束后才显示回答内容，以保护匿名（目前只显示回收情况）"


async def _staff_survey(settings: Any, db: Any, answers: int) -> Any:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey_id = await publish_staff(db)
    for n in range(answers):
        await respond(db, vault, survey_id, {"score": 9, "stars": 4}, sent_at=DAY,
                      team="team-east-1" if n % 2 else "team-east-2",
                      texts={"comment": "等待时间太长"})  # fmt: skip
    return survey_id


@pytest.mark.parametrize("who", ["marketing", "bh.east"])
async def test_an_open_staff_survey_shows_its_counts_and_says_its_answers_come_after_close(
    make_console: Any, settings: Any, db: Any, who: str
) -> None:
    survey = await _staff_survey(settings, db, 12)
    console = await make_console()
    await signed_in(console, who)
    page = await console.get(f"/console/surveys/{survey}/results")
    assert page.status_code == 200, page.text
    html = page.text
    assert OPEN in html
    assert 'data-state="survey-open"' in html
    assert 'data-figure="responded">12<' in html
    assert 'data-figure="nps">—<' in html
    assert "results.csv" not in html
    assert "results.xlsx" not in html
    assert "等待时间" not in html
    assert '<svg class="chart' not in html
    assert "问卷结束后显示" in html  # each unit's row says why it has no scores
    if who == "marketing":  # who may close it is shown where
        assert f'href="/console/surveys/{survey}/edit#archive"' in html
        assert "归档问卷" in html
    else:
        assert f"/console/surveys/{survey}/edit" not in html
        assert 'data-close="who"' in html

    for path, params in (("/answers", {"term": "等待时间"}), (".csv", {}), (".xlsx", {})):
        refused = await console.get(f"/console/surveys/{survey}/results{path}", params=params)
        assert refused.status_code == 409, (path, refused.text)
        assert OPEN in refused.text
        assert "survey.results_after_close" in refused.text
        assert "等待时间太长" not in refused.text

    edit = await console.get(f"/console/surveys/{survey}/edit")
    if who == "marketing":  # the editor says what closing a staff survey does
        assert 'id="archive"' in edit.text
        assert "不再接受回答" in edit.text


async def test_an_open_staff_survey_without_answers_says_so_too(
    make_console: Any, settings: Any, db: Any
) -> None:
    survey = await _staff_survey(settings, db, 0)
    console = await make_console()
    await signed_in(console, "marketing")
    html = (await console.get(f"/console/surveys/{survey}/results")).text
    assert OPEN in html


async def test_a_closed_staff_survey_shows_its_answers_and_where_a_branch_head_finds_it(
    make_console: Any, settings: Any, db: Any
) -> None:
    survey = await _staff_survey(settings, db, 12)
    await close_staff(db, survey)
    console = await make_console()
    await signed_in(console, "bh.east")
    html = (await console.get(f"/console/surveys/{survey}/results")).text
    assert OPEN not in html
    assert "不再接受回答" in html
    assert f"/console/surveys/{survey}/results.csv?" in html
    assert "等待时间" in html
    words = await console.get(
        f"/console/surveys/{survey}/results/answers", params={"term": "等待时间"}
    )
    assert words.status_code == 200, words.text
    assert words.text.count("<mark>等待时间</mark>太长") == 12

    # The branch head's list has the archived surveys too, where closed staff surveys are.
    listed = (await console.get("/console/surveys")).text
    assert f"/console/surveys/{survey}/results" not in listed
    archived = (await console.get("/console/surveys", params={"status": "archived"})).text
    assert f"/console/surveys/{survey}/results" in archived
    assert 'href="/console/surveys?status=archived"' in listed

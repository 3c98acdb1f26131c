"""The console's survey results of a staff survey: below MIN_STAFF_GROUP (5) responses the page
shows the counts and says in Chinese why the answers are not shown, offers no exports, and its
answers and export addresses say the same; from 5, answers show their day only."""

from __future__ import annotations

import re
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
NOTICE = "员工问卷的回答满 5 份才显示，以保护匿名；目前 {} 份。"


async def _staff_survey(settings: Any, db: Any, answers: int) -> Any:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey_id = await publish_staff(db)
    for n in range(answers):
        await respond(db, vault, survey_id, {"score": 9, "stars": 4}, sent_at=DAY,
                      team="team-east-1" if n % 2 else "team-east-2",
                      texts={"comment": "等待时间太长"})  # fmt: skip
    await close_staff(db, survey_id)  # its answers show once it is closed
    return survey_id


async def test_four_staff_answers_show_the_counts_and_say_why_not_the_answers(
    make_console: Any, settings: Any, db: Any
) -> None:
    survey = await _staff_survey(settings, db, 4)
    console = await make_console()
    await signed_in(console, "bh.east")
    page = await console.get(f"/console/surveys/{survey}/results")
    assert page.status_code == 200, page.text
    html = page.text
    assert NOTICE.format(4) in html
    assert 'data-figure="responded">4<' in html
    assert 'data-figure="nps">—<' in html
    assert "results.csv" not in html
    assert "results.xlsx" not in html
    assert "等待时间" not in html
    assert '<svg class="chart' not in html

    for path, params in (("/answers", {"term": "等待时间"}), (".csv", {}), (".xlsx", {})):
        refused = await console.get(f"/console/surveys/{survey}/results{path}", params=params)
        assert refused.status_code == 409, (path, refused.text)
        assert NOTICE.format(4) in refused.text
        assert "survey.too_few_answers" in refused.text
        assert "等待时间太长" not in refused.text


async def test_six_staff_answers_show_with_their_day_only(
    make_console: Any, settings: Any, db: Any
) -> None:
    survey = await _staff_survey(settings, db, 6)
    console = await make_console()
    await signed_in(console, "bh.east")
    page = await console.get(f"/console/surveys/{survey}/results")
    assert "员工问卷的回答满" not in page.text
    assert f"/console/surveys/{survey}/results.csv?" in page.text
    # Three answers in each team: each team's row says why it has no scores (was a bare —).
    assert page.text.count("不足 5 份，不显示") == 2
    words = await console.get(
        f"/console/surveys/{survey}/results/answers", params={"term": "等待时间"}
    )
    assert words.status_code == 200, words.text
    assert words.text.count("<mark>等待时间</mark>太长") == 6
    times = re.findall(r"<time datetime=\"([^\"]+)\">([^<]+)</time>", words.text)
    assert len(times) == 6
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", shown) for _, shown in times)
    assert "东城支行 East Branch" in words.text
    assert "东城一组" not in words.text.split("answer-list")[1]

"""Marketing reads the demo NPS survey's results in a real browser: figures, charts, a word of
the text answers and the answers containing it. Screenshots at desktop and tablet sizes go to
tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.seed import seed_demo_customers, seed_demo_tasks
from workbench.surveys.demo import demo_nps_survey_id, seed_demo_surveys

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def demo_surveys(settings: Any, db: Any, demo_bank: Any) -> None:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    async with db.transaction():
        await seed_demo_customers(db, vault=vault)
        await seed_demo_tasks(db, tz=settings.bank_timezone)
        await seed_demo_surveys(db, vault=vault, now=datetime.now(UTC))


@pytest.mark.usefixtures("demo_surveys")
async def test_marketing_reads_results_and_the_answers_of_a_word(
    page: Any, sign_in: Any, shot: Any
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    await page.goto(f"/console/surveys/{demo_nps_survey_id()}/results")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("客户拜访满意度")
    headline = page.get_by_role("region", name="总体")
    await expect(headline).to_contain_text("NPS 净推荐值")
    await expect(page.locator("[data-figure=nps]")).not_to_have_text("—")
    await expect(
        page.get_by_role(
            "img",
            name="您有多大可能向亲友推荐我行的客户经理服务？（0 分最不可能，10 分最可能） 的分布",
        )
    ).to_be_visible()
    await expect(page.get_by_role("link", name="东城支行 East Branch")).to_be_visible()
    await page.wait_for_load_state("networkidle")  # the icon too, before the next page
    await shot(page, "survey-results", sizes=("desktop", "tablet-portrait"))

    words = page.get_by_role("region", name="文字回答中的常见词")
    first = words.get_by_role("link").first
    word = (await first.locator(".term-word").text_content() or "").strip()
    await first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"包含“{word}”的回答")
    await expect(page.locator(".answer mark").first).to_have_text(word, ignore_case=True)
    await page.wait_for_load_state("networkidle")
    await shot(page, "survey-results-answers", sizes=("desktop",))

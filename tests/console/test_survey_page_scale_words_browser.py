"""The customer's survey page in a real phone-sized browser: each scale's ends read as its
question words them (0 最不可能 / 10 最可能; 1 很不满意 / 5 很满意). A screenshot goes to
tests/artifacts/console/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_the_survey_pages_scale_ends_say_what_its_questions_say(
    page: Any, client: Any, db: Any, settings: Any
) -> None:
    from playwright.async_api import expect

    from tests.workbench.surveys.test_public_survey_page import invite
    from workbench.surveys.demo import NPS_QUESTIONS

    path, _ = await invite(client, db, settings, questions=NPS_QUESTIONS, title="客户拜访满意度")
    await page.set_viewport_size({"width": 375, "height": 812})
    await page.goto(path)
    ends = page.locator(".ends")
    await expect(ends.first).to_have_text(re.compile(r"0 最不可能\s*10 最可能"))
    await expect(ends.nth(1)).to_have_text(re.compile(r"1 很不满意\s*5 很满意"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "survey-page-scale-ends-phone.png"), full_page=True)

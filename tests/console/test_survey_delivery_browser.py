"""Sending the demo NPS survey from the console in a real browser: the page's choice of
recipients (按机构 / 按客户号) reads as two radio buttons, each beside its words, on a desktop and
on a tablet either way up. Screenshots go to tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, TABLETS, sideways
from tests.console.test_survey_results_browser import demo_surveys  # noqa: F401
from workbench.surveys.demo import demo_nps_survey_id

pytestmark = pytest.mark.usefixtures("demo_surveys")

# Per choice: its words, whether its radio is left of them, and on their first line.
CHOICES = """() => Array.from(document.querySelectorAll('.send-option')).map((label) => {
  const radio = label.querySelector('input').getBoundingClientRect();
  const words = label.querySelector('span').getBoundingClientRect();
  const line = parseFloat(getComputedStyle(label.querySelector('span')).lineHeight);
  return {
    words: label.querySelector('strong').textContent,
    beside: radio.right <= words.left,
    sameLine: radio.top < words.top + line && radio.bottom > words.top,
  };
})"""


async def test_each_recipient_choice_has_its_radio_beside_its_words(
    page: Any, sign_in: Any
) -> None:
    """The radios sat on a line of their own above 按机构 and 按客户号 (the field's rule for its
    label and box won over the choice's)."""
    from playwright.async_api import expect

    await sign_in(page, "admin")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sizes = {"desktop": {"width": 1366, "height": 768}, **TABLETS}
    for size, viewport in sizes.items():
        await page.set_viewport_size(viewport)
        await page.goto(f"/console/surveys/{demo_nps_survey_id()}/send")
        await page.wait_for_load_state("networkidle")
        assert await sideways(page) == [], size
        assert await page.evaluate(CHOICES) == [
            {"words": "按机构", "beside": True, "sameLine": True},
            {"words": "按客户号", "beside": True, "sameLine": True},
        ], size
        await page.screenshot(path=str(ARTIFACTS / f"survey-send-{size}.png"))

    # The words choose, as the radio does.
    await page.get_by_text("按客户号", exact=True).click()
    await expect(page.get_by_role("radio", name="按客户号")).to_be_checked()
    await expect(page.get_by_role("radio", name="按机构")).not_to_be_checked()

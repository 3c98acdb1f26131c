"""Long titles in the console's lists, in a real browser: two surveys whose titles start alike
are told apart on a desktop and a tablet (the titles were cut to one line, both reading
"QA 客户满意度回访 — 202…"), and no row pushes the page sideways."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.browser import sideways
from tests.sync.test_survey_sync import add_survey

pytestmark = pytest.mark.usefixtures("demo_bank")

SAME_START = "客户满意度回访（财富管理中心 2026 年第四季度 · 存量高净值客户专项）"
TITLES = (f"{SAME_START} — 东城支行", f"{SAME_START} — 西城支行")

# Per survey title link on the page: its text, and whether all of it is in sight.
TITLE_LINKS = """() => Array.from(document.querySelectorAll('.survey-row a.row-title'), (a) => ({
  text: a.textContent.trim(),
  whole: a.scrollHeight <= a.clientHeight + 1 && a.scrollWidth <= a.clientWidth + 1,
}))"""


async def test_titles_that_start_alike_are_told_apart(page: Any, sign_in: Any, db: Any, shot: Any):
    for title in TITLES:
        await add_survey(db, title)
    await sign_in(page, "marketing")
    for viewport in ({"width": 1280, "height": 800}, {"width": 1024, "height": 768}):
        await page.set_viewport_size(viewport)
        await page.goto("/console/surveys")
        links = {link["text"]: link for link in await page.evaluate(TITLE_LINKS)}
        for title in TITLES:
            assert title in links, (viewport, list(links))
            assert links[title]["whole"], (viewport, title)
            assert await page.locator(f'a.row-title[title="{title}"]').count() == 1
        assert await sideways(page) == [], viewport
    await shot(page, "survey-list-long-titles", sizes=("desktop",))

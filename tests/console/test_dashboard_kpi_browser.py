"""The dashboard's key figures are whole at every width a branch head uses (768 to 1920 px): at
1280×800 the 分享 / 打开 / 转化 card read "202 / 118 …", its conversions cut off by an ellipsis
(six cards in a row leave each about 120 px). Figures that do not fit on one line now wrap onto
the next, four- and five-digit numbers too. Screenshots at 1280×800 and 1024×768 go to
tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.browser import ARTIFACTS
from tests.console.test_dashboard_pages import demo  # noqa: F401

pytestmark = pytest.mark.usefixtures("demo")

WIDTHS = ((768, 1024), (1024, 768), (1280, 800), (1440, 900), (1920, 1080))

# Every key figure whose text does not fit its box (cut off, or out of its card): what and why.
CUT_OFF = """() => {
  const out = [];
  for (const value of document.querySelectorAll('.dash-kpi-value')) {
    const card = value.closest('.dash-kpi').getBoundingClientRect();
    const name = value.dataset.kpi;
    if (value.scrollWidth > value.clientWidth) {
      out.push(`${name}: ${value.scrollWidth} > ${value.clientWidth} "${value.textContent}"`);
    }
    const range = document.createRange();
    range.selectNodeContents(value);
    for (const r of range.getClientRects()) {
      if (r.width && (r.right > card.right - 1 || r.left < card.left)) {
        out.push(`${name}: text to ${Math.round(r.right)} out of its card to ${card.right}`);
      }
    }
  }
  return out;
}"""

# Give the multi-figure cards big numbers (as a large branch has): every run of digits in them.
BIG_NUMBERS = """(numbers) => {
  let i = 0;
  for (const value of document.querySelectorAll('.dash-kpi-value-multi')) {
    const walker = document.createTreeWalker(value, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      node.textContent = node.textContent.replace(/\\d+/g, () => numbers[i++ % numbers.length]);
    }
  }
  return document.querySelector('[data-kpi="funnel"]').textContent;
}"""


async def _figures_whole(page: Any, name: str) -> None:
    for width, height in WIDTHS:
        await page.set_viewport_size({"width": width, "height": height})
        await page.evaluate("document.fonts.ready.then(() => true)")
        assert await page.evaluate(CUT_OFF) == [], f"{name} at {width}×{height}"
        if (width, height) in ((1280, 800), (1024, 768)):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            kpis = page.locator(".dash-kpis")
            await kpis.screenshot(path=str(ARTIFACTS / f"dashboard-kpis-{name}-{width}.png"))


async def test_the_key_figures_are_whole_at_every_width(page: Any, sign_in: Any) -> None:
    await sign_in(page, "bh.east")
    await page.goto("/console/dashboard")
    funnel = page.locator('[data-kpi="funnel"]')
    shown = (await funnel.text_content() or "").split("/")
    assert len(shown) == 3
    assert all(part.strip().isdigit() for part in shown), shown
    await _figures_whole(page, "demo")

    # A large branch's month: five-digit shares and opens, four-digit conversions.
    big = await page.evaluate(BIG_NUMBERS, ["20245", "11888", "1515", "12345", "6789"])
    assert big.replace(" ", "") == "20245/11888/1515"
    await _figures_whole(page, "large")

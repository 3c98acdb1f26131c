"""The review's wording and alignment fixes in a real browser, on the demo bank, at 1280 and
800 px: head office's dashboard lists its branches under 下级机构, low scores carry their scale
("5/10") and read it to a screen reader, hidden names say so; an RM's shares read "—" and whole
minutes; a funnel's columns of numbers are right-aligned under their headings; a rejected
brochure is 编辑ed like a draft. Screenshots go to tests/artifacts/console/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, sideways
from tests.console.test_dashboard_pages import demo  # noqa: F401
from tests.tasks_data import user

pytestmark = pytest.mark.usefixtures("demo")

SIZES = {"1280": {"width": 1280, "height": 900}, "800": {"width": 800, "height": 1180}}


async def _shots(page: Any, name: str) -> None:
    """The whole page at both widths; nothing sticks out sideways at either."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, size in SIZES.items():
        await page.set_viewport_size(size)
        # Chart.js follows its boxes' new width on its own (a resize observer); now, not later.
        await page.evaluate(
            "Object.values((window.WorkbenchDashboard || {charts: {}}).charts)"
            ".forEach(c => c.resize())"
        )
        await page.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 450)))")
        await page.evaluate("document.fonts.ready.then(() => true)")
        assert await sideways(page) == [], width
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)


async def test_head_office_reads_branches_scales_and_hidden_names(page: Any, sign_in: Any) -> None:
    from playwright.async_api import expect

    await sign_in(page, "admin")
    await page.goto("/console/dashboard")
    below = page.locator("section", has=page.locator("#teams-title"))
    await expect(below.get_by_role("heading", level=2)).to_have_text("下级机构")
    await expect(below.get_by_role("columnheader").nth(1)).to_have_text("机构")
    await expect(below.get_by_role("link", name="东城支行 East Branch")).to_be_visible()

    lows = page.locator(".dash-lows")
    first = lows.locator(".dash-low").first
    await expect(first.locator(".dash-low-who")).to_contain_text("客户（姓名已隐藏）")
    await expect(lows).not_to_contain_text("* ·")
    # The scale in sight and in the accessible name, both scales on the list.
    nps = lows.locator(".dash-low-nps").first
    rating = lows.locator(".dash-low-rating").first
    nps_score, nps_of = (await nps.inner_text()).replace("\n", "").split("/")
    rating_score, rating_of = (await rating.inner_text()).replace("\n", "").split("/")
    assert (nps_of, rating_of) == ("10", "5")
    said = (f"{nps_score} 分（0–10 分）", f"{rating_score} 分（1–5 分）")
    for name in said:
        await expect(lows.get_by_role("img", name=name).first).to_be_visible()
    # Each badge keeps its figure on one line, the same width down the list.
    widths = await lows.locator(".dash-low-score").evaluate_all(
        "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])"
    )
    assert len({w for w, _ in widths}) == 1, widths
    assert all(h < 40 for _, h in widths), widths

    await _shots(page, "wording-dashboard")


async def test_an_rms_shares_and_the_funnels_numbers(page: Any, sign_in: Any) -> None:
    from playwright.async_api import expect

    await sign_in(page, "bh.east")
    await page.goto(f"/console/dashboard/rms/{user('rm01')}")
    shares = page.locator("section", has=page.locator("#shares-title"))
    dwell = await shares.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[4].textContent.trim(), r.cells[6].textContent.trim()])"
    )
    assert dwell, "the demo has shares"
    for opens, stayed in dwell:
        assert (stayed == "—") == (opens == "0"), (opens, stayed)
        assert not stayed.endswith(" 0 秒") or stayed == "0 秒", stayed  # no "2 分 0 秒"
    await _shots(page, "wording-rm-shares")

    await page.goto("/console/funnels?group_by=rm")
    table = page.locator("table.funnel-groups")
    await expect(table.get_by_role("columnheader").first).to_have_text("客户经理")
    aligned = await table.evaluate(
        """t => Array.from(t.querySelectorAll('th.num, td.num')).map(
             c => getComputedStyle(c).textAlign + ' ' + getComputedStyle(c).fontVariantNumeric)"""
    )
    assert aligned
    assert set(aligned) == {"right tabular-nums"}, set(aligned)
    # Every number ends where its column's heading ends, the steps' counts after their bars.
    edges = await table.evaluate(
        """t => Array.from(t.rows).map(r => Array.from(r.cells).slice(1).map(cell => {
             const text = document.createRange();
             text.selectNodeContents(cell.querySelector('span') || cell);
             const ends = text.getBoundingClientRect().right;
             return Math.round(cell.getBoundingClientRect().right - ends);
           }))"""
    )
    assert len({edge for row in edges for edge in row}) == 1, edges
    await _shots(page, "wording-funnel-rm")


async def test_a_rejected_brochure_reads_edit_like_a_draft(page: Any, sign_in: Any) -> None:
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    await page.goto("/console/brochures")
    rejected = page.locator(".brochure-row", has_text="私募股权母基金")
    draft = page.locator(".brochure-row", has_text="稳享90天 · 新客专享")
    await expect(rejected.locator(".row-action")).to_have_text("编辑：私募股权母基金")
    edit = rejected.get_by_role("link", name=re.compile(r"^编辑\s*：私募股权母基金$"))
    await expect(edit).to_be_visible()
    await expect(draft.locator(".row-action a")).to_contain_text("编辑")
    await expect(page.locator(".row-action", has_text="修改")).to_have_count(0)
    await _shots(page, "wording-brochure-list")

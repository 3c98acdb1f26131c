"""A branch head's team dashboard in a real browser, on the demo bank: the charts drawn, the
table sorted, a drill-down to one RM, the RM table downloaded as CSV and checked against
GET /api/v1/team/progress, and the other branch nowhere; every column in sight on a tablet; a
period without tasks says so where its charts would be. Screenshots at tablet and phone sizes go
to tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, TABLETS, sideways
from tests.console.test_dashboard_pages import EAST_RMS, WEST_RMS, demo  # noqa: F401
from tests.customers_data import headers_of
from tests.tasks_data import unit
from workbench.dashboard import chartjs

pytestmark = pytest.mark.usefixtures("demo")

TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}

# Per canvas of the page: how many of its pixels something was drawn on.
DRAWN_PIXELS = """() => Array.from(document.querySelectorAll('.dash-chart canvas')).map((c) => {
  if (!c.width || !c.height) return 0;
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i]) n++;
  return n;
})"""


async def _screenshot(page: Any, name: str, size: dict[str, int]) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.set_viewport_size(size)
    # Chart.js follows its boxes' new width on its own (a resize observer); now, not later.
    await page.evaluate(
        "Object.values((window.WorkbenchDashboard || {charts: {}}).charts).forEach(c => c.resize())"
    )
    await page.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 450)))")
    assert await page.evaluate(
        "w => Array.from(document.querySelectorAll('.dash-chart canvas'))"
        ".every(c => c.getBoundingClientRect().width <= w)",
        size["width"],
    )
    # Nothing wider than a phone: wide tables scroll inside their own box.
    assert await page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def test_a_branch_head_reads_drills_down_and_downloads(
    page: Any, sign_in: Any, make_client: Any
) -> None:
    from playwright.async_api import expect

    if not chartjs.available():  # as the browser: CI must draw the charts, not skip them
        problem = "chart.js is not vendored: pip install -e . with npm (see README)"
        if os.environ.get("WORKBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    await sign_in(page, "bh.east")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="团队看板").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("团队看板")
    await expect(page.get_by_role("navigation", name="机构")).to_contain_text(
        "东城支行 East Branch"
    )

    # Three charts, each with something drawn, and Chart.js behind each.
    await page.wait_for_function(
        "() => window.WorkbenchDashboard"
        " && Object.keys(window.WorkbenchDashboard.charts).length === 3"
    )
    await page.wait_for_function(f"() => ({DRAWN_PIXELS})().every(n => n > 500)")
    assert await page.evaluate(
        "Array.from(document.querySelectorAll('.dash-chart canvas'))"
        ".every(c => window.Chart.getChart(c) !== undefined)"
    )

    # The RM table: the East's four, ranked; a click on a header sorts it.
    table = page.locator("table[data-sortable]").first
    await expect(table.locator("tbody tr")).to_have_count(len(EAST_RMS))
    await table.get_by_role("button", name="分配").click()
    await expect(table.locator("th", has_text="分配")).to_have_attribute("aria-sort", "descending")
    counts = [int(t) for t in await table.locator("tbody tr td:nth-child(4)").all_text_contents()]
    assert counts == sorted(counts, reverse=True)
    body = await page.locator("main").inner_text()
    assert not any(name in body for name in WEST_RMS)
    assert "西城" not in body

    await _screenshot(page, "dashboard-tablet", TABLET)
    await _screenshot(page, "dashboard-phone", PHONE)
    await page.set_viewport_size({"width": 1440, "height": 900})

    # The RM table as CSV, with the page's unit and period; rows as GET /team/progress.
    async with page.expect_download() as download:
        await (
            page.get_by_role("group", name="导出客户经理完成情况")
            .get_by_role("link", name="CSV")
            .click()
        )
    saved = await (await download.value).path()
    rows = list(csv.DictReader(io.StringIO(Path(saved).read_text(encoding="utf-8-sig"))))  # noqa: ASYNC240
    period = {
        "from": await page.locator('input[name="from"]').input_value(),
        "to": await page.locator('input[name="to"]').input_value(),
    }
    client = await make_client()
    bh = await headers_of(client, "bh.east")
    api = await client.get(
        "/api/v1/team/progress",
        params={**period, "org_unit_id": str(unit("branch-east"))},
        headers=bh,
    )
    assert api.status_code == 200, api.text
    expected = {
        r["rm_id"]: (r["name"], r["assigned"], r["done"], r["overdue"], r["completion_rate"])
        for r in api.json()["rows"]
    }
    got = {
        r["客户经理编号"]: (
            r["客户经理"],
            int(r["分配任务"]),
            int(r["已完成"]),
            int(r["逾期"]),
            float(r["完成率"]),
        )
        for r in rows
    }
    assert got == expected
    assert sorted(name for name, *_ in got.values()) == sorted(EAST_RMS)
    assert sum(done for _, _, done, _, _ in got.values()) > 0

    # Drill down: a team, then one RM with their tasks, shares and work orders.
    await page.get_by_role("link", name="东城一组 East Team 1").first.click()
    await expect(page.get_by_role("navigation", name="机构")).to_contain_text("东城一组")
    await page.locator("table[data-sortable]").first.get_by_role("link", name="张伟").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("张伟")
    await expect(page.get_by_role("heading", name="任务", exact=True)).to_be_visible()
    await expect(page.get_by_role("heading", name="分享", exact=True)).to_be_visible()
    await expect(page.locator('[data-kpi="rank"]')).to_contain_text("/ 2")
    await _screenshot(page, "dashboard-rm-phone", PHONE)

    # The West stays out of reach: its unit and its RMs answer "not found".
    await page.goto(f"/console/dashboard?unit={unit('branch-west')}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("机构不存在")
    await page.wait_for_load_state("networkidle")


LONG_NAME = "张伟 Zhang Wei（东城一组高级客户经理·财富管理中心）"
# The RM chart's width, its name axis's width, and the axis label and tooltip title of `name`.
RM_CHART = """(name) => {
  const chart = window.Chart.getChart(document.getElementById('chart-rms'));
  const i = chart.data.labels.indexOf(name);
  chart.tooltip.setActiveElements([], {x: 0, y: 0});
  chart.update('none');
  chart.tooltip.setActiveElements([{datasetIndex: 0, index: i}], {x: 0, y: 0});
  chart.update('none');
  return {width: chart.width, axis: chart.scales.y.width, tick: chart.scales.y.ticks[i].label,
          title: chart.tooltip.title};
}"""


async def test_a_long_rm_name_is_cut_on_the_chart_axis_and_whole_in_its_tooltip(
    page: Any, sign_in: Any, db: Any
) -> None:
    """A long name once took 40 % of the bar chart's width; now it ends in "…" on the axis (as in
    the monthly PDF) and the tooltip names the RM in full, at desktop and phone sizes."""
    if not chartjs.available():
        pytest.skip("chart.js is not vendored")
    await db.execute("update users set name = $1 where login = 'rm01'", LONG_NAME)
    await sign_in(page, "bh.east")
    await page.goto("/console/dashboard")
    await page.wait_for_function(
        "() => window.WorkbenchDashboard && window.WorkbenchDashboard.charts['chart-rms']"
    )
    for name, size in (("desktop", {"width": 1440, "height": 900}), ("phone", PHONE)):
        await _screenshot(page, f"dashboard-long-name-{name}", size)
        drawn = await page.evaluate(RM_CHART, LONG_NAME)
        assert drawn["tick"].endswith("…"), drawn
        assert LONG_NAME.startswith(drawn["tick"][:-1])
        assert drawn["axis"] < 0.3 * drawn["width"], drawn  # the bars keep the room
        assert "".join(drawn["title"]) == LONG_NAME, drawn  # whole (in lines on a phone)
    # The RM table still shows the whole name: only the chart's axis is cut.
    assert LONG_NAME in await page.locator("table[data-sortable]").first.inner_text()


@pytest.mark.parametrize("login", ["bh.east", "admin"])
async def test_every_column_is_in_sight_on_a_tablet(page: Any, sign_in: Any, login: str) -> None:
    """At 768 and 1024 wide the dashboard's tables and an RM's show every column without
    scrolling sideways (the RM table was 771 px in a 718 px box, 未结工单 cut off; an RM's shares
    cut off 转化). Upright, an RM's team goes under their name instead of a column of its own."""
    from playwright.async_api import expect

    await sign_in(page, login)
    await page.goto("/console/dashboard")
    rms = page.locator("table[data-sortable]").first
    rm_page = await rms.locator("a.dash-name").first.get_attribute("href")
    assert rm_page
    for size, viewport in TABLETS.items():
        await page.set_viewport_size(viewport)
        for path in ("/console/dashboard", rm_page):
            await page.goto(path)
            await page.wait_for_load_state("networkidle")
            # The tables behind 每周数字 and 按客户经理 too, as a click would show them.
            await page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            assert await sideways(page) == [], (login, size, path)
        await page.goto("/console/dashboard")
        team = rms.locator("tbody tr").first.locator(".dash-unit-inline")
        if size == "tablet-upright":
            await expect(rms.get_by_role("columnheader", name="所属团队")).to_be_hidden()
            await expect(team).to_be_visible()
        else:
            await expect(rms.get_by_role("columnheader", name="所属团队")).to_be_visible()
            await expect(team).to_be_hidden()
        last = await rms.get_by_role("columnheader", name="未结工单").bounding_box()
        assert last is not None
        assert last["x"] + last["width"] <= viewport["width"], (login, size, last)
        await page.wait_for_load_state("networkidle")


async def test_a_period_without_tasks_says_so_where_its_charts_would_be(
    page: Any, sign_in: Any
) -> None:
    """The RM bar chart, the weekly trend and the satisfaction chart of a period with nothing in
    it were bare axes; now each says so in a sentence, as the funnel and the low scores do."""
    from playwright.async_api import expect

    await sign_in(page, "bh.east")
    await page.goto("/console/dashboard?from=2001-01-01&to=2001-01-31")
    for section, sentence in (
        ("客户经理完成情况", "这段时间没有分配任务。"),
        ("每周完成趋势", "这段时间没有分配任务。"),
        ("分享转化漏斗", "这段时间没有分享。"),
        ("客户满意度", "这段时间没有客户回复。"),
    ):
        region = page.get_by_role("region", name=section)
        await expect(region.locator(".dash-empty").first).to_have_text(sentence)
    await expect(page.locator(".dash-chart")).to_have_count(0)
    # The RMs are still listed, each at zero.
    rows = page.locator("table[data-sortable]").first.locator("tbody tr")
    await expect(rows).to_have_count(len(EAST_RMS))
    await expect(rows.locator("td:nth-child(4)")).to_have_text(["0"] * len(EAST_RMS))
    await page.wait_for_load_state("networkidle")

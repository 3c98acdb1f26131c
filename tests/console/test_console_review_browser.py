"""A product owner's review of the console, in a real browser at 1280 px and on the smallest
tablets: 添加原因 marks each refused field and needs no code; a work order's page gives its due
time with the year; a branch head reads the staff pulse as staff see it, without keys, and its
results' 其他 row says what it holds. Screenshots in tests/artifacts/console/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, TABLETS, sideways
from tests.console.test_survey_results_browser import demo_surveys  # noqa: F401
from tests.console.test_work_order_browser import demo_rule  # noqa: F401
from workbench.surveys.demo import PULSE_SURVEY

pytestmark = pytest.mark.usefixtures("demo_rule")
SIZES = {"1280": {"width": 1280, "height": 900}, **TABLETS}


async def shoot(page: Any, name: str, locator: Any = None) -> None:
    """Screenshots at every size, none scrolling sideways."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        assert await sideways(page) == [], (name, size)
        path = str(ARTIFACTS / f"{name}-{size}.png")
        if locator is None:
            await page.screenshot(path=path, full_page=True)
        else:
            await locator.screenshot(path=path)


async def test_adding_a_root_cause_marks_the_fields_and_needs_no_code(
    page: Any, sign_in: Any, db: Any
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "admin")
    await page.goto("/console/work-orders/root-causes")
    name = page.get_by_label("名称", exact=True).last
    code = page.get_by_label("代码")
    await name.fill("   ")
    await code.fill("Queue System")
    await page.get_by_role("button", name="添加", exact=True).click()
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(code).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#label-error")).to_contain_text("请填写名称")
    await expect(page.locator("#code-error")).to_contain_text("也可以留空，自动生成")
    await shoot(page, "root-causes-refused", page.locator("section.wo-rule-form"))

    await page.get_by_label("名称", exact=True).last.fill("叫号系统故障")
    await page.get_by_label("代码").fill("")
    await page.get_by_role("button", name="添加", exact=True).click()
    await expect(page.locator(".flash")).to_contain_text("已添加原因“叫号系统故障”")
    made = await db.fetchval("select code from work_order_root_causes where label = '叫号系统故障'")
    assert re.fullmatch(r"cause_\d+", made)
    await shoot(page, "root-causes")


async def test_a_work_orders_times_all_have_their_year(page: Any, sign_in: Any, db: Any) -> None:
    from playwright.async_api import expect

    order = await db.fetchval("select id from work_orders order by created_at desc limit 1")
    await sign_in(page, "admin")
    await page.goto(f"/console/work-orders/{order}")
    due = page.locator(".wo-side-facts .wo-due time")
    await expect(due).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    await expect(page.locator(".detail-lead")).to_contain_text(re.compile(r"生成于 \d{4}-"))
    await shoot(page, "work-order-detail-year")


async def test_a_branch_head_reads_the_staff_pulse_as_staff_see_it(
    page: Any, sign_in: Any, db: Any
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "bh.east")
    version = await db.fetchval("select version from surveys where id = $1", PULSE_SURVEY)
    await page.goto(f"/console/surveys/{PULSE_SURVEY}/versions/{version}")
    await expect(page.locator("#preview-title")).to_have_text("员工看到的页面")
    await expect(page.locator(".version-questions .code")).to_have_count(0)
    await shoot(page, "survey-version-staff")

    await page.goto(f"/console/surveys/{PULSE_SURVEY}/results")
    other = page.locator("tr[data-row=other]")
    if await other.count():
        await expect(other.locator("[data-other=holds]")).to_have_text(re.compile("^合计：.+"))
    await shoot(page, "survey-results-staff-other")

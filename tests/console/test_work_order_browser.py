"""The admin's alert rules in a real browser, on the demo surveys and their rule: a rule added
with the form, and the list of rules on a tablet, upright and on its side: the page as wide as
the window, each rule's terms, state and button in sight, the button working. Screenshots go to
tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, TABLETS, sideways
from tests.console.test_survey_results_browser import demo_surveys  # noqa: F401
from tests.workbench.workorders.wo_setup import restore_root_causes
from workbench.security.vault import Vault
from workbench.surveys.demo import demo_nps_survey_id
from workbench.workorders.demo import DEMO_RULE, seed_demo_work_orders

pytestmark = pytest.mark.usefixtures("demo_rule")

RULES = "/console/work-orders/rules"

# Per rule (a row of the table): how many lines its 分派给 takes, and whether its cells and its
# button end inside the rules' panel.
RULE_ROWS = """() => {
  const panel = document.querySelector('section[aria-labelledby=rules-title]');
  const right = panel.getBoundingClientRect().right;
  return Array.from(panel.querySelectorAll('tbody tr')).map((row) => {
    const assign = row.querySelector('.wo-rule-assign');
    const text = Array.from(assign.childNodes).find((n) => n.nodeType === Node.TEXT_NODE
      && n.textContent.trim());
    const range = document.createRange();
    range.selectNodeContents(text);
    return {
      assignLines: range.getClientRects().length,
      inside: Array.from(row.cells).every((c) => c.getBoundingClientRect().right <= right),
    };
  });
}"""


@pytest.fixture
async def demo_rule(settings: Any, db: Any, demo_surveys: Any) -> None:  # noqa: F811
    """The demo surveys with their rule (NPS ≤ 6 to the RM) and its work orders."""
    await restore_root_causes(db)  # (the seed closes some with them)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    async with db.transaction():
        await seed_demo_work_orders(db, vault=vault, now=datetime.now(UTC))


async def test_the_rules_fit_a_tablet_and_each_button_works(
    page: Any, sign_in: Any, db: Any
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "admin")
    await page.goto(RULES)
    await page.get_by_label("问卷题目").select_option(f"{demo_nps_survey_id()}:score")
    await page.get_by_label("条件").select_option("gte")
    await page.get_by_label("值").fill("9")
    await page.get_by_label("分派给").select_option("branch_head")
    await page.get_by_label("处理时限（小时）").fill("48")
    async with page.expect_navigation():
        await page.get_by_role("button", name="添加规则").click()
    await expect(page.locator(".flash")).to_contain_text("规则已添加")
    # One of the two switched off: its state says so and it has no button.
    await db.execute("update alert_rules set active = false where id <> $1", DEMO_RULE)

    panel = page.get_by_role("region", name="现有规则")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in TABLETS.items():
        await page.set_viewport_size(viewport)
        await page.goto(RULES)
        await page.wait_for_load_state("networkidle")
        assert await sideways(page) == [], size
        rows = panel.locator("tbody tr")
        await expect(rows).to_have_count(2)
        await expect(panel.get_by_text("启用", exact=True)).to_be_visible()
        await expect(panel.get_by_text("停用", exact=True)).to_be_visible()
        # 分派给 on one line (it was two characters a line), every cell inside the panel.
        assert await page.evaluate(RULE_ROWS) == [{"assignLines": 1, "inside": True}] * 2, size
        button = panel.get_by_role("button", name="应用到历史回答")
        await expect(button).to_have_count(1)
        box = await button.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= viewport["width"], (size, box)
        await page.screenshot(path=str(ARTIFACTS / f"work-order-rules-{size}.png"), full_page=True)

    async with page.expect_navigation():
        await panel.get_by_role("button", name="应用到历史回答").click()
    await expect(page.locator(".flash")).to_contain_text("历史回答")
    await page.wait_for_load_state("networkidle")

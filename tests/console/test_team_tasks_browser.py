"""The team-task page in a real browser at 1280 px: the East Branch head finds rm01's overdue
task marked, sees that a customer's visit follows its customer, is told beside the form why an
RM disabled meanwhile cannot take a task, hands rm01's task to 李娜 and is told so; the page
fits an upright tablet. A screenshot goes to tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

from typing import Any

from tests.console.browser import ARTIFACTS, TABLETS, settled, sideways
from tests.console.test_team_tasks_pages import LIST, assignee_of, team_tasks
from tests.tasks_data import user
from tests.test_task_reassign import set_active


async def test_the_head_reassigns_a_task_on_the_page(
    page: Any, sign_in: Any, client: Any, db: Any, demo_bank: Any
) -> None:
    from playwright.async_api import expect

    tasks = await team_tasks(client, db)
    await sign_in(page, "bh.east")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.get_by_role("link", name="团队任务").first.click()
    await settled(page)
    late = page.locator(".task-row.wo-row-late")
    await expect(late).to_have_count(1)
    await expect(late).to_contain_text("已逾期 2 小时")

    # A customer's visit follows the customer: no form, and the row says so.
    visit = page.locator(f"#task-{tasks['customer']}")
    await expect(visit).to_contain_text("客户任务随客户移交")
    await expect(visit.locator("form")).to_have_count(0)

    # 王芳 is disabled while the page is open: choosing her is refused beside the form.
    await set_active(client, "rm02", False)
    await late.get_by_label("转派给").select_option(label="王芳")
    async with page.expect_navigation():
        await late.get_by_role("button", name="转派").click()
    await expect(page.locator(".field-error")).to_contain_text("只能转派给在岗的客户经理")
    assert await assignee_of(db, tasks["rm01"]) == user("rm01")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("document.fonts.ready.then(() => true)")
    await page.screenshot(path=str(ARTIFACTS / "team-tasks-refused-1280.png"), full_page=True)

    await page.goto(LIST)
    mine = late  # rm01's overdue task
    await mine.get_by_label("转派给").select_option(label="李娜")
    async with page.expect_navigation():
        await mine.get_by_role("button", name="转派").click()
    await expect(page.locator(".flash")).to_contain_text("已转派给 李娜")
    assert await assignee_of(db, tasks["rm01"]) == user("rm03")
    await expect(page.locator(".task-row.wo-row-late")).to_contain_text("李娜")

    await page.set_viewport_size(TABLETS["tablet-upright"])
    assert await sideways(page) == []

"""A branch head sends the demo NPS survey in a real browser: the send page's button only leads
to a confirmation that says how many customers the sending reaches (nothing is sent before
确认发送), and the progress page's buttons lead back, not to another sending. On a desktop and
on the smallest tablets, upright and on its side; screenshots in tests/artifacts/console/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, TABLETS, sideways
from tests.console.test_survey_results_browser import demo_surveys  # noqa: F401
from workbench.surveys.demo import demo_nps_survey_id

pytestmark = pytest.mark.usefixtures("demo_surveys")
SIZES = {"1280": {"width": 1280, "height": 900}, **TABLETS}


async def test_the_send_button_asks_first_and_the_progress_page_leads_back(
    page: Any, sign_in: Any, db: Any
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "bh.east")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = f"/console/surveys/{demo_nps_survey_id()}/send"
    before = await db.fetchval("select count(*) from survey_deliveries")
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        await page.goto(url)
        await expect(page.get_by_role("radio", name="按机构")).to_be_checked()
        await page.get_by_role("button", name="下一步：核对收件人").click()
        reach = page.get_by_role("heading", level=2, name=re.compile("将发送给约"))
        await expect(reach).to_have_text(re.compile(r"将发送给约 \d+ 位客户"))
        await expect(page.get_by_role("button", name=re.compile(r"确认发送给约 \d+ 位客户"))
                     ).to_be_visible()  # fmt: skip
        assert await sideways(page) == [], size
        await page.screenshot(path=str(ARTIFACTS / f"survey-send-confirm-{size}.png"),
                              full_page=True)  # fmt: skip
    assert await db.fetchval("select count(*) from survey_deliveries") == before

    # 返回修改: the form again, as chosen; then confirmed: one sending, its progress.
    await page.get_by_role("button", name="返回修改").click()
    await expect(page.get_by_role("button", name="下一步：核对收件人")).to_be_visible()
    await page.get_by_role("button", name="下一步：核对收件人").click()
    await page.get_by_role("button", name=re.compile("确认发送给约")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("发送进度")
    assert await db.fetchval("select count(*) from survey_deliveries") == before + 1
    actions = page.locator(".page-actions")
    await expect(actions).to_contain_text("返回问卷列表")
    await expect(actions).not_to_contain_text("再次发送")
    await expect(actions.locator(".button-primary")).to_have_count(0)
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        assert await sideways(page) == [], size
        await page.screenshot(path=str(ARTIFACTS / f"survey-delivery-progress-{size}.png"),
                              full_page=True)  # fmt: skip

    # Back to the confirmation and confirmed again: nothing more is sent.
    await page.go_back()
    if await page.get_by_role("button", name=re.compile("确认发送给约")).count():
        await page.get_by_role("button", name=re.compile("确认发送给约")).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            re.compile("已经提交过|发送进度")
        )
    assert await db.fetchval("select count(*) from survey_deliveries") == before + 1

"""The admin's users table on a tablet held upright: the 机构 and 最近使用 columns give way, and
what they held goes under each name, so the last use of every account stays in sight without
scrolling sideways. Screenshots at 1280 and 800 px go to tests/artifacts/console/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, sideways

pytestmark = pytest.mark.usefixtures("demo_bank")

WIDE = {"width": 1280, "height": 900}
TABLET = {"width": 800, "height": 1180}


async def test_a_tablet_admin_sees_when_each_user_last_signed_in(page: Any, sign_in: Any) -> None:
    from playwright.async_api import expect

    await sign_in(page, "admin")
    await page.set_viewport_size(TABLET)
    await page.goto("/console/admin")
    await expect(page.get_by_role("heading", level=1)).to_have_text("机构与用户")

    me = page.locator("tr.admin-user-row", has=page.locator(".badge", has_text="我"))
    never = page.locator("tr.admin-user-row", has_text="rm04")
    # The column is gone at this width; the last use is under the name instead.
    await expect(page.get_by_role("columnheader", name="最近使用")).to_be_hidden()
    await expect(me.locator(".admin-who")).to_contain_text("最近使用 刚刚")
    await expect(me.locator(".admin-who").get_by_text("最近使用 刚刚")).to_be_visible()
    await expect(never.locator(".admin-who").get_by_text("从未登录")).to_be_visible()
    assert await sideways(page) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "admin-users-last-use-800.png"), full_page=True)

    # On a desktop the column holds it, once: nothing repeated under the name.
    await page.set_viewport_size(WIDE)
    await expect(page.get_by_role("columnheader", name="最近使用")).to_be_visible()
    await expect(me.locator("td.admin-seen")).to_contain_text("刚刚")
    await expect(me.locator(".admin-seen-inline")).to_be_hidden()
    await expect(never.locator("td.admin-seen")).to_have_text("从未登录")
    await page.screenshot(path=str(ARTIFACTS / "admin-users-last-use-1280.png"), full_page=True)

"""The admin in a real browser: opens 机构与用户, adds a team under East Branch, creates an RM in
it (the generated password shown once), and disables them after the confirmation; the RM's app
token is refused at once. Screenshots at 1366×768 and 768×1024 go to tests/artifacts/console/."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.console.test_device_browser import screenshots

pytestmark = pytest.mark.usefixtures("demo_bank")

PHONE = {"device_id": "rm09-phone-0001", "platform": "ios", "model": "iPhone 15"}


async def test_the_admin_adds_a_team_creates_an_rm_and_disables_them(
    page: Any, sign_in: Any, console_server: str
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "admin")
    nav = page.get_by_role("navigation", name="主导航")
    await nav.get_by_role("link", name="机构与用户").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("机构与用户")
    await expect(page.locator("tr.admin-user-row")).to_have_count(13)
    await screenshots(page, "admin-users")

    # The org tree: a new team under East Branch.
    await page.get_by_role("navigation", name="机构与用户").get_by_role("link", name="机构").click()
    await expect(page.locator("tr.admin-unit-row")).to_have_count(7)
    await screenshots(page, "admin-units")
    east = page.locator("tr.admin-unit-row", has_text="东城支行 East Branch")
    await east.get_by_role("link", name="添加下级").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("新增机构")
    await expect(page.get_by_label("上级机构")).to_have_value(await _unit_id(page, "东城支行"))
    await page.get_by_label("机构名称").fill("东城三组")
    await page.get_by_role("button", name="添加机构").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "已添加 东城三组（上级：东城支行 East Branch）"
    )
    team = page.locator("tr.admin-unit-row", has_text="东城三组")
    await expect(team).to_contain_text("0 人")

    # An RM in it, with a generated password.
    await team.get_by_role("link", name="添加用户").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("新建用户")
    await page.get_by_label("姓名").fill("周敏")
    await page.get_by_label("登录名").fill("rm09")
    await page.get_by_label("角色").select_option(label="客户经理")
    await screenshots(page, "admin-user-new")
    await page.get_by_role("button", name="创建用户").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("用户已创建")
    await expect(page.locator("main")).to_contain_text("这个密码只显示这一次")
    password = (await page.locator("output.admin-secret").inner_text()).strip()
    assert len(password) == 14
    await screenshots(page, "admin-password")

    async with httpx.AsyncClient(base_url=console_server) as api:
        signed = await api.post(
            "/api/v1/auth/login", json={"login": "rm09", "password": password, "device": PHONE}
        )
        assert signed.status_code == 200, signed.text
        phone = {"Authorization": f"Bearer {signed.json()['access_token']}"}

        # Found again in the list (never the password), then disabled.
        await page.get_by_role("link", name="已交接，返回用户列表").click()
        rows = page.locator("tr.admin-user-row")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("周敏")
        await expect(rows.first).to_contain_text("东城三组")
        await expect(rows.first).to_contain_text("客户经理")
        await expect(page.locator("main")).not_to_contain_text(password)
        await rows.first.get_by_role("link", name="停用").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("停用用户")
        await expect(page.locator("main")).to_contain_text("停用后，会话立即失效、无法再登录。")
        await expect(page.locator("main")).to_contain_text("名下没有客户，也没有未完成的任务")
        await screenshots(page, "admin-disable")
        assert (await api.get("/api/v1/me", headers=phone)).status_code == 200  # nothing yet

        await page.get_by_role("button", name="确认停用").click()
        await expect(page.get_by_role("status")).to_contain_text("已停用 周敏（rm09）")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("已停用")
        await expect(rows.first.get_by_role("button", name="启用")).to_be_visible()
        await screenshots(page, "admin-disabled")

        # Their phone is told to erase its offline copy, also when they sign in again on it.
        refused = await api.get("/api/v1/me", headers=phone)
        assert refused.status_code == 403
        assert (refused.json()["code"], refused.json()["wipe"]) == ("auth.user_disabled", True)
        again = await api.post(
            "/api/v1/auth/login", json={"login": "rm09", "password": password, "device": PHONE}
        )
        assert again.status_code == 403
        assert (again.json()["code"], again.json()["wipe"]) == ("auth.user_disabled", True)


async def _unit_id(page: Any, name: str) -> str:
    """The value of the unit's option in the form's parent select."""
    value: str = await page.locator("#parent_id option", has_text=name).first.get_attribute("value")
    return value

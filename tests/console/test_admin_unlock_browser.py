"""The help desk's call in a real browser: someone guessed at rm01's password until the login
locked, so even the right one is refused. The admin finds 张伟 in 机构与用户 (marked 登录已锁定),
opens the user page, reads how long the lock lasts and presses 解除锁定; rm01 signs in at once.
Screenshots at 1280 px and on an upright tablet go to tests/artifacts/console/."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.console.browser import ARTIFACTS, TABLETS, sideways
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

PHONE = {"device_id": "rm01-iphone-0001", "platform": "ios", "model": "iPhone 15"}
SIZES = {"1280": {"width": 1280, "height": 800}, "tablet": TABLETS["tablet-upright"]}


async def screenshots(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        await page.evaluate("document.fonts.ready.then(() => true)")
        assert await sideways(page) == [], f"{name} at {size}"
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
    await page.set_viewport_size(before)


async def test_the_admin_lifts_a_lock_put_on_an_rm_by_wrong_passwords(
    page: Any, sign_in: Any, console_server: str, settings: Any
) -> None:
    from playwright.async_api import expect

    async def sign_in_app(api: httpx.AsyncClient, password: str) -> int:
        answer = await api.post(
            "/api/v1/auth/login", json={"login": "rm01", "password": password, "device": PHONE}
        )
        return answer.status_code

    async with httpx.AsyncClient(base_url=console_server) as api:
        for _ in range(settings.login_limit_per_login):
            assert await sign_in_app(api, "guessed-wrong") == 401
        assert await sign_in_app(api, DEMO_PASSWORD) == 429  # locked: the right one too

        await sign_in(page, "admin")
        await (
            page.get_by_role("navigation", name="主导航")
            .get_by_role("link", name="机构与用户")
            .click()
        )
        await page.get_by_role("searchbox", name="查找用户").fill("rm01")
        await page.get_by_role("button", name="查找").click()
        row = page.locator("tr.admin-user-row", has_text="张伟")
        await expect(row).to_have_count(1)
        await expect(row.locator(".state-pill-locked")).to_have_text("登录已锁定：张伟，查看并解除")
        await screenshots(page, "admin-unlock-list")

        await row.locator(".state-pill-locked").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("编辑 张伟")
        lock = page.get_by_role("region", name="登录已锁定：连续输错密码，约 15 分钟后自动解除")
        await expect(lock).to_be_visible()
        await expect(lock.get_by_role("link", name="重置密码")).to_be_visible()
        await screenshots(page, "admin-unlock")

        await lock.get_by_role("button", name="解除锁定").click()
        await expect(page.get_by_role("status")).to_contain_text(
            "已解除 张伟（rm01）的登录锁定：现在可以用原密码登录。"
        )
        await expect(page.locator("main")).not_to_contain_text("登录已锁定")
        await screenshots(page, "admin-unlocked")

        assert await sign_in_app(api, DEMO_PASSWORD) == 200

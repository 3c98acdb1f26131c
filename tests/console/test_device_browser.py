"""Revoking a lost phone in a real browser: the East Branch head opens 设备管理, finds rm01's phone
by searching, reads the confirmation and revokes it; the list marks it 已停用 and the phone's
token is refused at once. Screenshots at 1366×768 and 768×1024 go to tests/artifacts/console/."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.console.browser import ARTIFACTS
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

PHONE = {
    "device_id": "rm01-iphone-0001",
    "platform": "ios",
    "model": "iPhone 15",
    "app_version": "2.4.1",
}
SIZES = {"desktop": {"width": 1366, "height": 768}, "tablet": {"width": 768, "height": 1024}}


async def screenshots(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    for size, viewport in SIZES.items():
        await page.set_viewport_size(viewport)
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
    await page.set_viewport_size(before)


async def test_the_branch_head_finds_and_revokes_a_lost_phone(
    page: Any, sign_in: Any, console_server: str
) -> None:
    from playwright.async_api import expect

    async with httpx.AsyncClient(base_url=console_server) as api:
        signed = await api.post(
            "/api/v1/auth/login",
            json={"login": "rm01", "password": DEMO_PASSWORD, "device": PHONE},
        )
        assert signed.status_code == 200, signed.text
        phone = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        for n, who in enumerate(("rm02", "rm05")):  # a colleague, and one of the West Branch
            other = {"device_id": f"{who}-phone-0001", "platform": "android", "model": "Mate 60"}
            assert (await api.post("/api/v1/auth/login", json={
                "login": who, "password": DEMO_PASSWORD, "device": other,
            })).status_code == 200, n  # fmt: skip

        await sign_in(page, "bh.east")
        await (
            page.get_by_role("navigation", name="主导航")
            .get_by_role("link", name="设备管理")
            .click()
        )
        await expect(page.get_by_role("heading", level=1)).to_have_text("设备管理")
        await expect(page.locator("main")).not_to_contain_text("陈静")  # rm05, West Branch
        await page.get_by_role("searchbox", name="查找设备").fill("rm01")
        await page.get_by_role("button", name="查找").click()
        rows = page.locator("tr.device-row")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("张伟")
        await expect(rows.first).to_contain_text("iPhone 15")
        await expect(rows.first).to_contain_text("使用中")
        await screenshots(page, "devices-list")

        await rows.first.get_by_role("link", name="停用").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("停用设备")
        await expect(page.locator("main")).to_contain_text(
            "会话立即失效，App 下次联网时清除本机数据，找回后可恢复"
        )
        await screenshots(page, "devices-revoke")
        assert (await api.get("/api/v1/me", headers=phone)).status_code == 200  # nothing yet

        await page.get_by_role("button", name="确认停用").click()
        await expect(page.get_by_role("status")).to_contain_text("已停用 张伟的 iOS · iPhone 15")
        await expect(rows).to_have_count(1)  # back on the list as it was searched
        await expect(rows.first).to_contain_text("已停用")
        await expect(rows.first).to_contain_text("王东")
        await expect(rows.first.get_by_role("button", name="恢复")).to_be_visible()
        await screenshots(page, "devices-revoked")
        # On a tablet held upright the row's button is on screen, not scrolled out of the card.
        await page.set_viewport_size(SIZES["tablet"])
        box = await rows.first.get_by_role("button", name="恢复").bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= SIZES["tablet"]["width"]
        assert await page.evaluate("document.documentElement.scrollWidth") <= 768

        refused = await api.get("/api/v1/me", headers=phone)
        assert refused.status_code == 403
        assert refused.json()["code"] == "auth.device_revoked"

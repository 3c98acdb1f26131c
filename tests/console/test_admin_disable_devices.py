"""Disabling a user in the console (机构与用户 → 停用) says what happens to their phones and
tablets: the confirmation names those signed in, which erase their offline copy at their next
call (the devices are not revoked), and the answer counts them."""

from __future__ import annotations

import html
from typing import Any

import pytest

from tests.console.conftest import csrf_of, post_form, signed_in
from tests.console.test_pages import console_page
from tests.helpers import bearer
from tests.workbench.identity.test_org_scope import user_id
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

ADMIN = "/console/admin"
ME = "/api/v1/me"


def user_page(login_name: str, action: str) -> str:
    return f"{ADMIN}/users/{user_id(login_name)}/{action}"


async def app_sign_in(client: Any, who: str, device_id: str, model: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/login",
        json={
            "login": who,
            "password": DEMO_PASSWORD,
            "device": {"device_id": device_id, "platform": "ios", "model": model},
        },
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def test_disabling_names_the_phones_that_will_erase_their_offline_copy(console, db):
    phone = await app_sign_in(console, "rm01", "device-rm01-phone", "iPhone 15")
    await signed_in(console, "admin")
    back = f"{ADMIN}?q=rm01"
    confirm = html.unescape(
        console_page(await console.get(user_page("rm01", "disable"), params={"back": back}), 200)
    )
    assert "会话立即失效、无法再登录" in confirm
    assert "正在使用的 1 台手机或平板下次联网时会清除 App 中的离线数据" in confirm
    assert "iOS · iPhone 15" in confirm
    assert "设备本身不会停用" in confirm

    done = await post_form(
        console, user_page("rm01", "disable"), {"back": back}, token=csrf_of(confirm)
    )
    assert done.status_code == 303, done.text
    listed = console_page(await console.get(back), 200)
    assert "已停用 张伟（rm01）：其会话已立即失效，无法再登录" in listed
    assert "其 1 台手机或平板下次联网时将清除 App 中的离线数据（设备本身未停用）" in listed
    # What the page promised: the phone is told to wipe, and is not revoked.
    told = await console.get(ME, headers=bearer(phone))
    assert told.status_code == 403
    assert told.json()["code"] == "auth.user_disabled"
    assert told.json()["wipe"] is True
    assert await db.fetchval(
        "select revoked_at is null from devices where device_id = 'device-rm01-phone'"
    )


async def test_a_user_signed_in_on_no_phone_is_told_so(console):
    await signed_in(console, "admin")
    confirm = console_page(await console.get(user_page("rm07", "disable")), 200)
    assert "目前没有登录中的手机或平板" in confirm
    assert "台手机或平板下次联网时" not in confirm

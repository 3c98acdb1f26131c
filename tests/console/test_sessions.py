"""A console session ends: idle, too old, signed out, or because the identity service says so
(device revoked, user changed or disabled). The next request goes to the sign-in page, which
says why."""

from __future__ import annotations

import json

import pytest

from tests.console.conftest import csrf_of, post_form, signed_in
from tests.helpers import bearer, login

pytestmark = pytest.mark.usefixtures("demo_bank")


async def sent_to_sign_in_saying(console, text: str, path: str = "/console") -> None:
    """A request to `path` goes to the sign-in page, which shows `text` (once)."""
    response = await console.get(path)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/console/sign-in")
    assert response.headers["cache-control"] == "no-store"
    page = await console.get(response.headers["location"])
    assert page.status_code == 200
    assert text in page.text
    again = await console.get("/console/sign-in")
    assert text not in again.text


async def console_session(db):
    return await db.fetchrow(
        """
        select c.*, s.ended_at, s.end_reason
          from console_sessions c join sessions s on s.id = c.session_id
        """
    )


async def test_idle_for_longer_than_the_timeout_signs_out(console, db):
    await signed_in(console, "marketing")
    await db.execute("update console_sessions set last_seen_at = now() - interval '31 minutes'")
    await sent_to_sign_in_saying(console, "您已超过 30 分钟未操作，为保护账户安全已自动退出")
    assert await db.fetchval("select count(*) from console_sessions") == 0
    assert await db.fetchval("select end_reason from sessions") == "idle_timeout"
    audit = await db.fetchrow(
        "select detail from audit_events where action = 'console_session_timeout'"
    )
    assert json.loads(audit["detail"]) == {"reason": "idle_timeout"}


async def test_each_request_starts_the_idle_timeout_again(console, db):
    await signed_in(console, "marketing")
    await db.execute("update console_sessions set last_seen_at = now() - interval '29 minutes'")
    assert (await console.get("/console")).status_code == 200
    assert await db.fetchval(
        "select last_seen_at > now() - interval '1 minute' from console_sessions"
    )
    await db.execute("update console_sessions set last_seen_at = now() - interval '29 minutes'")
    assert (await console.get("/console")).status_code == 200


async def test_a_browser_in_use_is_seen_on_the_devices_page(console, db):
    # Its last seen was its sign-in: an admin read a console user active all day as gone.
    await signed_in(console, "marketing")
    await db.execute("update devices set last_seen_at = now() - interval '3 hours'")
    await db.execute("update console_sessions set last_seen_at = now() - interval '10 minutes'")
    assert (await console.get("/console")).status_code == 200
    assert await db.fetchval(
        """select d.last_seen_at > now() - interval '1 minute'
             from devices d join sessions s on s.device_id = d.device_id
             join console_sessions c on c.session_id = s.id"""
    )


async def test_the_idle_timeout_is_a_setting(make_console, db):
    console = await make_console(console_idle_minutes=5)
    await signed_in(console, "compliance")
    assert "5 分钟无操作后" in (await console.get("/console")).text
    await db.execute("update console_sessions set last_seen_at = now() - interval '6 minutes'")
    await sent_to_sign_in_saying(console, "您已超过 5 分钟未操作")


async def test_a_session_ends_after_its_lifetime_however_active(console, db):
    await signed_in(console, "admin")
    await db.execute(
        """
        update console_sessions set created_at = now() - interval '13 hours',
                                    expires_at = now() - interval '1 hour'
        """
    )
    await sent_to_sign_in_saying(console, "本次登录已超过 12 小时，请重新登录")
    assert await db.fetchval("select end_reason from sessions") == "expired"


async def test_sign_out_ends_the_identity_session_like_an_app_logout(console, db):
    token = await signed_in(console, "marketing")
    cookie = console.cookies["__Host-wb_console"]
    response = await post_form(console, "/console/sign-out", token=token)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"
    assert "__Host-wb_console" not in console.cookies  # the browser dropped it
    page = await console.get("/console/sign-in")
    assert "您已安全退出" in page.text

    row = await db.fetchrow("select ended_at, end_reason from sessions")
    assert row["ended_at"] is not None
    assert row["end_reason"] == "logout"
    assert await db.fetchval("select count(*) from console_sessions") == 0
    assert await db.fetchval("select count(*) from audit_events where action = 'logout'") == 1

    # A copy of the old cookie opens nothing.
    console.cookies.set("__Host-wb_console", cookie, domain="console.test")
    response = await console.get("/console")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"


async def test_a_revoked_browser_is_signed_out_on_its_next_request(console, client, db):
    await signed_in(console, "marketing")
    device_id = await db.fetchval("select device_id from devices where platform = 'web'")
    admin = bearer(await login(client, "admin"))
    revoked = await client.post(f"/api/v1/admin/devices/{device_id}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["sessions_ended"] == 1
    await sent_to_sign_in_saying(console, "此浏览器已被停用，无法继续使用工作台")
    assert await db.fetchval("select count(*) from console_sessions") == 0


async def test_a_branch_head_revokes_a_console_browser_of_their_branch(console, client, db):
    """Branch heads use the console too: a branch head's lost laptop is revoked by the admin
    like a lost phone."""
    await signed_in(console, "bh.east")
    device_id = await db.fetchval("select device_id from devices where platform = 'web'")
    admin = bearer(await login(client, "admin"))
    assert (
        await client.post(f"/api/v1/admin/devices/{device_id}/revoke", headers=admin)
    ).status_code == 200
    assert (await console.get("/console")).status_code == 303


async def test_a_changed_user_signs_in_again(console, client, db):
    await signed_in(console, "compliance")
    user = await db.fetchrow("select id, org_unit_id from users where login = 'compliance'")
    admin = bearer(await login(client, "admin"))
    changed = await client.post(
        "/api/v1/admin/users",
        headers=admin,
        json={
            "id": str(user["id"]),
            "login": "compliance",
            "name": "合规部 新名字",
            "role": "compliance",
            "org_unit_id": str(user["org_unit_id"]),
            "password": "a-new-password-1",
        },
    )
    assert changed.status_code == 200, changed.text
    await sent_to_sign_in_saying(console, "您的登录已失效")


async def test_a_disabled_user_is_signed_out(console, db):
    await signed_in(console, "compliance")
    await db.execute("update users set active = false where login = 'compliance'")
    await sent_to_sign_in_saying(console, "您的账号已停用")


async def test_one_browser_signing_out_leaves_another_signed_in(make_console, db):
    laptop, tablet = await make_console(), await make_console()
    laptop_token = await signed_in(laptop, "marketing")
    await signed_in(tablet, "marketing")
    assert await db.fetchval("select count(*) from console_sessions") == 2
    await post_form(laptop, "/console/sign-out", token=laptop_token)
    assert (await laptop.get("/console")).status_code == 303
    home = await tablet.get("/console")
    assert home.status_code == 200
    assert csrf_of(home.text) != laptop_token  # a token per session

"""The device pages of the console (/console/devices): a branch head sees only their subtree's
devices, finds one by search or filter, revokes it after a confirmation page (CSRF like every
console form) and its app's token stops at once; restores it; a device of another subtree is
the 404 page; the audit trail names who did it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.conftest import csrf_of, post_form, signed_in
from tests.console.test_pages import console_page
from tests.helpers import bearer, device, login
from tests.workbench.identity.test_org_scope import unit, user_id

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/devices"
ME = "/api/v1/me"


def revoke_path(n: int) -> str:
    return f"{LIST}/{device(n)['device_id']}/revoke"


@pytest.fixture
async def apps(console: Any) -> dict[str, dict[str, Any]]:
    """The app signed in on a phone each: rm01 (East) on device 1, rm02 (East) on 2, rm05 (West)
    on 5."""
    return {
        who: await login(console, who, device_no=n)
        for who, n in (("rm01", 1), ("rm02", 2), ("rm05", 5))
    }


async def test_the_branch_head_sees_only_the_devices_of_their_subtree(console, apps):
    await signed_in(console, "bh.east")
    html = console_page(await console.get(LIST), 200)
    assert device(1)["device_id"] in html
    assert device(2)["device_id"] in html
    assert device(5)["device_id"] not in html
    assert "陈静" not in html  # rm05, West Branch
    assert "张伟" in html
    assert "rm01" in html
    assert "使用中" in html
    assert "已登录" in html
    assert "当前浏览器" in html  # bh.east's own browser is a device too
    assert 'aria-current="page"' in html
    assert 'href="/console/devices"' in html

    found = console_page(await console.get(LIST, params={"q": "RM01"}), 200)
    assert device(1)["device_id"] in found
    assert device(2)["device_id"] not in found
    by_name = console_page(await console.get(LIST, params={"q": "王芳"}), 200)
    assert device(2)["device_id"] in by_name
    assert device(1)["device_id"] not in by_name
    nothing = console_page(await console.get(LIST, params={"q": "rm05"}), 200)
    assert "没有符合条件的设备" in nothing
    team = console_page(await console.get(LIST, params={"unit": unit("team-east-1")}), 200)
    assert device(1)["device_id"] in team
    assert "当前浏览器" not in team
    # A West unit in the address bar is not offered, so it filters nothing.
    west = console_page(await console.get(LIST, params={"unit": unit("team-west-1")}), 200)
    assert device(5)["device_id"] not in west
    revoked_only = console_page(await console.get(LIST, params={"state": "revoked"}), 200)
    assert "没有符合条件的设备" in revoked_only


async def test_the_admin_sees_every_device(console, apps):
    await signed_in(console, "admin")
    html = console_page(await console.get(LIST), 200)
    for n in (1, 2, 5):
        assert device(n)["device_id"] in html
    assert "全行" in html


async def test_revoking_through_the_confirmation_stops_the_apps_token(console, db, apps):
    await signed_in(console, "bh.east")
    back = f"{LIST}?q=rm01"
    confirm = console_page(await console.get(revoke_path(1), params={"back": back}), 200)
    assert "会话立即失效，App 下次联网时清除本机数据，找回后可恢复" in confirm
    assert "张伟" in confirm
    assert "确认停用" in confirm
    assert f'name="back" value="{back}"' in confirm
    # Opening the confirmation changes nothing.
    assert (await console.get(ME, headers=bearer(apps["rm01"]))).status_code == 200

    refused = await post_form(console, revoke_path(1), {"back": back}, token=None)
    assert refused.status_code == 403
    assert await db.fetchval(
        "select revoked_at is null from devices where device_id = $1", device(1)["device_id"]
    )

    revoked = await post_form(console, revoke_path(1), {"back": back}, token=csrf_of(confirm))
    assert revoked.status_code == 303, revoked.text
    assert revoked.headers["location"] == back
    stopped = await console.get(ME, headers=bearer(apps["rm01"]))
    assert stopped.status_code == 403
    assert stopped.json()["code"] == "auth.device_revoked"
    assert stopped.json()["wipe"] is True
    assert (await console.get(ME, headers=bearer(apps["rm02"]))).status_code == 200

    listed = console_page(await console.get(back), 200)
    assert "已停用 张伟的 iOS" in listed  # the flash
    assert "已停用" in listed
    assert "王东 East Branch Head" in listed
    assert f'action="{LIST}/{device(1)["device_id"]}/restore"' in listed
    assert device(1)["device_id"] in console_page(
        await console.get(LIST, params={"state": "revoked"}), 200
    )
    # Asking to revoke it again only says it already is.
    again = await console.get(revoke_path(1))
    assert again.status_code == 303
    assert again.headers["location"] == LIST

    audit = await db.fetchrow(
        "select actor_id, subject from audit_events where action = 'device_revoked'"
    )
    assert audit["actor_id"] == user_id("bh.east")
    assert audit["subject"] == f"device:{device(1)['device_id']}"


async def test_restoring_lets_the_device_sign_in_again(console, db, apps):
    token = await signed_in(console, "bh.east")
    path = device(2)["device_id"]
    assert (await post_form(console, revoke_path(2), token=token)).status_code == 303
    refused = await console.post(
        "/api/v1/auth/login",
        json={"login": "rm02", "password": "workbench-demo", "device": device(2)},
    )
    assert refused.status_code == 403

    restored = await post_form(
        console, f"{LIST}/{path}/restore", {"back": "https://evil.test/"}, token=token
    )
    assert restored.status_code == 303
    assert restored.headers["location"] == LIST  # only the device list is a place to go back to
    assert "已恢复 王芳的 iOS" in console_page(await console.get(LIST), 200)
    assert await login(console, "rm02", device_no=2)
    assert (
        await db.fetchval(
            "select count(*) from audit_events where action = 'device_restored' and actor_id = $1",
            user_id("bh.east"),
        )
        == 1
    )


async def test_a_device_of_another_subtree_is_the_404_page(console, apps):
    token = await signed_in(console, "bh.east")
    for response in (
        await console.get(revoke_path(5)),
        await post_form(console, revoke_path(5), token=token),
        await post_form(console, f"{LIST}/{device(5)['device_id']}/restore", token=token),
        await console.get(f"{LIST}/no-such-device-0001/revoke"),
    ):
        console_page(response, 404)
    assert (await console.get(ME, headers=bearer(apps["rm05"]))).status_code == 200


@pytest.mark.parametrize("who", ["marketing", "compliance"])
async def test_other_staff_do_not_have_the_page(console, apps, who):
    await signed_in(console, who)
    console_page(await console.get(LIST), 404)
    assert "/console/devices" not in console_page(await console.get("/console"), 200)

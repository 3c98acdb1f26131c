"""A disabled user's devices are told to erase their offline copy: every call with a token of a
session the user held (access or refresh token, or signing in again on their own device) answers
403 `auth.user_disabled` with `wipe: true`, and a sync pull `{wipe: true}`, while the user stays
disabled. The devices themselves are not revoked: a colleague may use a shared one, and enabling
the user again leaves nothing blocked. A move to another unit or role does not wipe: the next
pull resets the offline copy instead."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.customers_data import customer_row, feed
from tests.helpers import bearer, device, login
from tests.sync.sync_data import pull, pull_all
from tests.workbench.identity.test_org_scope import assert_problem, unit, user_id
from tests.workbench.identity.test_revocations import forget_everything, redis_keys
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

ME = "/api/v1/me"
PULL = "/api/v1/sync/pull"
PUSH = "/api/v1/sync/push"
REFRESH = "/api/v1/auth/refresh"
ADMIN_USERS = "/api/v1/admin/users"
SCHEMA = 4


def user_path(login_name: str, action: str) -> str:
    return f"{ADMIN_USERS}/{user_id(login_name)}/{action}"


async def as_admin(client: Any) -> dict[str, str]:
    return bearer(await login(client, "admin", device_no="admin-api"))


async def refresh(client: Any, tokens: dict[str, Any], device_no: str) -> Any:
    body = {"refresh_token": tokens["refresh_token"], "device_id": device(device_no)["device_id"]}
    return await client.post(REFRESH, json=body)


async def sign_in(client: Any, who: str, device_no: str, password: str = DEMO_PASSWORD) -> Any:
    return await client.post(
        "/api/v1/auth/login",
        json={"login": who, "password": password, "device": device(device_no)},
    )


def told_to_wipe(response: Any) -> None:
    body = assert_problem(response, 403, "auth.user_disabled")
    assert body["wipe"] is True


async def rm04_with_an_offline_copy(client: Any, admin: dict[str, str]) -> dict[str, Any]:
    """rm04 signed in on their phone, with a customer of theirs pulled onto it."""
    await feed(client, admin, "customers", [
        customer_row("W-1", name="客户甲", owner="rm04", seq=1)
    ])  # fmt: skip
    phone = await login(client, "rm04", device_no="rm04-phone")
    changes, _ = await pull_all(client, bearer(phone), schema=SCHEMA)
    assert any(c["entity"] == "customer" for c in changes)
    return phone


async def test_a_disabled_users_phone_is_told_to_wipe_on_every_call(client, db, settings):
    admin = await as_admin(client)
    phone = await rm04_with_an_offline_copy(client, admin)
    colleague = await login(client, "rm03", device_no="rm03-phone")

    disabled = await client.post(user_path("rm04", "disable"), headers=admin)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["sessions_ended"] == 1
    assert disabled.json()["devices_to_wipe"] == 1

    # The access token, still within its 15 minutes: every call says wipe.
    told_to_wipe(await client.get(ME, headers=bearer(phone)))
    told_to_wipe(
        await client.post(PUSH, headers=bearer(phone), json={"client_id": "c", "mutations": []})
    )
    pulled = await client.post(PULL, headers=bearer(phone), json={"schema_version": SCHEMA})
    assert pulled.status_code == 200, pulled.text
    assert pulled.json() == {"changes": [], "cursor": None, "has_more": False, "wipe": True}
    # The refresh token says the same, again and again (the answer may be lost).
    told_to_wipe(await refresh(client, phone, "rm04-phone"))
    told_to_wipe(await refresh(client, phone, "rm04-phone"))
    # Signing in again on that phone (the right password) says so too; elsewhere, or with a
    # wrong password, it is a plain refusal that tells nothing.
    told_to_wipe(await sign_in(client, "rm04", "rm04-phone"))
    assert_problem(await sign_in(client, "rm04", "rm04-new"), 401, "auth.invalid_credentials")
    assert_problem(
        await sign_in(client, "rm04", "rm04-phone", password="not-the-password"),
        401,
        "auth.invalid_credentials",
    )
    refusals = await db.fetch(
        "select subject, detail from audit_events where action = 'login_refused'"
    )
    assert [(r["subject"], json.loads(r["detail"])) for r in refusals] == [
        (f"device:{device('rm04-phone')['device_id']}", {"reason": "user_disabled"})
    ]
    # Nobody else is touched, and the phone itself is not revoked.
    assert (await client.get(ME, headers=bearer(colleague))).status_code == 200
    assert await db.fetchval(
        "select revoked_at is null from devices where device_id = $1",
        device("rm04-phone")["device_id"],
    )
    # Still told so, whichever instance answers after Redis forgot everything.
    await forget_everything(settings)
    told_to_wipe(await client.get(ME, headers=bearer(phone)))
    assert await redis_keys(settings, "revoked:complete")
    told_to_wipe(await client.get(ME, headers=bearer(phone)))  # from the rebuilt cache


async def test_enabling_again_stops_the_wipe_and_leaves_no_device_blocked(client, db):
    admin = await as_admin(client)
    phone = await rm04_with_an_offline_copy(client, admin)
    assert (await client.post(user_path("rm04", "disable"), headers=admin)).status_code == 200
    told_to_wipe(await client.get(ME, headers=bearer(phone)))

    enabled = await client.post(user_path("rm04", "enable"), headers=admin)
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["devices_to_wipe"] == 0
    # A phone that was offline all along keeps its queue: it is only asked to sign in again.
    assert_problem(await client.get(ME, headers=bearer(phone)), 401, "auth.session_ended")
    assert_problem(await refresh(client, phone, "rm04-phone"), 401, "auth.session_ended")
    again = await sign_in(client, "rm04", "rm04-phone")
    assert again.status_code == 200, again.text
    assert (await client.get(ME, headers=bearer(again.json()))).status_code == 200


async def test_a_shared_device_taken_by_a_colleague_is_not_wiped(client):
    admin = await as_admin(client)
    tablet = await login(client, "rm04", device_no="shared-tab")
    assert (await client.post(user_path("rm04", "disable"), headers=admin)).status_code == 200
    # rm04's session ended with the disable, so the tablet is free at once.
    colleague = await login(client, "rm03", device_no="shared-tab")
    # The tablet now holds rm03's copy: rm04's old tokens must not make it erase that.
    assert_problem(await refresh(client, tablet, "shared-tab"), 401, "auth.session_ended")
    assert (await client.get(ME, headers=bearer(colleague))).status_code == 200


async def test_browsers_are_not_counted_as_devices_to_wipe(client):
    admin = await as_admin(client)
    await login(client, "bh.east", device_no="bh-tablet")
    browser = await client.post(
        "/api/v1/auth/login",
        json={
            "login": "bh.east",
            "password": DEMO_PASSWORD,
            "device": device("bh-browser", platform="web"),
        },
    )
    assert browser.status_code == 200, browser.text
    disabled = await client.post(user_path("bh.east", "disable"), headers=admin)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["sessions_ended"] == 2
    assert disabled.json()["devices_to_wipe"] == 1  # the tablet; a browser keeps no copy


@pytest.mark.parametrize(
    "change", [{"org_unit_id": unit("team-west-1")}, {"role": "branch_head"}], ids=["unit", "role"]
)
async def test_a_move_or_new_role_resets_the_offline_copy_instead_of_wiping(client, change):
    admin = await as_admin(client)
    await feed(client, admin, "customers", [
        customer_row("M-1", name="客户乙", owner="rm04", seq=1)
    ])  # fmt: skip
    phone = await login(client, "rm04", device_no="rm04-phone")
    _, cursor = await pull_all(client, bearer(phone), schema=SCHEMA)

    moved = await client.patch(f"{ADMIN_USERS}/{user_id('rm04')}", headers=admin, json=change)
    assert moved.status_code == 200, moved.text
    assert moved.json()["devices_to_wipe"] == 0
    # Only signed out: the app keeps its queued work to push once signed in again ...
    assert_problem(await client.get(ME, headers=bearer(phone)), 401, "auth.session_ended")
    assert_problem(await refresh(client, phone, "rm04-phone"), 401, "auth.session_ended")
    again = await sign_in(client, "rm04", "rm04-phone")
    assert again.status_code == 200, again.text
    # ... and its first pull drops the old scope's copy for a fresh initial sync.
    stale = await client.post(
        PULL, headers=bearer(again.json()), json={"schema_version": SCHEMA, "cursor": cursor}
    )
    assert_problem(stale, 409, "sync.reset_required")
    fresh = await pull(client, bearer(again.json()), schema=SCHEMA)
    assert fresh["wipe"] is False

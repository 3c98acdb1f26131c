"""The audit trail of an admin's changes to users and org units through the API: every change
names the fields it changed (never their values, never a password), a password set through any
path is a `user_password_set`, and each row has the admin's address, as sign-in rows do."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers import FromPeer, bearer, login
from tests.workbench.identity.test_org_scope import assert_problem, unit, user_id
from tests.workbench.identity.test_user_admin import ADMIN_USERS, ME, sign_in, user_path
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

PROXY = "10.0.0.2"
ADMIN_IP = "203.0.113.7"  # the admin's browser or script, behind the bank's proxy
ORG_UNITS = "/api/v1/admin/org-units"


def behind_the_proxy(client: AsyncTestClient[Litestar], ip: str = ADMIN_IP) -> None:
    """Send the client's requests through the bank's proxy, which names `ip` as the client."""
    client._transport = FromPeer(client, PROXY)
    client.headers["X-Forwarded-For"] = ip


@pytest.fixture
async def proxied(make_client: Any) -> AsyncTestClient[Litestar]:
    client = await make_client(trusted_proxies=(f"{PROXY}/32",))
    behind_the_proxy(client)
    return client


async def audit_of(db: Any, subject: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "select action, actor_id, host(client_ip) as ip, detail from audit_events"
        " where subject = $1 order by id",
        subject,
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


async def assert_no_secrets_or_personal_data(db: Any, *values: str) -> None:
    for value in values:
        leaked = await db.fetchval(
            "select count(*) from audit_events a where strpos(a.detail::text, $1) > 0", value
        )
        assert leaked == 0, f"an audit row's detail holds {value!r}"


async def test_replacing_a_user_with_post_is_audited_as_a_change_and_a_password_set(proxied, db):
    # The upsert form of POST /admin/users set a new password and signed the user out, but the
    # trail said only `user_updated {"role": "rm"}`: nothing told it from a harmless save.
    headers = bearer(await login(proxied, "admin", device_no="admin-api"))
    rm = await login(proxied, "rm03", device_no="rm03")
    replaced = await proxied.post(ADMIN_USERS, headers=headers, json={
        "id": str(user_id("rm03")), "login": "rm03", "name": "李娜", "role": "rm",
        "org_unit_id": unit("team-east-2"), "password": "attacker-chosen-1",
    })  # fmt: skip
    assert replaced.status_code == 200, replaced.text
    assert_problem(await proxied.get(ME, headers=bearer(rm)), 401, "auth.session_ended")
    assert (await sign_in(proxied, "rm03", "attacker-chosen-1")).status_code == 200

    rows = await audit_of(db, f"user:{user_id('rm03')}")
    assert [(r["action"], r["actor_id"], r["ip"], r["detail"]) for r in rows] == [
        ("user_updated", user_id("admin"), ADMIN_IP,
         {"changed": [], "role": "rm", "sessions_ended": 1}),
        ("user_password_set", user_id("admin"), ADMIN_IP, {"sessions_ended": 1}),
    ]  # fmt: skip
    await assert_no_secrets_or_personal_data(db, "attacker-chosen-1", "李娜", "rm03")


async def test_a_replacement_names_each_field_it_changed_and_no_value(proxied, db):
    headers = bearer(await login(proxied, "admin", device_no="admin-api"))
    replaced = await proxied.post(ADMIN_USERS, headers=headers, json={
        "id": str(user_id("rm04")), "login": "rm04.liu", "name": "刘洋洋", "role": "rm",
        "org_unit_id": unit("team-west-1"), "password": "another-secret-22",
    })  # fmt: skip
    assert replaced.status_code == 200, replaced.text
    promoted = await proxied.post(ADMIN_USERS, headers=headers, json={
        "id": str(user_id("rm04")), "login": "rm04.liu", "name": "刘洋洋", "role": "branch_head",
        "org_unit_id": unit("team-west-1"), "password": "another-secret-22",
    })  # fmt: skip
    assert promoted.status_code == 200, promoted.text

    rows = await audit_of(db, f"user:{user_id('rm04')}")
    assert [(r["action"], r["detail"].get("changed"), r["ip"]) for r in rows] == [
        ("user_updated", ["login", "name", "org_unit_id"], ADMIN_IP),
        ("user_password_set", None, ADMIN_IP),
        ("user_updated", ["role"], ADMIN_IP),
        ("user_password_set", None, ADMIN_IP),
    ]
    assert rows[2]["detail"]["role"] == "branch_head"
    await assert_no_secrets_or_personal_data(
        db, "another-secret-22", "刘洋", "rm04.liu", DEMO_PASSWORD
    )


async def test_every_admin_change_to_users_and_units_has_the_admins_address(proxied, db):
    headers = bearer(await login(proxied, "admin", device_no="admin-api"))
    made = await proxied.post(ADMIN_USERS, headers=headers, json={
        "login": "rm.audit", "name": "审计测试", "role": "rm",
        "org_unit_id": unit("team-east-1"), "password": "first-password-1",
    })  # fmt: skip
    assert made.status_code == 201, made.text
    new_user = made.json()["id"]
    for response in (
        await proxied.patch(f"{ADMIN_USERS}/{new_user}", headers=headers, json={"name": "审计"}),
        await proxied.post(
            f"{ADMIN_USERS}/{new_user}/password", headers=headers,
            json={"password": "second-password-2"},
        ),
        await proxied.post(f"{ADMIN_USERS}/{new_user}/disable", headers=headers),
        await proxied.post(f"{ADMIN_USERS}/{new_user}/enable", headers=headers),
    ):  # fmt: skip
        assert response.status_code == 200, response.text
    team = await proxied.post(
        ORG_UNITS, headers=headers, json={"name": "东城三组", "parent_id": unit("branch-east")}
    )
    assert team.status_code == 201, team.text
    moved = await proxied.post(ORG_UNITS, headers=headers, json={
        "id": team.json()["id"], "name": "西城三组", "parent_id": unit("branch-west"),
    })  # fmt: skip
    assert moved.status_code == 200, moved.text

    user_rows = await audit_of(db, f"user:{new_user}")
    assert [(r["action"], r["actor_id"], r["ip"]) for r in user_rows] == [
        (action, user_id("admin"), ADMIN_IP)
        for action in (
            "user_created", "user_updated", "user_password_set", "user_disabled", "user_enabled"
        )
    ]  # fmt: skip
    assert user_rows[1]["detail"]["changed"] == ["name"]
    unit_rows = await audit_of(db, f"org_unit:{team.json()['id']}")
    assert [(r["action"], r["ip"], r["detail"].get("changed")) for r in unit_rows] == [
        ("org_unit_created", ADMIN_IP, None),
        ("org_unit_updated", ADMIN_IP, ["name", "parent_id"]),
    ]
    await assert_no_secrets_or_personal_data(
        db, "first-password-1", "second-password-2", "审计", "rm.audit", "东城三组", "西城三组"
    )


async def test_an_address_the_client_made_up_is_not_recorded(make_client, db):
    # Not from the bank's proxy: its X-Forwarded-For is the client's own claim.
    client = await make_client(trusted_proxies=("10.0.0.9/32",))
    behind_the_proxy(client, "198.51.100.1")
    headers = bearer(await login(client, "admin", device_no="admin-api"))
    answer = await client.patch(user_path("rm05"), headers=headers, json={"name": "陈静静"})
    assert answer.status_code == 200, answer.text
    rows = await audit_of(db, f"user:{user_id('rm05')}")
    assert [(r["action"], r["ip"]) for r in rows] == [("user_updated", PROXY)]


async def test_revoking_and_restoring_a_device_has_the_callers_address(proxied, db):
    """A lost phone revoked by the branch head, then found: both rows name who and from where."""
    await login(proxied, "rm01", device_no="rm01-lost-phone")
    device = await db.fetchval(
        "select device_id from devices where device_id like '%rm01-lost-phone%'"
    )
    assert device is not None
    head = bearer(await login(proxied, "bh.east", device_no="bh-desk"))
    revoked = await proxied.post(f"/api/v1/admin/devices/{device}/revoke", headers=head)
    assert revoked.status_code == 200, revoked.text
    restored = await proxied.post(f"/api/v1/admin/devices/{device}/restore", headers=head)
    assert restored.status_code == 200, restored.text
    rows = [r for r in await audit_of(db, f"device:{device}") if r["action"] != "login"]
    assert [(r["action"], r["actor_id"], r["ip"]) for r in rows] == [
        ("device_revoked", user_id("bh.east"), ADMIN_IP),
        ("device_restored", user_id("bh.east"), ADMIN_IP),
    ]

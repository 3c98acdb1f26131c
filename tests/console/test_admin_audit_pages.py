"""The audit trail of an admin's changes made on the console's admin pages (users and the org
tree): the admin's address on every row, as on a sign-in's, and the names of what changed,
never values or passwords."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.conftest import csrf_of, post_form, signed_in
from tests.console.test_admin_pages import ADMIN, UNITS, secret_of, user_page
from tests.console.test_pages import console_page
from tests.workbench.identity.test_admin_audit import (
    ADMIN_IP,
    PROXY,
    assert_no_secrets_or_personal_data,
    audit_of,
    behind_the_proxy,
)
from tests.workbench.identity.test_org_scope import unit, user_id

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def proxied_console(make_console: Any) -> Any:
    console = await make_console(trusted_proxies=(f"{PROXY}/32",))
    behind_the_proxy(console)
    return console


async def test_console_changes_to_users_are_audited_with_the_address_and_field_names(
    proxied_console, db
):
    console = proxied_console
    token = await signed_in(console, "admin")
    made = await post_form(
        console, f"{ADMIN}/users/new",
        {"login": "rm.audit", "name": "审计测试", "role": "rm", "org_unit_id": unit("team-east-1"),
         "password": "typed-by-admin-1"},
        token=token,
    )  # fmt: skip
    assert made.status_code == 303, made.text
    new_id = await db.fetchval("select id from users where login = 'rm.audit'")

    edit = console_page(await console.get(f"{ADMIN}/users/{new_id}/edit"), 200)
    saved = await post_form(
        console, f"{ADMIN}/users/{new_id}/edit",
        {"login": "rm.audit2", "name": "审计", "role": "rm", "org_unit_id": unit("team-west-1")},
        token=csrf_of(edit),
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    reset = await post_form(console, f"{ADMIN}/users/{new_id}/password", token=token)
    password = secret_of(console_page(reset, 200))
    disabled = await post_form(console, f"{ADMIN}/users/{new_id}/disable", token=token)
    assert disabled.status_code == 303, disabled.text
    enabled = await post_form(console, f"{ADMIN}/users/{new_id}/enable", token=token)
    assert enabled.status_code == 303, enabled.text

    rows = await audit_of(db, f"user:{new_id}")
    assert [(r["action"], r["actor_id"], r["ip"]) for r in rows] == [
        (action, user_id("admin"), ADMIN_IP)
        for action in (
            "user_created", "user_updated", "user_password_set", "user_disabled", "user_enabled"
        )
    ]  # fmt: skip
    assert rows[1]["detail"]["changed"] == ["login", "name", "org_unit_id"]
    await assert_no_secrets_or_personal_data(db, "typed-by-admin-1", password, "审计", "rm.audit")


async def test_console_changes_to_units_are_audited_with_the_address(proxied_console, db):
    console = proxied_console
    token = await signed_in(console, "admin")
    made = await post_form(
        console, f"{UNITS}/new", {"name": "东城三组", "parent_id": unit("branch-east")}, token=token
    )
    assert made.status_code == 303, made.text
    team = await db.fetchval("select id from org_units where name = '东城三组'")
    moved = await post_form(
        console, f"{UNITS}/{team}/edit", {"name": "东城三组", "parent_id": unit("branch-west")},
        token=token,
    )  # fmt: skip
    assert moved.status_code == 303, moved.text

    rows = await audit_of(db, f"org_unit:{team}")
    assert [(r["action"], r["actor_id"], r["ip"]) for r in rows] == [
        ("org_unit_created", user_id("admin"), ADMIN_IP),
        ("org_unit_updated", user_id("admin"), ADMIN_IP),
    ]
    assert rows[1]["detail"] == {"changed": ["parent_id"], "parent_id": unit("branch-west")}
    await assert_no_secrets_or_personal_data(db, "东城三组")


async def test_the_admins_sign_in_and_the_changes_after_it_have_one_address(proxied_console, db):
    # The sign-in row had the address and the change made right after it had none.
    console = proxied_console
    await signed_in(console, "admin")
    edit = console_page(await console.get(user_page("rm02", "edit")), 200)
    saved = await post_form(
        console, user_page("rm02", "edit"),
        {"login": "rm02", "name": "王芳芳", "role": "rm", "org_unit_id": unit("team-east-1")},
        token=csrf_of(edit),
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    addresses = await db.fetch(
        "select action, host(client_ip) as ip from audit_events where actor_id = $1 order by id",
        user_id("admin"),
    )
    assert [r["ip"] for r in addresses] == [ADMIN_IP] * len(addresses)
    assert "user_updated" in [r["action"] for r in addresses]

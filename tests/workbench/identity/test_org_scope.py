"""Authorization core: role guards, the org-subtree scope, org units, users and their audit."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from tests.helpers import bearer, device, login
from workbench.ids import uuid5_for
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

USERS = "/api/v1/users"
ORG_UNITS = "/api/v1/org-units"
ADMIN_USERS = "/api/v1/admin/users"
ADMIN_ORG_UNITS = "/api/v1/admin/org-units"

ALL_LOGINS = {
    "admin",
    "marketing",
    "compliance",
    "bh.east",
    "bh.west",
    *(f"rm{i:02}" for i in range(1, 9)),
}
EAST_LOGINS = {"bh.east", "rm01", "rm02", "rm03", "rm04"}
WEST_LOGINS = {"bh.west", "rm05", "rm06", "rm07", "rm08"}


def unit(key: str) -> str:
    return str(uuid5_for(f"org:{key}"))


def user_id(login_name: str) -> uuid.UUID:
    return uuid5_for(f"user:{login_name}")


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def new_user(**overrides: Any) -> dict[str, Any]:
    body = {
        "login": "rm.new",
        "name": "New RM",
        "role": "rm",
        "org_unit_id": unit("team-east-1"),
        "password": "fresh-password-42",
    }
    return body | overrides


async def list_logins(client: Any, tokens: dict[str, Any], **params: Any) -> set[str]:
    response = await client.get(USERS, headers=bearer(tokens), params=params)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return {u["login"] for u in response.json()["items"]}


# ---- role guards -----------------------------------------------------------------------------


async def test_rm_is_forbidden_on_admin_and_org_routes(client, db):
    rm = await login(client, "rm01")
    users_before = await db.fetchval("select count(*) from users")
    units_before = await db.fetchval("select count(*) from org_units")
    created = await client.post(ADMIN_USERS, headers=bearer(rm), json=new_user())
    assert_problem(created, 403, "auth.forbidden")
    unit_body = {"name": "Rogue Team", "parent_id": unit("branch-east")}
    made_unit = await client.post(ADMIN_ORG_UNITS, headers=bearer(rm), json=unit_body)
    assert_problem(made_unit, 403, "auth.forbidden")
    assert_problem(await client.get(USERS, headers=bearer(rm)), 403, "auth.forbidden")
    assert_problem(await client.get(ORG_UNITS, headers=bearer(rm)), 403, "auth.forbidden")
    assert await db.fetchval("select count(*) from users") == users_before
    assert await db.fetchval("select count(*) from org_units") == units_before


@pytest.mark.parametrize("who", ["marketing", "compliance"])
async def test_head_office_staff_are_forbidden_on_admin_routes(client, db, who):
    victim = await login(client, "rm01", device_no=1)
    tokens = await login(client, who, device_no=2)
    headers = bearer(tokens)
    created = await client.post(ADMIN_USERS, headers=headers, json=new_user())
    assert_problem(created, 403, "auth.forbidden")
    unit_body = {"name": "Rogue Team", "parent_id": unit("branch-east")}
    assert_problem(
        await client.post(ADMIN_ORG_UNITS, headers=headers, json=unit_body), 403, "auth.forbidden"
    )
    revoke = f"/api/v1/admin/devices/{device(1)['device_id']}/revoke"
    assert_problem(await client.post(revoke, headers=headers), 403, "auth.forbidden")
    assert_problem(await client.get(USERS, headers=headers), 403, "auth.forbidden")
    assert_problem(await client.get(ORG_UNITS, headers=headers), 403, "auth.forbidden")
    assert (await client.get("/api/v1/me", headers=bearer(victim))).status_code == 200
    assert await db.fetchval("select count(*) from users where login = 'rm.new'") == 0
    assert await db.fetchval("select count(*) from org_units where name = 'Rogue Team'") == 0


async def test_branch_head_is_forbidden_on_admin_only_routes(client):
    head = await login(client, "bh.east")
    body = new_user(org_unit_id=unit("branch-east"))
    assert_problem(
        await client.post(ADMIN_USERS, headers=bearer(head), json=body), 403, "auth.forbidden"
    )
    unit_body = {"name": "Own Team", "parent_id": unit("branch-east")}
    assert_problem(
        await client.post(ADMIN_ORG_UNITS, headers=bearer(head), json=unit_body),
        403,
        "auth.forbidden",
    )


@pytest.mark.parametrize("path", ["/api/v1/me", USERS, ORG_UNITS])
async def test_missing_or_garbage_token(client, path):
    assert_problem(await client.get(path), 401, "auth.unauthorized")
    basic = {"Authorization": "Basic YWRtaW46d29ya2JlbmNoLWRlbW8="}
    assert_problem(await client.get(path, headers=basic), 401, "auth.unauthorized")
    garbage = {"Authorization": "Bearer not.a.jwt"}
    assert_problem(await client.get(path, headers=garbage), 401, "auth.invalid_token")


async def test_no_token_on_an_admin_write_is_401_and_writes_nothing(client, db):
    assert_problem(await client.post(ADMIN_USERS, json=new_user()), 401, "auth.unauthorized")
    assert await db.fetchval("select count(*) from users where login = 'rm.new'") == 0


# ---- subtree scope ---------------------------------------------------------------------------


async def test_branch_head_lists_only_their_subtree(client):
    head = await login(client, "bh.east")
    assert await list_logins(client, head) == EAST_LOGINS
    assert await list_logins(client, head, org_unit_id=unit("team-east-1")) == {"rm01", "rm02"}
    assert await list_logins(client, head, org_unit_id=unit("branch-east")) == EAST_LOGINS
    for hidden in ("team-west-1", "branch-west", "head-office"):
        response = await client.get(
            USERS, headers=bearer(head), params={"org_unit_id": unit(hidden)}
        )
        assert_problem(response, 404, "org_unit.not_found")
    unknown = await client.get(
        USERS, headers=bearer(head), params={"org_unit_id": str(uuid.uuid4())}
    )
    assert_problem(unknown, 404, "org_unit.not_found")


async def test_admin_sees_the_whole_bank(client):
    admin = await login(client, "admin")
    assert await list_logins(client, admin) == ALL_LOGINS
    assert await list_logins(client, admin, org_unit_id=unit("branch-west")) == WEST_LOGINS
    units = (await client.get(ORG_UNITS, headers=bearer(admin))).json()
    assert len(units) == 7
    assert units[0]["id"] == unit("head-office")
    assert units[0]["parent_id"] is None


async def test_branch_head_sees_their_org_units_parents_first(client):
    head = await login(client, "bh.east")
    response = await client.get(ORG_UNITS, headers=bearer(head))
    assert response.status_code == 200, response.text
    units = response.json()
    assert len(units) == 3
    assert units[0]["id"] == unit("branch-east")
    assert {u["id"] for u in units[1:]} == {unit("team-east-1"), unit("team-east-2")}
    assert all(u["parent_id"] == unit("branch-east") for u in units[1:])
    assert [u["depth"] for u in units] == [1, 2, 2]


# ---- keyset pagination -----------------------------------------------------------------------


async def test_users_are_paginated_by_keyset(client):
    admin = await login(client, "admin")
    pages: list[list[str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        response = await client.get(USERS, headers=bearer(admin), params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([u["id"] for u in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 5, "pagination does not end"
    assert [len(p) for p in pages] == [5, 5, 3]
    ids = [i for p in pages for i in p]
    assert len(set(ids)) == len(ids) == 13
    assert set(ids) == {str(user_id(login_name)) for login_name in ALL_LOGINS}


async def test_pagination_stays_inside_the_scope(client):
    head = await login(client, "bh.west")
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(USERS, headers=bearer(head), params=params)).json()
        seen += [u["login"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert cursor is None
    assert sorted(seen) == sorted(WEST_LOGINS)


async def test_tampered_cursor_is_400(client):
    admin = await login(client, "admin")
    first = (await client.get(USERS, headers=bearer(admin), params={"limit": 5})).json()
    cursor = first["next_cursor"]
    assert cursor
    not_a_uuid = base64.urlsafe_b64encode(b'"drop table users"').decode().rstrip("=")
    for bad in (cursor[:-6], "%%%not-base64%%%", not_a_uuid, cursor + "AAAA"):
        response = await client.get(
            USERS, headers=bearer(admin), params={"limit": 5, "cursor": bad}
        )
        assert_problem(response, 400, "request.bad_cursor")


@pytest.mark.parametrize("limit", [0, -1, 1000])
async def test_limit_out_of_range_is_422(client, limit):
    admin = await login(client, "admin")
    response = await client.get(USERS, headers=bearer(admin), params={"limit": limit})
    assert_problem(response, 422, "request.validation_failed")


# ---- org units -------------------------------------------------------------------------------


async def test_admin_creates_renames_and_moves_org_units_with_their_subtree(client, db):
    admin = await login(client, "admin", device_no=1)
    east = await login(client, "bh.east", device_no=2)
    west = await login(client, "bh.west", device_no=3)

    made = await client.post(
        ADMIN_ORG_UNITS,
        headers=bearer(admin),
        json={"name": "东城东区 East Sub-branch", "parent_id": unit("branch-east")},
    )
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["parent_id"] == unit("branch-east")
    assert sub["depth"] == 2
    team = await client.post(
        ADMIN_ORG_UNITS, headers=bearer(admin), json={"name": "Sub Team", "parent_id": sub["id"]}
    )
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    assert team.json()["depth"] == 3
    rm = await client.post(
        ADMIN_USERS, headers=bearer(admin), json=new_user(login="rm09", org_unit_id=team_id)
    )
    assert rm.status_code == 201, rm.text
    assert "rm09" in await list_logins(client, east)
    assert "rm09" not in await list_logins(client, west)

    # Move the sub-branch (and with it its team and user) under a west team, renaming it.
    moved = await client.post(
        ADMIN_ORG_UNITS,
        headers=bearer(admin),
        json={"id": sub["id"], "name": "Moved Sub-branch", "parent_id": unit("team-west-1")},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() == {
        "id": sub["id"],
        "name": "Moved Sub-branch",
        "parent_id": unit("team-west-1"),
        "depth": 3,
    }
    assert "rm09" in await list_logins(client, west)
    assert "rm09" not in await list_logins(client, east)
    assert await list_logins(client, west, org_unit_id=sub["id"]) == {"rm09"}
    missing = await client.get(USERS, headers=bearer(east), params={"org_unit_id": team_id})
    assert_problem(missing, 404, "org_unit.not_found")

    west_units = (await client.get(ORG_UNITS, headers=bearer(west))).json()
    by_id = {u["id"]: u for u in west_units}
    assert by_id[team_id]["parent_id"] == sub["id"]
    assert by_id[team_id]["depth"] == 4
    order = [u["id"] for u in west_units]
    assert order.index(unit("team-west-1")) < order.index(sub["id"]) < order.index(team_id)
    east_units = {u["id"] for u in (await client.get(ORG_UNITS, headers=bearer(east))).json()}
    assert east_units == {unit("branch-east"), unit("team-east-1"), unit("team-east-2")}
    assert await db.fetchval("select count(*) from org_units") == 9


async def test_org_unit_moves_that_break_the_tree_are_refused(client, db):
    admin = await login(client, "admin")
    headers = bearer(admin)
    branch = unit("branch-east")
    into_child = await client.post(
        ADMIN_ORG_UNITS,
        headers=headers,
        json={"id": branch, "name": "East", "parent_id": unit("team-east-1")},
    )
    assert_problem(into_child, 409, "org_unit.cycle")
    into_itself = await client.post(
        ADMIN_ORG_UNITS, headers=headers, json={"id": branch, "name": "East", "parent_id": branch}
    )
    assert_problem(into_itself, 409, "org_unit.cycle")
    second_root = await client.post(ADMIN_ORG_UNITS, headers=headers, json={"name": "Another HQ"})
    assert_problem(second_root, 409, "org_unit.root_exists")
    to_root = await client.post(ADMIN_ORG_UNITS, headers=headers, json={"id": branch, "name": "E"})
    assert_problem(to_root, 409, "org_unit.root_exists")
    orphan = await client.post(
        ADMIN_ORG_UNITS, headers=headers, json={"name": "Orphan", "parent_id": str(uuid.uuid4())}
    )
    assert_problem(orphan, 404, "org_unit.not_found")
    # Nothing changed.
    row = await db.fetchrow(
        "select name, parent_id from org_units where id = $1", uuid.UUID(branch)
    )
    assert row["name"] == "东城支行 East Branch"
    assert str(row["parent_id"]) == unit("head-office")
    assert await db.fetchval("select count(*) from org_units") == 7


# ---- users -----------------------------------------------------------------------------------


async def test_admin_creates_a_user_who_can_sign_in(client, db):
    admin = await login(client, "admin", device_no=1)
    response = await client.post(ADMIN_USERS, headers=bearer(admin), json=new_user())
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["login"] == "rm.new"
    assert user["role"] == "rm"
    assert user["org_unit_id"] == unit("team-east-1")
    assert user["active"] is True
    assert "password" not in user
    assert "password_hash" not in user
    tokens = await login(client, "rm.new", device_no=2, password="fresh-password-42")
    assert tokens["user"]["id"] == user["id"]
    me = await client.get("/api/v1/me", headers=bearer(tokens))
    assert me.json()["org_unit"]["id"] == unit("team-east-1")
    # The new RM shows up in the branch head's list.
    head = await login(client, "bh.east", device_no=3)
    assert "rm.new" in await list_logins(client, head)
    stored = await db.fetchval("select password_hash from users where login = 'rm.new'")
    assert "fresh-password-42" not in stored


async def test_login_must_be_unique_ignoring_case(client, db):
    admin = await login(client, "admin")
    assert (
        await client.post(ADMIN_USERS, headers=bearer(admin), json=new_user())
    ).status_code == 201
    again = await client.post(
        ADMIN_USERS, headers=bearer(admin), json=new_user(login="RM.New", name="Someone Else")
    )
    assert_problem(again, 409, "user.login_taken")
    demo = await client.post(ADMIN_USERS, headers=bearer(admin), json=new_user(login="RM01"))
    assert_problem(demo, 409, "user.login_taken")
    assert await db.fetchval("select count(*) from users") == 14
    # The taken login keeps its original owner and password.
    await login(client, "rm01", device_no=2)


async def test_updating_a_user_ends_their_sessions(client, db):
    admin = await login(client, "admin", device_no=1)
    created = (await client.post(ADMIN_USERS, headers=bearer(admin), json=new_user())).json()
    before = await login(client, "rm.new", device_no=2, password="fresh-password-42")
    assert (await client.get("/api/v1/me", headers=bearer(before))).status_code == 200

    updated = await client.post(
        ADMIN_USERS,
        headers=bearer(admin),
        json=new_user(
            id=created["id"],
            role="branch_head",
            org_unit_id=unit("branch-east"),
            password="changed-password-43",
        ),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["role"] == "branch_head"
    assert updated.json()["id"] == created["id"]
    old = await client.get("/api/v1/me", headers=bearer(before))
    assert_problem(old, 401, "auth.session_ended")
    reason = await db.fetchval(
        "select end_reason from sessions where user_id = $1", uuid.UUID(created["id"])
    )
    assert reason == "user_changed"
    refused = await client.post(
        "/api/v1/auth/login",
        json={"login": "rm.new", "password": "fresh-password-42", "device": device(3)},
    )
    assert_problem(refused, 401, "auth.invalid_credentials")
    after = await login(client, "rm.new", device_no=3, password="changed-password-43")
    assert after["user"]["role"] == "branch_head"
    assert await db.fetchval("select count(*) from users") == 14
    # The admin's own session was not touched.
    assert (await client.get("/api/v1/me", headers=bearer(admin))).status_code == 200


async def test_updating_a_user_to_a_taken_login_is_409(client, db):
    admin = await login(client, "admin")
    created = (await client.post(ADMIN_USERS, headers=bearer(admin), json=new_user())).json()
    taken = await client.post(
        ADMIN_USERS, headers=bearer(admin), json=new_user(id=created["id"], login="RM02")
    )
    assert_problem(taken, 409, "user.login_taken")
    assert (
        await db.fetchval("select login from users where id = $1", uuid.UUID(created["id"]))
        == "rm.new"
    )


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("role", "superuser", "$.role"),
        ("password", "short", "$.password"),
        ("login", "no spaces allowed", "$.login"),
        ("login", "..", "$.login"),
        ("name", "   ", "$.name"),
        ("org_unit_id", "not-a-uuid", "$.org_unit_id"),
    ],
)
async def test_bad_user_bodies_are_422_with_field_paths(client, db, field, value, path):
    admin = await login(client, "admin")
    response = await client.post(
        ADMIN_USERS, headers=bearer(admin), json=new_user(**{field: value})
    )
    body = assert_problem(response, 422, "request.validation_failed")
    assert path in [e["path"] for e in body["errors"]], body
    assert await db.fetchval("select count(*) from users") == 13


async def test_user_in_an_unknown_org_unit_is_404(client, db):
    admin = await login(client, "admin")
    response = await client.post(
        ADMIN_USERS, headers=bearer(admin), json=new_user(org_unit_id=str(uuid.uuid4()))
    )
    assert_problem(response, 404, "org_unit.not_found")
    assert await db.fetchval("select count(*) from users") == 13


# ---- audit -----------------------------------------------------------------------------------


async def test_user_creation_and_device_revocation_are_audited_without_secrets(client, db):
    admin = await login(client, "admin", device_no=1)
    created = await client.post(ADMIN_USERS, headers=bearer(admin), json=new_user())
    assert created.status_code == 201
    new_id = created.json()["id"]
    await login(client, "rm.new", device_no=2, password="fresh-password-42")
    revoked = await client.post(
        f"/api/v1/admin/devices/{device(2)['device_id']}/revoke", headers=bearer(admin)
    )
    assert revoked.status_code == 200, revoked.text

    rows = await db.fetch("select actor_id, action, subject from audit_events order by id")
    by_action = {r["action"]: r for r in rows}
    assert by_action["user_created"]["actor_id"] == user_id("admin")
    assert by_action["user_created"]["subject"] == f"user:{new_id}"
    assert by_action["device_revoked"]["actor_id"] == user_id("admin")
    assert by_action["device_revoked"]["subject"] == f"device:{device(2)['device_id']}"

    password_hash = await db.fetchval(
        "select password_hash from users where id = $1", uuid.UUID(new_id)
    )
    for secret in ("fresh-password-42", DEMO_PASSWORD, password_hash):
        leaked = await db.fetchval(
            "select count(*) from audit_events a where strpos(a::text, $1) > 0", secret
        )
        assert leaked == 0, f"an audit row contains {secret[:6]}…"

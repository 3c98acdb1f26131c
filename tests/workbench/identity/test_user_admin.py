"""An admin's changes to users: edit without touching the password, disable and enable, a new
password, the users list's filters; sessions end where tokens would lie, the last admin stays,
and every change is audited."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.customers_data import customer_row, feed
from tests.helpers import bearer, login
from tests.tasks_data import create_template, dispatch
from tests.workbench.identity.test_org_scope import assert_problem, unit, user_id
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

ME = "/api/v1/me"
USERS = "/api/v1/users"
ADMIN_USERS = "/api/v1/admin/users"


def user_path(login_name: str, action: str = "") -> str:
    return f"{ADMIN_USERS}/{user_id(login_name)}" + (f"/{action}" if action else "")


async def admin(client: Any) -> dict[str, str]:
    return bearer(await login(client, "admin", device_no="admin-api"))


async def sign_in(client: Any, who: str, password: str = DEMO_PASSWORD) -> Any:
    return await client.post(
        "/api/v1/auth/login",
        json={
            "login": who,
            "password": password,
            "device": {"device_id": f"device-{who}-again", "platform": "ios"},
        },
    )


async def audit_rows(db: Any, action: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "select actor_id, subject, detail from audit_events where action = $1 order by id", action
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


# ---- edit ------------------------------------------------------------------------------------


async def test_a_name_change_keeps_the_password_and_the_sessions(client, db):
    headers = await admin(client)
    rm = await login(client, "rm01", device_no="rm01")
    hash_before = await db.fetchval("select password_hash from users where login = 'rm01'")

    changed = await client.patch(user_path("rm01"), headers=headers, json={"name": "张伟伟"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["user"]["name"] == "张伟伟"
    assert body["user"]["role"] == "rm"
    assert body["user"]["org_unit_id"] == unit("team-east-1")
    assert body["user"]["last_seen_at"] is not None
    assert body["sessions_ended"] == 0
    assert "handover" not in body or body["handover"] is None
    assert await db.fetchval("select password_hash from users where login = 'rm01'") == hash_before
    assert (await client.get(ME, headers=bearer(rm))).json()["name"] == "张伟伟"
    assert (await sign_in(client, "rm01")).status_code == 200  # the same password

    rows = await audit_rows(db, "user_updated")
    assert [(r["actor_id"], r["subject"]) for r in rows] == [
        (user_id("admin"), f"user:{user_id('rm01')}")
    ]
    assert rows[0]["detail"]["changed"] == ["name"]
    assert "张伟伟" not in str(rows[0]["detail"])  # no personal data in the trail


async def test_moving_an_rm_ends_their_sessions_and_counts_what_they_hold(client, db):
    headers = await admin(client)
    await feed(client, headers, "customers", [
        customer_row(f"C-{n}", name=f"客户{n}", owner="rm01", seq=n) for n in range(3)
    ])  # fmt: skip
    template = await create_template(client, headers)
    await dispatch(client, headers, template["id"], org_unit="team-east-1")
    rm = await login(client, "rm01", device_no="rm01")
    colleague = await login(client, "rm02", device_no="rm02")
    hash_before = await db.fetchval("select password_hash from users where login = 'rm01'")

    moved = await client.patch(
        user_path("rm01"), headers=headers, json={"org_unit_id": unit("team-west-1")}
    )
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["user"]["org_unit_id"] == unit("team-west-1")
    assert body["sessions_ended"] == 1
    assert body["handover"] == {"customers": 3, "open_tasks": 1}
    assert_problem(await client.get(ME, headers=bearer(rm)), 401, "auth.session_ended")
    assert (await client.get(ME, headers=bearer(colleague))).status_code == 200
    assert await db.fetchval("select password_hash from users where login = 'rm01'") == hash_before
    again = await sign_in(client, "rm01")
    assert again.status_code == 200, again.text
    assert again.json()["user"]["org_unit_id"] == unit("team-west-1")


async def test_a_new_role_or_login_ends_the_sessions(client, db):
    headers = await admin(client)
    head = await login(client, "bh.east", device_no="bh.east")
    promoted = await client.patch(user_path("bh.east"), headers=headers, json={"role": "admin"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["sessions_ended"] == 1
    assert promoted.json()["handover"] is None  # not an RM
    assert_problem(await client.get(ME, headers=bearer(head)), 401, "auth.session_ended")

    rm = await login(client, "rm02", device_no="rm02")
    renamed = await client.patch(user_path("rm02"), headers=headers, json={"login": "rm02.new"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["user"]["login"] == "rm02.new"
    assert_problem(await client.get(ME, headers=bearer(rm)), 401, "auth.session_ended")
    assert (await sign_in(client, "rm02.new")).status_code == 200
    assert_problem(await sign_in(client, "rm02"), 401, "auth.invalid_credentials")


async def test_an_unchanged_value_changes_nothing(client, db):
    headers = await admin(client)
    rm = await login(client, "rm03", device_no="rm03")
    same = await client.patch(
        user_path("rm03"), headers=headers, json={"role": "rm", "org_unit_id": unit("team-east-2")}
    )
    assert same.status_code == 200, same.text
    assert same.json()["sessions_ended"] == 0
    assert (await client.get(ME, headers=bearer(rm))).status_code == 200
    assert await audit_rows(db, "user_updated") == []


async def test_edit_refusals(client, db):
    headers = await admin(client)
    taken = await client.patch(user_path("rm01"), headers=headers, json={"login": "RM02"})
    assert_problem(taken, 409, "user.login_taken")
    unknown = await client.patch(
        f"{ADMIN_USERS}/{unit('no-such-user')}", headers=headers, json={"name": "x"}
    )
    assert_problem(unknown, 404, "user.not_found")
    no_unit = await client.patch(
        user_path("rm01"), headers=headers, json={"org_unit_id": unit("no-such-unit")}
    )
    assert_problem(no_unit, 404, "org_unit.not_found")
    for bad in ({"name": None}, {"name": "  "}, {"role": "boss"}, {"login": "-x"}):
        response = await client.patch(user_path("rm01"), headers=headers, json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert await db.fetchval("select name from users where login = 'rm01'") == "张伟"


# ---- the last admin --------------------------------------------------------------------------


async def test_the_last_active_admin_cannot_be_demoted_or_disabled(client, db):
    headers = await admin(client)
    demoted = await client.patch(user_path("admin"), headers=headers, json={"role": "compliance"})
    body = assert_problem(demoted, 409, "user.last_admin")
    assert "last active admin" in body["detail"]
    replaced = await client.post(ADMIN_USERS, headers=headers, json={
        "id": str(user_id("admin")), "login": "admin", "name": "Admin", "role": "rm",
        "org_unit_id": unit("head-office"), "password": "another-password",
    })  # fmt: skip
    assert_problem(replaced, 409, "user.last_admin")
    assert await db.fetchval("select role from users where login = 'admin'") == "admin"

    # With a second admin, the first may step down; the second is then the last.
    promoted = await client.patch(user_path("compliance"), headers=headers, json={"role": "admin"})
    assert promoted.status_code == 200, promoted.text
    stepped_down = await client.patch(user_path("admin"), headers=headers, json={"role": "rm"})
    assert stepped_down.status_code == 200, stepped_down.text
    assert stepped_down.json()["sessions_ended"] == 1  # their own session too
    second = bearer(await login(client, "compliance", device_no="compliance"))
    assert_problem(
        await client.post(user_path("compliance", "disable"), headers=second),
        409,
        "user.cannot_disable_self",
    )
    demote_last = await client.patch(user_path("compliance"), headers=second, json={"role": "rm"})
    assert_problem(demote_last, 409, "user.last_admin")


async def test_a_disabled_admin_does_not_count(client, db):
    headers = await admin(client)
    assert (
        await client.patch(user_path("marketing"), headers=headers, json={"role": "admin"})
    ).status_code == 200
    assert (
        await client.post(user_path("marketing", "disable"), headers=headers)
    ).status_code == 200
    demoted = await client.patch(user_path("admin"), headers=headers, json={"role": "rm"})
    assert_problem(demoted, 409, "user.last_admin")


# ---- disable and enable ----------------------------------------------------------------------


async def test_disabling_ends_every_session_and_refuses_sign_in(client, db):
    headers = await admin(client)
    await feed(client, headers, "customers", [
        customer_row("C-1", name="客户甲", owner="rm04", seq=1)
    ])  # fmt: skip
    phone = await login(client, "rm04", device_no="rm04-phone")
    tablet = await login(client, "rm04", device_no="rm04-tablet")

    disabled = await client.post(user_path("rm04", "disable"), headers=headers)
    assert disabled.status_code == 200, disabled.text
    body = disabled.json()
    assert body["user"]["active"] is False
    assert body["sessions_ended"] == 2
    assert body["handover"] == {"customers": 1, "open_tasks": 0}
    for tokens in (phone, tablet):  # their devices are told to erase the offline copy
        wiped = assert_problem(
            await client.get(ME, headers=bearer(tokens)), 403, "auth.user_disabled"
        )
        assert wiped["wipe"] is True
    assert_problem(await sign_in(client, "rm04"), 401, "auth.invalid_credentials")  # elsewhere
    refreshed = await client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": phone["refresh_token"], "device_id": "device-rm04-phone"},
    )
    assert_problem(refreshed, 403, "auth.user_disabled")
    listed = await client.get(USERS, headers=headers, params={"active": "false"})
    assert [u["login"] for u in listed.json()["items"]] == ["rm04"]

    again = await client.post(user_path("rm04", "disable"), headers=headers)
    assert again.status_code == 200  # already disabled: nothing more happens
    assert again.json()["sessions_ended"] == 0
    rows = await audit_rows(db, "user_disabled")
    assert [(r["actor_id"], r["subject"]) for r in rows] == [
        (user_id("admin"), f"user:{user_id('rm04')}")
    ]
    assert rows[0]["detail"] == {"sessions_ended": 2}

    enabled = await client.post(user_path("rm04", "enable"), headers=headers)
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["user"]["active"] is True
    assert (await sign_in(client, "rm04")).status_code == 200
    assert len(await audit_rows(db, "user_enabled")) == 1


async def test_disabling_yourself_is_refused(client, db):
    headers = await admin(client)
    refused = await client.post(user_path("admin", "disable"), headers=headers)
    body = assert_problem(refused, 409, "user.cannot_disable_self")
    assert "your own account" in body["detail"]
    assert await db.fetchval("select active from users where login = 'admin'")
    assert (await client.get(ME, headers=headers)).status_code == 200
    unknown = await client.post(f"{ADMIN_USERS}/{unit('nobody')}/disable", headers=headers)
    assert_problem(unknown, 404, "user.not_found")


# ---- a new password --------------------------------------------------------------------------


async def test_a_new_password_ends_the_sessions_and_replaces_the_old_one(client, db):
    headers = await admin(client)
    rm = await login(client, "rm05", device_no="rm05")
    short = await client.post(
        user_path("rm05", "password"), headers=headers, json={"password": "x"}
    )
    assert short.status_code == 422
    set_ = await client.post(
        user_path("rm05", "password"), headers=headers, json={"password": "brand-new-pass-7"}
    )
    assert set_.status_code == 200, set_.text
    assert set_.json()["sessions_ended"] == 1
    assert set_.json()["user"]["login"] == "rm05"
    assert_problem(await client.get(ME, headers=bearer(rm)), 401, "auth.session_ended")
    assert_problem(await sign_in(client, "rm05"), 401, "auth.invalid_credentials")
    assert (await sign_in(client, "rm05", "brand-new-pass-7")).status_code == 200
    rows = await audit_rows(db, "user_password_set")
    assert [(r["actor_id"], r["subject"]) for r in rows] == [
        (user_id("admin"), f"user:{user_id('rm05')}")
    ]
    assert "brand-new" not in str(rows[0]["detail"])


# ---- the list's filters ----------------------------------------------------------------------


async def test_the_users_list_filters_by_text_role_and_state(client):
    headers = await admin(client)

    async def logins(**params: Any) -> list[str]:
        response = await client.get(USERS, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return sorted(u["login"] for u in response.json()["items"])

    assert await logins(q="RM0") == [f"rm0{n}" for n in range(1, 9)]
    assert await logins(q="王") == ["bh.east", "rm02"]  # 王东, 王芳
    assert await logins(q="east branch") == ["bh.east"]
    assert await logins(role="branch_head") == ["bh.east", "bh.west"]
    assert await logins(role="rm", org_unit_id=unit("team-east-2")) == ["rm03", "rm04"]
    assert await logins(active="false") == []
    assert len(await logins(active="true")) == 13
    assert (await client.get(USERS, headers=headers, params={"role": "boss"})).status_code == 422


# ---- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rm01", "bh.east", "marketing", "compliance"])
async def test_only_admins_change_users(client, db, who):
    headers = bearer(await login(client, who, device_no=who))
    victim = await login(client, "rm06", device_no="rm06")
    for response in (
        await client.patch(user_path("rm06"), headers=headers, json={"name": "x"}),
        await client.post(user_path("rm06", "disable"), headers=headers),
        await client.post(user_path("rm06", "enable"), headers=headers),
        await client.post(
            user_path("rm06", "password"), headers=headers, json={"password": "taken-over-1"}
        ),
    ):
        assert_problem(response, 403, "auth.forbidden")
    assert (await client.get(ME, headers=bearer(victim))).status_code == 200
    assert await db.fetchval("select name from users where login = 'rm06'") == "杨磊"


async def test_org_unit_changes_are_audited(client, db):
    headers = await admin(client)
    made = await client.post(
        "/api/v1/admin/org-units",
        headers=headers,
        json={"name": "东城三组", "parent_id": unit("branch-east")},
    )
    assert made.status_code == 201, made.text
    moved = await client.post(
        "/api/v1/admin/org-units",
        headers=headers,
        json={"id": made.json()["id"], "name": "西城三组", "parent_id": unit("branch-west")},
    )
    assert moved.status_code == 200, moved.text
    rows = [
        {**dict(r), "detail": json.loads(r["detail"])}
        for r in await db.fetch(
            "select action, actor_id, subject, detail from audit_events"
            " where action like 'org_unit_%' order by id"
        )
    ]
    assert [(r["action"], r["actor_id"]) for r in rows] == [
        ("org_unit_created", user_id("admin")),
        ("org_unit_updated", user_id("admin")),
    ]
    assert rows[1]["subject"] == f"org_unit:{made.json()['id']}"
    assert rows[1]["detail"] == {"changed": ["name", "parent_id"], "parent_id": unit("branch-west")}


# ---- names people can read -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["   ", "\u200b", "\u200b \u200b", "\u202eevil", "a\nb", "\x07bell", "王\u2028五"]
)
async def test_a_name_that_shows_nothing_or_reads_otherwise_is_refused(client, db, name):
    # A blank row in the org tree, a name that reads backwards in every list.
    headers = await admin(client)
    units = await db.fetchval("select count(*) from org_units")
    unit_answer = await client.post(
        "/api/v1/admin/org-units",
        headers=headers,
        json={"name": name, "parent_id": str(unit("branch-east"))},
    )
    assert_problem(unit_answer, 422, "request.validation_failed")
    assert unit_answer.json()["errors"][0]["path"] == "$.name"
    assert await db.fetchval("select count(*) from org_units") == units
    renamed = await client.patch(user_path("rm02"), headers=headers, json={"name": name})
    assert_problem(renamed, 422, "request.validation_failed")
    assert await db.fetchval("select name from users where login = 'rm02'") == "王芳"


async def test_names_are_stored_trimmed(client, db):
    headers = await admin(client)
    renamed = await client.patch(user_path("rm02"), headers=headers, json={"name": "  王芳芳  "})
    assert renamed.status_code == 200, renamed.text
    assert await db.fetchval("select name from users where login = 'rm02'") == "王芳芳"


async def test_a_login_with_a_trailing_newline_names_the_field(client, db):
    headers = await admin(client)
    answer = await client.patch(user_path("rm02"), headers=headers, json={"login": "rm02x\n"})
    assert_problem(answer, 422, "request.validation_failed")
    assert answer.json()["errors"][0]["path"] == "$.login"
    assert await db.fetchval("select count(*) from users where login like 'rm02x%'") == 0


async def test_a_units_audit_row_says_what_changed_and_a_save_of_nothing_writes_none(client, db):
    headers = await admin(client)
    body = {
        "id": str(unit("team-east-1")),
        "name": "东城一组（新）",
        "parent_id": str(unit("branch-east")),
    }
    assert (
        await client.post("/api/v1/admin/org-units", headers=headers, json=body)
    ).status_code == 200
    assert (
        await client.post("/api/v1/admin/org-units", headers=headers, json=body)
    ).status_code == 200
    rows = await audit_rows(db, "org_unit_updated")
    assert [r["detail"] for r in rows] == [{"changed": ["name"]}]


# ---- one name per unit among its siblings ----------------------------------------------------


async def test_a_parent_has_one_unit_of_a_name(client, db):
    # Two 东城三组 under East Branch: nobody could tell them apart in any list or picker.
    headers = await admin(client)
    body = {"name": "东城三组 Team", "parent_id": unit("branch-east")}
    first = await client.post("/api/v1/admin/org-units", headers=headers, json=body)
    assert first.status_code == 201, first.text
    again = await client.post(
        "/api/v1/admin/org-units", headers=headers, json={**body, "name": " 东城三组 TEAM "}
    )
    assert_problem(again, 409, "org_unit.name_taken")
    renamed = await client.post(
        "/api/v1/admin/org-units",
        headers=headers,
        json={"id": unit("team-east-1"), "name": "东城三组 team", "parent_id": unit("branch-east")},
    )
    assert_problem(renamed, 409, "org_unit.name_taken")
    # Each reads the same: spaces, a zero-width space, full-width letters, a soft hyphen, a
    # combining grapheme joiner, a variation selector, an invisible separator.
    for alike in ("东城三组  Team", "东城三组\u200b Team", "东城三组 Ｔｅａｍ",
                  "东城三组 Te\u00adam", "东城三组 Te\u034fam", "东城三组\ufe0f Team",
                  "东城三组 Te\u2063am"):  # fmt: skip
        answer = await client.post(
            "/api/v1/admin/org-units", headers=headers, json={**body, "name": alike}
        )
        assert_problem(answer, 409, "org_unit.name_taken")
    cafe = await client.post(
        "/api/v1/admin/org-units", headers=headers, json={**body, "name": "Café"}
    )
    assert cafe.status_code == 201, cafe.text
    decomposed = await client.post(
        "/api/v1/admin/org-units", headers=headers, json={**body, "name": "Cafe\u0301"}
    )
    assert_problem(decomposed, 409, "org_unit.name_taken")
    elsewhere = await client.post(  # the same name under another parent is another unit
        "/api/v1/admin/org-units", headers=headers, json={**body, "parent_id": unit("branch-west")}
    )
    assert elsewhere.status_code == 201, elsewhere.text
    assert await db.fetchval("select count(*) from org_units where name ilike '东城三组%'") == 2
    kept = await client.post(  # saving a unit under its own name is no clash with itself
        "/api/v1/admin/org-units", headers=headers, json={**body, "id": first.json()["id"]}
    )
    assert kept.status_code == 200, kept.text


async def test_two_admins_adding_the_same_unit_at_once_make_one(client, db):
    headers = await admin(client)
    body = {"name": "东城四组", "parent_id": unit("branch-east")}
    answers = await asyncio.gather(
        *(client.post("/api/v1/admin/org-units", headers=headers, json=body) for _ in range(6))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409, 409]
    assert await db.fetchval("select count(*) from org_units where name = '东城四组'") == 1


@pytest.mark.parametrize("field", [{"password": "a-new-secret-1"}, {"active": False}])
async def test_an_edit_naming_a_field_it_cannot_change_is_refused(client, db, field):
    # `password` was ignored: the admin believed the RM's password was reset.
    headers = await admin(client)
    before = await db.fetchrow("select name, active, password_hash from users where login = 'rm02'")
    answer = await client.patch(
        user_path("rm02"), headers=headers, json={"name": "王芳芳", **field}
    )
    assert_problem(answer, 422, "request.validation_failed")
    assert next(iter(field)) in answer.text
    after = await db.fetchrow("select name, active, password_hash from users where login = 'rm02'")
    assert after == before
    assert (await sign_in(client, "rm02")).status_code == 200


async def test_a_new_user_or_unit_naming_a_field_it_cannot_set_is_refused(client, db):
    # `"active": false` made an active account: the admin believed it was created disabled.
    headers = await admin(client)
    user = {"login": "qa.new1", "name": "QA New", "role": "rm", "password": "a-long-password",
            "org_unit_id": str(unit("team-east-1"))}  # fmt: skip
    for extra in ({"active": False}, {"email": "a@b.c"}):
        answer = await client.post(ADMIN_USERS, headers=headers, json={**user, **extra})
        assert_problem(answer, 422, "request.validation_failed")
        assert next(iter(extra)) in answer.text
    made = await client.post(
        "/api/v1/admin/org-units",
        headers=headers,
        json={"name": "东城五组", "parent_id": unit("branch-east"), "manager": "rm01"},
    )
    assert_problem(made, 422, "request.validation_failed")
    assert await db.fetchval("select count(*) from users where login = 'qa.new1'") == 0
    assert await db.fetchval("select count(*) from org_units where name = '东城五组'") == 0

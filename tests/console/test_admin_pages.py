"""The admin pages of the console (/console/admin, 机构与用户): the users table with its search
and filters, creating a user (a generated password shown once, and never again), editing without
touching the password, a new password, disabling (with what an RM still holds) and enabling; the
org tree with its counts, adding, renaming and moving a unit (a cycle refused with a message).
CSRF like every console form; other roles do not have the pages."""

from __future__ import annotations

import html
import json
import re
import uuid
from typing import Any

import pytest

from tests.console.conftest import csrf_of, post_form, signed_in
from tests.console.test_pages import console_page
from tests.customers_data import customer_row, feed
from tests.helpers import bearer, login
from tests.tasks_data import create_template, dispatch
from tests.workbench.identity.test_org_scope import unit, user_id
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

ADMIN = "/console/admin"
UNITS = "/console/admin/units"
ME = "/api/v1/me"
_SECRET = re.compile(r'<output class="admin-secret"[^>]*>([^<]+)</output>')
_HIDDEN = re.compile(r'<input type="hidden" name="(was_\w+|once)" value="([^"]*)">')


def user_page(login_name: str, action: str) -> str:
    return f"{ADMIN}/users/{user_id(login_name)}/{action}"


def secret_of(html: str) -> str:
    match = _SECRET.search(html)
    assert match, "the page shows no password"
    return match.group(1)


def hidden_of(html: str) -> dict[str, str]:
    """The hidden fields a form sends back (what an edit form showed, a one-time token)."""
    return dict(_HIDDEN.findall(html))


async def sign_in_api(client: Any, who: str, password: str, device_no: str) -> Any:
    return await client.post(
        "/api/v1/auth/login",
        json={
            "login": who,
            "password": password,
            "device": {"device_id": f"device-{device_no}", "platform": "ios"},
        },
    )


async def rm_with_work(console: Any, who: str = "rm01") -> None:
    """Give the RM two customers and one open task (through the API, as the bank would)."""
    headers = bearer(await login(console, "admin", device_no="admin-feed"))
    await feed(console, headers, "customers", [
        customer_row(f"C-{who}-{n}", name=f"客户{n}", owner=who, seq=n) for n in range(2)
    ])  # fmt: skip
    template = await create_template(console, headers)
    await dispatch(console, headers, template["id"], org_unit="team-east-1")


# ---- the users table -------------------------------------------------------------------------


async def test_the_admin_finds_users_by_text_role_state_and_unit(console):
    await signed_in(console, "admin")
    html = console_page(await console.get(ADMIN), 200)
    assert 'aria-current="page"' in html
    assert f'href="{ADMIN}"' in html
    for name in ("张伟", "陈静", "王东 East Branch Head", "合规部 Compliance"):
        assert name in html
    for label in ("客户经理", "支行负责人", "合规审核"):
        assert label in html
    assert "总行 Head Office › 东城支行 East Branch" in html  # rm01's unit path
    assert "正常" in html
    assert '<span class="badge">我</span>' in html
    assert f'href="{user_page("rm01", "edit")}"' in html
    assert f"{user_page('admin', 'disable')}" not in html  # nobody disables themselves

    found = console_page(await console.get(ADMIN, params={"q": "RM0"}), 200)
    assert {n for n in ("张伟", "黄强", "王东") if n in found} == {"张伟", "黄强"}
    by_name = console_page(await console.get(ADMIN, params={"q": "王"}), 200)
    assert {n for n in ("王芳", "王东", "张伟") if n in by_name} == {"王芳", "王东"}
    heads = console_page(await console.get(ADMIN, params={"role": "branch_head"}), 200)
    assert {n for n in ("王东", "李西", "张伟") if n in heads} == {"王东", "李西"}
    team = console_page(await console.get(ADMIN, params={"unit": unit("team-east-2")}), 200)
    assert {n for n in ("李娜", "刘洋", "张伟") if n in team} == {"李娜", "刘洋"}
    disabled = console_page(await console.get(ADMIN, params={"state": "disabled"}), 200)
    assert "没有符合条件的用户" in disabled
    # Nonsense in the address bar filters nothing and breaks nothing.
    odd = console_page(
        await console.get(ADMIN, params={"role": "boss", "unit": "x", "cursor": "zz"}), 200
    )
    assert "张伟" in odd


@pytest.mark.parametrize("who", ["bh.east", "marketing", "compliance"])
async def test_other_staff_do_not_have_the_pages(console, who):
    token = await signed_in(console, who)
    assert f'href="{ADMIN}"' not in console_page(await console.get("/console"), 200)
    for path in (ADMIN, UNITS, f"{ADMIN}/users/new", user_page("rm01", "edit")):
        console_page(await console.get(path), 404)
    refused = await post_form(console, user_page("rm01", "disable"), token=token)
    console_page(refused, 404)


# ---- creating a user -------------------------------------------------------------------------


async def test_a_generated_password_is_shown_once_and_never_again(console, db):
    await signed_in(console, "admin")
    form = console_page(
        await console.get(f"{ADMIN}/users/new", params={"unit": unit("team-east-2")}), 200
    )
    assert f'<option value="{unit("team-east-2")}" selected>' in form
    fields = {"login": "rm09", "name": "周敏", "role": "rm", "org_unit_id": unit("team-east-2")}

    refused = await post_form(console, f"{ADMIN}/users/new", fields, token=None)
    assert refused.status_code == 403
    assert await db.fetchval("select count(*) from users where login = 'rm09'") == 0

    made = await post_form(console, f"{ADMIN}/users/new", fields, token=csrf_of(form))
    html = console_page(made, 201)
    password = secret_of(html)
    assert re.fullmatch(r"[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}", password)
    assert "只显示这一次" in html
    assert "当面" in html
    assert "已创建 周敏（rm09），客户经理 · 东城二组 East Team 2" in html
    row = await db.fetchrow("select role, org_unit_id, active from users where login = 'rm09'")
    assert (row["role"], str(row["org_unit_id"]), row["active"]) == (
        "rm",
        unit("team-east-2"),
        True,
    )
    assert (await sign_in_api(console, "rm09", password, "rm09")).status_code == 200

    # Nowhere else: not the list, not the user's pages, not the flash of the next page.
    new_id = await db.fetchval("select id from users where login = 'rm09'")
    for path in (
        ADMIN,
        f"{ADMIN}?q=rm09",
        f"{ADMIN}/users/{new_id}/edit",
        f"{ADMIN}/users/{new_id}/password",
        f"{ADMIN}/users/{new_id}/disable",
    ):
        assert password not in console_page(await console.get(path), 200), path
    stored = await db.fetchval("select password_hash from users where login = 'rm09'")
    assert password not in stored
    assert (
        await db.fetchval(
            "select count(*) from audit_events where action = 'user_created' and actor_id = $1",
            user_id("admin"),
        )
        == 1
    )


async def test_a_typed_password_is_not_shown_and_errors_keep_the_form(console, db):
    token = await signed_in(console, "admin")
    base = {"login": "rm10", "name": "吴昊", "role": "rm", "org_unit_id": unit("team-west-1")}

    bad = await post_form(
        console, f"{ADMIN}/users/new", {**base, "login": "-x", "name": " ", "password": "short"},
        token=token,
    )  # fmt: skip
    html = console_page(bad, 422)
    assert "登录名为 1–64 位字母" in html
    assert "请填写姓名" in html
    assert "密码至少 8 位" in html
    assert "short" not in html  # a password is never written back into the page
    taken = console_page(
        await post_form(console, f"{ADMIN}/users/new", {**base, "login": "RM01"}, token=token),
        409,
    )
    assert "这个登录名已被其他用户使用" in taken
    assert 'value="吴昊"' in taken

    made = await post_form(
        console, f"{ADMIN}/users/new", {**base, "password": "typed-by-admin-1"}, token=token
    )
    assert made.status_code == 303, made.text
    listed = console_page(await console.get(made.headers["location"]), 200)
    assert "已创建 吴昊（rm10）" in listed
    assert "typed-by-admin-1" not in listed
    assert (await sign_in_api(console, "rm10", "typed-by-admin-1", "rm10")).status_code == 200


# ---- editing ---------------------------------------------------------------------------------


async def test_moving_an_rm_keeps_the_password_and_warns_of_what_they_hold(console, db):
    await rm_with_work(console)
    app = await login(console, "rm01", device_no="rm01")
    await signed_in(console, "admin")
    form = console_page(await console.get(user_page("rm01", "edit")), 200)
    assert "名下 2 位客户、1 项未完成任务" in form
    assert "更改角色、机构或登录名后" in form
    assert 'name="password"' not in form
    assert f'<option value="{unit("team-east-1")}" selected>' in form
    hash_before = await db.fetchval("select password_hash from users where login = 'rm01'")

    saved = await post_form(
        console,
        user_page("rm01", "edit"),
        {"login": "rm01", "name": "张伟", "role": "rm", "org_unit_id": unit("team-west-2")},
        token=csrf_of(form),
    )
    assert saved.status_code == 303, saved.text
    listed = console_page(await console.get(saved.headers["location"]), 200)
    assert "已保存 张伟（rm01）：其已登录的设备需重新登录" in listed
    assert "名下 2 位客户、1 项未完成任务需另行转交" in listed
    assert "西城二组 West Team 2" in listed
    assert await db.fetchval("select password_hash from users where login = 'rm01'") == hash_before
    assert (await console.get(ME, headers=bearer(app))).status_code == 401
    assert (await sign_in_api(console, "rm01", DEMO_PASSWORD, "rm01-again")).status_code == 200


async def test_the_last_admin_cannot_be_demoted_from_the_form(console, db):
    token = await signed_in(console, "admin")
    refused = await post_form(
        console,
        user_page("admin", "edit"),
        {"login": "admin", "name": "Admin", "role": "rm", "org_unit_id": unit("head-office")},
        token=token,
    )
    html = console_page(refused, 409)
    assert "最后一位在用的系统管理员" in html
    assert await db.fetchval("select role from users where login = 'admin'") == "admin"
    assert (await console.get(ADMIN)).status_code == 200  # still signed in


async def test_a_stale_edit_form_does_not_undo_another_admins_change(console, db):
    await signed_in(console, "admin")
    first = console_page(await console.get(user_page("rm01", "edit")), 200)
    second = console_page(await console.get(user_page("rm01", "edit")), 200)
    shown = hidden_of(second)
    assert shown == {
        "was_login": "rm01", "was_name": "张伟", "was_role": "rm", "was_unit": unit("team-east-1")
    }  # fmt: skip
    values = {"login": "rm01", "name": "张伟", "role": "rm", "org_unit_id": unit("team-east-1")}

    renamed = await post_form(
        console, user_page("rm01", "edit"), {**hidden_of(first), **values, "name": "张伟伟"},
        token=csrf_of(first),
    )  # fmt: skip
    assert renamed.status_code == 303, renamed.text
    # The second tab, with the old values, changes only the role: nothing is saved.
    stale = await post_form(
        console, user_page("rm01", "edit"), {**shown, **values, "role": "branch_head"},
        token=csrf_of(second),
    )  # fmt: skip
    html = console_page(stale, 409)
    assert "该用户资料已被他人修改，请核对后再保存。" in html
    assert 'value="张伟伟"' in html  # the current values, to check
    assert hidden_of(html)["was_name"] == "张伟伟"
    row = await db.fetchrow("select name, role from users where login = 'rm01'")
    assert (row["name"], row["role"]) == ("张伟伟", "rm")

    # Sent again from the page it got back, only the role changes.
    saved = await post_form(
        console, user_page("rm01", "edit"),
        {**hidden_of(html), **values, "name": "张伟伟", "role": "branch_head"},
        token=csrf_of(html),
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    row = await db.fetchrow("select name, role from users where login = 'rm01'")
    assert (row["name"], row["role"]) == ("张伟伟", "branch_head")
    details = await db.fetch(
        "select detail from audit_events where action = 'user_updated' order by id"
    )
    assert [json.loads(d["detail"])["changed"] for d in details] == [["name"], ["role"]]


# ---- a new password --------------------------------------------------------------------------


async def test_resetting_a_password_shows_the_new_one_once(console, db):
    app = await login(console, "rm02", device_no="rm02")
    await signed_in(console, "admin")
    confirm = console_page(await console.get(user_page("rm02", "password")), 200)
    assert "原密码立即失效" in confirm
    assert "王芳" in confirm
    assert (await console.get(ME, headers=bearer(app))).status_code == 200  # nothing yet

    reset = await post_form(console, user_page("rm02", "password"), token=csrf_of(confirm))
    html = console_page(reset, 200)
    password = secret_of(html)
    assert "只显示这一次" in html
    assert (await console.get(ME, headers=bearer(app))).status_code == 401
    assert (await sign_in_api(console, "rm02", DEMO_PASSWORD, "rm02-b")).status_code == 401
    assert (await sign_in_api(console, "rm02", password, "rm02-c")).status_code == 200
    assert password not in console_page(await console.get(ADMIN), 200)
    assert password not in console_page(await console.get(user_page("rm02", "password")), 200)
    assert (
        await db.fetchval("select count(*) from audit_events where action = 'user_password_set'")
        == 1
    )


async def test_a_reloaded_password_page_does_not_issue_a_second_password(console, db):
    await signed_in(console, "admin")
    confirm = console_page(await console.get(user_page("rm02", "password")), 200)
    once = hidden_of(confirm)["once"]
    reset = await post_form(
        console, user_page("rm02", "password"), {"once": once}, token=csrf_of(confirm)
    )
    password = secret_of(console_page(reset, 200))
    again = await post_form(
        console, user_page("rm02", "password"), {"once": once}, token=csrf_of(confirm)
    )
    html = console_page(again, 409)
    assert "新密码已在首次提交时生成；如未记下，请重新生成" in html
    assert "admin-secret" not in html
    assert f'href="{user_page("rm02", "password")}"' in html
    assert (await sign_in_api(console, "rm02", password, "rm02-a")).status_code == 200
    assert (
        await db.fetchval("select count(*) from audit_events where action = 'user_password_set'")
        == 1
    )
    # A fresh confirmation page is a fresh token: generating again still works.
    fresh = console_page(await console.get(user_page("rm02", "password")), 200)
    assert hidden_of(fresh)["once"] != once
    renewed = await post_form(
        console, user_page("rm02", "password"), hidden_of(fresh), token=csrf_of(fresh)
    )
    assert secret_of(console_page(renewed, 200)) != password


async def test_a_reloaded_new_user_page_says_the_account_was_created(console, db):
    await signed_in(console, "admin")
    form = console_page(await console.get(f"{ADMIN}/users/new"), 200)
    fields = {
        "login": "rm11", "name": "郑洁", "role": "rm", "org_unit_id": unit("team-west-1"),
        **hidden_of(form),
    }  # fmt: skip
    made = await post_form(console, f"{ADMIN}/users/new", fields, token=csrf_of(form))
    password = secret_of(console_page(made, 201))
    again = await post_form(console, f"{ADMIN}/users/new", fields, token=csrf_of(form))
    html = console_page(again, 409)
    assert "已在首次提交时创建" in html
    assert "已被其他用户使用" not in html
    assert "admin-secret" not in html
    made_id = await db.fetchval("select id from users where login = 'rm11'")
    assert f'href="{ADMIN}/users/{made_id}/edit"' in html
    assert await db.fetchval("select count(*) from users where login = 'rm11'") == 1
    assert (await sign_in_api(console, "rm11", password, "rm11")).status_code == 200


# ---- disable and enable ----------------------------------------------------------------------


async def test_disabling_an_rm_says_what_they_hold_and_ends_their_sessions(console, db):
    await rm_with_work(console)
    app = await login(console, "rm01", device_no="rm01")
    await signed_in(console, "admin")
    back = f"{ADMIN}?q=rm01"
    confirm = console_page(
        await console.get(user_page("rm01", "disable"), params={"back": back}), 200
    )
    assert "会话立即失效、无法再登录" in confirm
    assert "名下 2 位客户、1 项未完成任务需另行转交" in confirm
    assert "确认停用" in confirm
    assert f'name="back" value="{back}"' in confirm
    assert (await console.get(ME, headers=bearer(app))).status_code == 200

    refused = await post_form(console, user_page("rm01", "disable"), {"back": back}, token=None)
    assert refused.status_code == 403
    assert await db.fetchval("select active from users where login = 'rm01'")

    done = await post_form(
        console, user_page("rm01", "disable"), {"back": back}, token=csrf_of(confirm)
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == back
    listed = console_page(await console.get(back), 200)
    assert "已停用 张伟（rm01）：其会话已立即失效，无法再登录" in listed
    assert "名下 2 位客户、1 项未完成任务需另行转交" in listed
    assert "已停用" in listed
    assert f'action="{user_page("rm01", "enable")}"' in listed
    wiped = await console.get(ME, headers=bearer(app))  # the phone erases its offline copy
    assert (wiped.status_code, wiped.json()["code"]) == (403, "auth.user_disabled")
    assert (await sign_in_api(console, "rm01", DEMO_PASSWORD, "rm01-b")).status_code == 401
    again = await console.get(user_page("rm01", "disable"))
    assert again.status_code == 303  # already disabled: only says so

    enabled = await post_form(
        console, user_page("rm01", "enable"), {"back": "https://evil.test/"}, token=csrf_of(listed)
    )
    assert enabled.status_code == 303
    assert enabled.headers["location"] == ADMIN
    assert "已启用 张伟（rm01）" in console_page(await console.get(ADMIN), 200)
    assert (await sign_in_api(console, "rm01", DEMO_PASSWORD, "rm01-c")).status_code == 200
    actions = await db.fetch(
        "select action from audit_events where subject = $1 and actor_id = $2 order by id",
        f"user:{user_id('rm01')}",
        user_id("admin"),
    )
    assert [r["action"] for r in actions] == ["user_disabled", "user_enabled"]


async def test_an_rm_with_nothing_to_hand_over_is_told_so(console):
    await signed_in(console, "admin")
    confirm = console_page(await console.get(user_page("rm07", "disable")), 200)
    assert "名下没有客户，也没有未完成的任务" in confirm
    head = console_page(await console.get(user_page("bh.west", "disable")), 200)
    assert "名下" not in head  # not an RM


async def test_the_admin_cannot_disable_themselves(console, db):
    token = await signed_in(console, "admin")
    shown = await console.get(user_page("admin", "disable"))
    assert shown.status_code == 303
    assert "不能停用自己的账号" in console_page(await console.get(shown.headers["location"]), 200)
    posted = await post_form(console, user_page("admin", "disable"), token=token)
    assert posted.status_code == 303
    assert "不能停用自己的账号" in console_page(await console.get(posted.headers["location"]), 200)
    assert await db.fetchval("select active from users where login = 'admin'")


async def test_an_unknown_user_is_the_404_page(console):
    token = await signed_in(console, "admin")
    nobody = f"{ADMIN}/users/{uuid.uuid4()}"
    for response in (
        await console.get(f"{nobody}/edit"),
        await console.get(f"{nobody}/disable"),
        await post_form(console, f"{nobody}/disable", token=token),
        await post_form(console, f"{nobody}/password", token=token),
    ):
        console_page(response, 404)


# ---- the org tree ----------------------------------------------------------------------------


async def test_the_tree_counts_users_and_units_are_added_renamed_and_moved(console, db):
    token = await signed_in(console, "admin")
    tree = console_page(await console.get(UNITS), 200)
    names = re.findall(r'admin-depth-(\d)">\s*<td class="admin-unit-name">.*?"who">([^<]+)<', tree)
    assert names[:4] == [
        ("0", "总行 Head Office"),
        ("1", "东城支行 East Branch"),
        ("2", "东城一组 East Team 1"),
        ("2", "东城二组 East Team 2"),
    ]
    assert "本级 3 人" in tree  # the head office: admin, marketing, compliance
    assert "本级 1 人" in tree  # East Branch: its head (four RMs in its teams)
    assert f"{ADMIN}?unit={unit('team-east-1')}" in tree
    # Each unit's count is the number of people its link lists (its subtree's).
    links = re.findall(r'<a href="([^"]+\?unit=[^"]+)">(\d+) 人</a>', tree)
    assert len(links) >= 7, links
    for href, count in links:
        listed = console_page(await console.get(html.unescape(href)), 200)
        assert listed.count('class="admin-user-row') == int(count), href
    east = dict((h, int(c)) for h, c in links)[f"{ADMIN}?unit={unit('branch-east')}"]
    assert east == 5  # its head and four RMs

    form = console_page(
        await console.get(f"{UNITS}/new", params={"parent": unit("branch-east")}), 200
    )
    assert f'<option value="{unit("branch-east")}" selected>' in form
    blank = await post_form(
        console, f"{UNITS}/new", {"name": " ", "parent_id": unit("branch-east")}, token=token
    )
    assert "请填写机构名称" in console_page(blank, 422)
    made = await post_form(
        console,
        f"{UNITS}/new",
        {"name": "东城三组", "parent_id": unit("branch-east")},
        token=csrf_of(form),
    )
    assert made.status_code == 303, made.text
    assert "已添加 东城三组（上级：东城支行 East Branch）" in console_page(
        await console.get(UNITS), 200
    )
    team = await db.fetchrow("select id, depth from org_units where name = '东城三组'")
    assert team["depth"] == 2

    # A move under its own subtree is not offered, and refused with a message if sent.
    east = f"{UNITS}/{unit('branch-east')}/edit"
    edit = console_page(await console.get(east), 200)
    assert f'value="{team["id"]}"' not in edit
    assert f'value="{unit("team-east-1")}"' not in edit
    cycle = await post_form(
        console, east, {"name": "东城支行 East Branch", "parent_id": str(team["id"])}, token=token
    )
    assert "不能把机构移到它自己或它的下级机构之下" in console_page(cycle, 409)
    assert await db.fetchval(
        "select parent_id from org_units where id = $1", uuid.UUID(unit("branch-east"))
    ) == uuid.UUID(unit("head-office"))

    moved = await post_form(
        console,
        f"{UNITS}/{team['id']}/edit",
        {"name": "西城三组", "parent_id": unit("branch-west")},
        token=token,
    )
    assert moved.status_code == 303, moved.text
    assert "已保存 西城三组：已移到 西城支行 West Branch 之下" in console_page(
        await console.get(UNITS), 200
    )
    assert await db.fetchval(
        "select parent_id from org_units where id = $1", team["id"]
    ) == uuid.UUID(unit("branch-west"))
    head = console_page(await console.get(f"{UNITS}/{unit('head-office')}/edit"), 200)
    assert "总行是机构树的顶端" in head
    actions = await db.fetch("select action from audit_events where action like 'org_unit_%'")
    assert sorted(r["action"] for r in actions) == ["org_unit_created", "org_unit_updated"]


async def test_a_name_the_lists_could_not_show_keeps_the_form_with_a_message(console, db):
    # A zero-width name passed the form's check and the service refused it with the error page:
    # everything typed was lost.
    token = await signed_in(console, "admin")
    unit_page = await post_form(
        console, f"{UNITS}/new", {"name": "\u200b", "parent_id": unit("branch-east")}, token=token
    )
    assert "请填写机构名称" in console_page(unit_page, 422)
    rename = await post_form(
        console,
        f"{UNITS}/{unit('team-east-1')}/edit",
        {"name": "\u202e组一城东", "parent_id": unit("branch-east")},
        token=token,
    )
    assert "机构名称含有改变文字方向的字符" in console_page(rename, 422)
    person = await post_form(
        console,
        f"{ADMIN}/users/new",
        {"login": "rm99", "name": "\u200b\u200b", "role": "rm", "org_unit_id": unit("team-east-1"),
         "once": hidden_of(console_page(await console.get(f"{ADMIN}/users/new"), 200))["once"]},
        token=token,
    )  # fmt: skip
    page = console_page(person, 422)
    assert 'value="rm99"' in page  # what was typed is still there
    assert await db.fetchval("select count(*) from users where login = 'rm99'") == 0
    assert (
        await db.fetchval(
            "select name from org_units where id = $1", uuid.UUID(unit("team-east-1"))
        )
        == "东城一组 East Team 1"
    )


async def test_a_second_unit_of_the_same_name_under_a_parent_is_refused_on_the_form(console, db):
    token = await signed_in(console, "admin")
    taken = await post_form(
        console, f"{UNITS}/new", {"name": "东城二组 East Team 2", "parent_id": unit("branch-east")},
        token=token,
    )  # fmt: skip
    assert "东城支行 East Branch 下已有同名机构" in console_page(taken, 409)
    renamed = await post_form(
        console,
        f"{UNITS}/{unit('team-east-1')}/edit",
        {"name": "东城二组 East Team 2", "parent_id": unit("branch-east")},
        token=token,
    )
    assert "已有同名机构" in console_page(renamed, 409)
    assert (
        await db.fetchval("select count(*) from org_units where name = '东城二组 East Team 2'") == 1
    )

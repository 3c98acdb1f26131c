"""A unit's or a person's name the admin pages refuse is refused for what is wrong with it, said
beside the field: empty, only invisible characters, too long, a line break, a tab, a direction
control or another control character. One message for all ("请填写机构名称（最多 100 字）") sent
admins looking for a fault in a name that was filled and short."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import post_form, signed_in
from tests.console.field_errors import field_error
from tests.console.test_pages import console_page
from tests.workbench.identity.test_org_scope import unit, user_id

pytestmark = pytest.mark.usefixtures("demo_bank")

UNITS = "/console/admin/units"
USERS = "/console/admin/users"
# A typed name -> what the form says of it (the field's label goes before or inside it).
CASES = [
    pytest.param("", "请填写{what}。", id="empty"),
    pytest.param("\u200b\u2060", "请填写{what}：不能只有空格或看不见的字符。", id="invisible"),
    pytest.param("东" * 101, "{what}最多 100 个字，请删减。", id="too long"),
    pytest.param("a\tb", "{what}不能含制表符（Tab），请改用空格。", id="tab"),
    pytest.param("a\nb", "{what}不能换行（含有换行符），请写在一行内。", id="newline"),
    pytest.param("a\u2028b", "{what}不能换行（含有换行符），请写在一行内。", id="line separator"),
    pytest.param("abc\u202edef", "{what}含有改变文字方向的字符", id="direction override"),
    pytest.param("a\u2067b\u2069", "{what}含有改变文字方向的字符", id="direction isolate"),
    pytest.param("a\x07b", "{what}不能含控制字符", id="control"),
]


@pytest.mark.parametrize(("name", "said"), CASES)
async def test_a_new_units_name_is_refused_for_what_is_wrong_with_it(console, db, name, said):
    token = await signed_in(console, "admin")
    refused = await post_form(
        console, f"{UNITS}/new", {"name": name, "parent_id": unit("branch-east")}, token=token
    )
    assert said.format(what="机构名称") in field_error(console_page(refused, 422), "name")
    assert await db.fetchval("select count(*) from org_units where name = $1", name) == 0


@pytest.mark.parametrize(("name", "said"), CASES)
async def test_a_new_users_name_is_refused_for_what_is_wrong_with_it(console, db, name, said):
    token = await signed_in(console, "admin")
    form = {"login": "rm77", "name": name, "role": "rm", "org_unit_id": unit("team-east-1")}
    refused = await post_form(console, f"{USERS}/new", form, token=token)
    assert said.format(what="姓名") in field_error(console_page(refused, 422), "name")
    assert await db.fetchval("select count(*) from users where login = 'rm77'") == 0


async def test_a_rename_and_a_users_edit_say_the_same_and_a_shown_name_is_saved(console, db):
    token = await signed_in(console, "admin")
    renamed = await post_form(
        console, f"{UNITS}/{unit('team-east-1')}/edit",
        {"name": "东城\t一组", "parent_id": unit("branch-east")}, token=token,
    )  # fmt: skip
    assert "机构名称不能含制表符" in field_error(console_page(renamed, 422), "name")
    edit = console_page(await console.get(f"{USERS}/{user_id('rm02')}/edit"), 200)
    shown = dict(re.findall(r'name="(was_\w+)" value="([^"]*)"', edit))  # the edit as shown
    edited = await post_form(
        console, f"{USERS}/{user_id('rm02')}/edit",
        {"login": "rm02", "name": "王\u202e芳", "role": "rm", "org_unit_id": unit("team-east-1"),
         **shown},
        token=token,
    )  # fmt: skip
    assert "姓名含有改变文字方向的字符" in field_error(console_page(edited, 422), "name")
    # A name with spaces and brackets shows as typed: saved.
    made = await post_form(
        console, f"{UNITS}/new", {"name": "东城 三组 (试点)", "parent_id": unit("branch-east")},
        token=token,
    )  # fmt: skip
    assert made.status_code == 303, made.text
    assert await db.fetchval("select count(*) from org_units where name = '东城 三组 (试点)'") == 1

"""A sign-in locked by wrong passwords on the admin's pages: the user's page says so, with about
how long it stays locked and the button 解除锁定 (a CSRF-checked POST calling the API's service,
audited); the users list marks the locked user. A user who is not locked shows nothing."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest

from tests.console.conftest import csrf_of, post_form, signed_in
from tests.console.test_admin_pages import ADMIN, hidden_of, user_page
from tests.console.test_pages import console_page
from tests.helpers import device
from tests.workbench.identity.test_org_scope import user_id
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

LIMIT = 3
LOCKED = "登录已锁定：连续输错密码，约 15 分钟后自动解除"  # the window is 900 s


@pytest.fixture
async def console(make_console: Any) -> Any:
    return await make_console(login_limit_per_login=LIMIT)


async def sign_in_app(console: Any, who: str, password: str = DEMO_PASSWORD) -> int:
    response = await console.post(
        "/api/v1/auth/login",
        json={"login": who, "password": password, "device": device(f"{who}-phone")},
    )
    return int(response.status_code)


async def lock_out(console: Any, who: str) -> None:
    for _ in range(LIMIT):
        assert await sign_in_app(console, who, "guessed-wrong") == 401
    assert await sign_in_app(console, who) == 429


async def test_the_user_page_shows_the_lock_and_the_button_lifts_it(console, db):
    token = await signed_in(console, "admin")
    await lock_out(console, "rm01")

    page = console_page(await console.get(user_page("rm01", "edit")), 200)
    assert LOCKED in page
    unlock = user_page("rm01", "unlock-sign-in")
    assert f'action="{unlock}"' in page
    assert "解除锁定</span></button>" in page
    assert f'href="{user_page("rm01", "password")}"' in page  # someone guessing: a new password

    listed = console_page(await console.get(ADMIN), 200)
    assert listed.count("登录已锁定") == 1
    assert f'<a class="state-pill state-pill-locked" href="{user_page("rm01", "edit")}"' in listed

    # Without the page's CSRF token: refused, still locked.
    console_page(await post_form(console, unlock, token=None), 403)
    assert await sign_in_app(console, "rm01") == 429

    done = await post_form(console, unlock, token=token)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == user_page("rm01", "edit")
    after = console_page(await console.get(done.headers["location"]), 200)
    assert "已解除 张伟（rm01）的登录锁定" in html.unescape(after)
    assert "登录已锁定" not in after
    assert await sign_in_app(console, "rm01") == 200

    row = await db.fetchrow(
        "select actor_id, detail from audit_events where action = 'user.sign_in_unlocked'"
    )
    assert row["actor_id"] == user_id("admin")
    assert json.loads(row["detail"]) == {"was_locked": True}


async def test_a_user_who_is_not_locked_shows_nothing(console):
    await signed_in(console, "admin")
    assert await sign_in_app(console, "rm02", "guessed-wrong") == 401  # one slip: not locked
    page = console_page(await console.get(user_page("rm02", "edit")), 200)
    assert "登录已锁定" not in page
    assert "unlock-sign-in" not in page
    assert "登录已锁定" not in console_page(await console.get(ADMIN), 200)


async def test_a_page_left_open_after_the_lock_ended_says_there_was_nothing_to_lift(console):
    token = await signed_in(console, "admin")
    done = await post_form(console, user_page("rm03", "unlock-sign-in"), token=token)
    assert done.status_code == 303, done.text
    after = html.unescape(console_page(await console.get(done.headers["location"]), 200))
    assert "李娜（rm03）的登录没有被锁定" in after


async def test_a_form_refused_on_the_user_page_still_shows_the_lock(console):
    await signed_in(console, "admin")
    await lock_out(console, "rm04")
    page = console_page(await console.get(user_page("rm04", "edit")), 200)
    fields = {"login": "rm04", "name": "", "role": "rm", "org_unit_id": "", **hidden_of(page)}
    refused = await post_form(console, user_page("rm04", "edit"), fields, token=csrf_of(page))
    assert refused.status_code == 422, refused.text
    assert LOCKED in refused.text


@pytest.mark.parametrize("who", ["bh.east", "marketing"])
async def test_other_staff_do_not_have_the_button(console, who):
    await lock_out(console, "rm01")
    token = await signed_in(console, who)
    console_page(await post_form(console, user_page("rm01", "unlock-sign-in"), token=token), 404)
    assert await sign_in_app(console, "rm01") == 429

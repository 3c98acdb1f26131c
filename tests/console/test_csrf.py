"""Cross-site request forgery: a state-changing console request needs this site's origin and the
session's token; the sign-in form needs its own pre-session token. Refusals are 403 pages."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Response, delete, patch, post

from mobile_contracts.v1.identity import Role
from tests.console.conftest import ORIGIN, csrf_of, post_form, sign_in_as, signed_in
from workbench.console import Console, visible_to

pytestmark = pytest.mark.usefixtures("demo_bank")


@post("/probe/flash", opt=visible_to(Role.MARKETING), name="probe:flash")
async def save(console: Console) -> Response[Any]:
    return console.redirect("/console", flash="已保存")


@delete("/probe/thing", opt=visible_to(Role.MARKETING), name="probe:delete", status_code=200)
async def remove() -> str:
    return "deleted"


@patch("/probe/thing", opt=visible_to(Role.MARKETING), name="probe:patch")
async def change() -> str:
    return "changed"


PROBES = (save, remove, change)


def refused(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "页面已过期" in response.text
    assert "Traceback" not in response.text
    assert "console.csrf_refused" in response.text


async def still_signed_in(console: Any) -> None:
    assert (await console.get("/console")).status_code == 200


async def test_sign_out_without_the_token_is_refused(console):
    await signed_in(console, "marketing")
    refused(await post_form(console, "/console/sign-out", token=None))
    refused(await post_form(console, "/console/sign-out", token="forged-token"))
    refused(await post_form(console, "/console/sign-out", token=""))
    await still_signed_in(console)


async def test_the_token_of_another_session_is_refused(make_console):
    mine, other = await make_console(), await make_console()
    await signed_in(mine, "marketing")
    their_token = await signed_in(other, "compliance")
    refused(await post_form(mine, "/console/sign-out", token=their_token))
    await still_signed_in(mine)


async def test_a_new_sign_in_has_a_new_token(console):
    first = await signed_in(console, "marketing")
    await post_form(console, "/console/sign-out", token=first)
    second = await signed_in(console, "marketing")
    assert second != first
    refused(await post_form(console, "/console/sign-out", token=first))


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://console.test",  # the same host without TLS
        "https://console.test:8443",
        "https://console.test.evil.example",
        "null",
    ],
)
async def test_a_cross_origin_request_is_refused_even_with_the_token(console, origin):
    token = await signed_in(console, "marketing")
    refused(await post_form(console, "/console/sign-out", token=token, origin=origin))
    await still_signed_in(console)


async def test_without_origin_the_referer_must_be_this_site(console):
    token = await signed_in(console, "marketing")
    fields = {"_csrf_token": token}
    no_headers = await console.post("/console/sign-out", data=fields)
    refused(no_headers)
    elsewhere = await console.post(
        "/console/sign-out", data=fields, headers={"Referer": "https://evil.example/page"}
    )
    refused(elsewhere)
    ours = await console.post(
        "/console/sign-out", data=fields, headers={"Referer": f"{ORIGIN}/console"}
    )
    assert ours.status_code == 303


async def test_scripts_send_the_token_in_a_header(make_console):
    console = await make_console(pages=PROBES)
    token = await signed_in(console, "marketing")
    for method in ("DELETE", "PATCH"):
        bare = await console.request(method, "/console/probe/thing", headers={"Origin": ORIGIN})
        refused(bare)
        sent = await console.request(
            method, "/console/probe/thing", headers={"Origin": ORIGIN, "X-CSRF-Token": token}
        )
        assert sent.status_code == 200, sent.text
    # The page writes the token where scripts find it.
    assert f'<meta name="csrf-token" content="{token}">' in (await console.get("/console")).text


async def test_a_page_form_with_the_token_works_and_its_flash_shows_once(make_console):
    console = await make_console(pages=PROBES)
    token = await signed_in(console, "marketing")
    response = await post_form(console, "/console/probe/flash", token=token)
    assert response.status_code == 303
    home = await console.get("/console")
    assert "已保存" in home.text
    assert "已保存" not in (await console.get("/console")).text


async def test_a_forged_flash_cookie_shows_nothing(console):
    await signed_in(console, "marketing")
    console.cookies.set("__Host-wb_console_flash", "W1siZXJyb3IiLCLkvaDlpb0iXV0.AAAA")
    assert "你好" not in (await console.get("/console")).text


async def test_the_sign_in_form_needs_its_own_token(console, db):
    form = await console.get("/console/sign-in")
    fields = {"login": "marketing", "password": "workbench-demo"}
    refused(await post_form(console, "/console/sign-in", fields, token=None))
    refused(await post_form(console, "/console/sign-in", fields, token="made-up"))
    refused(
        await post_form(
            console,
            "/console/sign-in",
            fields,
            token=csrf_of(form.text),
            origin="https://x.example",
        )
    )
    # Without the pre-session cookie the form's token is worth nothing.
    token = csrf_of(form.text)
    console.cookies.delete("__Host-wb_console_sign_in")
    refused(await post_form(console, "/console/sign-in", fields, token=token))
    # Nothing was tried: no attempt counted, no audit row, no session.
    assert await db.fetchval("select count(*) from audit_events") == 0
    assert await db.fetchval("select count(*) from sessions") == 0
    assert (await sign_in_as(console, "marketing")).status_code == 303


async def test_a_refusal_page_is_the_console_layout_when_signed_in(console):
    await signed_in(console, "marketing")
    page = await post_form(console, "/console/sign-out", token=None)
    assert '<span class="account-name">市场部 Marketing</span>' in page.text  # the top bar
    assert "请求编号" in page.text

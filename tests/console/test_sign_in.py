"""Signing in to the console: the app's accounts and rules, a cookie session, clear refusals."""

from __future__ import annotations

import hashlib
from http.cookies import SimpleCookie
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient

from tests.console.conftest import ORIGIN, csrf_of, post_form, sign_in_as, signed_in
from tests.helpers import bearer, login
from workbench.app import create_app

pytestmark = pytest.mark.usefixtures("demo_bank")

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def set_cookies(response) -> dict[str, SimpleCookie]:
    """The response's Set-Cookie headers, by cookie name."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


def is_html_page(response) -> bool:
    return response.headers["content-type"].startswith("text/html")


async def test_sign_in_opens_a_session_in_a_strict_http_only_secure_cookie(console, db):
    form = await console.get("/console/sign-in")
    assert form.status_code == 200
    assert is_html_page(form)
    assert 'lang="zh-CN"' in form.text
    console.headers["user-agent"] = CHROME_ON_WINDOWS
    response = await post_form(
        console,
        "/console/sign-in",
        {"login": "marketing", "password": "workbench-demo"},
        token=csrf_of(form.text),
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console"

    cookies = set_cookies(response)
    session = cookies["__Host-wb_console"]["__Host-wb_console"]
    for cookie in (session, cookies["__Host-wb_console_device"]["__Host-wb_console_device"]):
        assert cookie["httponly"] is True
        assert cookie["secure"] is True
        assert cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/"
        assert not cookie["domain"]
    assert not session["max-age"]
    assert not session["expires"]
    token = session.value
    assert len(token) >= 43  # 256 random bits

    # Only the token's SHA-256 is kept, linked to an identity session on a `web` device.
    row = await db.fetchrow(
        """
        select c.token_hash, s.ended_at, d.platform, d.model, u.login
          from console_sessions c join sessions s on s.id = c.session_id
          join devices d on d.device_id = s.device_id join users u on u.id = s.user_id
        """
    )
    assert row["token_hash"] == hashlib.sha256(token.encode()).digest()
    assert (row["login"], row["platform"], row["ended_at"]) == ("marketing", "web", None)
    assert row["model"] == "Chrome · Windows"
    assert await db.fetchval("select count(*) from audit_events where action = 'login'") == 1

    home = await console.get("/console")
    assert home.status_code == 200
    assert "市场部 Marketing" in home.text
    assert "市场营销 · 总行 Head Office" in home.text


async def test_wrong_password_or_unknown_login_says_so_on_the_form(console, db):
    wrong = await sign_in_as(console, "marketing", password="not-the-password")
    assert wrong.status_code == 401
    assert is_html_page(wrong)
    assert "账号或密码不正确" in wrong.text
    assert 'value="marketing"' in wrong.text  # the login stays typed in
    assert "__Host-wb_console" not in set_cookies(wrong)
    unknown = await sign_in_as(console, "nobody", password="not-the-password")
    assert unknown.status_code == 401
    assert "账号或密码不正确" in unknown.text
    assert await db.fetchval("select count(*) from audit_events where action = 'login_failed'") == 2
    assert await db.fetchval("select count(*) from console_sessions") == 0
    assert (await console.get("/console")).status_code == 303  # still signed out


async def test_empty_fields_ask_for_login_and_password(console):
    response = await sign_in_as(console, "", password="")
    assert response.status_code == 422
    assert "请输入账号和密码" in response.text


async def test_too_many_attempts_say_how_long_to_wait(make_console):
    console = await make_console(login_limit_per_login=2)
    for _ in range(2):
        assert (await sign_in_as(console, "compliance", password="wrong-one")).status_code == 401
    limited = await sign_in_as(console, "compliance", password="wrong-one")
    assert limited.status_code == 429
    assert "登录尝试次数过多，请 15 分钟后再试" in limited.text
    assert 0 < int(limited.headers["retry-after"]) <= 900
    # The right password waits too: the app's limits, shared with the API.
    assert (await sign_in_as(console, "compliance")).status_code == 429
    api = await console.post(
        "/api/v1/auth/login",
        json={
            "login": "compliance",
            "password": "workbench-demo",
            "device": {"device_id": "phone-0001", "platform": "ios"},
        },
    )
    assert api.status_code == 429


async def test_a_login_no_user_can_have_is_a_counted_wrong_login(make_console, db):
    # 李四 or "王 五" was refused before the limits counted it: an address could try such
    # logins without end, and nothing was audited.
    console = await make_console(login_limit_per_login=100, login_limit_per_ip=2)
    for name in ("李四", "王 五"):
        wrong = await sign_in_as(console, name)
        assert wrong.status_code == 401
        assert "账号或密码不正确" in wrong.text
    assert await db.fetchval("select count(*) from audit_events where action = 'login_failed'") == 2
    assert (await sign_in_as(console, "compliance")).status_code == 429


async def test_a_relationship_manager_is_told_to_use_the_app(console, db):
    response = await sign_in_as(console, "rm01")
    assert response.status_code == 403
    assert is_html_page(response)
    assert "请使用工作台 App" in response.text
    assert "__Host-wb_console" not in set_cookies(response)
    assert await db.fetchval("select count(*) from console_sessions") == 0
    # The sign-in happened and was ended at once, both in the audit trail.
    assert await db.fetchval("select end_reason from sessions") == "logout"
    actions = await db.fetch("select action from audit_events order by id")
    assert [a["action"] for a in actions] == ["login", "logout"]


async def test_a_disabled_user_is_told_so_only_with_the_right_password(console, db):
    await db.execute("update users set active = false where login = 'compliance'")
    wrong = await sign_in_as(console, "compliance", password="guessing-here")
    assert wrong.status_code == 401
    assert "账号或密码不正确" in wrong.text
    right = await sign_in_as(console, "compliance")
    assert right.status_code == 403
    assert "您的账号已停用，请联系系统管理员" in right.text
    assert await db.fetchval("select count(*) from console_sessions") == 0


async def test_a_revoked_browser_cannot_sign_in_again(console, client, db):
    await signed_in(console, "marketing")
    device_id = await db.fetchval("select device_id from devices where platform = 'web'")
    admin = bearer(await login(client, "admin"))
    revoked = await client.post(f"/api/v1/admin/devices/{device_id}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text

    again = await sign_in_as(console, "marketing")
    assert again.status_code == 403
    assert "此浏览器已被停用" in again.text
    assert "__Host-wb_console" not in set_cookies(again)

    restored = await client.post(f"/api/v1/admin/devices/{device_id}/restore", headers=admin)
    assert restored.status_code == 200
    assert (await sign_in_as(console, "marketing")).status_code == 303


async def test_signing_in_again_in_the_same_browser_replaces_the_session(console, db):
    await signed_in(console, "marketing")
    first_device = console.cookies["__Host-wb_console_device"]
    console.cookies.delete("__Host-wb_console")  # the browser was closed: its session cookie went
    await signed_in(console, "compliance")
    assert console.cookies["__Host-wb_console_device"] == first_device  # the same browser
    rows = await db.fetch("select end_reason from sessions order by created_at, id")
    assert [r["end_reason"] for r in rows] == ["replaced", None]
    assert await db.fetchval("select count(*) from console_sessions") == 1
    assert "合规部 Compliance" in (await console.get("/console")).text


async def test_a_signed_in_browser_skips_the_form(console):
    await signed_in(console, "admin")
    response = await console.get("/console/sign-in")
    assert response.status_code == 303
    assert response.headers["location"] == "/console"


async def test_after_signing_in_the_page_asked_for_opens(console):
    asked = await console.get("/console/reports/weekly?unit=east")
    assert asked.status_code == 303
    assert asked.headers["location"] == (
        "/console/sign-in?next=" + quote("/console/reports/weekly?unit=east", safe="/")
    )
    form = await console.get(asked.headers["location"])
    assert 'name="next" value="/console/reports/weekly?unit=east"' in form.text
    response = await sign_in_as(console, "admin", next_="/console/reports/weekly?unit=east")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/reports/weekly?unit=east"


@pytest.mark.parametrize(
    "elsewhere",
    [
        "https://evil.example/console",
        "//evil.example/console",
        "/\\evil.example",
        "/api/v1/me",
        "/console/sign-out",
        "javascript:alert(1)",
        # Dot segments: a browser resolves them before asking, out of /console.
        "/console/..//evil.example",
        "/console/../api/v1/me",
        "/console/%2e%2e//evil.example/",
        "/console/%2E%2e/api/v1/me",
        "/console/.%2e/api/v1/me",
        "/console/reports/./../../api/v1/me",
        "/console/.",
        "/console/..",
        # Encoded slashes and backslashes, any case.
        "/console/%2f%2fevil.example",
        "/console/..%2F..%2Fapi/v1/me",
        "/console/%5cevil.example",
        "/console/%5C%5Cevil.example",
        "/console/sign%2Dout",
    ],
)
async def test_sign_in_never_goes_on_to_another_site(console, elsewhere):
    response = await sign_in_as(console, "admin", next_=elsewhere)
    assert response.status_code == 303
    assert response.headers["location"] == "/console"


@pytest.mark.parametrize(
    "escaping", ["/console/..//evil.example", "/console/%2e%2e//evil.example/"]
)
async def test_the_sign_in_form_does_not_carry_a_path_out_of_the_console(console, escaping):
    form = await console.get("/console/sign-in?next=" + quote(escaping, safe="/"))
    assert form.status_code == 200
    assert "evil.example" not in form.text


@pytest.mark.parametrize(
    "page",
    [
        "/console",
        "/console?tab=devices",
        "/console/work-orders?unit=east&status=open",
        "/console/reports/weekly?unit=east&next=%2F..%2F",  # the query is not the path
        "/console/surveys/0190e1c8-0000-7000-8000-000000000001/deliveries",
        "/console/brochures/a.b..c",  # dots inside a segment are no dot segment
    ],
)
async def test_sign_in_goes_on_to_any_console_page(console, page):
    response = await sign_in_as(console, "admin", next_=page)
    assert response.status_code == 303
    assert response.headers["location"] == page


async def test_the_bank_name_heads_the_page_escaped(make_console):
    console = await make_console(bank_name="<b>长江&银行</b>")
    form = await console.get("/console/sign-in")
    assert "&lt;b&gt;长江&amp;银行&lt;/b&gt;" in form.text
    assert "<b>" not in form.text


async def test_the_sign_in_page_loads_nothing_from_other_sites(console):
    form = await console.get("/console/sign-in")
    assert "http://" not in form.text
    assert "https://" not in form.text
    for asset in ("console.css", "console.js", "mark.svg"):
        assert f"/console/static/{asset}?v=" in form.text
    assert ORIGIN not in form.text


@pytest.mark.parametrize(
    ("base_url", "warned"),
    [
        ("http://192.168.1.20:8000", True),  # a tablet trying a colleague's laptop
        ("http://console.bank.example", True),
        ("http://127.0.0.1:8000", False),  # `workbench dev` on this machine
        ("http://localhost:8000", False),
        ("https://console.bank.example", False),
    ],
)
async def test_plain_http_elsewhere_than_this_machine_is_explained(settings, base_url, warned):
    """Browsers keep no Secure cookie there, so signing in could never work: say why."""
    async with AsyncTestClient(create_app(settings), base_url=base_url) as client:
        page = await client.get("/console/sign-in")
    assert page.status_code == 200
    assert ("请通过 HTTPS 地址访问工作台" in page.text) is warned

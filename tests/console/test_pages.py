"""Console pages: the home page per role, pages by role, the API's caller and scope, and every
error as a console page (never problem+json or a trace)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Response, get
from litestar.routes import HTTPRoute

from mobile_contracts.v1.identity import Role
from tests.console.conftest import csrf_of, post_form, signed_in
from tests.workbench.http.test_outages import database_outage  # noqa: F401 (a fixture)
from workbench.console import Console, nav, visible_to
from workbench.console.guard import ROLES, SIGNED_OUT_KEY
from workbench.errors import Conflict
from workbench.http.deps import CurrentCaller, Db
from workbench.identity import staff

pytestmark = pytest.mark.usefixtures("demo_bank")


@get("/probe/team", opt=visible_to(Role.BRANCH_HEAD, Role.ADMIN), name="probe:team")
async def team(db: Db, caller: CurrentCaller, console: Console) -> str:
    """A page calling an API service with the API's caller: the same org scope."""
    assert caller == console.caller
    users = await staff.list_users(db, caller=caller, org_unit_id=None, after=None, limit=50)
    return f"{caller.role} {caller.session_id}: " + " ".join(sorted(u.login for u in users))


@get("/probe/broken", opt=visible_to(Role.ADMIN), name="probe:broken")
async def broken() -> str:
    raise RuntimeError("secret detail of a bug")


@get("/probe/conflict", opt=visible_to(Role.ADMIN), name="probe:conflict")
async def conflict() -> str:
    raise Conflict("Someone else changed it")


@get("/probe/{n:int}", opt=visible_to(Role.ADMIN), name="probe:number")
async def number(n: int, console: Console) -> Response[Any]:
    return console.render("error.html", {"title": "t", "text": str(n), "status": 200,
                                         "code": None, "request_id": None})  # fmt: skip


PROBES = (team, broken, conflict, number)


def console_page(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html"), response.headers
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    html: str = response.text
    assert 'lang="zh-CN"' in html
    assert "Traceback" not in html
    return html


MARKETING_NAV = ["/console", "/console/brochures", "/console/funnels", "/console/surveys"]


def nav_links(html: str) -> list[str]:
    return re.findall(r'<a class="nav-item" href="([^"]+)"', html)


def soon(html: str) -> list[str]:
    return re.findall(
        r'nav-item-soon"[^>]*>\s*<svg.*?</svg><span class="nav-label">([^<]+)</span>', html, re.S
    )


async def test_marketing_home_offers_brochures_and_what_comes_next(console):
    await signed_in(console, "marketing")
    html = console_page(await console.get("/console"), 200)
    assert nav_links(html) == MARKETING_NAV
    assert soon(html) == []
    assert 'class="card card-link" href="/console/brochures"' in html
    assert "上传页面与话术，提交合规审核" in html
    assert "本次登录" in html
    assert "30 分钟无操作后" in html


async def test_compliance_home_speaks_of_reviewing(console):
    await signed_in(console, "compliance")
    html = console_page(await console.get("/console"), 200)
    assert nav_links(html) == ["/console", "/console/brochures", "/console/audit"]
    assert "审核待批的宣传册版本" in html
    assert "合规审核 · 总行 Head Office" in html


async def test_branch_head_home_has_no_brochures(console):
    await signed_in(console, "bh.east")
    html = console_page(await console.get("/console"), 200)
    assert nav_links(html) == [
        "/console", "/console/dashboard", "/console/funnels", "/console/surveys",
        "/console/work-orders", "/console/tasks", "/console/reports", "/console/exports",
        "/console/devices",
    ]  # fmt: skip
    assert soon(html) == []
    assert "/console/brochures" not in html
    assert "支行负责人 · 东城支行 East Branch" in html


async def test_admin_home_has_every_admin_section(console):
    await signed_in(console, "admin")
    html = console_page(await console.get("/console"), 200)
    assert nav_links(html) == [
        "/console", "/console/dashboard", "/console/brochures", "/console/funnels",
        "/console/tracking/filtered", "/console/surveys", "/console/work-orders",
        "/console/packages", "/console/reports", "/console/exports", "/console/devices",
        "/console/admin", "/console/audit",
    ]  # fmt: skip
    assert soon(html) == []
    # Every section but home and the branch heads' own team tasks (admins are no one's head).
    assert html.count('class="card ') == len(nav.SECTIONS) - 2


async def test_signed_out_every_console_page_asks_to_sign_in(console):
    for path in ("/console", "/console/brochures", "/console/anything/at/all"):
        response = await console.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/sign-in"), path


async def test_a_page_sees_the_apis_caller_and_its_org_scope(make_console, db):
    console = await make_console(pages=PROBES)
    await signed_in(console, "bh.east")
    html = (await console.get("/console/probe/team")).text
    session_id = await db.fetchval("select id from sessions where ended_at is null")
    assert html.startswith(f"branch_head {session_id}: ")
    logins = html.split(": ", 1)[1].split()
    assert logins == ["bh.east", "rm01", "rm02", "rm03", "rm04"]  # East Branch only


async def test_a_page_for_other_roles_does_not_exist_for_this_one(make_console):
    console = await make_console(pages=PROBES)
    await signed_in(console, "marketing")
    html = console_page(await console.get("/console/probe/team"), 404)
    assert "页面不存在" in html
    assert '<span class="account-name">市场部 Marketing</span>' in html  # in the layout
    assert nav_links(html) == MARKETING_NAV


async def test_an_unknown_console_page_is_the_404_page(console):
    await signed_in(console, "marketing")
    html = console_page(await console.get("/console/no-such-page"), 404)
    assert "页面不存在" in html
    assert '<a class="button button-primary" href="/console">返回首页</a>' in html


async def test_a_bug_is_a_500_page_with_the_request_id_and_no_detail(make_console):
    console = await make_console(pages=PROBES)
    await signed_in(console, "admin")
    response = await console.get("/console/probe/broken")
    html = console_page(response, 500)
    assert "出错了" in html
    assert response.headers["x-request-id"] in html
    assert "secret detail" not in html
    assert "RuntimeError" not in html


async def test_a_service_refusal_is_a_page_by_its_status(make_console):
    console = await make_console(pages=PROBES)
    await signed_in(console, "admin")
    html = console_page(await console.get("/console/probe/conflict"), 409)
    assert "请刷新页面后重试" in html
    assert "Someone else changed it" not in html


async def test_bad_input_is_a_422_page(make_console):
    console = await make_console(pages=PROBES)
    await signed_in(console, "admin")
    console_page(await console.get("/console/probe/not-a-number-but-long"), 404)
    html = console_page(await console.get("/console/probe/9?x=1", params={"n": "1"}), 200)
    assert "9" in html
    home = await console.get("/console")
    nul = await post_form(
        console, "/console/sign-out", {"note": "a\x00b"}, token=csrf_of(home.text)
    )
    console_page(nul, 422)
    assert (await console.get("/console")).status_code == 200  # nothing happened


async def test_options_answers_without_a_page(console):
    response = await console.options("/console")
    assert response.status_code == 204
    assert "GET" in response.headers["allow"]


async def test_a_wrong_method_is_a_405_page(console):
    html = console_page(await console.get("/console/sign-out"), 405)
    assert "无法处理" in html


async def test_with_the_database_down_the_console_says_come_back_later(
    make_console,
    database_outage,  # noqa: F811
):
    console = await make_console(database_url=database_outage.url)
    await signed_in(console, "marketing")
    database_outage.cut()
    try:
        response = await console.get("/console")
        html = console_page(response, 503)
        assert "服务暂时不可用" in html
        assert int(response.headers["retry-after"]) > 0
        assert console_page(await console.get("/console/sign-in"), 503)
    finally:
        database_outage.restore()
    assert (await console.get("/console")).status_code == 200


async def test_static_files_are_ours_and_cached_for_long(console):
    form = await console.get("/console/sign-in")
    for url in re.findall(r'(?:href|src)="(/console/static/[^"]+)"', form.text):
        response = await console.get(url)
        assert response.status_code == 200, url
        assert "max-age=31536000" in response.headers["cache-control"]
        assert "immutable" in response.headers["cache-control"]
        content = response.content.replace(b'xmlns="http://www.w3.org/2000/svg"', b"")
        assert b"http://" not in content, url
        assert b"https://" not in content, url
    missing = await console.get("/console/static/nothing.css")
    console_page(missing, 404)


def console_routes(app: Any) -> list[tuple[str, Any]]:
    return [
        (route.path, handler)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith("/console")
        for handler in route.route_handlers
        if not route.path.startswith("/console/static") and "OPTIONS" not in handler.http_methods
    ]


async def test_every_console_page_declares_who_may_see_it(console):
    routes = console_routes(console.app)
    assert {path for path, _ in routes} >= {"/console", "/console/sign-in", "/console/sign-out"}
    for path, handler in routes:
        assert handler.opt.get(ROLES) or handler.opt.get(SIGNED_OUT_KEY), path
        assert handler.opt.get("public") is True, path  # not the bearer guard's
        assert not handler.resolve_include_in_schema(), path
        roles = handler.opt.get(ROLES) or frozenset()
        assert Role.RM not in roles, path


async def test_each_section_link_goes_to_a_page_its_roles_may_see(console):
    routes = dict(console_routes(console.app))
    for section in nav.SECTIONS:
        handler = routes.get(section.path)
        if handler is not None:
            assert handler.opt[ROLES] == section.roles, section.key
        else:
            assert not section.ready, f"{section.key} is ready but has no page"

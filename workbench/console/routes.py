"""The console's own routes: sign-in, sign-out and the home page; the console router and its
static files. Pages of other features go into `PAGES` (see the package docstring)."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, Router, get, post
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, QueryParameter

from sync.packages import console as package_pages
from workbench.brochures import console as brochure_pages
from workbench.console import cookies, csrf, nav, sessions
from workbench.console.blank_fields import drop_blank_query_fields
from workbench.console.context import Console, provide_console
from workbench.console.errors import SIGN_IN_PATH
from workbench.console.guard import SIGNED_OUT, console_guard, visible_to
from workbench.console.rendering import STATIC, STATIC_PATH, redirect, render, set_csrf_token
from workbench.dashboard import console as dashboard_pages
from workbench.errors import (
    DeviceRevoked,
    DomainError,
    InvalidCredentials,
    NotFound,
    RateLimited,
)
from workbench.exports import routes as export_pages
from workbench.funnels import console as funnel_pages
from workbench.http.auth import CONSOLE_PAGE
from workbench.http.client_ip import client_ip
from workbench.http.deps import Db
from workbench.http.head import static_files
from workbench.identity import admin_console as admin_pages
from workbench.identity import console as device_pages
from workbench.reports import console as report_pages
from workbench.surveys import console as survey_pages
from workbench.tasks import console as task_pages
from workbench.tracking import console as tracking_pages
from workbench.workorders import console as workorder_pages

HOME_PATH = "/console"
SIGN_OUT_PATH = "/console/sign-out"
_DEVICE_ID = re.compile(r"^web-[A-Za-z0-9_-]{20,60}$")
_ENCODED_SLASH = re.compile(r"%(2f|5c)", re.IGNORECASE)  # `/` and `\` percent-encoded
_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("HarmonyOS", "HarmonyOS"),
    ("iPad", "iPad"),
    ("iPhone", "iPhone"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


# ---- sign-in and sign-out --------------------------------------------------------------------


@get("/sign-in", opt=SIGNED_OUT, name="console:sign-in")
async def sign_in_page(
    request: Request[Any, Any, Any],
    db: Db,
    next_: Annotated[str | None, QueryParameter(name="next", max_length=500)] = None,
) -> Response[Any]:
    """The sign-in form (a browser already signed in goes on to the console)."""
    token = request.cookies.get(cookies.SESSION)
    if token:
        state = request.app.state
        session = await sessions.resume(
            db, auth=state.auth, token=token, idle_minutes=state.settings.console_idle_minutes
        )
        if isinstance(session, sessions.ConsoleSession):
            return redirect(request, safe_next(next_) or HOME_PATH)
    return _sign_in_form(request, login="", next_=safe_next(next_))


@post("/sign-in", opt=SIGNED_OUT, name="console:sign-in-submit", request_max_body_size=4096)
async def sign_in(request: Request[Any, Any, Any], db: Db) -> Response[Any]:
    """Check the login and password (the app's sign-in rules) and open a console session."""
    state = request.app.state
    settings = state.settings
    form = await request.form()
    login = _field(form, "login").strip()[:64]
    password = _field(form, "password")[:256]
    next_ = safe_next(_field(form, "next"))
    if not login or not password:
        return _sign_in_form(
            request, login=login, next_=next_, status=422, error="请输入账号和密码。"
        )
    device_id = request.cookies.get(cookies.DEVICE, "")
    if not _DEVICE_ID.match(device_id):
        device_id = "web-" + sessions.new_token()[:32]
    try:
        token = await sessions.sign_in(
            db,
            auth=state.auth,
            login=login,
            password=password,
            device_id=device_id,
            model=browser_label(request.headers.get("user-agent", "")),
            client_ip=client_ip(request.scope, state.trusted_networks),
            lifetime_seconds=settings.console_session_hours * 3600,
        )
    except sessions.NotForConsole:
        state.metrics.logins.labels("refused").inc()
        return render(request, "not_for_role.html", status=403)
    except DomainError as exc:
        state.metrics.logins.labels("refused").inc()
        error, status, headers = _refusal(exc)
        return _sign_in_form(
            request, login=login, next_=next_, status=status, error=error, headers=headers
        )
    state.metrics.logins.labels("ok").inc()
    return redirect(
        request,
        next_ or HOME_PATH,
        cookies_=[
            cookies.make(cookies.SESSION, token),  # a browser-session cookie: no max-age
            cookies.make(cookies.DEVICE, device_id, max_age=cookies.DEVICE_MAX_AGE),
            cookies.expire(cookies.SIGN_IN),
        ],
    )


@post("/sign-out", opt=visible_to(*nav.STAFF_ROLES), name="console:sign-out")
async def sign_out(request: Request[Any, Any, Any], db: Db, console: Console) -> Response[Any]:
    """End the session here and for the identity service (as an app's sign-out)."""
    await sessions.sign_out(db, auth=request.app.state.auth, session=console.session)
    return redirect(
        request,
        SIGN_IN_PATH,
        flash="您已安全退出。",
        kind="info",
        cookies_=[cookies.expire(cookies.SESSION)],
    )


def _sign_in_form(
    request: Request[Any, Any, Any],
    *,
    login: str,
    next_: str | None,
    status: int = 200,
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    secret = request.app.state.settings.blind_index_key
    pre_session = request.cookies.get(cookies.SIGN_IN)
    new_cookies = []
    if not pre_session or len(pre_session) > 100:
        pre_session = sessions.new_token()
        new_cookies.append(cookies.make(cookies.SIGN_IN, pre_session))
    set_csrf_token(request, csrf.sign_in_token(secret, pre_session))
    return render(
        request,
        "sign_in.html",
        {
            "login": login,
            "next": next_,
            "error": error,
            # Browsers keep no Secure cookie over plain http (but on this machine): say so.
            "needs_https": not csrf.secure_context(request),
        },
        status=status,
        headers=headers,
        cookies_=new_cookies,
    )


def _refusal(exc: DomainError) -> tuple[str, int, dict[str, str] | None]:
    """What the sign-in form says about a refused sign-in: (text, status, headers)."""
    if isinstance(exc, InvalidCredentials):
        return "账号或密码不正确。", 401, None
    if isinstance(exc, RateLimited):
        wait = int(exc.extra.get("retry_after", 60))
        when = f"{math.ceil(wait / 60)} 分钟" if wait >= 60 else f"{wait} 秒"
        return f"登录尝试次数过多，请 {when}后再试。", 429, exc.headers
    if isinstance(exc, DeviceRevoked):
        return (
            "此浏览器已被停用，不能登录。如需恢复，请联系系统管理员或支行负责人。",
            403,
            None,
        )
    if isinstance(exc, sessions.AccountDisabled):
        return "您的账号已停用，请联系系统管理员。", 403, None
    raise exc


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def safe_next(value: str | None) -> str | None:
    """A console path to go on to after signing in; anything else (another site, `//host`,
    the sign-in page itself) is ignored. So is a path with a `.` or `..` segment, plain or
    percent-encoded, or an encoded slash or backslash: a browser resolves those before asking,
    and `/console/..//evil.example` would land on `//evil.example`."""
    if not value or len(value) > 500 or "\\" in value or any(ord(c) < 32 for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    if _ENCODED_SLASH.search(parts.path):
        return None
    path = unquote(parts.path)
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    if path != HOME_PATH and not path.startswith(f"{HOME_PATH}/"):
        return None
    if path in (SIGN_IN_PATH, SIGN_OUT_PATH):
        return None
    return value


def browser_label(user_agent: str) -> str | None:
    """`Chrome · Windows`: what a device list shows for a console browser."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    parts = [p for p in (browser, system) if p]
    return " · ".join(parts) if parts else None


# ---- pages -----------------------------------------------------------------------------------


@get("/", opt=visible_to(*nav.HOME.roles), name="console:home")
async def home(console: Console) -> Response[Any]:
    """What this role can do here, and this sign-in's session."""
    role = console.user.role
    cards = [s for s in nav.sections_for(role) if s is not nav.HOME]
    now = datetime.now(ZoneInfo(console.request.app.state.settings.bank_timezone))
    return console.render(
        "home.html",
        {
            "cards": cards,
            "role": role,
            "greeting": _greeting(now.hour),
            "today": f"{now.year}年{now.month}月{now.day}日 星期{'一二三四五六日'[now.weekday()]}",
        },
    )


def _greeting(hour: int) -> str:
    if 5 <= hour < 12:
        return "上午好"
    return "下午好" if 12 <= hour < 18 else "晚上好"


@get("/{path:path}", opt=visible_to(*nav.STAFF_ROLES), name="console:not-found")
async def not_found(path: FromPath[str]) -> Response[Any]:
    """Any other console path: signed in, the 404 page in the layout; otherwise sign in first
    (a signed-out browser learns nothing about which pages exist)."""
    raise NotFound("page")


# Console pages of every feature; each declares who may see it (opt=visible_to(...)).
PAGES: list[HTTPRouteHandler] = [
    sign_in_page,
    sign_in,
    sign_out,
    home,
    *brochure_pages.PAGES,
    *tracking_pages.PAGES,
    *funnel_pages.PAGES,
    *survey_pages.PAGES,
    *workorder_pages.PAGES,
    *task_pages.PAGES,
    *package_pages.PAGES,
    *dashboard_pages.PAGES,
    *export_pages.PAGES,
    *report_pages.PAGES,
    *device_pages.PAGES,
    *admin_pages.PAGES,
    not_found,
]


def console_router(*pages: HTTPRouteHandler | type[Controller]) -> Router:
    """Pages under /console with what every console page has: the console guard (session,
    CSRF, roles), console error pages, the `console` dependency, no OpenAPI entry."""
    return Router(
        path=HOME_PATH,
        route_handlers=list(pages),
        guards=[console_guard],
        opt=CONSOLE_PAGE,
        dependencies={"console": Provide(provide_console)},
        middleware=[drop_blank_query_fields],
        include_in_schema=False,
    )


# Stylesheet, script, icons: URLs carry the content's hash (`static()`), so cached for a year.
STATIC_FILES = static_files(
    path=STATIC_PATH, directory=STATIC, name="console-static", opt=CONSOLE_PAGE
)

ROUTES = [console_router(*PAGES), STATIC_FILES]

"""Rendering console pages: the Jinja2 environment (Litestar's template engine), the context
every page gets, security headers, flash messages and versioned static files."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from litestar import Request
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from workbench.console import cookies, nav
from workbench.console.cookies import Flash, FlashKind
from workbench.console.icons import icon
from workbench.console.once import once_input
from workbench.console.sessions import ConsoleSession

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
STATIC_PATH = "/console/static"
SESSION_SCOPE_KEY = "workbench_console_session"  # the guard puts the ConsoleSession here

SECURITY_HEADERS = {
    # Our own files only; no inline script or style (not even from a template).
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    # Same-origin: our own POSTs carry a true Origin (no-referrer would make it `null`).
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}


def _local_time(context: Mapping[str, Any], value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """`{{ when | local }}`: a time in the bank's time zone."""
    return value.astimezone(ZoneInfo(context["bank_timezone"])).strftime(fmt)


@functools.cache
def static_url(name: str) -> str:
    """`{{ static('console.css') }}`: the file's URL, versioned by its content (cached forever)."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise LookupError(f"no console static file {name!r}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{STATIC_PATH}/{name}?v={digest}"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt variable fails the page (and its test)
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["local"] = jinja2.pass_context(_local_time)
    environment.globals["static"] = static_url
    environment.globals["icon"] = icon
    environment.globals["once_input"] = once_input  # a form that makes something: console.once
    return environment


ENVIRONMENT = _environment()
TEMPLATE_ENGINE = JinjaTemplateEngine.from_environment(ENVIRONMENT)
TEMPLATE_CONFIG: TemplateConfig[JinjaTemplateEngine] = TemplateConfig(instance=TEMPLATE_ENGINE)


class ConsoleTemplate(Template):
    """A Litestar template response whose `csrf_input` needs no `|safe`."""

    def create_template_context(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        context = super().create_template_context(request)
        context["csrf_input"] = Markup(context["csrf_input"])  # noqa: S704 - Litestar escaped it
        return context


def current_session(request: Request[Any, Any, Any]) -> ConsoleSession | None:
    session = request.scope.get(SESSION_SCOPE_KEY)
    return session if isinstance(session, ConsoleSession) else None


def set_csrf_token(request: Request[Any, Any, Any], token: str) -> None:
    """The token `csrf_input` and `csrf_token()` write into this request's pages."""
    ScopeState.from_scope(request.scope).csrf_token = token


def render(
    request: Request[Any, Any, Any],
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    cookies_: Iterable[Cookie] = (),
) -> ConsoleTemplate:
    """A console page: `template` with the common context (see `base_context`) and `context`."""
    settings = request.app.state.settings
    flashes = cookies.read_flashes(request, settings.blind_index_key)
    all_cookies = list(cookies_)
    if flashes:
        all_cookies.append(cookies.expire(cookies.FLASH))  # shown once
    return ConsoleTemplate(
        template,
        context={**base_context(request, flashes), **(context or {})},
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
        cookies=all_cookies,
        media_type=MediaType.HTML,
    )


def base_context(request: Request[Any, Any, Any], flashes: list[Flash]) -> dict[str, Any]:
    """What every console template may use:

    `bank_name`; `bank_timezone` (the `local` filter uses it); `flashes` (list of Flash:
    kind, text); `session` (the ConsoleSession: user, caller, signed_in_at, expires_at,
    idle_minutes; None on signed-out pages); `user` (StaffUser: name, login, role,
    role_label, org_unit_name; or None); `sections` (nav.Section list for the user's role);
    `active` (the Section of this page, or None); `badges` (nav.Count by section key: work
    waiting, on pages rendered through `console.render`; empty otherwise); and from Litestar
    `request`, `csrf_input` (the hidden form field) and `csrf_token()`; `drafts_owner` (see
    `drafts_owner`; None on signed-out pages)."""
    settings = request.app.state.settings
    session = current_session(request)
    role = session.user.role if session else None
    return {
        "bank_name": settings.bank_name,
        "bank_timezone": settings.bank_timezone,
        "flashes": flashes,
        "session": session,
        "user": session.user if session else None,
        "drafts_owner": drafts_owner(settings.blind_index_key, session) if session else None,
        "sections": nav.sections_for(role) if role else [],
        "active": nav.section_of(request.scope["path"]) if session else None,
        "badges": {},
    }


def drafts_owner(secret: bytes, session: ConsoleSession) -> str:
    """Whose typed-but-refused texts a page may offer back (console.js keeps them in the tab's
    sessionStorage): an opaque tag of the signed-in user, the same in each of their sessions
    (a sign-in after the session ended offers them back) and telling nothing about who they
    are to the next person at that browser, whose pages drop them."""
    key = cookies.purpose_key(secret, "drafts")
    return hmac.new(key, session.caller.user_id.bytes, hashlib.sha256).hexdigest()[:24]


def redirect(
    request: Request[Any, Any, Any],
    path: str,
    *,
    flash: str | None = None,
    kind: FlashKind = "success",
    cookies_: Iterable[Cookie] = (),
) -> Redirect:
    """303 to `path` (a console path), with a message for the page it lands on."""
    all_cookies = list(cookies_)
    if flash:
        secret = request.app.state.settings.blind_index_key
        all_cookies.append(cookies.flash_cookie(secret, [Flash(kind, flash)]))
    return Redirect(
        path,
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"},
        cookies=all_cookies,
    )

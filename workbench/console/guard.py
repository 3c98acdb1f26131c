"""The console's one guard, and how a page says who may see it.

Console routes are `PUBLIC` for the app's bearer guard (`workbench.http.auth`): they sign in with
the console's cookie instead. This guard, set on the console router, runs for every console
route, in this order:

1. a state-changing request (POST/PUT/PATCH/DELETE) must be same-origin (403 page otherwise);
2. a signed-out route (`opt=SIGNED_OUT`: the sign-in form) checks the sign-in form's CSRF token
   and stops here;
3. the session cookie must name a live console session (otherwise 303 to the sign-in page,
   saying why: timed out, signed out elsewhere, device revoked, user disabled);
4. a state-changing request must carry the session's CSRF token (403 page otherwise);
5. the caller's role must be one the page declared with `opt=visible_to(...)` (otherwise the
   404 page: a page someone may not use does not exist for them);
6. a route that makes something (`visible_to(..., acts_once=True)`) must get its form's one-time
   token (`once`; a 400 page otherwise), which its handler then claims.

It then puts the same `Caller` the API uses in `scope["user"]`, so a page asks for
`caller: CurrentCaller` and calls the same services with the same role and org-scope checks;
`console: Console` gives the page its session and `render`/`redirect` helpers.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from mobile_contracts.v1.identity import Role
from workbench.console import cookies, csrf, once, sessions
from workbench.console.rendering import SESSION_SCOPE_KEY, set_csrf_token
from workbench.errors import NotFound, Unauthorized
from workbench.http.input_checks import read_form

ROLES = "console_roles"  # route opt: the roles that may see a console page
SIGNED_OUT_KEY = "console_signed_out"  # route opt: a page for browsers not signed in
SIGNED_OUT: dict[str, Any] = {SIGNED_OUT_KEY: True}
"""Route opt of a console page that needs no sign-in (the sign-in form)."""


def visible_to(*roles: Role, acts_once: bool = False) -> dict[str, Any]:
    """Route opt of a console page only these roles may see (others get the 404 page):
    `@get("/brochures", opt=visible_to(*nav.BROCHURES.roles))`. `acts_once`: a POST that makes
    something, whose form carries a one-time token its handler claims (`console.once`)."""
    if not roles:
        raise ValueError("a console page is visible to at least one role")
    return {ROLES: frozenset(roles), **({once.ROUTE_OPT: True} if acts_once else {})}


class SignInRequired(Unauthorized):
    """No live console session: the console answers with a redirect to its sign-in page."""

    code = "console.sign_in_required"

    def __init__(self, ended: sessions.Ended) -> None:
        super().__init__(f"Sign in to the console ({ended.value})")
        self.ended = ended


async def console_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    assert isinstance(connection, Request), "console routes are HTTP routes"
    request: Request[Any, Any, Any] = connection
    if request.method == "OPTIONS":
        return  # Litestar's own answer (the allowed methods); no page, no session
    state = request.app.state
    secret: bytes = state.settings.blind_index_key
    changes_state = request.method not in csrf.SAFE_METHODS
    if changes_state and not csrf.same_origin(request):
        raise csrf.CsrfRefused("The request did not come from this site")
    if handler.opt.get(SIGNED_OUT_KEY):
        if changes_state:
            pre_session = request.cookies.get(cookies.SIGN_IN)
            expected = csrf.sign_in_token(secret, pre_session) if pre_session else None
            await csrf.check(request, expected=expected)
        return
    roles = handler.opt.get(ROLES)
    if not roles:
        raise RuntimeError(
            f"console route {request.scope.get('path_template')} declares no roles: give it "
            "opt=visible_to(...) (or opt=SIGNED_OUT for a page without sign-in)"
        )
    token = request.cookies.get(cookies.SESSION)
    if not token:
        raise SignInRequired(sessions.Ended.UNKNOWN)
    async with state.pool.acquire() as conn, conn.transaction():
        session = await sessions.resume(
            conn,
            auth=state.auth,
            token=token,
            idle_minutes=state.settings.console_idle_minutes,
        )
    if isinstance(session, sessions.Ended):
        raise SignInRequired(session)
    expected = csrf.session_token(secret, session.token)
    request.scope["user"] = session.caller
    request.scope[SESSION_SCOPE_KEY] = session  # type: ignore[literal-required]
    set_csrf_token(request, expected)  # (a refusal below is a page in the user's layout)
    if changes_state:
        await csrf.check(request, expected=expected)
    if session.caller.role not in roles:
        raise NotFound("page")
    if changes_state and handler.opt.get(once.ROUTE_OPT):
        form = await read_form(request) if csrf.sends_form(request) else None
        once.require_token(form)

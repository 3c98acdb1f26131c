"""App-wide guards: app version floor and bearer authentication (unless a route is public)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from workbench import app_version
from workbench.errors import (
    DeviceRevoked,
    DomainError,
    InvalidToken,
    Unauthorized,
    UpgradeRequired,
)
from workbench.identity import service as identity

PUBLIC = "public"  # route opt key: no sign-in needed (login, links opened by customers, ops)
# Route opt key: an HTML page for people; its errors are pages too (e.g. "try again shortly").
# Its value says whose pages: True for customer pages (workbench.public.pages), CONSOLE for the
# staff console's (workbench.console.errors), as are unmatched paths under CONSOLE_PREFIX.
PAGE = "page"
CONSOLE = "console"
CONSOLE_PREFIX = "/console"
CUSTOMER_PAGE = {PUBLIC: True, PAGE: True}  # the opt of every customer page
# The opt of every staff console route: no bearer token, the console's own session cookie
# instead (checked by workbench.console.guard).
CONSOLE_PAGE = {PUBLIC: True, PAGE: CONSOLE}
# Route opt key: a device told to wipe (revoked, or its user disabled) is answered by the route
# (sync pull: `wipe: true`) instead of 403; the route finds this key set in the scope, and no
# caller.
ANSWERS_WIPE = "answers_wipe"
# Route opt key: Redis keys the route reads on every request, fetched in the same round trip as
# the revocation check. Value: fn(app state, user id) -> keys; their values (bytes or None, in
# order) are put in `scope[PREFETCHED]`.
PREFETCH = "redis_prefetch"
PREFETCHED = "redis_prefetched"
# Route opt key: any app version may call (the operations probes: a load balancer or a monitor
# sending an app's headers is not an app to upgrade).
ANY_APP_VERSION = "any_app_version"
_OPEN_PREFIXES = ("/schema",)
API_PREFIX = "/api/"  # the app's calls: the only ones the app version floor applies to


async def check_request(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The app's one guard: app version floor, then authentication. (One guard, not two:
    Litestar copies the route handler for every guard it runs, on every request.)"""
    await check_app_version(connection, handler)
    await require_authentication(connection, handler)


async def check_app_version(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Apps older than WORKBENCH_MIN_APP_VERSION get 426 `app.upgrade_required` (versions read
    and compared as `workbench.app_version` says: 3 = 3.0.0, a pre-release before its release);
    a header that is no version is 400 `app.bad_version`. The operations probes answer any."""
    minimum: str | None = connection.app.state.settings.min_app_version
    sent = connection.headers.get("x-app-version")
    if minimum is None or sent is None or handler.opt.get(ANY_APP_VERSION):
        return
    if not connection.scope["path"].startswith(API_PREFIX):
        return  # customers' pages, the console, the schema: read in browsers, not the app
    if parse_sent(sent) < app_version.parse(minimum):
        raise UpgradeRequired(
            f"This app version is no longer supported; update to {minimum} or later",
            min_app_version=minimum,
        )


def parse_sent(sent: str) -> app_version.AppVersion:
    """The version an app sent in `X-App-Version`; 400 `app.bad_version` if it is none."""
    try:
        return app_version.parse(sent)
    except ValueError:
        # Not echoed: a header's bytes are read as Latin-1, and the app knows what it sent.
        error = DomainError("X-App-Version is not a version like 3.2.0")
        error.code = "app.bad_version"
        raise error from None


async def require_authentication(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Verify the bearer token and put the Caller in `scope["user"]`."""
    if handler.opt.get(PUBLIC) or connection.scope["path"].startswith(_OPEN_PREFIXES):
        return
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send `Authorization: Bearer <access token>`")
    prefetch = handler.opt.get(PREFETCH)
    state = connection.app.state
    also = (lambda user_id: prefetch(state, user_id)) if prefetch else None
    try:
        caller, values = await identity.authenticate(state.auth, token.strip(), also=also)
    except (DeviceRevoked, identity.UserDisabled):
        if not handler.opt.get(ANSWERS_WIPE):
            raise
        connection.scope[ANSWERS_WIPE] = True  # type: ignore[literal-required]
        return
    sent_device = connection.headers.get("x-device-id")
    if sent_device is not None and sent_device != caller.device_id:
        raise InvalidToken("This token was issued to another device")
    connection.scope["user"] = caller
    if prefetch:
        connection.scope[PREFETCHED] = values  # type: ignore[literal-required]

"""Role guards for route handlers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from mobile_contracts.v1.identity import Role
from workbench.access.caller import Caller
from workbench.errors import Forbidden, Unauthorized


def requires_role(*roles: Role) -> Guard:
    """A guard letting only the given roles through (403 `auth.forbidden` for others)."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller = connection.scope.get("user")
        if not isinstance(caller, Caller):
            raise Unauthorized("Sign in first")
        if caller.role not in allowed:
            raise Forbidden(f"This needs one of the roles: {', '.join(sorted(allowed))}")

    return guard


def current_caller(request: Request[Any, Any, Any]) -> Caller:
    """The caller of an authenticated route (dependency provider)."""
    caller = request.scope.get("user")
    if not isinstance(caller, Caller):
        raise Unauthorized("Sign in first")
    return caller

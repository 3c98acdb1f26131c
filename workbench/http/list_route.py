"""The list a request answers, for the cursors it makes and reads (`workbench.pagination`).

After routing, every HTTP request runs with `pagination.LIST_ROUTE` set to its route's path
template: a cursor made while answering it names that list, and a cursor of another list sent
to it is refused by name instead of starting a page at a position of another order.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from workbench.pagination import LIST_ROUTE


def cursors_name_their_list(app: ASGIApp) -> ASGIApp:
    """Litestar middleware (after routing, so it knows the route): the request's list."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        route = scope.get("path_template") if scope["type"] == ScopeType.HTTP else None
        if not route:
            await app(scope, receive, send)
            return
        token = LIST_ROUTE.set(str(route))
        try:
            await app(scope, receive, send)
        finally:
            LIST_ROUTE.reset(token)

    return middleware

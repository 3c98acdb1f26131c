"""HEAD wherever GET: a route with a GET handler and no HEAD handler answers HEAD as that GET would,
without the body (RFC 9110 9.3.2). Load balancers and uptime monitors ask `HEAD /healthz`, and
download managers ask a size before they fetch; Litestar answered 405 for every GET-only route.

Two parts, both made once for every route:

- `AutomaticHead`, run as each route is registered (so no route added later can miss it): the
  route gets, for HEAD, a copy of its GET handler. HEAD is routed straight to it (never a 405
  first), with the GET's guards, dependencies, opt (public or not, its kind of page), exception
  handlers and middleware, and `Allow` (OPTIONS, 405) names HEAD. The copy's own innermost
  middleware (`_as_get`) hands the request on as a GET, so the handler cannot answer otherwise
  than its GET does (a console page's redirect to sign-in keeps its `next=`; a blob is answered
  with the GET's headers); `Range` and `If-Range` are dropped first, as range requests are for
  GET only (RFC 9110 14.2). The copy is left out of the OpenAPI document: a HEAD operation per
  route would repeat its GET (and its operation id) and tell an app developer nothing.
- `without_body`, around the whole application, so that 404s, 405s, errors before routing and
  the routes' own HEAD handlers are covered too: a HEAD is answered with its status and headers
  (Content-Type, the GET's Content-Length where it sets one, ETag, Cache-Control, the security
  headers, a problem's or page's headers) and no body.

Routes with their own HEAD handler keep it: offline-package and diff downloads and `/media` links
(`serve_blob`), brochure page images, customers' link pages (`/s/`, `/f/`, `/c/`, `/v/`). Static
files are served by `static_files`, Litestar's static router without its own HEAD handler (that
one answered without Content-Type), so they get the GET's copy like any route.

Streams (CSV/XLSX exports and survey results, the SSE `/api/v1/sync/events`) are not run to the
end: the first chunk the stream produces ends the answer, the server then tells the application
the client is gone (ASGI `http.disconnect` after a complete answer), and Litestar's stream stops
its iterator, as for a client that hangs up on a GET. Not before that first chunk: an iterator
cleans up only once started (a direct export's temporary file is deleted on its first read), so
one never started would leave it behind. An event stream's HEAD subscribes, sends its `hello` to
nobody and unsubscribes.

GETs that change something do the same for a HEAD (the same request, RFC 9110 9.2.1), never more:
every signed-in console page renews its session's idle time (and ends an idled or expired one);
`/console/exports/new` builds a small export in full (to a temporary file, deleted) and shows a
large one's confirmation page (only its POST queues a worker export);
`/api/v1/offline-packages/latest` and `.../media/latest` build and store a diff the first time
one is offered (a cache); the console's sign-in page sets its cookies.
"""

from __future__ import annotations

import asyncio
from copy import copy
from pathlib import Path
from typing import Any

from litestar import Router
from litestar.datastructures import CacheControlHeader, Headers
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

_RANGE_HEADERS = frozenset({b"range", b"if-range"})


class AutomaticHead(ReceiveRoutePlugin):
    """Gives each route with a GET handler and none for HEAD the HEAD handler the module
    docstring says. Listed before `AutomaticOptions`, whose `Allow` is made from the methods."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        if "GET" not in route.route_handler_map or "HEAD" in route.route_handler_map:
            return
        get, parameters = route.route_handler_map["GET"]
        route.route_handler_map["HEAD"] = (_head_of(get), parameters)
        route.methods.add("HEAD")


def _head_of(get: HTTPRouteHandler) -> HTTPRouteHandler:
    """The GET handler, registered already, as a handler for HEAD (as Litestar copies handlers
    itself when it registers them): the same resolved layers, plus `_as_get`."""
    head = copy(get)
    head.http_methods = {"HEAD"}
    head.middleware = [*(get.middleware or ()), _as_get]  # resolved as the trie is built
    head.include_in_schema = False
    # The GET's resolved value came along with the copy (Litestar resolves it on registration).
    head._resolved_include_in_schema = False
    return head


def _as_get(app: ASGIApp) -> ASGIApp:
    """The HEAD of a GET handler, handed on as that GET without its range."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] == "HEAD":
            # A copy: the server keeps the scope it made, and drops the body only while that
            # one says HEAD (uvicorn wrote a GET's body, or failed short of its length).
            headers = [(k, v) for k, v in scope["headers"] if k not in _RANGE_HEADERS]
            scope = {**scope, "method": "GET", "headers": headers}
            ScopeState.from_scope(scope).headers = Headers(headers)
        await app(scope, receive, send)

    return middleware


def static_files(*, path: str, directory: Path, name: str, opt: dict[str, Any]) -> Router:
    """A router serving the files of `directory` under `path`, cached for a year (their URLs carry
    their content's hash), answering HEAD as its GET (Content-Type, Content-Length, no body)."""
    return create_static_files_router(
        path=path,
        directories=[directory],
        name=name,
        opt=opt,
        cache_control=CacheControlHeader(max_age=31536000, public=True, immutable=True),
        include_in_schema=False,
        router_class=_GetOnlyRouter,
    )


class _GetOnlyRouter(Router):
    """Litestar's static router, its own HEAD handler left out: `AutomaticHead` gives the route
    a copy of the GET instead."""

    def __init__(self, *, route_handlers: Any, **options: Any) -> None:
        handlers = [h for h in route_handlers if getattr(h, "http_methods", None) != {"HEAD"}]
        super().__init__(route_handlers=handlers, **options)


def without_body(app: ASGIApp) -> ASGIApp:
    """Answer every HEAD with its status and headers only: the first part of the body ends the
    answer empty, and anything after it is dropped (see the module docstring on streams)."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "HEAD":
            await app(scope, receive, send)
            return
        ended = False

        async def send_headers_only(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.start":
                await send(message)
            elif not ended:  # a body, a file to send: an empty body instead, the answer's end
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:  # a stream's next chunk: a checkpoint, where its cancellation takes effect
                await asyncio.sleep(0)

        await app(scope, receive, send_headers_only)

    return wrapper

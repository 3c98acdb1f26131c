"""On every API route, an optional query parameter sent empty is one not sent.

HTML forms and generated clients send every filter of a list, the ones left unset empty
(`GET /api/v1/tasks?status=&due_before=`). Read as values, an empty enum, date, UUID, number or
true/false is a 422 ("must be one of: ..."), while an empty text filter happened to be no filter;
the same request meant "no filter" everywhere, so it is read so everywhere, by one rule rather
than route by route: before Litestar reads the parameters, an empty value (`name=` or a bare
`name`) of a parameter the route declares optional (with a default, or `| None`) is dropped
from the query string, so the route sees its default. A list parameter loses only its empty
items (`?status=&status=done` is `done`).

Left as sent:
- required parameters: empty, they are still refused as their type says (a 422 naming them);
- parameters the route does not declare (never read by it);
- the pages (the staff console, customers' pages: `PAGE` routes), whose forms read their own
  empty values (a console filter's empty choice is "全部");
- a parameter whose empty value means something on purpose: the route names it in its opt
  `KEEPS_EMPTY` (no API route does today).
"""

from __future__ import annotations

import functools
import urllib.parse
import warnings
from typing import Any

from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from workbench.http.auth import PAGE

KEEPS_EMPTY = "keeps_empty"
"""Route opt: the query parameters (as callers write them) whose empty value is a value."""


def empty_query_values_dropped(app: ASGIApp) -> ASGIApp:
    """Litestar middleware (after routing, so it knows the route): drops the empty values of
    the route's optional query parameters from the query string (see the module)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"") if scope["type"] == ScopeType.HTTP else b""
        handler = scope.get("route_handler")
        if query and handler is not None and not handler.opt.get(PAGE):
            names = _optional_query_names(handler, tuple(scope.get("path_params") or ()))
            if names:
                scope["query_string"] = without_empty(query, names)
        await app(scope, receive, send)

    return middleware


def without_empty(query: bytes, names: frozenset[str]) -> bytes:
    """`query` without the empty values of `names`; every other part kept byte for byte."""
    parts = query.split(b"&")
    kept = [part for part in parts if not _empty_one_of(part, names)]
    return query if len(kept) == len(parts) else b"&".join(kept)


def _empty_one_of(part: bytes, names: frozenset[str]) -> bool:
    name, _, value = part.partition(b"=")
    if value or not name:
        return False
    # Read as Litestar reads a query string (`litestar._parsers.parse_query_string`).
    pairs = urllib.parse.parse_qsl(part.decode("latin-1"), keep_blank_values=True)
    return len(pairs) == 1 and pairs[0][1] == "" and pairs[0][0] in names


@functools.lru_cache(maxsize=2048)
def _optional_query_names(
    handler: BaseRouteHandler, path_params: tuple[str, ...]
) -> frozenset[str]:
    """The query parameters `handler` (its dependencies' included) reads and may go without,
    by the names callers write, less those it keeps empty."""
    path_parameters: dict[str, Any] = dict.fromkeys(path_params)
    with warnings.catch_warnings():  # Litestar warned of the route's style when it was made
        warnings.simplefilter("ignore")
        model = handler.create_kwargs_model(path_parameters=path_parameters)
    keeps = set(handler.opt.get(KEEPS_EMPTY, ()))
    return frozenset(
        p.field_alias
        for p in model.expected_query_params
        if not p.is_required and p.default is not Ellipsis and p.field_alias not in keeps
    )

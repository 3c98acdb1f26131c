"""Console pages read a blank query field (`?unit=&from=2026-11-01`) as one not given.

The console's filter forms are GET forms: a select left at 全部 or an emptied date field still
sends its name with an empty value. A page's typed query parameters (a unit's UUID, a date)
would refuse the empty text and answer an error page in place of the page the person asked for;
dropping blank fields before the page reads its parameters makes them absent, so the page shows
what "全部" means (its whole scope) and its defaults.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from litestar.types import ASGIApp, Receive, Scope, Send


def drop_blank_query_fields(app: ASGIApp) -> ASGIApp:
    """ASGI middleware of the console's router: remove query fields whose value is blank (the
    other fields are passed on byte for byte)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        query: bytes = scope.get("query_string", b"")
        if query:
            fields = query.split(b"&")
            kept = [f for f in fields if not _blank(f)]
            if len(kept) != len(fields):
                scope["query_string"] = b"&".join(kept)
        await app(scope, receive, send)

    return middleware


def _blank(field: bytes) -> bool:
    _, equals, value = field.partition(b"=")
    return bool(equals) and not unquote_plus(value.decode("latin-1")).strip()

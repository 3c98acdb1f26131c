"""Opaque keyset cursors for `?limit=&cursor=` lists.

A cursor made while a request is answered names that request's list (a tag of its route's
path template, set by `workbench.http.list_route`): passed as `cursor` to another list it is a
400 (`request.bad_cursor`: "a cursor of another list"), never a page that starts at a position
of another list's order. Cursors made before lists named theirs (a bare key) are still read, so
an app paging across a deploy goes on; tokens of other names (`listed`, `sent`) are read by
another route than the one that made them, on purpose, and are not checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.params import QueryParameter

from mobile_contracts.v1.common import as_stored, money_problem
from mobile_contracts.v1.problems import FieldError
from workbench.errors import DomainError
from workbench.nul import NUL
from workbench.periods import YEARS, within_years

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# A list's `?limit=` (every list pages alike).
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]
# `?array=true` on the lists that answered a bare JSON array in earlier versions of the API.
BareArray = Annotated[
    bool,
    QueryParameter(
        description="Deprecated: `true` answers a bare JSON array, the form of earlier versions "
        "of this API, instead of the page `{items, next_cursor}` every list answers",
        schema_extra={"deprecated": True},
    ),
]

T = TypeVar("T")

LAST = datetime.max.replace(tzinfo=UTC)
"""The time in the key of a row that has none and sorts last (a task with no due time)."""


class BadCursor(DomainError):
    status, code, title = 400, "request.bad_cursor", "The cursor is not valid for this list"

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(
            f"{name}: {problem}", errors=[FieldError(path=f"query.{name}", message=problem)]
        )


# The list being answered: its route's path template (None outside a request: a job, a test).
LIST_ROUTE: ContextVar[str | None] = ContextVar("workbench_list_route", default=None)


class _Named(msgspec.Struct, forbid_unknown_fields=True):
    """A cursor that names its list: `l` the list's tag, `k` the key."""

    l: str  # noqa: E741 (one letter on the wire: cursors travel in URLs)
    k: msgspec.Raw


def _tag(route: str) -> str:
    return hashlib.sha256(route.encode()).hexdigest()[:8]


def encode_cursor(key: Any) -> str:
    """The cursor of a list's position `key`, naming the list being answered, if any."""
    route = LIST_ROUTE.get()
    value: Any = key if route is None else {"l": _tag(route), "k": key}
    return base64.urlsafe_b64encode(msgspec.json.encode(value)).decode().rstrip("=")


def keyset_page(
    rows: Sequence[T], limit: int, key: Callable[[T], Any]
) -> tuple[list[T], str | None]:
    """The first `limit` of `rows` (a query's `limit + 1`) and the cursor of the page after
    them: the `key` of the last one kept, None when no row was left over."""
    kept = list(rows[:limit])
    return kept, encode_cursor(key(kept[-1])) if kept and len(rows) > limit else None


def decode_cursor(cursor: str | None, type_: type[Any], *, name: str = "cursor") -> Any:
    """The key inside a cursor from `encode_cursor`, or None; 400 naming the parameter (`name`)
    when the server could not have made it: tampered with, not of the list's `type_`, or holding
    a value no column holds (the list's query would fail on it, or match the wrong rows)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        named = _named(raw)
        if named is not None:
            route = LIST_ROUTE.get()
            if name == "cursor" and route is not None and named.l != _tag(route):
                raise BadCursor(
                    name, "a cursor of another list: pass back the next_cursor this list answered"
                )
            raw = bytes(named.k)
        key = msgspec.json.decode(raw, type=type_)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadCursor(name, "not a cursor this list issued") from None
    if problem := _key_problem(key):
        raise BadCursor(name, problem)
    return key


def _named(raw: bytes) -> _Named | None:
    """The named form of a cursor, or None for a bare key (made before lists named theirs)."""
    if not raw.startswith(b"{"):
        return None
    return msgspec.json.decode(raw, type=_Named)


def _key_problem(value: Any) -> str | None:
    """Why a decoded key holds a value the server never writes into a cursor, or None: a time
    without an offset or outside YEARS (but LAST), an amount no amount column holds (NaN, an
    infinity, 10^18 or more, more than its decimal places), text with a NUL character."""
    if isinstance(value, tuple | list):
        return next((p for p in map(_key_problem, value) if p), None)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return "holds a time without an offset"
        if not within_years(value) and value != LAST:
            return f"holds a time outside the years {YEARS[0]} to {YEARS[1]}"
    elif isinstance(value, Decimal):
        if money_problem(value) or value != as_stored(value):
            return "holds a number no amount can be"
    elif isinstance(value, str) and NUL in value:
        return "holds a NUL character"
    return None

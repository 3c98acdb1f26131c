"""Opaque keyset cursors for `?limit=&cursor=` lists."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
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


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


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
        key = msgspec.json.decode(raw, type=type_)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadCursor(name, "not a cursor this list issued") from None
    if problem := _key_problem(key):
        raise BadCursor(name, problem)
    return key


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

"""Shapes shared by every feature."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """A keyset-paginated list: pass `next_cursor` back as `?cursor=` for the next page."""

    items: list[T]
    next_cursor: str | None = None

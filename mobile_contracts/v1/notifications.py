"""The in-app notification centre."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec


class Notification(msgspec.Struct, kw_only=True):
    """Something the user was told (also sent as a push once push exists)."""

    id: uuid.UUID
    category: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class UnreadCount(msgspec.Struct, kw_only=True):
    """GET /notifications/unread-count: the badge; counts what the list shows with unread=true."""

    unread: int


MAX_LISTED_LENGTH = 200_000
"""Longest `listed` accepted (it grows with the transactions in flight when the list was made)."""


class NotificationPage(msgspec.Struct, kw_only=True):
    """GET /notifications: a keyset-paginated list (pass `next_cursor` back as `?cursor=` for the
    next page). The first page (no `cursor`) also carries `listed`: pass it to read-all to mark
    only what this list held (later pages: null)."""

    items: list[Notification]
    next_cursor: str | None = None
    listed: str | None = None


class ReadAllRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /notifications/read-all. `listed`: the `listed` of the list's first page the app
    shows; only notifications that list held are marked read, so one that arrives meanwhile
    stays unread, however it sorts (one written by a long transaction is dated by its start and
    sorts below newer ones). `up_to_id`: the newest notification the app has shown (the first
    item of the list); only it and older ones (in the list's order) are marked. With both, only
    those that are both. Without either (or without a body) everything listed now is marked.
    `up_to_id` alone cannot tell a notification committed after the app listed from one it
    listed, if it sorts below the newest shown: send `listed`."""

    up_to_id: uuid.UUID | None = None
    listed: Annotated[str, msgspec.Meta(max_length=MAX_LISTED_LENGTH)] | None = None


class ReadAllResult(msgspec.Struct, kw_only=True):
    """How many notifications this call marked read (0 when there was nothing left)."""

    marked: int

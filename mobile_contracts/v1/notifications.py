"""The in-app notification centre."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

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


class ReadAllRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /notifications/read-all. `up_to_id`: the newest notification the app has shown
    (the first item of the list); only it and older ones are marked read, so one that arrives
    meanwhile stays unread. Without it (or without a body) everything listed now is marked."""

    up_to_id: uuid.UUID | None = None


class ReadAllResult(msgspec.Struct, kw_only=True):
    """How many notifications this call marked read (0 when there was nothing left)."""

    marked: int

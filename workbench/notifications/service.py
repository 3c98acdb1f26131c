"""Telling a user something: stored in their notification centre (push delivery comes later)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from mobile_contracts.v1.common import Page
from mobile_contracts.v1.notifications import Notification
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.ids import uuid7
from workbench.notifications import queries
from workbench.pagination import decode_cursor, encode_cursor


async def notify(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    category: str,
    title: str,
    body: str,
    dedupe_key: str,
    data: dict[str, Any] | None = None,
) -> bool:
    """Notify once per dedupe key. Titles and bodies must not carry unmasked personal data."""
    return await queries.insert(
        conn,
        notification_id=uuid7(),
        user_id=user_id,
        category=category,
        title=title,
        body=body,
        data=data or {},
        dedupe_key=dedupe_key,
    )


async def list_mine(
    conn: Connection, *, caller: Caller, cursor: str | None, unread_only: bool, limit: int
) -> Page[Notification]:
    before = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.for_user(
        conn, caller.user_id, before=before, unread_only=unread_only, limit=limit + 1
    )
    items = [msgspec.convert(dict(r), Notification) for r in rows[:limit]]
    more = len(rows) > limit
    return Page(
        items=items,
        next_cursor=encode_cursor([items[-1].created_at, items[-1].id]) if more else None,
    )


async def mark_read(
    conn: Connection, *, caller: Caller, notification_id: uuid.UUID
) -> Notification:
    row = await queries.mark_read(conn, notification_id, caller.user_id)
    if row is None:
        raise NotFound("notification")
    return msgspec.convert(dict(row), Notification)

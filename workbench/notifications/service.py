"""Telling a user something: a row of their notification centre that is also the push outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from mobile_contracts.v1.common import Page
from mobile_contracts.v1.notifications import Notification, ReadAllResult, UnreadCount
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.ids import uuid7
from workbench.notifications import categories, queries
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
    priority: str | None = None,
    collapse_key: str | None = None,
    send_at: datetime | None = None,
    expires_at: datetime | None = None,
    subject_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Tell a user something once per dedupe key (the new notification's id; None if that key
    was already used): it is listed in their notification centre
    (from `send_at`, default now) and pushed to their devices by the push workers, in the same
    transaction as the change it reports. Titles and bodies travel through Apple's, Google's
    and Huawei's servers: never put unmasked personal data in them."""
    kind = categories.get(category)
    return await queries.insert(
        conn,
        notification_id=uuid7(),
        user_id=user_id,
        category=kind.name,
        title=title,
        body=body,
        data=data or {},
        dedupe_key=dedupe_key,
        priority=priority or kind.priority,
        silent=kind.silent,
        in_app=kind.in_app,
        collapse_key=collapse_key,
        send_at=send_at,
        expires_at=expires_at,
        subject_id=subject_id,
    )


async def withdraw_task_reminders(conn: Connection, task_ids: list[uuid.UUID]) -> int:
    """The task was finished, cancelled, expired or moved: its unsent reminders and
    escalations are withdrawn (the moved ones are queued again for the new due time)."""
    if not task_ids:
        return 0
    return await queries.withdraw_pending(
        conn, task_ids, (categories.TASK_REMINDER, categories.TASK_ESCALATION)
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


async def unread_count(conn: Connection, *, caller: Caller) -> UnreadCount:
    """The badge: exactly the notifications `unread=true` lists."""
    return UnreadCount(unread=await queries.unread_count(conn, caller.user_id))


async def mark_all_read(
    conn: Connection, *, caller: Caller, up_to_id: uuid.UUID | None
) -> ReadAllResult:
    """Mark my unread notifications read: all listed now, or only `up_to_id` and older (in the
    list's order), so one that arrived after the app last listed stays unread. Again: 0."""
    up_to = None
    if up_to_id is not None:
        up_to = await queries.position(conn, up_to_id, caller.user_id)
        if up_to is None:
            raise NotFound("notification")
    return ReadAllResult(marked=await queries.mark_all_read(conn, caller.user_id, up_to=up_to))


async def notify_registered(
    conn: Connection,
    *,
    user_ids: list[uuid.UUID],
    category: str,
    dedupe_key: str,
    title: str = "",
    body: str = "",
    collapse_key: str | None = None,
    expires_at: datetime | None = None,
) -> int:
    """`notify` for many users at once, only those with a device to push to (a silent poke
    means nothing in the notification centre)."""
    kind = categories.get(category)
    return await queries.insert_for_registered(
        conn,
        user_ids=user_ids,
        notification_ids=[uuid7() for _ in user_ids],
        category=kind.name,
        title=title,
        body=body,
        dedupe_key=dedupe_key,
        priority=kind.priority,
        silent=kind.silent,
        in_app=kind.in_app,
        collapse_key=collapse_key,
        expires_at=expires_at,
    )

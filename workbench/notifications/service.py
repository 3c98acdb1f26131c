"""Telling a user something: a row of their notification centre that is also the push outbox."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import msgspec

from mobile_contracts.v1.notifications import (
    Notification,
    NotificationPage,
    ReadAllResult,
    UnreadCount,
)
from mobile_contracts.v1.problems import FieldError
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.ids import uuid7
from workbench.notifications import categories, queries
from workbench.pagination import BadCursor, decode_cursor, encode_cursor

NOTIFICATION_FIELDS = Notification.__struct_fields__


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


async def retire_task_assignment(
    conn: Connection, *, task_id: uuid.UUID, former_id: uuid.UUID
) -> int:
    """The task left `former_id` (reassigned again): their "task assigned to you" about it is
    withdrawn if unsent, read if shown."""
    return await queries.retire_for_user(conn, former_id, [task_id], (categories.TASK_ASSIGNED,))


async def list_mine(
    conn: Connection, *, caller: Caller, cursor: str | None, unread_only: bool, limit: int
) -> NotificationPage:
    """A page of my notifications, newest first; the first page says what it `listed`."""
    before = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    listing = await queries.for_user(
        conn, caller.user_id, before=before, unread_only=unread_only, limit=limit + 1
    )
    items = [
        msgspec.convert({k: r[k] for k in NOTIFICATION_FIELDS}, Notification)
        for r in listing.rows[:limit]
    ]
    more = len(listing.rows) > limit
    return NotificationPage(
        items=items,
        next_cursor=encode_cursor([items[-1].created_at, items[-1].id]) if more else None,
        listed=encode_cursor([listing.snapshot, listing.listed_at]) if before is None else None,
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


class BadListed(DomainError):
    status, code, title = 400, "request.bad_cursor", "The cursor is not valid for this list"

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"listed: {problem}", errors=[FieldError(path="$.listed", message=problem)]
        )


async def mark_all_read(
    conn: Connection,
    *,
    caller: Caller,
    up_to_id: uuid.UUID | None,
    listed: str | None = None,
) -> ReadAllResult:
    """Mark my unread notifications read: all listed now, or only those the list `listed`
    held, and only `up_to_id` and older (in the list's order), so one that arrived after the
    app last listed stays unread. Again: 0."""
    seen = _listing(listed) if listed is not None else None
    up_to = None
    if up_to_id is not None:
        up_to = await queries.position(conn, up_to_id, caller.user_id)
        if up_to is None:
            raise NotFound("notification")
    marked = await queries.mark_all_read(conn, caller.user_id, up_to=up_to, listed=seen)
    return ReadAllResult(marked=marked)


# A PostgreSQL snapshot as text: xmin:xmax:the ids in flight between them, ascending.
_SNAPSHOT = re.compile(r"([0-9]{1,19}):([0-9]{1,19}):([0-9]{1,19}(?:,[0-9]{1,19})*)?")
_XID8_MAX = 2**63 - 1


def _listing(listed: str) -> tuple[str, datetime]:
    """The snapshot and time inside a `listed` the list handed out; 400 naming `$.listed` if
    the server could not have made it (PostgreSQL is never handed a snapshot it refuses)."""
    try:
        key = decode_cursor(listed, tuple[str, datetime], name="listed")
    except BadCursor:
        key = None
    if key is None:  # not one, or empty
        raise BadListed("not a `listed` the notification list handed out")
    snapshot, at = key
    match = _SNAPSHOT.fullmatch(snapshot)
    if match is None:
        raise BadListed("not a `listed` the notification list handed out")
    xmin, xmax = int(match[1]), int(match[2])
    in_flight = [int(x) for x in match[3].split(",")] if match[3] else []
    if not (
        1 <= xmin <= xmax <= _XID8_MAX
        and all(xmin <= x < xmax for x in in_flight)
        and in_flight == sorted(in_flight)
    ):
        raise BadListed("not a `listed` the notification list handed out")
    return snapshot, at


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

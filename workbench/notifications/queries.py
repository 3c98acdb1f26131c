"""SQL of the notification centre."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection
from workbench.sql import Where

Record = asyncpg.Record
_COLUMNS = "id, category, title, body, data, created_at, read_at"


async def insert(
    conn: Connection,
    *,
    notification_id: uuid.UUID,
    user_id: uuid.UUID,
    category: str,
    title: str,
    body: str,
    data: dict[str, Any],
    dedupe_key: str,
    priority: str,
    silent: bool,
    in_app: bool,
    collapse_key: str | None,
    send_at: datetime | None,
    expires_at: datetime | None,
    subject_id: uuid.UUID | None,
) -> uuid.UUID | None:
    """Store once per (user, dedupe_key); None when it was already there. A notification
    scheduled for later is listed (and dated) from its send time."""
    stored: uuid.UUID | None = await conn.fetchval(
        """
            insert into notifications (id, user_id, category, title, body, data, dedupe_key,
                                       priority, silent, in_app, collapse_key, send_at,
                                       created_at, expires_at, subject_id)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, coalesce($12, now()),
                    greatest(now(), coalesce($12, now())), $13, $14)
            on conflict (user_id, dedupe_key) do nothing
            returning id
            """,
        notification_id,
        user_id,
        category,
        title,
        body,
        data,
        dedupe_key,
        priority,
        silent,
        in_app,
        collapse_key,
        send_at,
        expires_at,
        subject_id,
    )
    return stored


async def withdraw_pending(
    conn: Connection, subject_ids: list[uuid.UUID], categories: tuple[str, ...]
) -> int:
    """Unsent notifications about these subjects, of these categories, are withdrawn: never
    pushed and not listed."""
    result: str = await conn.execute(
        """
        update notifications set push_status = 'withdrawn', push_reason = 'subject_changed',
                                 lease_owner = null, lease_until = null
         where subject_id = any($1) and push_status = 'pending' and category = any($2)
        """,
        subject_ids,
        list(categories),
    )
    return int(result.rsplit(" ", 1)[-1])


async def retire_for_user(
    conn: Connection, user_id: uuid.UUID, subject_ids: list[uuid.UUID], categories: tuple[str, ...]
) -> int:
    """This user's notifications about these subjects, of these categories, are about
    something no longer theirs: an unsent one is withdrawn (never pushed, not listed), one
    already shown is marked read (no unread badge for a task they cannot open)."""
    result: str = await conn.execute(
        """
        update notifications
           set push_status = case when push_status = 'pending' then 'withdrawn'
                                  else push_status end,
               push_reason = case when push_status = 'pending' then 'subject_changed'
                                  else push_reason end,
               lease_owner = case when push_status = 'pending' then null else lease_owner end,
               lease_until = case when push_status = 'pending' then null else lease_until end,
               read_at = coalesce(read_at, now())
         where user_id = $1 and subject_id = any($2) and category = any($3)
        """,
        user_id,
        subject_ids,
        list(categories),
    )
    return int(result.rsplit(" ", 1)[-1])


@dataclass(frozen=True, slots=True)
class Listing:
    """A page of the notification centre and what listed it: the statement's snapshot (the
    transactions whose notifications it could see) and its now() (what was due by then)."""

    rows: list[Record]
    snapshot: str
    listed_at: datetime


async def for_user(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    unread_only: bool,
    limit: int,
) -> Listing:
    """Up to `limit` listed notifications of the user, newest first (after `before`), in one
    statement with its snapshot: a row with no id is that snapshot alone (an empty page)."""
    rows = await conn.fetch(
        f"""
        select l.snapshot, l.listed_at, n.*
          from (select pg_current_snapshot()::text as snapshot, now() as listed_at) l
          left join lateral (
              select {_COLUMNS} from notifications
               where {_LISTED}
                 and ($2::timestamptz is null or (created_at, id) < ($2, $3::uuid))
                 and (not $4 or read_at is null)
               order by created_at desc, id desc
               limit $5
          ) n on true
         order by n.created_at desc, n.id desc
        """,
        user_id,
        before[0] if before else None,
        before[1] if before else None,
        unread_only,
        limit,
    )
    return Listing(
        rows=[r for r in rows if r["id"] is not None],
        snapshot=rows[0]["snapshot"],
        listed_at=rows[0]["listed_at"],
    )


async def mark_read(
    conn: Connection, notification_id: uuid.UUID, user_id: uuid.UUID
) -> Record | None:
    return await conn.fetchrow(
        f"""
        update notifications set read_at = coalesce(read_at, now())
         where id = $1 and user_id = $2 and in_app and created_at <= now()
           and push_status <> 'withdrawn'
        returning {_COLUMNS}
        """,
        notification_id,
        user_id,
    )


# What the centre lists (for_user, unread_count, mark_all_read): in-app, due, not withdrawn.
_SHOWN = "in_app and created_at <= now() and push_status <> 'withdrawn'"
_LISTED = f"user_id = $1 and {_SHOWN}"


async def unread_count(conn: Connection, user_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        f"select count(*) from notifications where {_LISTED} and read_at is null", user_id
    )
    return count


async def position(
    conn: Connection, notification_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[datetime, uuid.UUID] | None:
    """Where one of the user's notifications sits in their list (created_at, id); None if it is
    not theirs or never listed (a silent poke, a push summary: not in the centre). Withdrawn or
    not, it still marks a point in the list."""
    row = await conn.fetchrow(
        "select created_at, id from notifications where id = $1 and user_id = $2 and in_app",
        notification_id,
        user_id,
    )
    return (row["created_at"], row["id"]) if row else None


async def mark_all_read(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    up_to: tuple[datetime, uuid.UUID] | None,
    listed: tuple[str, datetime] | None,
) -> int:
    """Mark read every unread listed notification of the user: only up to `up_to` in the list's
    order, and only those a listing could see (`listed`: its snapshot and time; a notification
    written by a transaction it did not see, or due after it, is left), when given; the number
    marked."""
    where = Where()
    where.add(f"user_id = {{}} and {_SHOWN} and read_at is null", user_id)
    if up_to is not None:
        where.add("(created_at, id) <= ({}, {})", *up_to)
    if listed is not None:
        # No transaction recorded: written before migration 0042, so seen by every listing.
        where.add(
            "(created_xid is null or pg_visible_in_snapshot(created_xid, {}::text::pg_snapshot))"
            " and created_at <= {}",
            *listed,
        )
    result: str = await conn.execute(
        f"update notifications set read_at = now() where {where.sql}", *where.args
    )
    return int(result.rsplit(" ", 1)[-1])


# A push registration `r` that can be reached: on a device whose session has neither ended nor
# expired (its refresh tokens past their expiry: the app's refresh answers 401). A lost phone
# left signed in a month ago is sent nothing. Index paths: sessions_open_by_device, then
# refresh_tokens_session.
SESSION_LIVE = """
    exists (select from sessions s
              join refresh_tokens t on t.session_id = s.id
             where s.device_id = r.device_id and s.user_id = r.user_id
               and s.ended_at is null and t.expires_at > now())
"""


async def insert_for_registered(
    conn: Connection,
    *,
    user_ids: list[uuid.UUID],
    notification_ids: list[uuid.UUID],
    category: str,
    title: str,
    body: str,
    dedupe_key: str,
    priority: str,
    silent: bool,
    in_app: bool,
    collapse_key: str | None,
    expires_at: datetime | None,
) -> int:
    """One notification per user who has a live push registration, on a device still signed
    in (`SESSION_LIVE`: nobody else can receive it); a user who already has this dedupe key
    gets nothing new. The number stored."""
    result: str = await conn.execute(
        f"""
        insert into notifications (id, user_id, category, title, body, data, dedupe_key,
                                   priority, silent, in_app, collapse_key, expires_at)
        select u.nid, u.id, $2, $3, $4, '{{}}', $5, $6, $7, $8, $9, $10
          from unnest($1::uuid[], $11::uuid[]) u(id, nid)
         where exists (select from push_registrations r
                        where r.user_id = u.id and r.active and {SESSION_LIVE})
        on conflict (user_id, dedupe_key) do nothing
        """,
        user_ids,
        category,
        title,
        body,
        dedupe_key,
        priority,
        silent,
        in_app,
        collapse_key,
        expires_at,
        notification_ids,
    )
    return int(result.rsplit(" ", 1)[-1])


async def settle_as_history(
    conn: Connection,
    *,
    subject_ids: list[uuid.UUID],
    happened: list[datetime],
    read: list[bool],
) -> int:
    """Notifications about these subjects that a seed made today for things that happened
    before (the demo bank's past work orders): dated when their subject happened, read when
    it was dealt with since, and never pushed (a phone would ring for last month's alert)."""
    return int(
        await conn.fetchval(
            """
            with past as (
                select * from unnest($1::uuid[], $2::timestamptz[], $3::bool[])
                       p(subject_id, happened, read)
            ), settled as (
                update notifications n
                   set created_at = p.happened, send_at = p.happened,
                       read_at = case when p.read then p.happened else n.read_at end,
                       push_status = 'skipped', push_reason = 'before_push'
                  from past p
                 where n.subject_id = p.subject_id and n.push_status = 'pending'
                returning 1
            )
            select count(*) from settled
            """,
            subject_ids,
            happened,
            read,
        )
    )

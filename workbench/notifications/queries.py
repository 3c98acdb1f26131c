"""SQL of the notification centre."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection

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
) -> bool:
    """Store once per (user, dedupe_key); False when it was already there."""
    return bool(
        await conn.fetchval(
            """
            insert into notifications (id, user_id, category, title, body, data, dedupe_key)
            values ($1, $2, $3, $4, $5, $6, $7)
            on conflict (user_id, dedupe_key) do nothing
            returning true
            """,
            notification_id,
            user_id,
            category,
            title,
            body,
            data,
            dedupe_key,
        )
    )


async def for_user(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    unread_only: bool,
    limit: int,
) -> list[Record]:
    return await conn.fetch(
        f"""
        select {_COLUMNS} from notifications
         where user_id = $1
           and ($2::timestamptz is null or (created_at, id) < ($2, $3::uuid))
           and (not $4 or read_at is null)
         order by created_at desc, id desc
         limit $5
        """,
        user_id,
        before[0] if before else None,
        before[1] if before else None,
        unread_only,
        limit,
    )


async def mark_read(
    conn: Connection, notification_id: uuid.UUID, user_id: uuid.UUID
) -> Record | None:
    return await conn.fetchrow(
        f"""
        update notifications set read_at = coalesce(read_at, now())
         where id = $1 and user_id = $2
        returning {_COLUMNS}
        """,
        notification_id,
        user_id,
    )

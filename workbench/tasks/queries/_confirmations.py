"""SQL of customer QR confirmations."""

from __future__ import annotations

import uuid
from typing import Any

from workbench.db import Connection
from workbench.tasks.queries._common import Record

__all__ = ["confirmation", "insert_confirmation", "use_confirmation"]


async def insert_confirmation(conn: Connection, *, fields: dict[str, Any]) -> Record:
    row = await conn.fetchrow(
        """
        insert into task_confirmations (id, task_id, created_by, expires_at, rm_lat, rm_lng)
        values ($1, $2, $3, now() + make_interval(secs => $4), $5, $6)
        returning id, expires_at
        """,
        *fields.values(),
    )
    assert row is not None
    return row


async def confirmation(
    conn: Connection, confirmation_id: uuid.UUID, *, lock: bool = False
) -> Record | None:
    return await conn.fetchrow(
        f"""
        select k.id, k.task_id, k.created_by, k.expires_at, k.used_at, k.rm_lat, k.rm_lng,
               k.expires_at <= now() as expired, t.status as task_status, t.title,
               t.customer_id, t.assignee_id, u.name as rm_name
          from task_confirmations k
          join tasks t on t.id = k.task_id
          join users u on u.id = t.assignee_id
         where k.id = $1 {"for update of k, t" if lock else ""}
        """,
        confirmation_id,
    )


async def use_confirmation(
    conn: Connection,
    confirmation_id: uuid.UUID,
    *,
    customer_lat: float | None,
    customer_lng: float | None,
    distance_m: float | None,
    far_away: bool | None,
) -> None:
    await conn.execute(
        """
        update task_confirmations
           set used_at = now(), customer_lat = $2, customer_lng = $3, distance_m = $4,
               far_away = $5
         where id = $1
        """,
        confirmation_id,
        customer_lat,
        customer_lng,
        distance_m,
        far_away,
    )

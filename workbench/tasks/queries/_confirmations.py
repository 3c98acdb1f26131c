"""SQL of customer QR confirmations."""

from __future__ import annotations

import uuid

from workbench.db import Connection
from workbench.tasks.queries._common import Record

__all__ = ["confirmation", "insert_confirmation", "use_confirmation"]


async def insert_confirmation(
    conn: Connection,
    *,
    confirmation_id: uuid.UUID,
    task_id: uuid.UUID,
    token_hash: bytes,
    created_by: uuid.UUID,
    ttl_seconds: int,
    rm_lat: float | None,
    rm_lng: float | None,
) -> Record:
    row = await conn.fetchrow(
        """
        insert into task_confirmations
               (id, task_id, token_hash, created_by, expires_at, rm_lat, rm_lng)
        values ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, $7)
        returning id, expires_at
        """,
        confirmation_id,
        task_id,
        token_hash,
        created_by,
        ttl_seconds,
        rm_lat,
        rm_lng,
    )
    assert row is not None
    return row


async def confirmation(conn: Connection, token_hash: bytes, *, lock: bool = False) -> Record | None:
    """The confirmation whose link token hashes to `token_hash` (SHA-256), with its task.
    `lock`: the confirmation's and the task's rows locked until the transaction ends."""
    if lock:
        # Locked first, joined only on ids no update changes, then read in a new statement:
        # locked in the join with the assignee's user row, a task given another assignee while
        # this waited would be checked again against the former assignee's row and be left
        # out, a valid link answered as invalid.
        await conn.execute(
            """
            select from task_confirmations k join tasks t on t.id = k.task_id
             where k.token_hash = $1 for update of k, t
            """,
            token_hash,
        )
    return await conn.fetchrow(
        """
        select k.id, k.task_id, k.created_by, k.expires_at, k.used_at, k.rm_lat, k.rm_lng,
               k.expires_at <= now() as expired, t.status as task_status, t.title,
               t.customer_id, t.assignee_id, u.name as rm_name
          from task_confirmations k
          join tasks t on t.id = k.task_id
          join users u on u.id = t.assignee_id
         where k.token_hash = $1
        """,
        token_hash,
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

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
    """A new confirmation link of a task, which ends the task's earlier links not used yet (their
    expiry set to now: a QR code shown to the wrong person stops working). Call with the task
    locked: links made one after another are then dated in that order (the clock, not the
    transaction's start), which tells a link replaced (`confirmation`'s `replaced`)."""
    row = await conn.fetchrow(
        """
        with made as (select clock_timestamp() as at
        ), ended as (
            -- A link being confirmed this moment holds its row (and waits for the task's,
            -- held here): skipped, not waited for (a deadlock). Its confirm then finds it
            -- replaced all the same.
            update task_confirmations k set expires_at = least(k.expires_at, made.at)
              from made
             where k.id in (select e.id from task_confirmations e
                             where e.task_id = $2 and e.used_at is null
                               and e.expires_at > now()
                               for update skip locked)
        )
        insert into task_confirmations
               (id, task_id, token_hash, created_by, created_at, expires_at, rm_lat, rm_lng)
        select $1, $2, $3, $4, made.at, made.at + make_interval(secs => $5), $6, $7
          from made
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
    """The confirmation whose link token hashes to `token_hash` (SHA-256), with its task, and
    `replaced`: a newer link of the task was made since (which ended this one).
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
               k.expires_at <= now() as expired,
               exists (select from task_confirmations n
                        where n.task_id = k.task_id and n.created_at > k.created_at) as replaced,
               t.status as task_status, t.title, t.customer_id, t.assignee_id,
               u.name as rm_name
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

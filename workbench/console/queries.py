"""SQL of the staff console's sessions. The only module of the console that talks to PostgreSQL."""

from __future__ import annotations

import uuid

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record


async def insert_session(
    conn: Connection, *, token_hash: bytes, session_id: uuid.UUID, lifetime_seconds: int
) -> Record:
    row = await conn.fetchrow(
        """
        insert into console_sessions (token_hash, session_id, expires_at)
        values ($1, $2, now() + make_interval(secs => $3))
        returning created_at, last_seen_at, expires_at
        """,
        token_hash,
        session_id,
        lifetime_seconds,
    )
    assert row is not None, "RETURNING gave no row"
    return row


async def session_for_token(
    conn: Connection, token_hash: bytes, *, idle_seconds: int
) -> Record | None:
    """A console session with everything that decides whether it still holds: its identity
    session, device and user as they are now, and whether it has idled or outlived its life."""
    return await conn.fetchrow(
        """
        select c.session_id, c.created_at, c.last_seen_at, c.expires_at,
               c.expires_at <= now() as expired,
               c.last_seen_at <= now() - make_interval(secs => $2) as idle,
               s.user_id, s.device_id, s.ended_at, s.end_reason,
               d.revoked_at,
               u.login, u.name, u.role, u.org_unit_id, u.active,
               o.name as org_unit_name
          from console_sessions c
          join sessions s on s.id = c.session_id
          join devices d on d.device_id = s.device_id
          join users u on u.id = s.user_id
          join org_units o on o.id = u.org_unit_id
         where c.token_hash = $1
         for update of c
        """,
        token_hash,
        idle_seconds,
    )


async def touch_session(conn: Connection, token_hash: bytes, *, device_id: str) -> None:
    """A request: the idle timeout starts again from now, and the browser (its `web` device)
    was seen now, as a token refresh marks an app's (at most once a minute; a device locked by a
    revocation in progress is left alone, as `identity.queries.touch_device` does)."""
    await conn.execute(
        """
        with touched as (
            update console_sessions set last_seen_at = now() where token_hash = $1
        )
        update devices set last_seen_at = now()
         where device_id = (select device_id from devices
                             where device_id = $2 and last_seen_at < now() - interval '1 minute'
                               for update skip locked)
        """,
        token_hash,
        device_id,
    )


async def delete_session(conn: Connection, token_hash: bytes) -> None:
    await conn.execute("delete from console_sessions where token_hash = $1", token_hash)


async def delete_stale_sessions(conn: Connection, *, device_id: str, limit: int) -> list[Record]:
    """Console sessions nobody can use any more, removed: those of this device's ended identity
    sessions, and at most `limit` (oldest first) of any device that outlived their lifetime.
    Returns the identity session of each one removed, and whether that one is still open."""
    return await conn.fetch(
        """
        with stale as (
            select c.token_hash
              from console_sessions c join sessions s on s.id = c.session_id
             where s.device_id = $1 and s.ended_at is not null
            union
            select token_hash from (
                select token_hash from console_sessions
                 where expires_at <= now() order by expires_at limit $2
            ) expired
        )
        delete from console_sessions c
         using stale, sessions s
         where c.token_hash = stale.token_hash and s.id = c.session_id
        returning c.session_id, s.ended_at is null as open
        """,
        device_id,
        limit,
    )

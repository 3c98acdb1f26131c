"""Identity SQL: sessions and their refresh tokens: a session opened and ended, a token issued,
locked with its session, user and device for a rotation, rotated (a retry retiring the session's
unused tokens), and expired tokens purged."""

from __future__ import annotations

import uuid

from workbench.db import Connection
from workbench.identity.queries._common import Record
from workbench.identity.queries._revocations import WIPES_FOR_DISABLED_USER


async def insert_session(
    conn: Connection, *, session_id: uuid.UUID, user_id: uuid.UUID, device_id: str
) -> None:
    await conn.execute(
        "insert into sessions (id, user_id, device_id) values ($1, $2, $3)",
        session_id,
        user_id,
        device_id,
    )


async def end_sessions(
    conn: Connection,
    *,
    reason: str,
    device_id: str | None = None,
    user_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """End the open sessions matching every given filter; return their ids."""
    rows = await conn.fetch(
        """
        update sessions set ended_at = now(), end_reason = $1
         where ended_at is null
           and ($2::text is null or device_id = $2)
           and ($3::uuid is null or user_id = $3)
           and ($4::uuid is null or id = $4)
        returning id
        """,
        reason,
        device_id,
        user_id,
        session_id,
    )
    return [r["id"] for r in rows]


async def insert_refresh_token(
    conn: Connection, *, token_hash: bytes, session_id: uuid.UUID, ttl_seconds: int
) -> None:
    await conn.execute(
        """
        insert into refresh_tokens (token_hash, session_id, expires_at)
        values ($1, $2, now() + make_interval(secs => $3))
        """,
        token_hash,
        session_id,
        ttl_seconds,
    )


async def refresh_token_for_update(
    conn: Connection, token_hash: bytes, *, retry_seconds: int
) -> Record | None:
    """The token with its session, its user and its device, all locked for the rotation;
    `retired`: a retry retired it, so presenting it is a reuse; `a_retry`: it is the session's
    last rotated token, rotated less than `retry_seconds` ago. Rotations are numbered under the
    session's row lock and both rows are read as the previous lock holder left them, so the last
    one is known whichever order the rotating transactions began in (until the commit);
    `wipes_for_disabled_user`: see WIPES_FOR_DISABLED_USER."""
    return await conn.fetchrow(
        f"""
        select t.session_id, t.expires_at, t.used_at, t.expires_at <= now() as expired,
               t.retired_at is not null as retired,
               coalesce($2 > 0 and t.rotation = s.rotations
                        and t.used_at > now() - make_interval(secs => $2), false) as a_retry,
               s.ended_at, s.end_reason, s.device_id, s.user_id,
               u.role, u.org_unit_id, u.name, u.active, d.revoked_at,
               {WIPES_FOR_DISABLED_USER} as wipes_for_disabled_user
          from refresh_tokens t
          join sessions s on s.id = t.session_id
          join users u on u.id = s.user_id
          join devices d on d.device_id = s.device_id
         where t.token_hash = $1
         for update of t, s
        """,
        token_hash,
        retry_seconds,
    )


async def mark_refresh_token_used(
    conn: Connection, session_id: uuid.UUID, token_hash: bytes
) -> None:
    """The token was rotated now: the session's next rotation, numbered under its row lock
    (held since `refresh_token_for_update`)."""
    await conn.execute(
        """
        with rotation as (
            update sessions set refreshed_at = now(), rotations = rotations + 1
             where id = $1
            returning rotations
        )
        update refresh_tokens
           set used_at = clock_timestamp(), rotation = (select rotations from rotation)
         where token_hash = $2
        """,
        session_id,
        token_hash,
    )


async def retire_for_retry(conn: Connection, session_id: uuid.UUID, token_hash: bytes) -> None:
    """A retry of `token_hash`: the session's unused tokens (answers the app never received) are
    retired for good, and the retried one is rotated again (still the session's last rotated
    token; another retry is measured from this one)."""
    await conn.execute(
        """
        update refresh_tokens set retired_at = now()
         where session_id = $1 and used_at is null and retired_at is null
        """,
        session_id,
    )
    await mark_refresh_token_used(conn, session_id, token_hash)


async def purge_expired_refresh_tokens(conn: Connection, *, older_than_days: int) -> int:
    """Delete refresh tokens that expired more than `older_than_days` ago; return how many."""
    status = await conn.execute(
        "delete from refresh_tokens where expires_at < now() - make_interval(days => $1)",
        older_than_days,
    )
    return int(status.split()[-1])

"""SQL of device registrations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from push.queries._common import PUSH_TOKEN_LOCKS, PUSH_USER_LOCKS, Record
from workbench.db import Connection
from workbench.notifications.queries import SESSION_LIVE

# A registration `r` reaches a person only while its device holds a session of the registration's
# user that can still be refreshed: not ended (logout, revocation, reuse, a change to the user,
# a sign-in replacing it) and with a refresh token not past its expiry. Ending a session also
# deactivates the registration, but a session running out ends nothing: a phone lost for longer
# than the refresh token lives would otherwise keep showing customers' names on its lock screen.
# Checked where the registrations to push to are picked, so it holds at the moment of sending.
# Sync pokes are stored only for users with one (`notifications.queries.SESSION_LIVE`).
_SESSION_LIVE = SESSION_LIVE


async def device_of_user(conn: Connection, device_id: str, user_id: uuid.UUID) -> Record | None:
    """The signed-in device, if it is this user's and not revoked."""
    return await conn.fetchrow(
        "select device_id, platform from devices"
        " where device_id = $1 and user_id = $2 and revoked_at is null",
        device_id,
        user_id,
    )


async def save_registration(
    conn: Connection,
    *,
    device_id: str,
    user_id: uuid.UUID,
    provider: str,
    token_cipher: bytes,
    token_index: bytes,
    app_version: str | None,
) -> Record:
    """Register (or refresh) the device's token; a token that moved from another device is
    taken away from that one.

    Two devices registering the same token at once take it one after the other (the later one
    keeps it, "token_moved" for the other): without the per-token lock both would find no live
    holder to take it from, and the second insert would break the one-live-token index."""
    await _lock_token(conn, token_index)
    await conn.execute(
        """
        update push_registrations
           set active = false, deactivated_at = now(), deactivated_reason = 'token_moved'
         where provider = $1 and token_index = $2 and active and device_id <> $3
        """,
        provider,
        token_index,
        device_id,
    )
    row = await conn.fetchrow(
        """
        insert into push_registrations (device_id, user_id, provider, token_cipher, token_index,
                                        app_version)
        values ($1, $2, $3, $4, $5, $6)
        on conflict (device_id) do update
           set user_id = excluded.user_id, provider = excluded.provider,
               token_cipher = excluded.token_cipher, token_index = excluded.token_index,
               app_version = excluded.app_version, active = true, deactivated_at = null,
               deactivated_reason = null, registered_at = now()
        returning device_id, provider, active, registered_at
        """,
        device_id,
        user_id,
        provider,
        token_cipher,
        token_index,
        app_version,
    )
    assert row is not None
    return row


async def _lock_token(conn: Connection, token_index: bytes) -> None:
    """Hold the token's lock until the caller's transaction ends (a lock outside one would be
    let go at once, and serialise nothing)."""
    assert conn.is_in_transaction(), "a registration is saved inside a transaction"
    await conn.execute(
        "select pg_advisory_xact_lock($1, hashtext(encode($2::bytea, 'hex')))",
        PUSH_TOKEN_LOCKS,
        token_index,
    )


async def deactivate(
    conn: Connection,
    *,
    reason: str,
    device_id: str | None = None,
    user_id: uuid.UUID | None = None,
    not_user_id: uuid.UUID | None = None,
) -> int:
    """Stop pushing to the live registrations matching every given filter (a device; a user's;
    anyone's but this user's); how many stopped."""
    result: str = await conn.execute(
        """
        update push_registrations
           set active = false, deactivated_at = now(), deactivated_reason = $1
         where active
           and ($2::text is null or device_id = $2)
           and ($3::uuid is null or user_id = $3)
           and ($4::uuid is null or user_id <> $4)
        """,
        reason,
        device_id,
        user_id,
        not_user_id,
    )
    return int(result.rsplit(" ", 1)[-1])


async def registration_of_user(
    conn: Connection, device_id: str, user_id: uuid.UUID
) -> Record | None:
    return await conn.fetchrow(
        "select device_id from push_registrations where device_id = $1 and user_id = $2",
        device_id,
        user_id,
    )


async def lock_live_registrations(conn: Connection, user_ids: Sequence[uuid.UUID]) -> list[Record]:
    """The users' live registrations (active, on a device whose session has neither ended nor
    expired: see _SESSION_LIVE), with a lock per user (transaction-scoped advisory locks taken in
    one order, so rounds never deadlock) until the caller's transaction ends."""
    await conn.execute(
        """
        select count(pg_advisory_xact_lock($2, k))
          from (select distinct hashtext(u::text) as k from unnest($1::uuid[]) u order by 1) keys
        """,
        list(user_ids),
        PUSH_USER_LOCKS,
    )
    return await conn.fetch(
        f"""
        select r.device_id, r.user_id, r.provider, r.token_cipher, r.token_index
          from push_registrations r
         where r.user_id = any($1) and r.active
           and {_SESSION_LIVE}
        """,
        list(user_ids),
    )

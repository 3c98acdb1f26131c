"""Identity SQL: what ends an access token before it expires: the wipe rule for a disabled
user's devices (`WIPES_FOR_DISABLED_USER`), a token's session checked, the sessions ended and
devices revoked recently, and the sessions ended by a change to their user (a user's, or a
device's former users')."""

from __future__ import annotations

import uuid

from workbench.db import Connection
from workbench.identity.queries._common import Record

# A session whose device is told to erase its offline copy (`wipe: true`, `auth.user_disabled`):
# its user is disabled, it was ended by a change to the user (the disable itself, or an earlier
# new password, role or unit), and its device is still theirs: once someone else has signed in
# on it, the device holds their copy, which an old token must not erase. Over sessions `s`,
# their users `u` and devices `d`.
WIPES_FOR_DISABLED_USER = (
    "(s.end_reason = 'user_changed' and not u.active and d.user_id = s.user_id)"
)


async def token_revocation(conn: Connection, session_id: uuid.UUID) -> Record | None:
    """Whether an access token's session has ended, its device is revoked or its device is told
    to wipe for a disabled user (the record)."""
    return await conn.fetchrow(
        f"""
        select s.ended_at is not null as ended, d.revoked_at is not null as device_revoked,
               {WIPES_FOR_DISABLED_USER} as user_disabled
          from sessions s
          join devices d on d.device_id = s.device_id
          join users u on u.id = s.user_id
         where s.id = $1
        """,
        session_id,
    )


async def recent_revocations(conn: Connection, *, within_seconds: int) -> list[Record]:
    """Sessions ended and devices revoked in the last `within_seconds` (older ones can hold no
    valid access token), with the seconds each entry still matters: `kind`, `key`, `ttl`, and
    `wipe` for a session whose device is told to wipe for a disabled user."""
    return await conn.fetch(
        f"""
        select 'session' as kind, s.id::text as key,
               greatest(1, $1 - extract(epoch from now() - s.ended_at)::int) as ttl,
               {WIPES_FOR_DISABLED_USER} as wipe
          from sessions s
          join devices d on d.device_id = s.device_id
          join users u on u.id = s.user_id
         where s.ended_at > now() - make_interval(secs => $1)
        union all
        select 'device', device_id,
               greatest(1, $1 - extract(epoch from now() - revoked_at)::int), false
          from devices
         where revoked_at > now() - make_interval(secs => $1)
        """,
        within_seconds,
    )


async def sessions_ended_by_user_change(
    conn: Connection, user_id: uuid.UUID, *, within_seconds: int, only_on_their_devices: bool
) -> list[uuid.UUID]:
    """The user's sessions ended by a change to the user in the last `within_seconds`;
    `only_on_their_devices`: of those, the ones on devices still theirs (told to wipe while the
    user is disabled), else all of them (a device that changed hands since included)."""
    rows = await conn.fetch(
        """
        select s.id
          from sessions s join devices d on d.device_id = s.device_id
         where s.user_id = $1 and s.end_reason = 'user_changed'
           and (not $3 or d.user_id = s.user_id)
           and s.ended_at > now() - make_interval(secs => $2)
        """,
        user_id,
        within_seconds,
        only_on_their_devices,
    )
    return [r["id"] for r in rows]


async def former_users_sessions_ended_by_user_change(
    conn: Connection, device_id: str, *, within_seconds: int
) -> list[uuid.UUID]:
    """Sessions on the device, of users other than its user now, ended by a change to their
    user in the last `within_seconds`: none of them tells the device to wipe any more (it holds
    its new user's copy), whatever their users' state."""
    rows = await conn.fetch(
        """
        select s.id
          from sessions s join devices d on d.device_id = s.device_id
         where s.device_id = $1 and s.end_reason = 'user_changed' and d.user_id <> s.user_id
           and s.ended_at > now() - make_interval(secs => $2)
        """,
        device_id,
        within_seconds,
    )
    return [r["id"] for r in rows]

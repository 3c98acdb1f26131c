"""Identity SQL: a device as it signs in, is seen and is revoked: locked (even on its very first
sign-in), recorded, checked for another user using it now, found in an admin's scope, touched on
a refresh, and marked revoked or cleared again."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.identity.queries._common import Record, _returned


async def device_for_update(conn: Connection, device_id: str) -> Record | None:
    return await conn.fetchrow(
        "select device_id, user_id, revoked_at from devices where device_id = $1 for update",
        device_id,
    )


async def device_for_sign_in(
    conn: Connection, device_id: str, *, user_id: uuid.UUID, platform: str
) -> Record:
    """The device, locked until the transaction ends; a device never seen is first recorded
    as this user's. Sign-ins on one device take turns even on its very first one: a row that
    does not exist yet locks nothing, so two first sign-ins would both find it free."""
    # A concurrent first insert makes this one wait for its transaction; then the row is
    # there (committed) or not (rolled back: this insert takes its place). The lock is taken
    # by a statement of its own, whose snapshot sees a row committed while the insert waited.
    await conn.execute(
        """
        insert into devices (device_id, user_id, platform) values ($1, $2, $3)
        on conflict (device_id) do nothing
        """,
        device_id,
        user_id,
        platform,
    )
    return _returned(await device_for_update(conn, device_id))


async def in_use_by_another(
    conn: Connection, device_id: str, user_id: uuid.UUID, *, within_seconds: int
) -> bool:
    """Whether another user has an open session on the device that signed in or refreshed in
    the last `within_seconds` (someone using it now, not a session left behind)."""
    return bool(
        await conn.fetchval(
            """select exists (
                   select from sessions
                    where device_id = $1 and user_id <> $2 and ended_at is null
                      and coalesce(refreshed_at, created_at)
                          > now() - make_interval(secs => $3))""",
            device_id,
            user_id,
            within_seconds,
        )
    )


async def upsert_device(
    conn: Connection,
    *,
    device_id: str,
    user_id: uuid.UUID,
    platform: str,
    model: str | None,
    app_version: str | None,
) -> None:
    await conn.execute(
        """
        insert into devices (device_id, user_id, platform, model, app_version)
        values ($1, $2, $3, $4, $5)
        on conflict (device_id) do update
           set user_id = excluded.user_id, platform = excluded.platform,
               model = coalesce(excluded.model, devices.model),
               app_version = coalesce(excluded.app_version, devices.app_version),
               last_seen_at = now()
        """,
        device_id,
        user_id,
        platform,
        model,
        app_version,
    )


async def device_in_scope(
    conn: Connection, device_id: str, *, scope_root: uuid.UUID | None
) -> Record | None:
    """The device, if its user belongs to the caller's subtree (None otherwise: answer 404),
    locked until the transaction ends."""
    # Locked alone first, then read in a new statement: locked in the join, a device another
    # user signed in on while this waited would be checked again against its former user's row
    # and be left out, a device not found (whoever's it is now, in scope or not).
    if await device_for_update(conn, device_id) is None:
        return None
    return await conn.fetchrow(
        """
        select d.device_id, d.user_id, d.platform, d.model, d.app_version, d.last_seen_at,
               d.revoked_at
          from devices d join users u on u.id = d.user_id
         where d.device_id = $1
           and ($2::uuid is null or u.org_unit_id in (select s.id from org_subtree($2) s(id)))
        """,
        device_id,
        scope_root,
    )


async def touch_device(conn: Connection, device_id: str) -> None:
    """The device was seen now (a token refresh). A device locked by a revocation in progress is
    left alone rather than waited for: the refresh holds its session's lock, which the
    revocation needs next."""
    await conn.execute(
        """
        update devices set last_seen_at = now()
         where device_id = (select device_id from devices
                             where device_id = $1 and last_seen_at < now() - interval '1 minute'
                               for update skip locked)
        """,
        device_id,
    )


async def set_device_revoked(
    conn: Connection, device_id: str, *, revoked_by: uuid.UUID | None
) -> datetime | None:
    """Mark the device revoked now, by whom; None when it was revoked already (who did it and
    when stay as they were)."""
    revoked_at: datetime | None = await conn.fetchval(
        """
        update devices set revoked_at = now(), revoked_by = $2
         where device_id = $1 and revoked_at is null returning revoked_at
        """,
        device_id,
        revoked_by,
    )
    return revoked_at


async def clear_device_revoked(conn: Connection, device_id: str) -> None:
    await conn.execute(
        "update devices set revoked_at = null, revoked_by = null where device_id = $1", device_id
    )

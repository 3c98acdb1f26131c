"""SQL of identity and org. The only module of this feature that talks to PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record


def _returned(row: Record | None) -> Record:
    """The row of an INSERT/UPDATE ... RETURNING that cannot come back empty."""
    assert row is not None, "RETURNING gave no row"
    return row


# ---- org units -------------------------------------------------------------------------------


async def org_unit(conn: Connection, unit_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(
        "select id, name, parent_id, path, depth from org_units where id = $1", unit_id
    )


async def lock_org_setup(conn: Connection) -> None:
    """Serialize processes creating the head office or bootstrap users (until transaction end)."""
    await conn.execute("select pg_advisory_xact_lock(hashtext('workbench:org-setup'))")


async def root_org_unit(conn: Connection) -> Record | None:
    return await conn.fetchrow(
        "select id, name, parent_id, path, depth from org_units where parent_id is null"
    )


async def insert_org_unit(
    conn: Connection, *, unit_id: uuid.UUID, name: str, parent: Record | None
) -> Record:
    path = (parent["path"] if parent else "/") + f"{unit_id}/"
    depth = parent["depth"] + 1 if parent else 0
    row = await conn.fetchrow(
        """
        insert into org_units (id, name, parent_id, path, depth) values ($1, $2, $3, $4, $5)
        returning id, name, parent_id, path, depth
        """,
        unit_id,
        name,
        parent["id"] if parent else None,
        path,
        depth,
    )
    return _returned(row)


async def sibling_names(
    conn: Connection, *, parent_id: uuid.UUID, leave_out: uuid.UUID | None
) -> list[Record]:
    """(id, name) of the units under `parent_id` other than `leave_out` (a unit's children are
    few: the caller compares the names as a reader tells them apart)."""
    return await conn.fetch(
        "select id, name from org_units where parent_id = $1 and id is distinct from $2",
        parent_id,
        leave_out,
    )


async def move_and_rename_org_unit(
    conn: Connection, *, unit: Record, name: str, parent: Record | None
) -> Record:
    """Rename a unit and re-hang it (with its whole subtree) under `parent`."""
    new_path = (parent["path"] if parent else "/") + f"{unit['id']}/"
    new_depth = parent["depth"] + 1 if parent else 0
    await conn.execute(
        """
        update org_units
           set path = $2::text || substr(path, length($1::text) + 1),
               depth = depth + ($3::int - $4::int),
               updated_at = now()
         where path >= $1::text and path < $1::text || '~'
        """,
        unit["path"],
        new_path,
        new_depth,
        unit["depth"],
    )
    row = await conn.fetchrow(
        """
        update org_units set name = $2, parent_id = $3, updated_at = now() where id = $1
        returning id, name, parent_id, path, depth
        """,
        unit["id"],
        name,
        parent["id"] if parent else None,
    )
    return _returned(row)


async def org_units_in_scope(conn: Connection, *, scope_root: uuid.UUID | None) -> list[Record]:
    """The caller's subtree (whole tree for scope_root None), parents before children."""
    return await conn.fetch(
        """
        select id, name, parent_id, depth from org_units
         where $1::uuid is null or id in (select s.id from org_subtree($1) s(id))
         order by path
        """,
        scope_root,
    )


async def org_unit_in_scope(
    conn: Connection, unit_id: uuid.UUID, *, scope_root: uuid.UUID | None
) -> bool:
    return bool(
        await conn.fetchval(
            """
            select exists (
                select 1 from org_units
                 where id = $1
                   and ($2::uuid is null or id in (select s.id from org_subtree($2) s(id))))
            """,
            unit_id,
            scope_root,
        )
    )


# ---- users -----------------------------------------------------------------------------------

_USER_COLUMNS = "u.id, u.login, u.name, u.role, u.org_unit_id, u.active, u.created_at"


async def user_for_login(conn: Connection, login: str) -> Record | None:
    return await conn.fetchrow(
        f"select {_USER_COLUMNS}, u.password_hash from users u where lower(u.login) = lower($1)",
        login,
    )


async def user_by_id(conn: Connection, user_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(f"select {_USER_COLUMNS} from users u where u.id = $1", user_id)


async def me(conn: Connection, user_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(
        f"""
        select {_USER_COLUMNS}, o.name as org_unit_name
          from users u join org_units o on o.id = u.org_unit_id
         where u.id = $1 and u.active
        """,
        user_id,
    )


async def insert_user(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    login: str,
    name: str,
    role: str,
    org_unit_id: uuid.UUID,
    password_hash: str,
) -> Record | None:
    """Insert a user; None when the login is taken (by any user, case-insensitively)."""
    return await conn.fetchrow(
        f"""
        insert into users as u (id, login, name, role, org_unit_id, password_hash)
        values ($1, $2, $3, $4, $5, $6)
        on conflict do nothing
        returning {_USER_COLUMNS}
        """,
        user_id,
        login,
        name,
        role,
        org_unit_id,
        password_hash,
    )


async def update_user(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    login: str,
    name: str,
    role: str,
    org_unit_id: uuid.UUID,
    password_hash: str,
) -> Record:
    row = await conn.fetchrow(
        f"""
        update users u set login = $2, name = $3, role = $4, org_unit_id = $5,
                           password_hash = $6, updated_at = now()
         where u.id = $1
        returning {_USER_COLUMNS}
        """,
        user_id,
        login,
        name,
        role,
        org_unit_id,
        password_hash,
    )
    return _returned(row)


async def user_for_update(conn: Connection, user_id: uuid.UUID) -> Record | None:
    """The user, locked until the transaction ends (an admin's change to them)."""
    return await conn.fetchrow(
        f"select {_USER_COLUMNS} from users u where u.id = $1 for update", user_id
    )


async def lock_active_admins(conn: Connection) -> list[uuid.UUID]:
    """The active admins, locked: two admins demoting each other at once take turns, so the
    last one is never lost."""
    rows = await conn.fetch(
        "select id from users where role = 'admin' and active order by id for update"
    )
    return [r["id"] for r in rows]


async def change_user(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    login: str,
    name: str,
    role: str,
    org_unit_id: uuid.UUID,
) -> Record | None:
    """Set login, name, role and org unit (not the password); None when the login is taken."""
    try:
        async with conn.transaction():  # a savepoint: a login taken meanwhile is a clean None
            return await conn.fetchrow(
                f"""
                update users u set login = $2, name = $3, role = $4, org_unit_id = $5,
                                   updated_at = now()
                 where u.id = $1
                returning {_USER_COLUMNS}
                """,
                user_id,
                login,
                name,
                role,
                org_unit_id,
            )
    except asyncpg.UniqueViolationError:
        return None


async def set_user_active(conn: Connection, user_id: uuid.UUID, *, active: bool) -> Record:
    row = await conn.fetchrow(
        f"""
        update users u set active = $2,
                           updated_at = case when u.active = $2 then u.updated_at else now() end
         where u.id = $1
        returning {_USER_COLUMNS}
        """,
        user_id,
        active,
    )
    return _returned(row)


async def handover(conn: Connection, user_id: uuid.UUID) -> Record:
    """How many customers the user owns and how many open tasks are assigned to them."""
    row = await conn.fetchrow(
        """
        select (select count(*) from customers where owner_id = $1) as customers,
               (select count(*) from tasks
                 where assignee_id = $1
                   and status in ('pending', 'in_progress', 'submitted', 'awaiting_confirmation')
               ) as open_tasks
        """,
        user_id,
    )
    return _returned(row)


async def last_seen(conn: Connection, user_id: uuid.UUID) -> datetime | None:
    """The user's last sign-in or token refresh on any device."""
    seen: datetime | None = await conn.fetchval(
        "select max(last_seen_at) from devices where user_id = $1", user_id
    )
    return seen


async def org_unit_user_counts(conn: Connection) -> list[Record]:
    """Per org unit with users: how many belong to it directly, and how many of them are active."""
    return await conn.fetch(
        """
        select org_unit_id, count(*) as users, count(*) filter (where active) as active_users
          from users group by org_unit_id
        """
    )


async def set_password_hash(conn: Connection, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        "update users set password_hash = $2, updated_at = now() where id = $1",
        user_id,
        password_hash,
    )


async def users_in_subtree(
    conn: Connection,
    *,
    root: uuid.UUID | None,
    after: uuid.UUID | tuple[str, uuid.UUID] | None,
    limit: int,
    q: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    by_name: bool = False,
) -> list[Record]:
    """Users of the org subtree under `root` (everyone for None), keyset-paginated by id (or,
    `by_name`, by (name, id): `after` is then that pair), with their last time seen. `q`: a
    case-insensitive substring of the login or name."""
    # Only the filters given become SQL (fixed fragments, values as parameters): the subtree's
    # unit ids are computed once and users found through (org_unit_id, id).
    where: list[str] = []
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if root is not None:
        where.append(f"u.org_unit_id = any(array(select s.id from org_subtree({arg(root)}) s(id)))")
    if q:
        needle = arg(q)
        where.append(
            f"(strpos(lower(u.login), lower({needle})) > 0"
            f" or strpos(lower(u.name), lower({needle})) > 0)"
        )
    if role is not None:
        where.append(f"u.role = {arg(role)}")
    if active is not None:
        where.append(f"u.active = {arg(active)}")
    if isinstance(after, tuple):
        where.append(f"(u.name, u.id) > ({arg(after[0])}::text, {arg(after[1])}::uuid)")
    elif after is not None:
        where.append(f"u.id > {arg(after)}")
    sql = f"""
        select {_USER_COLUMNS},
               (select max(d.last_seen_at) from devices d where d.user_id = u.id) as last_seen_at
          from users u"""
    if where:
        sql += " where " + "\n   and ".join(where)
    order = "u.name, u.id" if by_name else "u.id"
    sql += f" order by {order} limit {arg(limit)}"
    return await conn.fetch(sql, *args)


# ---- devices and sessions --------------------------------------------------------------------

# A session whose device is told to erase its offline copy (`wipe: true`, `auth.user_disabled`):
# its user is disabled, it was ended by a change to the user (the disable itself, or an earlier
# new password, role or unit), and its device is still theirs: once someone else has signed in
# on it, the device holds their copy, which an old token must not erase. Over sessions `s`,
# their users `u` and devices `d`.
WIPES_FOR_DISABLED_USER = (
    "(s.end_reason = 'user_changed' and not u.active and d.user_id = s.user_id)"
)


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


_DEVICE_ROW = """
    select d.device_id, d.platform, d.model, d.app_version, d.first_seen_at, d.last_seen_at,
           d.revoked_at, d.revoked_by, rb.name as revoked_by_name,
           u.id as user_id, u.login, u.name as user_name, u.org_unit_id, o.name as org_unit_name,
           exists (select from sessions s
                    where s.device_id = d.device_id and s.ended_at is null) as session_open,
           p.provider as push_provider, p.active as push_active,
           p.registered_at as push_registered_at, p.deactivated_reason as push_reason
      from devices d
      join users u on u.id = d.user_id
      join org_units o on o.id = u.org_unit_id
      left join users rb on rb.id = d.revoked_by
      left join push_registrations p on p.device_id = d.device_id
"""


async def device_rows(
    conn: Connection,
    *,
    scope_root: uuid.UUID | None,
    device_id: str | None = None,
    q: str | None = None,
    revoked: bool | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 1,
) -> list[Record]:
    """Devices whose user is in the subtree under `scope_root` (every device for None), the most
    recently seen first, keyset-paginated by (last_seen_at, device_id). `q`: a case-insensitive
    substring of the user's login or name, or the device's id or model."""
    # Only the filters given become SQL (fixed fragments, values as parameters), so each shape of
    # the list gets a plan of its own: the subtree's users through (org_unit_id), then their
    # devices through (user_id).
    where: list[str] = []
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if scope_root is not None:
        where.append(
            f"u.org_unit_id = any(array(select s.id from org_subtree({arg(scope_root)}) s(id)))"
        )
    if device_id is not None:
        where.append(f"d.device_id = {arg(device_id)}")
    if q:
        needle = arg(q)
        where.append(
            f"""(strpos(lower(u.login), lower({needle})) > 0
                 or strpos(lower(u.name), lower({needle})) > 0
                 or strpos(lower(d.device_id), lower({needle})) > 0
                 or strpos(lower(coalesce(d.model, '')), lower({needle})) > 0)"""
        )
    if revoked is not None:
        where.append("d.revoked_at is not null" if revoked else "d.revoked_at is null")
    if after is not None:
        where.append(f"(d.last_seen_at, d.device_id) < ({arg(after[0])}, {arg(after[1])})")
    sql = _DEVICE_ROW
    if where:
        sql += " where " + "\n   and ".join(where)
    sql += f" order by d.last_seen_at desc, d.device_id desc limit {arg(limit)}"
    return await conn.fetch(sql, *args)


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
    conn: Connection, user_id: uuid.UUID, *, within_seconds: int
) -> list[uuid.UUID]:
    """The user's sessions ended by a change to the user in the last `within_seconds`, on
    devices still theirs: those whose device is told to wipe while the user is disabled."""
    rows = await conn.fetch(
        """
        select s.id
          from sessions s join devices d on d.device_id = s.device_id
         where s.user_id = $1 and s.end_reason = 'user_changed' and d.user_id = s.user_id
           and s.ended_at > now() - make_interval(secs => $2)
        """,
        user_id,
        within_seconds,
    )
    return [r["id"] for r in rows]


async def app_devices_signed_in(conn: Connection, user_id: uuid.UUID) -> list[Record]:
    """The user's phones and tablets (not browsers: they keep no offline copy) with a session
    of theirs open now, the most recently seen first."""
    return await conn.fetch(
        """
        select d.device_id, d.platform, d.model, d.last_seen_at
          from devices d
         where d.user_id = $1 and d.platform <> 'web'
           and exists (select from sessions s
                        where s.device_id = d.device_id and s.user_id = $1
                          and s.ended_at is null)
         order by d.last_seen_at desc, d.device_id
        """,
        user_id,
    )

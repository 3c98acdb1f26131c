"""Identity SQL: a user's row: found by login or id (the signed-in user with their unit's
name), created, changed by an admin (locked while changed; the active admins locked so the last
one is never lost), enabled or disabled, given a new password hash, and found within a caller's
subtree."""

from __future__ import annotations

import uuid

import asyncpg

from workbench.db import Connection
from workbench.identity.queries._common import _USER_COLUMNS, Record, _returned


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


async def user_in_scope(
    conn: Connection, user_id: uuid.UUID, *, scope_root: uuid.UUID | None
) -> Record | None:
    """The user, if they belong to the caller's subtree (None otherwise: answer 404), locked
    until the transaction ends (their login is not changed meanwhile)."""
    return await conn.fetchrow(
        f"""
        select {_USER_COLUMNS} from users u
         where u.id = $1
           and ($2::uuid is null or u.org_unit_id in (select s.id from org_subtree($2) s(id)))
           for update of u
        """,
        user_id,
        scope_root,
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


async def set_password_hash(conn: Connection, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        "update users set password_hash = $2, updated_at = now() where id = $1",
        user_id,
        password_hash,
    )

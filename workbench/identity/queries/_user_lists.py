"""Identity SQL: what the staff admin reads about users: what a user leaves to hand over,
when they were last seen, how many users each unit holds, and the users of a subtree as a
filtered, keyset-paginated list."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.identity.queries._common import _USER_COLUMNS, Record, _returned


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

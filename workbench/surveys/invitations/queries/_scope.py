"""Invitation SQL: whom a caller may send to: their customers, the staff and units of their
subtree (an admin: everyone), applied in SQL."""

from __future__ import annotations

import uuid

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import Record


async def customers_in_scope(
    conn: Connection,
    customer_ids: list[uuid.UUID],
    *,
    owner_id: uuid.UUID | None,
    scope_root: uuid.UUID | None,
) -> set[uuid.UUID]:
    """Which of these customers the caller reaches (own; owned in their subtree; any), of those
    still with the bank (a closed customer is sent nothing)."""
    if owner_id is not None:
        rows = await conn.fetch(
            "select id from customers where owner_id = $1 and id = any($2::uuid[])"
            " and closed_at is null",
            owner_id,
            customer_ids,
        )
    elif scope_root is not None:
        rows = await conn.fetch(
            """select c.id from customers c
                where c.id = any($2::uuid[]) and c.closed_at is null
                  and c.owner_id = any(array(select u.id from subtree_users($1) u(id)))""",
            scope_root,
            customer_ids,
        )
    else:
        rows = await conn.fetch(
            "select id from customers where id = any($1::uuid[]) and closed_at is null",
            customer_ids,
        )
    return {r["id"] for r in rows}


async def customers_by_external_id(
    conn: Connection, external_ids: list[str], *, scope_root: uuid.UUID | None
) -> dict[str, uuid.UUID]:
    """external id -> id of these customers the caller reaches (owned in the subtree; any)."""
    rows = await conn.fetch(
        """select c.external_id, c.id from customers c
            where c.external_id = any($1::text[]) and c.closed_at is null
              and ($2::uuid is null
                   or c.owner_id = any(array(select u.id from subtree_users($2) u(id))))""",
        external_ids,
        scope_root,
    )
    return {r["external_id"]: r["id"] for r in rows}


async def users_in_scope(
    conn: Connection, user_ids: list[uuid.UUID], *, scope_root: uuid.UUID | None
) -> set[uuid.UUID]:
    """Which of these active staff members are in the caller's subtree (any, for an admin)."""
    rows = await conn.fetch(
        """select u.id from users u
            where u.id = any($1::uuid[]) and u.active
              and ($2::uuid is null
                   or u.org_unit_id = any(array(select s.id from org_subtree($2) s(id))))""",
        user_ids,
        scope_root,
    )
    return {r["id"] for r in rows}


async def unit_in_scope(
    conn: Connection, unit_id: uuid.UUID, *, scope_root: uuid.UUID | None
) -> bool:
    return bool(
        await conn.fetchval(
            """select exists (select from org_units o where o.id = $1
                 and ($2::uuid is null or o.id in (select s.id from org_subtree($2) s(id))))""",
            unit_id,
            scope_root,
        )
    )


async def unit_name_in_scope(
    conn: Connection, unit_id: uuid.UUID, *, scope_root: uuid.UUID | None
) -> str | None:
    """The unit's name if it is in the caller's subtree (None: out of reach, or no such unit)."""
    name: str | None = await conn.fetchval(
        """select o.name from org_units o where o.id = $1
             and ($2::uuid is null or o.id in (select s.id from org_subtree($2) s(id)))""",
        unit_id,
        scope_root,
    )
    return name


async def units_in_scope(conn: Connection, *, scope_root: uuid.UUID | None) -> list[Record]:
    """The org units a caller may send to (their subtree), in tree order, for the console."""
    return await conn.fetch(
        """select o.id, o.name, o.path from org_units o
            where $1::uuid is null or o.id in (select s.id from org_subtree($1) s(id))
            order by o.path""",
        scope_root,
    )


async def any_customers(conn: Connection, unit_id: uuid.UUID, *, tag: str | None) -> bool:
    """Whether a selection (a unit's customers, those with `tag` if given) holds anyone: the
    customers `next_recipients` would walk through."""
    return bool(
        await conn.fetchval(
            """select exists (select from customers c
                where c.owner_id = any(array(select u.id from subtree_users($1) u(id)))
                  and c.closed_at is null
                  and ($2::text is null or c.tags @> array[$2::text]))""",
            unit_id,
            tag,
        )
    )


async def staff_of_subtree(conn: Connection, unit_id: uuid.UUID) -> list[uuid.UUID]:
    """The active staff members of a unit's subtree (a staff survey sent to a unit)."""
    rows = await conn.fetch(
        """select u.id from users u
            where u.active and u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
            order by u.id""",
        unit_id,
    )
    return [r["id"] for r in rows]

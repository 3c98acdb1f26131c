"""Identity SQL: the org tree: a unit read, created, renamed and re-hung with its subtree, the
units a caller's scope reaches, and the lock that serializes setting up the head office."""

from __future__ import annotations

import uuid

from workbench.db import Connection
from workbench.identity.queries._common import Record, _returned


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

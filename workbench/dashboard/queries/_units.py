"""Dashboard SQL: the unit a view shows (in the caller's scope), its child units (and whether
they are teams), and the marker that shows a view's statements ran in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.dashboard.queries._common import Record
from workbench.db import Connection


async def unit_in_scope(
    conn: Connection, unit_id: uuid.UUID | None, scope_root: uuid.UUID | None
) -> Record | None:
    """(id, name) of the unit if it lies in the subtree of `scope_root` (None: anywhere);
    without `unit_id`, `scope_root` itself, or the bank's root unit."""
    return await conn.fetchrow(
        """
        select u.id, u.name
          from org_units u
         where case when $1::uuid is not null then u.id = $1
                    when $2::uuid is not null then u.id = $2
                    else u.parent_id is null end
           and ($2::uuid is null or u.id in (select s.id from org_subtree($2::uuid) s(id)))
        """,
        unit_id,
        scope_root,
    )


async def transaction_marker(conn: Connection) -> tuple[int, datetime]:
    """(backend pid, transaction start): the same for every statement of one transaction."""
    row = await conn.fetchrow("select pg_backend_pid() as pid, now() as started")
    assert row is not None
    return row["pid"], row["started"]


async def children(conn: Connection, parent_id: uuid.UUID) -> list[Record]:
    """The child units (id, name, path) of a unit, by name."""
    return await conn.fetch(
        "select id, name, path from org_units where parent_id = $1 order by name, id", parent_id
    )


async def children_are_teams(conn: Connection, parent_id: uuid.UUID) -> bool:
    """Whether every child unit of a unit is a team: none has units below it, and no branch
    head works in it (a branch, as the monthly reports tell one)."""
    found = await conn.fetchval(
        """
        select not exists (
            select from org_units c
             where c.parent_id = $1
               and (exists (select from org_units g where g.parent_id = c.id)
                    or exists (select from users u
                                where u.org_unit_id = c.id and u.role = 'branch_head')))
        """,
        parent_id,
    )
    return bool(found)

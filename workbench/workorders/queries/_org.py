"""Work-order SQL: the org tree: whom to assign to and escalate to."""

from __future__ import annotations

import uuid

from workbench.db import Connection

# The nearest active branch head at or above a unit, other than one user: the deepest unit on
# the path from the root that has one (as task overdue escalation finds it, push/queries).
_NEAREST_HEAD = """
    select h.id
      from org_units u
      join org_units hu on u.path >= hu.path and u.path < hu.path || '~'
      join users h on h.org_unit_id = hu.id and h.role = 'branch_head' and h.active
     where u.id = $1 and h.id is distinct from $2 {extra}
     order by hu.depth desc, h.created_at, h.id
     limit 1
"""


async def nearest_branch_head(
    conn: Connection, unit_id: uuid.UUID, *, other_than: uuid.UUID | None = None
) -> uuid.UUID | None:
    """The nearest active branch head at or above the unit (not `other_than`), or None."""
    found: uuid.UUID | None = await conn.fetchval(
        _NEAREST_HEAD.format(extra=""), unit_id, other_than
    )
    return found


async def escalation_head(
    conn: Connection, unit_id: uuid.UUID, *, tier: int, other_than: uuid.UUID | None = None
) -> uuid.UUID | None:
    """The active branch head of the `tier`-th level of branch heads over a unit, counted from
    the unit up (1: the nearest at or above it; 2: the nearest above those), not `other_than`,
    or None. Each reads the unit's work orders: a branch head reads their subtree's, and the
    unit is in the subtree of every unit on its path (`_scope`)."""
    found: uuid.UUID | None = await conn.fetchval(
        """
        select t.id
          from (select h.id, h.created_at, dense_rank() over (order by hu.depth desc) as tier
                  from org_units u
                  join org_units hu on u.path >= hu.path and u.path < hu.path || '~'
                  join users h on h.org_unit_id = hu.id and h.role = 'branch_head' and h.active
                 where u.id = $1 and h.id is distinct from $2) t
         where t.tier = $3
         order by t.created_at, t.id
         limit 1
        """,
        unit_id,
        other_than,
        tier,
    )
    return found


async def user_unit(conn: Connection, user_id: uuid.UUID) -> uuid.UUID | None:
    unit: uuid.UUID | None = await conn.fetchval(
        "select org_unit_id from users where id = $1 and active", user_id
    )
    return unit


async def unit_visible(conn: Connection, unit_id: uuid.UUID, scope_root: uuid.UUID | None) -> bool:
    """Whether the unit exists in the subtree of `scope_root` (None: anywhere in the bank)."""
    return bool(
        await conn.fetchval(
            """
            select exists (
                select from org_units u
                 where u.id = $1
                   and ($2::uuid is null
                        or u.id in (select s.id from org_subtree($2::uuid) s(id))))
            """,
            unit_id,
            scope_root,
        )
    )

"""Work-order SQL: root causes."""

from __future__ import annotations

import uuid

from workbench.db import Connection
from workbench.workorders.queries._common import Record


async def root_causes(
    conn: Connection,
    *,
    active_only: bool,
    after: tuple[int, str] | None = None,
    limit: int | None = None,
) -> list[Record]:
    """The causes in the bank's order, by (position, code): those after the key `after`, at
    most `limit` (None: all), each with its position."""
    return await conn.fetch(
        """
        select code, label, active, position from work_order_root_causes
         where (active or not $1)
           and ($2::int is null or (position, code) > ($2::int, $3::text))
         order by position, code
         limit $4
        """,
        active_only,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


async def root_cause(conn: Connection, code: str) -> Record | None:
    return await conn.fetchrow(
        "select code, label, active from work_order_root_causes where code = $1", code
    )


async def upsert_root_cause(conn: Connection, *, code: str, label: str, active: bool) -> Record:
    row = await conn.fetchrow(
        """
        insert into work_order_root_causes (code, label, active, position)
        values ($1, $2, $3, (select coalesce(max(position), 0) + 10 from work_order_root_causes))
        on conflict (code) do update
           set label = excluded.label, active = excluded.active, updated_at = now()
        returning code, label, active
        """,
        code,
        label,
        active,
    )
    assert row is not None
    return row


async def insert_root_cause(
    conn: Connection, *, code: str, label: str, active: bool
) -> Record | None:
    """A new root cause; None when one has that code already (it is left as it is)."""
    return await conn.fetchrow(
        """
        insert into work_order_root_causes (code, label, active, position)
        values ($1, $2, $3, (select coalesce(max(position), 0) + 10 from work_order_root_causes))
        on conflict (code) do nothing
        returning code, label, active
        """,
        code,
        label,
        active,
    )


async def work_orders_of_rule(conn: Connection, rule_id: uuid.UUID) -> list[Record]:
    """A rule's work orders, oldest first, with their assignee's role and unit (the demo)."""
    return await conn.fetch(
        """
        select w.id, w.created_at, w.assignee_id, a.role, a.org_unit_id
          from work_orders w
          join users a on a.id = w.assignee_id
         where w.rule_id = $1
         order by w.created_at, w.id
        """,
        rule_id,
    )

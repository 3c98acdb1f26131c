"""SQL of task templates and their versions."""

from __future__ import annotations

import uuid
from typing import Any

from workbench.db import Connection
from workbench.tasks.queries._common import _VERSION, Record, sees_template

__all__ = [
    "any_template",
    "bump_version",
    "insert_template",
    "insert_version",
    "sample_customers",
    "template_editable",
    "template_version",
    "template_visible",
    "templates_visible_to",
    "unit_not_seeing_template",
]


async def insert_template(
    conn: Connection, *, template_id: uuid.UUID, owner_unit_id: uuid.UUID, created_by: uuid.UUID
) -> None:
    await conn.execute(
        "insert into task_templates (id, owner_unit_id, created_by) values ($1, $2, $3)",
        template_id,
        owner_unit_id,
        created_by,
    )


async def insert_version(
    conn: Connection, *, template_id: uuid.UUID, version: int, fields: dict[str, Any]
) -> None:
    await conn.execute(
        """
        insert into task_template_versions
               (template_id, version, name, form, requires_customer_confirmation, sla_hours,
                reminders, recurrence, created_by)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        template_id,
        version,
        fields["name"],
        fields["form"],
        fields["requires_customer_confirmation"],
        fields["sla_hours"],
        fields["reminders"],
        fields["recurrence"],
        fields["created_by"],
    )


async def bump_version(conn: Connection, template_id: uuid.UUID) -> int:
    version: int = await conn.fetchval(
        """
        update task_templates set current_version = current_version + 1, updated_at = now()
         where id = $1 returning current_version
        """,
        template_id,
    )
    return version


async def template_version(
    conn: Connection, template_id: uuid.UUID, version: int | None = None
) -> Record | None:
    """A version of a template (the current one by default)."""
    return await conn.fetchrow(
        f"""
        select {_VERSION} from task_templates tt
          join task_template_versions v
            on v.template_id = tt.id and v.version = coalesce($2, tt.current_version)
         where tt.id = $1
        """,
        template_id,
        version,
    )


async def templates_visible_to(
    conn: Connection,
    *,
    org_unit_id: uuid.UUID,
    everything: bool,
    after: tuple[str, uuid.UUID] | None = None,
    limit: int | None = None,
) -> list[Record]:
    """Current versions of templates owned on the caller's path to the root or below them, by
    name then id: those after the key `after` (name, id), at most `limit` (None: all)."""
    return await conn.fetch(
        f"""
        select {_VERSION} from task_templates tt
          join task_template_versions v
            on v.template_id = tt.id and v.version = tt.current_version
          join org_units owner on owner.id = tt.owner_unit_id
          join org_units me on me.id = $1
         where ($2 or {sees_template("me", "owner")})
           and ($3::text is null or (v.name, tt.id) > ($3::text, $4::uuid))
         order by v.name, tt.id
         limit $5
        """,
        org_unit_id,
        everything,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


async def template_visible(
    conn: Connection, template_id: uuid.UUID, *, org_unit_id: uuid.UUID, everything: bool
) -> bool:
    return bool(
        await conn.fetchval(
            f"""
            select exists (
                select 1 from task_templates tt
                  join org_units owner on owner.id = tt.owner_unit_id
                  join org_units me on me.id = $2
                 where tt.id = $1 and ($3 or {sees_template("me", "owner")}))
            """,
            template_id,
            org_unit_id,
            everything,
        )
    )


async def unit_not_seeing_template(
    conn: Connection,
    template_id: uuid.UUID,
    *,
    root: uuid.UUID | None = None,
    customer_ids: list[uuid.UUID] | None = None,
    scope_root: uuid.UUID | None = None,
) -> Record | None:
    """An org unit a dispatch would reach that does not see the template (None: all of them
    do): with `root`, any unit of its subtree (its RMs, today's and later ones); with
    `customer_ids`, the unit of any active RM owning one of them within `scope_root`'s subtree
    (the RMs a customer-list dispatch gives tasks to)."""
    return await conn.fetchrow(
        f"""
        with reached as (
            select s.id from org_subtree($2) s(id) where $2::uuid is not null
            union
            select u.org_unit_id from customers c
              join users u on u.id = c.owner_id and u.role = 'rm' and u.active
             where c.id = any($3::uuid[])
               and ($4::uuid is null
                    or u.org_unit_id = any(array(select s.id from org_subtree($4) s(id))))
        )
        select me.id, me.name from reached r
          join org_units me on me.id = r.id
          join task_templates tt on tt.id = $1
          join org_units owner on owner.id = tt.owner_unit_id
         where not {sees_template("me", "owner")}
         order by me.path
         limit 1
        """,
        template_id,
        root,
        customer_ids or [],
        scope_root,
    )


async def template_editable(
    conn: Connection, template_id: uuid.UUID, *, scope_root: uuid.UUID | None
) -> bool:
    """Admins edit any template; branch heads those owned inside their subtree."""
    return bool(
        await conn.fetchval(
            """
            select exists (select 1 from task_templates
                            where id = $1
                              and ($2::uuid is null
                                   or owner_unit_id in (select s.id from org_subtree($2) s(id))))
            """,
            template_id,
            scope_root,
        )
    )


async def any_template(conn: Connection) -> bool:
    return bool(await conn.fetchval("select exists (select 1 from task_templates)"))


async def sample_customers(conn: Connection, *, per_owner: int) -> list[uuid.UUID]:
    """The richest customers of every RM (the demo bank's campaign targets)."""
    rows = await conn.fetch(
        """
        select id from (
            select id, row_number() over (partition by owner_id order by aum desc, id) as n
              from customers) ranked
         where n <= $1 order by id
        """,
        per_owner,
    )
    return [r["id"] for r in rows]

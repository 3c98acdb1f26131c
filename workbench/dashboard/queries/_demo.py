"""Dashboard SQL: the demo bank's task history (workbench.dashboard.demo): whether it is
there, the template and RMs it is made for, and its tasks inserted in one statement."""

from __future__ import annotations

import uuid

from workbench.dashboard.queries._common import Record
from workbench.db import Connection


async def demo_history_exists(conn: Connection, first_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("select exists (select from tasks where id = $1)", first_id))


async def demo_template(conn: Connection, name: str) -> Record | None:
    """(template_id, version) of the oldest template of this name, at its newest version."""
    return await conn.fetchrow(
        """
        select v.template_id, max(v.version) as version
          from task_template_versions v
          join task_templates t on t.id = v.template_id
         where v.name = $1
         group by v.template_id, t.created_at
         order by t.created_at, v.template_id
         limit 1
        """,
        name,
    )


async def demo_rms(conn: Connection, logins: list[str]) -> list[Record]:
    """(id, login, customers) of the demo bank's active RMs (`logins`): their demo customers'
    ids, in order. Only those: an RM an admin added is nobody's demo."""
    return await conn.fetch(
        """
        select u.id, u.login,
               coalesce(array(select c.id from customers c
                               where c.owner_id = u.id and c.external_id like 'DEMO-%'
                               order by c.external_id limit 40), '{}') as customers
          from users u
         where u.role = 'rm' and u.active and u.login = any($1::text[])
         order by u.login
        """,
        logins,
    )


DEMO_TASK_COLUMNS = (
    "id", "template_id", "template_version", "assignee_id", "customer_id", "title", "status",
    "due_at", "form_values", "started_at", "submitted_at", "done_at", "cancelled_at",
    "expired_at", "cancel_reason", "created_at", "updated_at",
)  # fmt: skip


async def insert_demo_tasks(conn: Connection, rows: list[tuple[object, ...]]) -> int:
    """Insert tasks (DEMO_TASK_COLUMNS) in one statement; how many were new."""
    columns = ", ".join(DEMO_TASK_COLUMNS)
    status = await conn.execute(
        f"""
        insert into tasks ({columns})
        select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::uuid[],
                             $6::text[], $7::text[], $8::timestamptz[], $9::jsonb[],
                             $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
                             $13::timestamptz[], $14::timestamptz[], $15::text[],
                             $16::timestamptz[], $17::timestamptz[])
        on conflict (id) do nothing
        """,
        *(list(column) for column in zip(*rows, strict=True)),
    )
    return int(status.split()[-1])

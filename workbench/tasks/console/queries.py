"""SQL of the team-task console page: a branch head's open tasks of their subtree, filtered and
paged, with what the page shows of each (the RM, the customer if the head may see them), and the
subtree's RMs to filter by and hand tasks to."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record


async def open_tasks(
    conn: Connection, *, root: uuid.UUID, rm_id: uuid.UUID | None, overdue_at: datetime | None,
    after: tuple[datetime | None, uuid.UUID] | None, limit: int,
) -> list[Record]:  # fmt: skip
    """Open tasks of the users of `root`'s subtree, soonest due first (overdue ones are the
    earliest; no due time last), as the inbox orders them: the task, its RM (name, active) and
    its customer's encrypted name when the head may see that customer (owned in the subtree).
    `after`: the (due time, id) of the last task of the page before (a due time of None: the
    tasks without one)."""
    return await conn.fetch(
        """
        select t.id, t.title, t.status, t.due_at, t.assignee_id, t.customer_id,
               t.due_at < now() as overdue,
               u.name as assignee, u.active as assignee_active,
               c.external_id, c.name_enc, c.owner_id as customer_owner,
               c.owner_id = any(array(select s.id from subtree_users($1) s(id))) as customer_shown
          from tasks t
          join users u on u.id = t.assignee_id
          left join customers c on c.id = t.customer_id
         where t.assignee_id = any(array(select s.id from subtree_users($1) s(id)))
           and t.status in ('pending', 'in_progress', 'submitted', 'awaiting_confirmation')
           and ($2::uuid is null or t.assignee_id = $2)
           and ($3::timestamptz is null or t.due_at < $3)
           and ($5::uuid is null
                or case when $4::timestamptz is null then t.due_at is null and t.id > $5
                        else (coalesce(t.due_at, 'infinity'), t.id) > ($4, $5) end)
         order by coalesce(t.due_at, 'infinity'), t.id
         limit $6
        """,
        root, rm_id, overdue_at,
        after[0] if after else None, after[1] if after else None, limit,
    )  # fmt: skip


async def team_rms(conn: Connection, root: uuid.UUID) -> list[Record]:
    """The RMs of `root`'s subtree, disabled ones too, by name: (id, name, active)."""
    return await conn.fetch(
        """
        select u.id, u.name, u.active
          from users u
         where u.role = 'rm'
           and u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
         order by u.name, u.id
        """,
        root,
    )

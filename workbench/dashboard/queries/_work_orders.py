"""Dashboard SQL: the subtree's unresolved work orders, counted per assignee and listed
overdue first (with whether the reader may see each one's customer)."""

from __future__ import annotations

import uuid

from workbench.dashboard.queries._common import OPEN_WORK_ORDER, Record
from workbench.db import Connection
from workbench.sql import Where
from workbench.workorders.queries import customer_shown


async def work_order_counts(conn: Connection, *, root: uuid.UUID) -> list[Record]:
    """(assignee_id, open, overdue) of the subtree's unresolved work orders now."""
    return await conn.fetch(
        f"""
        select w.assignee_id, count(*) as open, count(*) filter (where w.due_at < now()) as overdue
          from work_orders w
         where w.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
           and w.state in {OPEN_WORK_ORDER}
         group by w.assignee_id
        """,
        root,
    )


async def open_work_orders(
    conn: Connection,
    *,
    root: uuid.UUID,
    rm_id: uuid.UUID | None,
    limit: int | None,
    user_id: uuid.UUID,
    scope_root: uuid.UUID | None,
    all_: bool,
) -> list[Record]:
    """The subtree's unresolved work orders (or one assignee's), overdue first, then by due
    time, each with `customer_shown`: whether the reader (`user_id`, `scope_root`, `all_`, as
    the work-order service scopes them) may see its customer, by the work orders' own rule."""
    where = Where()
    where.add("w.org_unit_id = any(array(select s.id from org_subtree({}) s(id)))", root)
    where.add(f"w.state in {OPEN_WORK_ORDER}")
    where.when(rm_id, "w.assignee_id = {}")
    shown = customer_shown(where, user_id=user_id, scope_root=scope_root, all_=all_)
    return await conn.fetch(
        f"""
        select w.id, w.state, w.created_at, w.due_at, w.due_at < now() as overdue,
               w.assignee_id, a.name as assignee_name, w.customer_id, c.external_id, c.name_enc,
               v.title as survey_title, {shown}
          from work_orders w
          -- the title of the version answered, never the draft's (an author may be renaming it)
          join survey_responses r on r.id = w.response_id
          join survey_versions v on v.survey_id = r.survey_id and v.version = r.version
          join users a on a.id = w.assignee_id
          left join customers c on c.id = w.customer_id
         where {where.sql}
         order by w.due_at < now() desc, w.due_at, w.id
         limit {where.param(limit)}
        """,
        *where.args,
    )

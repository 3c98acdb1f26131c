"""Dashboard SQL: one RM of the subtree: found in it, their tasks (newest first, or a page
oldest first after a keyset, as the exports read them), the subtree's RMs, and the RM's
shares with their visitors' counts and conversions."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.dashboard.queries._common import _RMS, OPEN_TASK, Record
from workbench.db import Connection
from workbench.shares.queries import VISITOR_COUNTS


async def rm_in_subtree(conn: Connection, *, root: uuid.UUID, rm_id: uuid.UUID) -> Record | None:
    """(id, name, org_unit_id, unit_name) of the RM if they work in the subtree."""
    return await conn.fetchrow(
        """
        select u.id, u.name, u.org_unit_id, o.name as unit_name
          from users u
          join org_units o on o.id = u.org_unit_id
         where u.id = $2 and u.role = 'rm'
           and u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
        """,
        root,
        rm_id,
    )


_TASK_ROW = f"""
    select t.id, t.title, t.status, t.customer_id, c.external_id, c.name_enc, t.created_at,
           t.due_at, t.done_at, t.cancel_reason,
           t.status in {OPEN_TASK} and coalesce(t.due_at, 'infinity') < now() as overdue,
           a.name as assignee_name
      from tasks t
      join users a on a.id = t.assignee_id
      left join customers c
        on c.id = t.customer_id
       and c.owner_id = any(array(select u.id from subtree_users($1) u(id)))
"""


async def rm_tasks(
    conn: Connection,
    *,
    root: uuid.UUID,
    rm_id: uuid.UUID,
    start: datetime,
    end: datetime,
    limit: int,
) -> list[Record]:
    """The RM's tasks created in [start, end), newest first (the customer only while the
    subtree sees them)."""
    return await conn.fetch(
        f"""
        {_TASK_ROW}
         where t.assignee_id = $2 and t.created_at >= $3 and t.created_at < $4
         order by t.created_at desc, t.id desc
         limit $5
        """,
        root,
        rm_id,
        start,
        end,
        limit,
    )


async def tasks_page(
    conn: Connection,
    *,
    root: uuid.UUID,
    rm_id: uuid.UUID,
    start: datetime,
    end: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """A page of the RM's tasks created in [start, end), oldest first, after a keyset."""
    after_at, after_id = after or (start, uuid.UUID(int=0))
    return await conn.fetch(
        f"""
        {_TASK_ROW}
         where t.assignee_id = $2 and t.created_at >= $3 and t.created_at < $4
           and (t.created_at, t.id) > ($5, $6)
         order by t.created_at, t.id
         limit $7
        """,
        root,
        rm_id,
        start,
        end,
        after_at,
        after_id if after else uuid.UUID(int=0),
        limit,
    )


async def rm_ids(conn: Connection, *, root: uuid.UUID) -> list[Record]:
    """(id, name) of the subtree's RMs, by name."""
    return await conn.fetch(f"{_RMS} order by u.name, u.id", root)


async def rm_shares(
    conn: Connection,
    *,
    root: uuid.UUID,
    rm_id: uuid.UUID,
    start: datetime,
    end: datetime,
    limit: int,
) -> list[Record]:
    """The RM's shares made from a unit of the subtree (a share counts for the unit it was made
    in, as the funnel counts it: those of an RM's earlier branch stay there) in [start, end),
    newest first, with their visitors' counts (as GET /shares counts them) and conversions."""
    return await conn.fetch(
        f"""
        with page as (
            select s.id, s.brochure_id, s.brochure_version, s.customer_id, s.channel,
                   s.created_at
              from shares s
             where s.rm_id = $2 and s.created_at >= $3 and s.created_at < $4
               and s.org_unit_id = any(array(select t.id from org_subtree($1) t(id)))
             order by s.created_at desc, s.id desc
             limit $5
        ), {VISITOR_COUNTS}
        select p.*, v.title, c.external_id, c.name_enc,
               coalesce(n.opens, 0) as opens, coalesce(n.dwell_ms, 0) as dwell_ms,
               coalesce(n.clicks, 0) as clicks, coalesce(f.conversions, 0) as conversions
          from page p
          join brochure_versions v on v.brochure_id = p.brochure_id
                                  and v.version = p.brochure_version
          left join customers c
            on c.id = p.customer_id
           and c.owner_id = any(array(select u.id from subtree_users($1) u(id)))
          left join counts n on n.share_id = p.id
          left join share_funnel f on f.share_id = p.id
         order by p.created_at desc, p.id desc
        """,
        root,
        rm_id,
        start,
        end,
        limit,
    )

"""SQL of dispatches: set-based creation of tasks with their reminders, and series."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from workbench.db import Connection
from workbench.tasks.queries._common import Record

__all__ = [
    "claim_dispatch",
    "dispatch_by_key",
    "finish_dispatch",
    "insert_next_period",
    "insert_tasks_for_customers",
    "insert_tasks_for_unit",
    "last_period_before",
    "recurring_dispatch",
    "recurring_dispatches",
]


async def claim_dispatch(conn: Connection, *, fields: dict[str, Any]) -> Record | None:
    """Record the dispatch; None if this caller already used the idempotency key."""
    return await conn.fetchrow(
        """
        insert into dispatches (id, template_id, template_version, title, due_at, org_unit_id,
                                per_rm_cap, recurring, anchor, created_by, idempotency_key,
                                request_hash, created, skipped)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, 0)
        on conflict (created_by, idempotency_key) do nothing
        returning id
        """,
        *fields.values(),
    )


async def dispatch_by_key(conn: Connection, *, created_by: uuid.UUID, key: str) -> Record | None:
    return await conn.fetchrow(
        """
        select id, request_hash, created, skipped, not_found from dispatches
         where created_by = $1 and idempotency_key = $2
        """,
        created_by,
        key,
    )


async def finish_dispatch(
    conn: Connection, dispatch_id: uuid.UUID, *, created: int, skipped: int, not_found: int
) -> None:
    await conn.execute(
        "update dispatches set created = $2, skipped = $3, not_found = $4 where id = $1",
        dispatch_id,
        created,
        skipped,
        not_found,
    )


_INSERT_TASKS_AND_REMINDERS = """
    , created as (
        insert into tasks (id, template_id, template_version, dispatch_id, assignee_id,
                           customer_id, title, due_at, expires_at, period_start)
        select uuid7(), $2, $3, $4, a.assignee_id, a.customer_id, $5, $6, $7, $8 from assigned a
        on conflict do nothing
        returning id, assignee_id, due_at
    ), reminders as (
        insert into task_reminders (task_id, user_id, kind, offset_minutes, send_at)
        select c.id, c.assignee_id,
               case when m.minutes = 0 then 'at_due' else 'before_due' end, m.minutes,
               c.due_at - make_interval(mins => m.minutes)
          from created c
         cross join (select distinct unnest($9::int[] || 0) as minutes) m
         where c.due_at - make_interval(mins => m.minutes) > now()  -- none already in the past
        on conflict do nothing
    )
    select count(*) from created
"""


async def insert_tasks_for_unit(conn: Connection, *, root: uuid.UUID, task: dict[str, Any]) -> int:
    """One task per active RM of the subtree of `root`, with its reminders: one statement."""
    created: int = await conn.fetchval(
        """
        with assigned as (
            select u.id as assignee_id, null::uuid as customer_id from users u
             where u.role = 'rm' and u.active
               and u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
        )"""
        + _INSERT_TASKS_AND_REMINDERS,
        root,
        *task.values(),
    )
    return created


async def insert_tasks_for_customers(
    conn: Connection,
    *,
    scope_root: uuid.UUID | None,
    customer_ids: list[uuid.UUID],
    per_rm_cap: int | None,
    task: dict[str, Any],
) -> tuple[int, int]:
    """One task per customer for its owner (owners inside the scope), at most `per_rm_cap` per
    RM in the order given; one statement. Returns (created, customers found)."""
    # Its sorts of up to 50,000 ids fit in memory rather than spilling to disk.
    await conn.execute("set local work_mem = '64MB'")
    row = await conn.fetchrow(
        """
        with wanted as (
            select c.id as customer_id, c.owner_id, w.ord
              from unnest($10::uuid[]) with ordinality as w(customer_id, ord)
              join customers c on c.id = w.customer_id
              join users u on u.id = c.owner_id and u.role = 'rm' and u.active
             where $1::uuid is null
                or u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
        ), ranked as (
            select customer_id, owner_id,
                   row_number() over (partition by owner_id order by ord) as n
              from (select distinct on (customer_id) * from wanted order by customer_id, ord) d
        ), assigned as (
            select owner_id as assignee_id, customer_id from ranked
             where $11::int is null or n <= $11
        )"""
        + _INSERT_TASKS_AND_REMINDERS.replace(
            "select count(*) from created",
            "select (select count(*) from created) as created,"
            " (select count(*) from ranked) as found",
        ),
        scope_root,
        *task.values(),
        customer_ids,
        per_rm_cap,
    )
    assert row is not None
    return int(row["created"]), int(row["found"])


async def insert_next_period(
    conn: Connection,
    *,
    dispatch_id: uuid.UUID,
    previous_start: datetime,
    task: dict[str, Any],
    only_assignee: uuid.UUID | None = None,
) -> int:
    """The next period's tasks of a recurring dispatch, for today's people: the active RMs of
    the dispatch's unit subtree, or each customer's current owner. `only_assignee` limits it to
    one RM (their task of the previous period was just done)."""
    created: int = await conn.fetchval(
        """
        with series as (select org_unit_id from dispatches where id = $4),
        assigned as (
            select u.id as assignee_id, null::uuid as customer_id from users u, series s
             where s.org_unit_id is not null and u.role = 'rm' and u.active
               and u.org_unit_id = any(array(select x.id from org_subtree(s.org_unit_id) x(id)))
               and ($10::uuid is null or u.id = $10)
            union
            select distinct c.owner_id, t.customer_id from tasks t
              join customers c on c.id = t.customer_id
              join users u on u.id = c.owner_id and u.active
             where t.dispatch_id = $4 and t.period_start = $1
               and ($10::uuid is null or t.assignee_id = $10)
        )"""
        + _INSERT_TASKS_AND_REMINDERS,
        previous_start,
        *task.values(),
        only_assignee,
    )
    return created


_SERIES = """
    select d.id, d.template_id, d.template_version, d.title, d.anchor, v.recurrence,
           v.reminders, (select max(period_start) from tasks t where t.dispatch_id = d.id)
               as last_period
      from dispatches d
      join task_template_versions v
        on v.template_id = d.template_id and v.version = d.template_version
     where d.recurring
"""


async def recurring_dispatches(conn: Connection) -> list[Record]:
    """Every recurring series, with the start of its latest period."""
    return await conn.fetch(_SERIES)


async def last_period_before(
    conn: Connection, dispatch_id: uuid.UUID, before: datetime
) -> datetime | None:
    """The start of the latest period of a series, before `before`, that has tasks."""
    value: datetime | None = await conn.fetchval(
        "select max(period_start) from tasks where dispatch_id = $1 and period_start < $2",
        dispatch_id,
        before,
    )
    return value


async def recurring_dispatch(conn: Connection, dispatch_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(_SERIES + " and d.id = $1", dispatch_id)

"""SQL of dispatches: set-based creation of tasks with their reminders, series, the list and
the end of a series."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from workbench.db import Connection
from workbench.tasks.queries._common import Record, sees_template

__all__ = [
    "claim_dispatch",
    "dispatch_by_key",
    "dispatch_in_scope",
    "dispatches_in_scope",
    "end_dispatch",
    "finish_dispatch",
    "insert_next_period",
    "insert_tasks_for_customers",
    "insert_tasks_for_unit",
    "last_period_before",
    "period_customers",
    "recurring_dispatch",
    "recurring_dispatches",
]


async def claim_dispatch(conn: Connection, *, fields: dict[str, Any]) -> Record | None:
    """Record the dispatch; None if this caller already used the idempotency key."""
    return await conn.fetchrow(
        """
        insert into dispatches (id, template_id, template_version, title, due_at, org_unit_id,
                                per_rm_cap, recurring, anchor, created_by, idempotency_key,
                                request_hash, scope_unit_id, created, skipped)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, 0)
        on conflict (created_by, idempotency_key) do nothing
        returning id
        """,
        *(fields[name] for name in _CLAIMED),
    )


_CLAIMED = (
    "id", "template_id", "template_version", "title", "due_at", "org_unit_id", "per_rm_cap",
    "recurring", "anchor", "created_by", "idempotency_key", "request_hash", "scope_unit_id",
)  # fmt: skip


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


def reminder_times(due: str, offsets: str) -> str:
    """A lateral subquery of a task's reminders, `(minutes, send_at)`, for its due time `due`
    and the template's `offsets` (minutes before due; at-due, 0, is added): every reminder
    still ahead at its own time; and when the due time is ahead but some before-due times
    have passed already (a task created, or moved, inside its reminder window), the closest of
    those once, now, so the RM hears of the task before it is due (not every passed one, and
    not none). Nothing once the due time has passed."""
    return f"""
        select m.minutes, greatest({due} - make_interval(mins => m.minutes), now()) as send_at
          from (select distinct unnest({offsets} || 0) as minutes) m
         where {due} - make_interval(mins => m.minutes) > now()
            or ({due} > now() and m.minutes = (
                   select min(p.minutes) from unnest({offsets}) as p(minutes)
                    where {due} - make_interval(mins => p.minutes) <= now()))
    """


def _insert_tasks_and_reminders(*, version: str = "$3", reminders: str = "$9::int[]") -> str:
    """The tail of a statement creating the tasks of `assigned` (`a`: assignee_id, customer_id)
    with their reminders; `version`, the template version of a task (an expression over `a`),
    and `reminders`, its offsets (one over the created task `c`, with its template_version)."""
    return f"""
    , created as (
        insert into tasks (id, template_id, template_version, dispatch_id, assignee_id,
                           customer_id, title, due_at, expires_at, period_start)
        select uuid7(), $2, {version}, $4, a.assignee_id, a.customer_id, $5, $6, $7, $8
          from assigned a
        on conflict do nothing
        returning id, assignee_id, due_at, template_version
    ), reminders as (
        insert into task_reminders (task_id, user_id, kind, offset_minutes, send_at)
        select c.id, c.assignee_id,
               case when m.minutes = 0 then 'at_due' else 'before_due' end, m.minutes,
               m.send_at
          from created c
         cross join lateral ({reminder_times("c.due_at", reminders)}) m
        on conflict do nothing
    )
    select count(*) from created
"""


_INSERT_TASKS_AND_REMINDERS = _insert_tasks_and_reminders()


# The active RMs of the subtree of a unit ({}), their rows held (FOR KEY SHARE, in id order)
# until the transaction ends, as `customers.queries.hold_owner_accounts` holds customers' owners.
_HOLD_RMS = """
        select u.id from users u
         where u.role = 'rm' and u.active
           and u.org_unit_id = any(array(select s.id from org_subtree({}) s(id)))
           {}
         order by u.id
           for key share
"""


async def hold_rms_of_unit(conn: Connection, root: uuid.UUID) -> None:
    """Hold the active RMs of the subtree of `root` as they are, before a dispatch to it reads
    them: an admin disabling one, giving them another role or moving them out (FOR UPDATE on
    the user) has committed first, and the dispatch reads them as it left them; or waits for
    the dispatch, and its hand-over then counts their task."""
    await conn.execute(_HOLD_RMS.format("$1", ""), root)


async def hold_rms_of_series(
    conn: Connection, dispatch_id: uuid.UUID, *, only_task: uuid.UUID | None = None
) -> None:
    """`hold_rms_of_unit` for a unit's series before its next period is opened (only the RM
    of `only_task`, when given); nothing for a customer list's."""
    await conn.execute(
        _HOLD_RMS.format(
            "(select d.org_unit_id from dispatches d where d.id = $1)",
            """and ($2::uuid is null
                or u.id = (select t.assignee_id from tasks t
                            where t.id = $2 and t.customer_id is null))""",
        ),
        dispatch_id,
        only_task,
    )


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
) -> tuple[int, int, int]:
    """One task per customer for its owner (owners inside the scope), at most `per_rm_cap` per
    RM in the order given; one statement. Returns (created, customers found with an active RM
    as owner, customers found in the scope: those whose owner is no active RM too, disabled or
    given another role). The caller holds the customers' owners
    (`customers.queries.hold_owners`) and their users (`hold_owner_accounts`), so the owners
    read, and whether each is an active RM, are current."""
    # Its sorts of up to 50,000 ids fit in memory rather than spilling to disk.
    await conn.execute("set local work_mem = '64MB'")
    row = await conn.fetchrow(
        """
        with in_scope as (
            select c.id as customer_id, c.owner_id, w.ord, u.role = 'rm' and u.active as to_rm
              from unnest($10::uuid[]) with ordinality as w(customer_id, ord)
              join customers c on c.id = w.customer_id
              join users u on u.id = c.owner_id
             where $1::uuid is null
                or u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
        ), wanted as (
            select customer_id, owner_id, ord from in_scope where to_rm
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
            " (select count(*) from ranked) as found,"
            " (select count(distinct customer_id) from in_scope) as in_scope",
        ),
        scope_root,
        *task.values(),
        customer_ids,
        per_rm_cap,
    )
    assert row is not None
    return int(row["created"]), int(row["found"]), int(row["in_scope"])


async def period_customers(
    conn: Connection,
    *,
    dispatch_id: uuid.UUID,
    period_start: datetime,
    only_task: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """The customers of a customer list's series in the period starting at `period_start`
    (only `only_task`'s, if given): whose owners its next period's tasks go to."""
    rows = await conn.fetch(
        """
        select distinct customer_id from tasks
         where dispatch_id = $1 and period_start = $2 and customer_id is not null
           and ($3::uuid is null or id = $3)
        """,
        dispatch_id,
        period_start,
        only_task,
    )
    return [r["customer_id"] for r in rows]


async def insert_next_period(
    conn: Connection,
    *,
    dispatch_id: uuid.UUID,
    previous_start: datetime,
    task: dict[str, Any],
    dispatched_version: int,
    dispatched_reminders: list[int],
    only_task: uuid.UUID | None = None,
) -> int:
    """The next period's tasks of a recurring dispatch, for today's people: the active RMs of
    the dispatch's unit subtree, or each customer's current owner when an active RM (an owner
    disabled or given another role gets none). `only_task` (a task of the period starting at
    `previous_start`, just done) limits it to that task's own place in the series: its RM in a
    unit's series, its customer in a customer list's (never the RM's other customers, whose
    tasks of the period may still be open). Nothing once the series has
    ended: its row is locked (FOR SHARE), so an end being committed is waited for and seen.
    A task takes `task`'s version (the template's current one) when its RM's unit sees the
    template, else `dispatched_version` with `dispatched_reminders`. The caller holds the
    customers' owners and their users (`period_customers`, `customers.queries.hold_owners`,
    `hold_owner_accounts`), or a unit's RMs (`hold_rms_of_series`)."""
    created: int = await conn.fetchval(
        f"""
        with series as (
            select org_unit_id from dispatches where id = $4 and ended_at is null for share
        ),
        reached as (
            select u.id as assignee_id, null::uuid as customer_id, u.org_unit_id
              from users u, series s
             where s.org_unit_id is not null and u.role = 'rm' and u.active
               and u.org_unit_id = any(array(select x.id from org_subtree(s.org_unit_id) x(id)))
               and ($10::uuid is null
                    or u.id = (select d.assignee_id from tasks d
                                where d.id = $10 and d.customer_id is null))
            union
            select distinct c.owner_id, t.customer_id, u.org_unit_id from tasks t
              join customers c on c.id = t.customer_id and c.closed_at is null
              join users u on u.id = c.owner_id and u.role = 'rm' and u.active
             where t.dispatch_id = $4 and t.period_start = $1
               and ($10::uuid is null or t.id = $10)
               and exists (select from series)
        ),
        assigned as (
            select r.assignee_id, r.customer_id,
                   case when exists (
                            select from org_units me, task_templates tt
                              join org_units owner on owner.id = tt.owner_unit_id
                             where me.id = r.org_unit_id and tt.id = $2
                               and {sees_template("me", "owner")})
                        then $3::int else $11::int end as template_version
              from reached r
        )"""
        + _insert_tasks_and_reminders(
            version="a.template_version",
            reminders="(case when c.template_version = $3::int then $9::int[] else $12::int[] end)",
        ),
        previous_start,
        *task.values(),
        only_task,
        dispatched_version,
        dispatched_reminders,
    )
    return created


# A running series: its schedule is the rule it was dispatched with (`v`: its anchor lies on
# that rule's grid); a new period's tasks take the template's current version (`cur`) and its
# reminders, or for an RM whose unit does not see the template the version dispatched (`v`).
# Ended series, and those whose template is no longer recurring, open no period.
_SERIES = """
    select d.id, d.template_id, cur.version as template_version, d.title, d.anchor,
           v.recurrence, cur.reminders, v.version as dispatched_version,
           v.reminders as dispatched_reminders,
           (select max(period_start) from tasks t where t.dispatch_id = d.id) as last_period
      from dispatches d
      join task_template_versions v
        on v.template_id = d.template_id and v.version = d.template_version
      join task_templates tt on tt.id = d.template_id
      join task_template_versions cur
        on cur.template_id = tt.id and cur.version = tt.current_version
     where d.recurring and d.ended_at is null and cur.recurrence is not null
"""


async def recurring_dispatches(conn: Connection) -> list[Record]:
    """Every running recurring series, with the start of its latest period."""
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


_SUMMARY = """
    select d.id, d.template_id, cur.name as template_name, d.title, d.org_unit_id, d.recurring,
           v.recurrence, d.created, d.skipped, d.not_found, d.created_by, d.created_at,
           d.ended_at, d.ended_by
      from dispatches d
      join task_template_versions v
        on v.template_id = d.template_id and v.version = d.template_version
      join task_templates tt on tt.id = d.template_id
      join task_template_versions cur
        on cur.template_id = tt.id and cur.version = tt.current_version
"""
# A branch head's: those whose reach (`scope_unit_id`) lies inside their subtree.
_IN_SCOPE = (
    "($1::uuid is null or d.scope_unit_id = any(array(select s.id from org_subtree($1) s(id))))"
)


async def dispatches_in_scope(
    conn: Connection,
    *,
    scope_root: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """Dispatches within the subtree of `scope_root` (None: all), newest first."""
    return await conn.fetch(
        _SUMMARY
        + f"""
         where {_IN_SCOPE}
           and ($2::timestamptz is null or (d.created_at, d.id) < ($2::timestamptz, $3::uuid))
         order by d.created_at desc, d.id desc
         limit $4
        """,
        scope_root,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


async def dispatch_in_scope(
    conn: Connection, dispatch_id: uuid.UUID, *, scope_root: uuid.UUID | None
) -> Record | None:
    return await conn.fetchrow(
        _SUMMARY + f" where {_IN_SCOPE} and d.id = $2", scope_root, dispatch_id
    )


async def end_dispatch(
    conn: Connection, dispatch_id: uuid.UUID, *, ended_by: uuid.UUID
) -> datetime | None:
    """End a recurring series now; None when it was ended already (or is not recurring)."""
    ended: datetime | None = await conn.fetchval(
        """
        update dispatches set ended_at = now(), ended_by = $2
         where id = $1 and recurring and ended_at is null
        returning ended_at
        """,
        dispatch_id,
        ended_by,
    )
    return ended

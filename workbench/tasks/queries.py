"""SQL of the task inbox: templates, dispatches, tasks, attachments, rules, reminders, progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record
OPEN = ("pending", "in_progress", "submitted", "awaiting_confirmation")

_TASK = (
    "t.id, t.title, t.status, t.due_at, t.assignee_id, t.customer_id, t.template_id,"
    " t.template_version, t.dispatch_id, t.period_start, t.form_values, t.started_at,"
    " t.submitted_at, t.done_at, t.cancelled_at, t.created_at, t.updated_at,"
    " t.status in ('pending', 'in_progress', 'submitted', 'awaiting_confirmation')"
    " and t.due_at < now() as overdue"
)
_VERSION = (
    "v.template_id as id, v.version, v.name, v.form, v.requires_customer_confirmation,"
    " v.sla_hours, v.reminders, v.recurrence, tt.owner_unit_id, v.created_at"
)
# The users (RMs) whose tasks a branch head sees: everyone in the subtree of $1.
_SUBTREE_USERS = (
    "array(select u.id from users u"
    " where u.org_unit_id = any(array(select s.id from org_subtree($1) s(id))))"
)


def _assignee_clause(own: bool) -> str:
    """$1 is the RM (own tasks) or the root of a branch head's subtree."""
    return "t.assignee_id = $1" if own else f"t.assignee_id = any({_SUBTREE_USERS})"


# ---- templates -------------------------------------------------------------------------------


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
    conn: Connection, *, org_unit_id: uuid.UUID, everything: bool
) -> list[Record]:
    """Current versions of templates owned on the caller's path to the root or below them."""
    return await conn.fetch(
        f"""
        select {_VERSION} from task_templates tt
          join task_template_versions v
            on v.template_id = tt.id and v.version = tt.current_version
          join org_units owner on owner.id = tt.owner_unit_id
          join org_units me on me.id = $1
         where $2 or me.path like owner.path || '%' or owner.path like me.path || '%'
         order by v.name, tt.id
        """,
        org_unit_id,
        everything,
    )


async def template_visible(
    conn: Connection, template_id: uuid.UUID, *, org_unit_id: uuid.UUID, everything: bool
) -> bool:
    return bool(
        await conn.fetchval(
            """
            select exists (
                select 1 from task_templates tt
                  join org_units owner on owner.id = tt.owner_unit_id
                  join org_units me on me.id = $2
                 where tt.id = $1
                   and ($3 or me.path like owner.path || '%' or owner.path like me.path || '%'))
            """,
            template_id,
            org_unit_id,
            everything,
        )
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


# ---- dispatches ------------------------------------------------------------------------------


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
        insert into task_reminders (id, task_id, user_id, kind, offset_minutes, send_at)
        select uuid7(), c.id, c.assignee_id,
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


# ---- tasks -----------------------------------------------------------------------------------


async def inbox(
    conn: Connection,
    *,
    own: bool,
    who: uuid.UUID,
    statuses: list[str],
    due_after: datetime | None,
    due_before: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """Tasks by due time (overdue ones are the earliest, so they come first); no due time last."""
    return await conn.fetch(
        f"""
        select {_TASK} from tasks t
         where {_assignee_clause(own)}
           and t.status = any($2::text[])
           and ($3::timestamptz is null or t.due_at >= $3)
           and ($4::timestamptz is null or t.due_at < $4)
           and ($5::timestamptz is null
                or (coalesce(t.due_at, 'infinity'), t.id) > ($5, $6::uuid))
         order by coalesce(t.due_at, 'infinity'), t.id
         limit $7
        """,
        who,
        statuses,
        due_after,
        due_before,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


async def task_in_scope(
    conn: Connection, task_id: uuid.UUID, *, own: bool, who: uuid.UUID, lock: bool = False
) -> Record | None:
    return await conn.fetchrow(
        f"""
        select {_TASK} from tasks t
         where t.id = $2 and {_assignee_clause(own)} {"for update of t" if lock else ""}
        """,
        who,
        task_id,
    )


async def task_for_update(conn: Connection, task_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(f"select {_TASK} from tasks t where t.id = $1 for update", task_id)


async def set_status(
    conn: Connection,
    task_id: uuid.UUID,
    *,
    status: str,
    stamp: str | None = None,
    form_values: dict[str, Any] | None = None,
    cancel_reason: str | None = None,
) -> None:
    """Move a task to `status`, stamping the given *_at column with now()."""
    stamps = {"started_at", "submitted_at", "done_at", "cancelled_at", "expired_at"}
    assert stamp is None or stamp in stamps
    stamp_sql = f", {stamp} = now()" if stamp else ""
    await conn.execute(
        f"""
        update tasks set status = $2, updated_at = now(){stamp_sql},
                         form_values = coalesce($3, form_values),
                         cancel_reason = coalesce($4, cancel_reason)
         where id = $1
        """,
        task_id,
        status,
        form_values,
        cancel_reason,
    )


async def cancel_reminders(conn: Connection, task_ids: list[uuid.UUID]) -> None:
    await conn.execute(
        "update task_reminders set status = 'cancelled' where task_id = any($1)"
        " and status = 'pending'",
        task_ids,
    )


async def expire_due(conn: Connection, *, limit: int) -> list[uuid.UUID]:
    """Expire open tasks past their expiry (skipping rows others hold); returns their ids."""
    rows = await conn.fetch(
        """
        update tasks set status = 'expired', expired_at = now(), updated_at = now()
         where id in (select id from tasks
                       where expires_at < now()
                         and status in ('pending', 'in_progress', 'submitted',
                                        'awaiting_confirmation')
                       order by expires_at limit $1 for update skip locked)
        returning id
        """,
        limit,
    )
    return [r["id"] for r in rows]


async def attachments_of(
    conn: Connection, task_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await conn.fetch(
        "select id, kind from task_attachments where task_id = $1 and id = any($2)", task_id, ids
    )
    return {r["id"]: r["kind"] for r in rows}


async def insert_attachment(conn: Connection, *, fields: dict[str, Any]) -> None:
    await conn.execute(
        """
        insert into task_attachments (id, task_id, uploaded_by, kind, content_type, byte_size,
                                      width, height, sha256, data)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        """,
        *fields.values(),
    )


async def attachment(
    conn: Connection, task_id: uuid.UUID, attachment_id: uuid.UUID
) -> Record | None:
    return await conn.fetchrow(
        "select content_type, data from task_attachments where task_id = $1 and id = $2",
        task_id,
        attachment_id,
    )


async def customers_owned_by(
    conn: Connection, owner_id: uuid.UUID, customer_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    rows = await conn.fetch(
        "select id from customers where owner_id = $1 and id = any($2)", owner_id, customer_ids
    )
    return {r["id"] for r in rows}


# ---- team progress ---------------------------------------------------------------------------


async def team_progress(
    conn: Connection, *, root: uuid.UUID, start: datetime, end: datetime
) -> list[Record]:
    """Per RM of the subtree: tasks assigned in [start, end), done, overdue now, median hours."""
    return await conn.fetch(
        """
        with rms as (
            select u.id, u.name, u.org_unit_id from users u
             where u.role = 'rm'
               and u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
        )
        select r.id as rm_id, r.name, r.org_unit_id,
               count(t.id) as assigned,
               count(t.id) filter (where t.status = 'done') as done,
               count(t.id) filter (where t.status in ('pending', 'in_progress', 'submitted',
                                                      'awaiting_confirmation')
                                     and t.due_at < now()) as overdue,
               percentile_cont(0.5) within group (
                   order by extract(epoch from t.done_at - t.created_at) / 3600.0)
                   filter (where t.status = 'done') as median_hours_to_done
          from rms r
          left join tasks t
            on t.assignee_id = r.id and t.created_at >= $2 and t.created_at < $3
         group by r.id, r.name, r.org_unit_id
         order by r.name, r.id
        """,
        root,
        start,
        end,
    )


# ---- event rules -----------------------------------------------------------------------------

_RULE = "id, name, event_kind, field, op, value, template_id, within_days, due_in_hours, active"


async def insert_rule(conn: Connection, *, fields: dict[str, Any]) -> Record:
    row = await conn.fetchrow(
        f"""
        insert into task_rules (id, name, event_kind, field, op, value, template_id,
                                within_days, due_in_hours, created_by)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        returning {_RULE}
        """,
        *fields.values(),
    )
    assert row is not None
    return row


async def rules(conn: Connection) -> list[Record]:
    return await conn.fetch(f"select {_RULE} from task_rules order by created_at, id")


async def active_rules(conn: Connection, kinds: list[str]) -> list[Record]:
    return await conn.fetch(
        f"select {_RULE} from task_rules where active and event_kind = any($1)", kinds
    )


async def customers_with_owner(conn: Connection, external_ids: list[str]) -> dict[str, Record]:
    rows = await conn.fetch(
        """
        select c.external_id, c.id, case when u.active then c.owner_id end as owner_id
          from customers c
          join users u on u.id = c.owner_id
         where c.external_id = any($1)
        """,
        external_ids,
    )
    return {r["external_id"]: r for r in rows}


async def record_events(conn: Connection, *, columns: dict[str, list[Any]]) -> None:
    await conn.execute(
        """
        insert into integration_events (kind, customer_id, occurred_at, data)
        select * from unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::jsonb[])
        """,
        *columns.values(),
    )


async def fire_rules(conn: Connection, *, columns: dict[str, list[Any]]) -> int:
    """Create a task per (rule, customer) unless that rule fired for the customer within its
    window. The firing row is claimed atomically, so concurrent events fire once."""
    created: int = await conn.fetchval(
        """
        with wanted as (
            select distinct on (w.rule_id, w.customer_id) w.*, uuid7() as task_id
              from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[])
                   as w(rule_id, customer_id, owner_id, fired_at)
             order by w.rule_id, w.customer_id, w.fired_at
        ), claimed as (
            insert into task_rule_firings as f (rule_id, customer_id, fired_at, task_id)
            select w.rule_id, w.customer_id, w.fired_at, w.task_id from wanted w
            on conflict (rule_id, customer_id) do update
               set fired_at = excluded.fired_at, task_id = excluded.task_id
             where f.fired_at <= excluded.fired_at - make_interval(days => (
                       select r.within_days from task_rules r where r.id = f.rule_id))
            returning f.rule_id, f.customer_id, f.task_id
        ), created as (
            insert into tasks (id, template_id, template_version, rule_id, assignee_id,
                               customer_id, title, due_at)
            select c.task_id, tt.id, tt.current_version, r.id, w.owner_id, c.customer_id,
                   v.name, now() + make_interval(hours => r.due_in_hours)
              from claimed c
              join wanted w on w.rule_id = c.rule_id and w.customer_id = c.customer_id
              join task_rules r on r.id = c.rule_id
              join task_templates tt on tt.id = r.template_id
              join task_template_versions v
                on v.template_id = tt.id and v.version = tt.current_version
            returning id, rule_id, customer_id, assignee_id, due_at, template_id,
                      template_version
        ), reminders as (
            insert into task_reminders (id, task_id, user_id, kind, offset_minutes, send_at)
            select uuid7(), c.id, c.assignee_id,
                   case when m.minutes = 0 then 'at_due' else 'before_due' end, m.minutes,
                   c.due_at - make_interval(mins => m.minutes)
              from created c
              join task_template_versions v
                on v.template_id = c.template_id and v.version = c.template_version
             cross join lateral (select distinct unnest(v.reminders || 0) as minutes) m
             where c.due_at - make_interval(mins => m.minutes) > now()
            on conflict do nothing
        )
        select count(*) from created
        """,
        *columns.values(),
    )
    return created


# ---- customer confirmations ------------------------------------------------------------------


async def insert_confirmation(conn: Connection, *, fields: dict[str, Any]) -> Record:
    row = await conn.fetchrow(
        """
        insert into task_confirmations (id, task_id, created_by, expires_at, rm_lat, rm_lng)
        values ($1, $2, $3, now() + make_interval(secs => $4), $5, $6)
        returning id, expires_at
        """,
        *fields.values(),
    )
    assert row is not None
    return row


async def confirmation(
    conn: Connection, confirmation_id: uuid.UUID, *, lock: bool = False
) -> Record | None:
    return await conn.fetchrow(
        f"""
        select k.id, k.task_id, k.created_by, k.expires_at, k.used_at, k.rm_lat, k.rm_lng,
               k.expires_at <= now() as expired, t.status as task_status, t.title,
               t.customer_id, t.assignee_id, u.name as rm_name
          from task_confirmations k
          join tasks t on t.id = k.task_id
          join users u on u.id = t.assignee_id
         where k.id = $1 {"for update of k, t" if lock else ""}
        """,
        confirmation_id,
    )


async def use_confirmation(
    conn: Connection,
    confirmation_id: uuid.UUID,
    *,
    customer_lat: float | None,
    customer_lng: float | None,
    distance_m: float | None,
    far_away: bool | None,
) -> None:
    await conn.execute(
        """
        update task_confirmations
           set used_at = now(), customer_lat = $2, customer_lng = $3, distance_m = $4,
               far_away = $5
         where id = $1
        """,
        confirmation_id,
        customer_lat,
        customer_lng,
        distance_m,
        far_away,
    )

"""SQL of tasks: the inbox, transitions, expiry, attachments, team progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from workbench.db import Connection
from workbench.sql import Where
from workbench.tasks.queries._common import _TASK, OPEN, Record, _assignee_clause
from workbench.tasks.queries._dispatches import reminder_times

__all__ = [
    "attachment",
    "attachments_of",
    "cancel_pending_about",
    "cancel_reminders",
    "customers_owned_by",
    "expire_due",
    "hold_user_in_subtree",
    "inbox",
    "insert_attachment",
    "move_reminders",
    "rearm_unsent_reminders",
    "reassign",
    "set_due",
    "set_status",
    "task_for_update",
    "task_in_scope",
]


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
    """Tasks by due time (overdue ones are the earliest, so they come first); no due time last.
    The open statuses are written out, so the partial inbox index applies to every plan."""
    where = Where()
    where.add(_assignee_clause(own).replace("$1", "{}"), who)
    if set(statuses) <= set(OPEN):  # spelled out, so the partial inbox index always applies
        where.add("t.status in ('pending', 'in_progress', 'submitted', 'awaiting_confirmation')")
    if sorted(statuses) != sorted(OPEN):
        where.add("t.status = any({}::text[])", statuses)
    where.when(due_after, "t.due_at >= {}::timestamptz")
    where.when(due_before, "t.due_at < {}::timestamptz")
    if after is not None:
        where.add("(coalesce(t.due_at, 'infinity'), t.id) > ({}::timestamptz, {}::uuid)", *after)
    limit_param = where.param(limit)
    return await conn.fetch(
        f"""
        select {_TASK} from tasks t
         where {where.sql}
         order by coalesce(t.due_at, 'infinity'), t.id
         limit {limit_param}
        """,
        *where.args,
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
    form_values_enc: bytes | None = None,
    cancel_reason: str | None = None,
    at: datetime | None = None,
) -> None:
    """Move a task to `status`, stamping the given *_at column with `at` (when the RM did it,
    offline work; None: now()). `updated_at` is now() either way: the row changes now.
    `form_values_enc`: the submission's answers, encrypted (`tasks.form_values.seal`)."""
    stamps = {"started_at", "submitted_at", "done_at", "cancelled_at", "expired_at"}
    assert stamp is None or stamp in stamps
    assert at is None or stamp is not None
    stamp_sql = f", {stamp} = coalesce($5::timestamptz, now())" if stamp else ""
    args = (task_id, status, form_values_enc, cancel_reason) + ((at,) if stamp else ())
    await conn.execute(
        f"""
        update tasks set status = $2, updated_at = now(){stamp_sql},
                         form_values_enc = coalesce($3::bytea, form_values_enc),
                         cancel_reason = coalesce($4, cancel_reason)
         where id = $1
        """,
        *args,
    )


async def cancel_reminders(conn: Connection, task_ids: list[uuid.UUID]) -> None:
    await conn.execute(
        "update task_reminders set status = 'cancelled' where task_id = any($1)"
        " and status = 'pending'",
        task_ids,
    )


async def hand_over_pending(
    conn: Connection,
    *,
    customer_ids: list[uuid.UUID],
    from_ids: list[uuid.UUID],
    to_ids: list[uuid.UUID],
) -> list[uuid.UUID]:
    """Move the pending tasks about each customer from their former RM to their new one, with
    their reminders not queued yet (those queued but not sent: `rearm_unsent_reminders`); the
    tasks moved. A recurring series' task the new RM already
    has for that customer and period stays where it is (one per RM, customer and period)."""
    rows = await conn.fetch(
        """
        with moves as (
            select * from unnest($1::uuid[], $2::uuid[], $3::uuid[]) m(customer_id, from_id, to_id)
        ), moved as (
            update tasks t set assignee_id = m.to_id, updated_at = now()
              from moves m
             where t.assignee_id = m.from_id and t.customer_id = m.customer_id
               and t.status = 'pending'
               and not (t.period_start is not null and exists (
                   select from tasks o
                    where o.dispatch_id = t.dispatch_id and o.assignee_id = m.to_id
                      and o.customer_id = t.customer_id and o.period_start = t.period_start))
            returning t.id, t.assignee_id
        ), reminders as (
            update task_reminders r set user_id = moved.assignee_id
              from moved
             where r.task_id = moved.id and r.status = 'pending'
        )
        select id from moved
        """,
        customer_ids,
        from_ids,
        to_ids,
    )
    return [r["id"] for r in rows]


async def hold_user_in_subtree(
    conn: Connection, user_id: uuid.UUID, *, root: uuid.UUID
) -> Record | None:
    """The user, if their unit lies in the subtree of `root`, with `active` and `role` as
    committed now, held until the transaction ends, before work is given to them. A shared row
    lock (FOR KEY SHARE, as `hold_rms_of_unit` and `customers.queries.hold_owner_accounts`
    take theirs): an admin disabling them, giving them another role or moving them out (FOR
    UPDATE on the user) has committed first and this reads them as it left them (one moved out
    is not found), or waits for this transaction and then counts the task in their hand-over."""
    return await conn.fetchrow(
        """
        select u.id, u.active, u.role from users u
         where u.id = $1 and u.org_unit_id = any(array(select s.id from org_subtree($2) s(id)))
           for key share of u
        """,
        user_id,
        root,
    )


async def reassign(conn: Connection, task_id: uuid.UUID, *, to_id: uuid.UUID) -> bool:
    """Give an open task to `to_id`, pending again (a started one's start was its former RM's),
    with its reminders not queued yet (those queued but not sent: `rearm_unsent_reminders`).
    False, and nothing changed, for a recurring series' task when `to_id` already has the one of
    its dispatch, customer and period (one per RM, customer and period: the unique index; one
    inserted meanwhile gives the same answer, through the savepoint)."""
    try:
        async with conn.transaction():  # a savepoint: a period taken meanwhile is a clean False
            moved: int = await conn.fetchval(
                """
                with moved as (
                    update tasks t set assignee_id = $2, status = 'pending', started_at = null,
                                       updated_at = now()
                     where t.id = $1
                       and not (t.period_start is not null and exists (
                           select from tasks o
                            where o.dispatch_id = t.dispatch_id and o.assignee_id = $2
                              and o.customer_id is not distinct from t.customer_id
                              and o.period_start = t.period_start))
                    returning t.id
                ), reminders as (
                    update task_reminders r set user_id = $2
                      from moved
                     where r.task_id = moved.id and r.status = 'pending'
                )
                select count(*) from moved
                """,
                task_id,
                to_id,
            )
    except asyncpg.UniqueViolationError:
        return False
    return moved > 0


async def rearm_unsent_reminders(conn: Connection, task_ids: list[uuid.UUID]) -> int:
    """Reminders and escalations of these tasks already queued into the outbox but not sent
    (their notification still pending, neither leased to a push worker nor tried on a device)
    go back to pending for the task's assignee now: the next run of the reminder job queues
    them again, at once if their time has passed. Their notifications are held here until the
    transaction ends, so no push worker sends one before the caller withdraws it
    (`notifications.withdraw_task_reminders`, which must follow in the same transaction); one
    already on its way stays sent, to the former assignee only. The reminders re-armed."""
    if not task_ids:
        return 0
    rearmed: int = await conn.fetchval(
        """
        with unsent as materialized (
            select n.user_id, n.dedupe_key
              from notifications n
             where n.subject_id = any($1::uuid[]) and n.push_status = 'pending'
               and n.category in ('task.reminder', 'task.escalation')
               and (n.lease_until is null or n.lease_until < now())
               and not exists (select from push_attempts a
                                where a.notification_id = n.id
                                  and a.outcome in ('sent', 'sending'))
               for update of n
        ), rearmed as (
            update task_reminders r set status = 'pending', user_id = t.assignee_id
              from tasks t
             where t.id = r.task_id and r.task_id = any($1::uuid[]) and r.status = 'queued'
               and exists (
                   select from unsent u
                    where u.dedupe_key = case
                          when r.kind = 'overdue'
                          then 'escalation:' || r.task_id || ':'
                               || floor(extract(epoch from t.due_at))
                          else 'reminder:' || r.task_id || ':' || r.kind || ':'
                               || r.offset_minutes || ':' || floor(extract(epoch from t.due_at))
                          end
                      -- a reminder was queued for the assignee; an escalation for a head
                      and (r.kind = 'overdue' or u.user_id = r.user_id))
            returning 1
        )
        select count(*) from rearmed
        """,
        task_ids,
    )
    return rearmed


async def move_reminders(
    conn: Connection, task_id: uuid.UUID, *, assignee_id: uuid.UUID, offsets: list[int]
) -> None:
    """The task's due time moved: its unsent reminders go, and every reminder of the template
    is set for the new due time (again, if it was already sent for the old one), except those
    already in the past: of those, the closest is sent now if the new due time is still ahead
    (`reminder_times`)."""
    await conn.execute(
        "delete from task_reminders"
        " where task_id = $1 and (status = 'pending' or kind = 'overdue')",
        task_id,
    )
    await conn.execute(
        f"""
        insert into task_reminders (task_id, user_id, kind, offset_minutes, send_at)
        select t.id, $2, case when m.minutes = 0 then 'at_due' else 'before_due' end, m.minutes,
               m.send_at
          from tasks t
         cross join lateral ({reminder_times("t.due_at", "$3::int[]")}) m
         where t.id = $1
        on conflict (task_id, kind, offset_minutes) do update
           set send_at = excluded.send_at, status = 'pending', user_id = excluded.user_id
        """,
        task_id,
        assignee_id,
        offsets,
    )


async def set_due(conn: Connection, task_id: uuid.UUID, due_at: datetime) -> None:
    """Move the due time (every move of one: the API, the offline sync, a branch head). An
    expiry follows the task's terms, never its earlier moves: as far after the new due time as
    it was issued after its due time, and never earlier than it was issued (so the same due
    time always gives the same expiry, and moving back restores it). The terms are the task's
    times before its first move, which that move keeps (`issued_due_at`, `issued_expires_at`;
    migration 0057). A task without an expiry stays without; one with an expiry but no due
    time before keeps that expiry."""
    await conn.execute(
        """
        update tasks
           set due_at = $2::timestamptz,
               expires_at = greatest(
                   coalesce(issued_expires_at, expires_at),
                   $2::timestamptz + (coalesce(issued_expires_at, expires_at)
                                      - case when issued_expires_at is null then due_at
                                             else issued_due_at end)),
               issued_due_at = case when issued_expires_at is null and expires_at is not null
                                    then due_at else issued_due_at end,
               issued_expires_at = coalesce(issued_expires_at, expires_at),
               updated_at = now()
         where id = $1
        """,
        task_id,
        due_at,
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


async def cancel_pending_about(
    conn: Connection, customer_ids: list[uuid.UUID], *, reason: str
) -> list[uuid.UUID]:
    """Cancel the tasks about these customers not started yet, whoever holds them, with
    `reason`; returns their ids. A task being started meanwhile is waited for and, started,
    left alone."""
    rows = await conn.fetch(
        """
        update tasks set status = 'cancelled', cancelled_at = now(), cancel_reason = $2,
                         updated_at = now()
         where customer_id = any($1::uuid[]) and status = 'pending'
        returning id
        """,
        customer_ids,
        reason,
    )
    return [r["id"] for r in rows]


async def attachments_of(
    conn: Connection, task_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await conn.fetch(
        "select id, kind from task_attachments where task_id = $1 and id = any($2)", task_id, ids
    )
    return {r["id"]: r["kind"] for r in rows}


async def insert_attachment(conn: Connection, *, fields: dict[str, Any]) -> bool:
    """Store an attachment; False (nothing stored) when its uploader already has one under
    its `client_ref` (a retry that raced the first upload)."""
    stored = await conn.fetchval(
        """
        insert into task_attachments (id, task_id, uploaded_by, kind, content_type, byte_size,
                                      width, height, sha256, data, client_ref, source_sha256,
                                      taken_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        on conflict (uploaded_by, client_ref) where client_ref is not null do nothing
        returning true
        """,
        *fields.values(),
    )
    return bool(stored)


async def attachment_by_ref(
    conn: Connection, uploaded_by: uuid.UUID, client_ref: uuid.UUID
) -> Record | None:
    """The attachment its uploader sent under this `client_ref`, without its bytes."""
    return await conn.fetchrow(
        """
        select id, task_id, kind, content_type, width, height, byte_size, sha256, source_sha256,
               taken_at, client_ref
        from task_attachments
        where uploaded_by = $1 and client_ref = $2
        """,
        uploaded_by,
        client_ref,
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

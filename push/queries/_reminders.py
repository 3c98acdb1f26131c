"""SQL that moves due task reminders and escalations into the outbox."""

from __future__ import annotations

from workbench.db import Connection


async def queue_due_reminders(
    conn: Connection, *, lookahead_seconds: int, limit: int, grace_minutes: int, tz: str
) -> int:
    """Move reminders due within the lookahead into the outbox (scheduled at their own time),
    once each. An at-due reminder also schedules the task's overdue escalation; an overdue one
    notifies the branch heads of the nearest unit above the RM that has any. Reminders of
    finished tasks are just marked queued."""
    queued: int = await conn.fetchval(
        """
        with due as (
            select r.task_id, r.kind, r.offset_minutes
              from task_reminders r
             where r.status = 'pending'
               -- an overdue check waits for its own time: the task must be overdue by then
               and r.send_at <= now() + case when r.kind = 'overdue' then interval '0'
                                             else make_interval(secs => $1) end
             order by r.send_at
             limit $2
             for update skip locked
        ), marked as (
            update task_reminders r set status = 'queued'
              from due d
             where r.task_id = d.task_id and r.kind = d.kind
               and r.offset_minutes = d.offset_minutes
            returning r.task_id, r.kind, r.offset_minutes, r.send_at
        ), open as (
            select m.task_id, m.kind, m.offset_minutes, m.send_at, t.assignee_id, t.title,
                   t.due_at, to_char(t.due_at at time zone $4, 'MM-DD HH24:MI') as due_local
              from marked m
              join tasks t on t.id = m.task_id
             where t.status in ('pending', 'in_progress', 'submitted', 'awaiting_confirmation')
               and t.due_at is not null
        ), reminders as (
            insert into notifications (id, user_id, category, title, body, data, dedupe_key,
                                       priority, collapse_key, send_at, created_at, expires_at,
                                       subject_id)
            select uuid7(), o.assignee_id, 'task.reminder',
                   case when o.kind = 'at_due' then '任务到期' else '任务即将到期' end,
                   o.title || '（截止 ' || o.due_local || '）',
                   jsonb_build_object('task_id', o.task_id, 'due_at', o.due_at,
                                      'kind', o.kind),
                   'reminder:' || o.task_id || ':' || o.kind || ':' || o.offset_minutes || ':'
                       || floor(extract(epoch from o.due_at)),
                   case when o.kind = 'at_due' then 'critical' else 'normal' end,
                   'task:' || o.task_id, o.send_at, o.send_at, o.due_at + interval '1 day',
                   o.task_id
              from open o
             where o.kind in ('before_due', 'at_due')
            on conflict (user_id, dedupe_key) do update  -- moved away and back: again
               set push_status = 'pending', push_reason = null, send_at = excluded.send_at,
                   created_at = excluded.created_at, attempts = 0, lease_owner = null,
                   lease_until = null, title = excluded.title, body = excluded.body
             where notifications.push_status = 'withdrawn'
        ), escalation_due as (
            insert into task_reminders (task_id, user_id, kind, offset_minutes, send_at)
            select o.task_id, o.assignee_id, 'overdue', $3,
                   o.due_at + make_interval(mins => $3)
              from open o
             where o.kind = 'at_due'
            on conflict do nothing
        ), escalations as (
            insert into notifications (id, user_id, category, title, body, data, dedupe_key,
                                       priority, collapse_key, send_at, created_at, subject_id)
            select uuid7(), h.head_id, 'task.escalation', '任务逾期未完成',
                   rm.name || '：' || o.title || '（截止 ' || o.due_local || '）',
                   jsonb_build_object('task_id', o.task_id, 'due_at', o.due_at,
                                      'assignee_id', o.assignee_id),
                   'escalation:' || o.task_id || ':' || floor(extract(epoch from o.due_at)),
                   'normal', 'escalation:' || o.task_id, o.send_at, o.send_at, o.task_id
              from open o
              join users rm on rm.id = o.assignee_id
              join org_units au on au.id = rm.org_unit_id
             cross join lateral (
                   select h.id as head_id
                     from users h
                     join org_units hu on hu.id = h.org_unit_id
                    where h.role = 'branch_head' and h.active and h.id <> rm.id
                      and au.path >= hu.path and au.path < hu.path || '~'
                      and hu.depth = (
                          select max(hu2.depth) from users h2
                            join org_units hu2 on hu2.id = h2.org_unit_id
                           where h2.role = 'branch_head' and h2.active and h2.id <> rm.id
                             and au.path >= hu2.path and au.path < hu2.path || '~')
                   ) h
             where o.kind = 'overdue' and o.due_at < now()
            on conflict (user_id, dedupe_key) do update  -- moved away and back: again
               set push_status = 'pending', push_reason = null, send_at = excluded.send_at,
                   created_at = excluded.created_at, attempts = 0, lease_owner = null,
                   lease_until = null, title = excluded.title, body = excluded.body
             where notifications.push_status = 'withdrawn'
        )
        select count(*) from marked
        """,
        lookahead_seconds,
        limit,
        grace_minutes,
        tz,
    )
    return queued

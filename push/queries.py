"""SQL of push: registrations, preferences, the outbox claim and its record, reminders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import time
from typing import Any

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record
PUSH_USER_LOCKS = 0x7075  # advisory-lock namespace of a user's push deliveries ("pu")

# ---- registrations ---------------------------------------------------------------------------


async def device_of_user(conn: Connection, device_id: str, user_id: uuid.UUID) -> Record | None:
    """The signed-in device, if it is this user's and not revoked."""
    return await conn.fetchrow(
        "select device_id, platform from devices"
        " where device_id = $1 and user_id = $2 and revoked_at is null",
        device_id,
        user_id,
    )


async def save_registration(
    conn: Connection,
    *,
    device_id: str,
    user_id: uuid.UUID,
    provider: str,
    token_cipher: bytes,
    token_index: bytes,
    app_version: str | None,
) -> Record:
    """Register (or refresh) the device's token; a token that moved from another device is
    taken away from that one."""
    await conn.execute(
        """
        update push_registrations
           set active = false, deactivated_at = now(), deactivated_reason = 'token_moved'
         where provider = $1 and token_index = $2 and active and device_id <> $3
        """,
        provider,
        token_index,
        device_id,
    )
    row = await conn.fetchrow(
        """
        insert into push_registrations (device_id, user_id, provider, token_cipher, token_index,
                                        app_version)
        values ($1, $2, $3, $4, $5, $6)
        on conflict (device_id) do update
           set user_id = excluded.user_id, provider = excluded.provider,
               token_cipher = excluded.token_cipher, token_index = excluded.token_index,
               app_version = excluded.app_version, active = true, deactivated_at = null,
               deactivated_reason = null, registered_at = now()
        returning device_id, provider, active, registered_at
        """,
        device_id,
        user_id,
        provider,
        token_cipher,
        token_index,
        app_version,
    )
    assert row is not None
    return row


async def deactivate_device(
    conn: Connection, device_id: str, *, reason: str, user_id: uuid.UUID | None = None
) -> bool:
    """Stop pushing to a device (logout, revocation, the user asked); False if it was not live
    (or, with `user_id`, not that user's)."""
    result: str = await conn.execute(
        """
        update push_registrations
           set active = false, deactivated_at = now(), deactivated_reason = $2
         where device_id = $1 and active and ($3::uuid is null or user_id = $3)
        """,
        device_id,
        reason,
        user_id,
    )
    return result.endswith(" 1")


async def deactivate_user_devices(conn: Connection, user_id: uuid.UUID, *, reason: str) -> None:
    await conn.execute(
        """
        update push_registrations
           set active = false, deactivated_at = now(), deactivated_reason = $2
         where user_id = $1 and active
        """,
        user_id,
        reason,
    )


async def deactivate_other_users(conn: Connection, device_id: str, user_id: uuid.UUID) -> None:
    await conn.execute(
        """
        update push_registrations
           set active = false, deactivated_at = now(), deactivated_reason = 'user_changed'
         where device_id = $1 and active and user_id <> $2
        """,
        device_id,
        user_id,
    )


async def registration_of_user(
    conn: Connection, device_id: str, user_id: uuid.UUID
) -> Record | None:
    return await conn.fetchrow(
        "select device_id from push_registrations where device_id = $1 and user_id = $2",
        device_id,
        user_id,
    )


async def lock_live_registrations(conn: Connection, user_ids: Sequence[uuid.UUID]) -> list[Record]:
    """The users' live registrations, with a lock per user (transaction-scoped advisory locks
    taken in one order, so rounds never deadlock) until the caller's transaction ends."""
    await conn.execute(
        """
        select count(pg_advisory_xact_lock($2, k))
          from (select distinct hashtext(u::text) as k from unnest($1::uuid[]) u order by 1) keys
        """,
        list(user_ids),
        PUSH_USER_LOCKS,
    )
    return await conn.fetch(
        """
        select device_id, user_id, provider, token_cipher, token_index
          from push_registrations where user_id = any($1) and active
        """,
        list(user_ids),
    )


# ---- preferences -----------------------------------------------------------------------------


async def preferences(conn: Connection, user_ids: Sequence[uuid.UUID]) -> list[Record]:
    return await conn.fetch(
        """
        select user_id, quiet_start, quiet_end, time_zone, muted_categories
          from notification_preferences where user_id = any($1)
        """,
        list(user_ids),
    )


async def save_preferences(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    quiet_start: time | None,
    quiet_end: time | None,
    time_zone: str | None,
    muted: list[str],
) -> None:
    await conn.execute(
        """
        insert into notification_preferences (user_id, quiet_start, quiet_end, time_zone,
                                              muted_categories)
        values ($1, $2, $3, $4, $5)
        on conflict (user_id) do update
           set quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,
               time_zone = excluded.time_zone, muted_categories = excluded.muted_categories,
               updated_at = now()
        """,
        user_id,
        quiet_start,
        quiet_end,
        time_zone,
        muted,
    )


# ---- the outbox ------------------------------------------------------------------------------

_CLAIMED = """
    n.id, n.user_id, n.category, n.title, n.body, n.data, n.priority, n.silent, n.collapse_key,
    n.send_at, n.expires_at, n.subject_id, n.device_id, n.attempts,
    (select case when n.category = 'task.reminder'
                      then t.status in ('pending', 'in_progress')
                 when n.category = 'task.escalation'
                      then t.status in ('pending', 'in_progress', 'submitted',
                                        'awaiting_confirmation') and t.due_at < now()
            end
       from tasks t where t.id = n.subject_id) as subject_open
"""


async def claim_due(
    conn: Connection, *, limit: int, lease_seconds: int, owner: uuid.UUID
) -> list[Record]:
    """Lease up to `limit` due notifications to this delivery round, oldest first. Rows another
    worker holds are skipped, not waited for; a crashed worker's lease runs out.

    The scan must walk the due index in order and stop after `limit` free rows: a bitmap scan
    and a sort of every due row (what the planner picks when a burst arrived after the last
    ANALYZE) costs milliseconds per claim with 10,000 rows due, for every loop of every worker."""
    async with conn.transaction():
        await conn.execute("set local enable_bitmapscan = off; set local enable_sort = off")
        return await _claim(conn, limit=limit, lease_seconds=lease_seconds, owner=owner)


async def _claim(
    conn: Connection, *, limit: int, lease_seconds: int, owner: uuid.UUID
) -> list[Record]:
    return await conn.fetch(
        f"""
        with due as (
            select id from notifications
             where push_status = 'pending' and send_at <= now()
               and (lease_until is null or lease_until < now())
             order by send_at
             limit $1
             for update skip locked
        )
        update notifications n
           set lease_owner = $3, lease_until = now() + make_interval(secs => $2),
               attempts = n.attempts + 1
          from due
         where n.id = due.id
        returning {_CLAIMED}
        """,
        limit,
        lease_seconds,
        owner,
    )


async def claim_one(
    conn: Connection, notification_id: uuid.UUID, *, lease_seconds: int, owner: uuid.UUID
) -> Record | None:
    """Lease one pending notification now, whatever its send time (`workbench push test`)."""
    return await conn.fetchrow(
        f"""
        update notifications n
           set lease_owner = $2, lease_until = now() + make_interval(secs => $3),
               attempts = n.attempts + 1
         where n.id = (select id from notifications
                        where id = $1 and push_status = 'pending'
                          and (lease_until is null or lease_until < now())
                          for update skip locked)
        returning {_CLAIMED}
        """,
        notification_id,
        owner,
        lease_seconds,
    )


async def alerts_sent_last_hour(conn: Connection, device_ids: Sequence[str]) -> dict[str, int]:
    rows = await conn.fetch(
        """
        select device_id, count(*) as sent from push_attempts
         where device_id = any($1) and outcome in ('sent', 'sending') and alert
           and at > now() - interval '1 hour'
         group by device_id
        """,
        list(device_ids),
    )
    return {r["device_id"]: int(r["sent"]) for r in rows}


async def settled_devices(
    conn: Connection, notification_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], str]:
    """(notification, device) pairs an earlier attempt finished, with how: not to be sent
    again."""
    rows = await conn.fetch(
        """
        select distinct on (notification_id, device_id) notification_id, device_id, outcome
          from push_attempts
         where notification_id = any($1) and outcome not in ('retry', 'sending')
         order by notification_id, device_id, (outcome = 'sent') desc
        """,
        list(notification_ids),
    )
    return {(r["notification_id"], r["device_id"]): r["outcome"] for r in rows}


async def superseded(
    conn: Connection, keyed: Sequence[tuple[uuid.UUID, str, uuid.UUID]]
) -> set[uuid.UUID]:
    """Of (user, collapse key, notification), the notifications that a newer one with the same
    user and key (due, pending or sent; newer by when it was meant for) makes obsolete: the
    phone would show the older one over the newer one."""
    if not keyed:
        return set()
    users, keys, ids = (list(c) for c in zip(*keyed, strict=True))
    rows = await conn.fetch(
        """
        select k.id
          from unnest($1::uuid[], $2::text[], $3::uuid[]) as k(user_id, collapse_key, id)
          join notifications mine on mine.id = k.id
         where exists (
               select from notifications n
                where n.user_id = k.user_id and n.collapse_key = k.collapse_key
                  and n.id <> k.id and n.push_status in ('pending', 'sent')
                  and n.send_at <= now()
                  and (n.created_at, n.id) > (mine.created_at, mine.id))
        """,
        users,
        keys,
        ids,
    )
    return {r["id"] for r in rows}


async def folded_since_last_summary(conn: Connection, device_id: str) -> int:
    count: int = await conn.fetchval(
        """
        select count(*) from push_attempts a
         where a.device_id = $1 and a.outcome = 'folded'
           and a.at > coalesce(
                 (select max(s.at) from push_attempts s
                    join notifications sn on sn.id = s.notification_id
                   where s.device_id = $1 and s.outcome = 'sent'
                     and sn.category = 'push.summary'),
                 now() - interval '1 day')
        """,
        device_id,
    )
    return count


async def record_attempts(conn: Connection, attempts: Sequence[tuple[Any, ...]]) -> list[int]:
    """(notification_id, device_id, provider, attempt, outcome, reason, status_code, alert);
    the new rows' ids in the same order."""
    if not attempts:
        return []
    columns = list(zip(*attempts, strict=True))
    rows = await conn.fetch(
        """
        insert into push_attempts (notification_id, device_id, provider, attempt, outcome,
                                   reason, status_code, alert)
        select * from unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[],
                             $6::text[], $7::int[], $8::bool[])
        returning id
        """,
        *(list(c) for c in columns),
    )
    return [r["id"] for r in rows]


async def record_answers(conn: Connection, answers: Sequence[tuple[Any, ...]]) -> None:
    """(attempt id, outcome, reason, status_code): what the provider said to a 'sending' row."""
    if not answers:
        return
    ids, outcomes, reasons, codes = (list(c) for c in zip(*answers, strict=True))
    await conn.execute(
        """
        update push_attempts a
           set outcome = x.outcome, reason = x.reason, status_code = x.status_code, at = now()
          from unnest($1::bigint[], $2::text[], $3::text[], $4::int[])
               as x(id, outcome, reason, status_code)
         where a.id = x.id
        """,
        ids,
        outcomes,
        reasons,
        codes,
    )


async def deactivate_dead_tokens(
    conn: Connection, dead: Sequence[tuple[str, bytes, str]]
) -> list[str]:
    """(device_id, token_index, provider reason): the provider said the token is dead. Only the
    token that was sent to is deactivated (a token re-registered meanwhile stays live)."""
    if not dead:
        return []
    devices, indexes, reasons = (list(c) for c in zip(*dead, strict=True))
    rows = await conn.fetch(
        """
        with locked as (  -- in device order, like the rounds that lock them
            select r.device_id, d.reason
              from push_registrations r
              join unnest($1::text[], $2::bytea[], $3::text[]) as d(device_id, token_index, reason)
                on r.device_id = d.device_id and r.token_index = d.token_index
             where r.active
             order by r.device_id
               for update of r
        )
        update push_registrations r
           set active = false, deactivated_at = now(), deactivated_reason = 'dead:' || l.reason
          from locked l
         where r.device_id = l.device_id
        returning r.device_id
        """,
        devices,
        indexes,
        reasons,
    )
    return [r["device_id"] for r in rows]


async def settle(conn: Connection, owner: uuid.UUID, settled: Sequence[tuple[Any, ...]]) -> int:
    """Release this round's leases: (id, push_status, reason, hold_seconds, send_at, uncount).
    A final status ends the row; 'pending' with hold_seconds is a retry after that delay;
    'pending' with send_at is deferred (quiet hours) and its claim is not counted as an
    attempt. Rows whose lease another worker took over are left alone."""
    if not settled:
        return 0
    ids, statuses, reasons, holds, send_ats, uncounts = (
        list(c) for c in zip(*settled, strict=True)
    )
    result: str = await conn.execute(
        """
        update notifications n
           set push_status = s.status, push_reason = s.reason,
               pushed_at = case when s.status = 'sent' then now() else n.pushed_at end,
               lease_owner = null,
               lease_until = case when s.hold is null then null
                                  else now() + make_interval(secs => s.hold) end,
               send_at = coalesce(s.send_at, n.send_at),
               attempts = n.attempts - s.uncount
          from unnest($2::uuid[], $3::text[], $4::text[], $5::float8[], $6::timestamptz[],
                      $7::int[]) as s(id, status, reason, hold, send_at, uncount)
         where n.id = s.id and n.lease_owner = $1
        """,
        owner,
        ids,
        statuses,
        reasons,
        holds,
        send_ats,
        uncounts,
    )
    return int(result.rsplit(" ", 1)[-1])


async def schedule_summaries(conn: Connection, folded: Sequence[tuple[str, uuid.UUID]]) -> None:
    """(device_id, user_id) that had alerts folded: one summary each, sent when the device's
    hourly count drops below the cap again (its oldest alert of the hour turns an hour old)."""
    if not folded:
        return
    devices, users = (list(c) for c in zip(*folded, strict=True))
    await conn.execute(
        """
        insert into notifications (id, user_id, category, title, body, data, dedupe_key,
                                   priority, in_app, collapse_key, send_at, created_at,
                                   device_id)
        select uuid7(), f.user_id, 'push.summary', '您有新的通知', '', '{}',
               'summary:' || f.device_id || ':' || floor(extract(epoch from w.free_at) / 60),
               'normal', false, 'push.summary', w.free_at, w.free_at, f.device_id
          from unnest($1::text[], $2::uuid[]) as f(device_id, user_id)
         cross join lateral (
               select coalesce(min(a.at), now()) + interval '1 hour' as free_at
                 from push_attempts a
                where a.device_id = f.device_id and a.outcome in ('sent', 'sending') and a.alert
                  and a.at > now() - interval '1 hour') w
        on conflict (user_id, dedupe_key) do nothing
        """,
        devices,
        users,
    )


async def attempts_of(conn: Connection, notification_id: uuid.UUID) -> list[Record]:
    return await conn.fetch(
        """
        select device_id, provider, outcome, reason, status_code, attempt, at
          from push_attempts where notification_id = $1 order by id
        """,
        notification_id,
    )


async def queue_lag_seconds(conn: Connection) -> float:
    """now − schedule time of the oldest notification that is due and free to claim."""
    lag: float = await conn.fetchval(
        """
        select coalesce(extract(epoch from now() - min(send_at)), 0)::float8
          from notifications
         where push_status = 'pending' and send_at <= now()
           and (lease_until is null or lease_until < now())
        """
    )
    return lag


async def purge_attempts(conn: Connection, *, older_than_days: int) -> int:
    result: str = await conn.execute(
        "delete from push_attempts where at < now() - make_interval(days => $1)", older_than_days
    )
    return int(result.rsplit(" ", 1)[-1])


# ---- reminders -------------------------------------------------------------------------------


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


__all__ = [
    "alerts_sent_last_hour",
    "attempts_of",
    "claim_due",
    "claim_one",
    "deactivate_dead_tokens",
    "deactivate_device",
    "deactivate_other_users",
    "deactivate_user_devices",
    "device_of_user",
    "folded_since_last_summary",
    "lock_live_registrations",
    "preferences",
    "purge_attempts",
    "queue_due_reminders",
    "queue_lag_seconds",
    "record_answers",
    "record_attempts",
    "registration_of_user",
    "save_preferences",
    "save_registration",
    "schedule_summaries",
    "settle",
    "superseded",
]

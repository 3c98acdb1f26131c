"""SQL of the outbox: claims, attempts, settling, summaries, lag."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from push.queries._common import Record
from workbench.db import Connection

_CLAIMED = """
    n.id, n.user_id, n.category, n.title, n.body, n.data, n.priority, n.silent, n.collapse_key,
    n.send_at, n.expires_at, n.subject_id, n.device_id, n.attempts, n.read_at,
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


async def alerts_sent_last_hour(
    conn: Connection, user_devices: Sequence[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], int]:
    """Alerts each (user, device) got in the last hour: the user's own notifications on that
    device, each counted once however many attempts it took (a push sent again after a killed
    worker is one alert). A phone that changed hands does not charge the previous user's alerts
    to the next."""
    if not user_devices:
        return {}
    users, devices = (list(c) for c in zip(*user_devices, strict=True))
    rows = await conn.fetch(
        """
        select k.user_id, k.device_id, count(distinct a.notification_id) as sent
          from unnest($1::uuid[], $2::text[]) as k(user_id, device_id)
          join push_attempts a
            on a.device_id = k.device_id and a.outcome in ('sent', 'sending') and a.alert
           and a.at > now() - interval '1 hour'
          join notifications n on n.id = a.notification_id and n.user_id = k.user_id
         group by k.user_id, k.device_id
        """,
        users,
        devices,
    )
    return {(r["user_id"], r["device_id"]): int(r["sent"]) for r in rows}


async def close_unanswered_attempts(conn: Connection, notification_ids: Sequence[uuid.UUID]) -> int:
    """Re-claimed notifications: the 'sending' attempts a worker left when it died (or its
    lease ran out) will never be answered. Closed as 'retry' (reason `lease_expired`), they
    stop counting towards the device cap and stop looking in flight; this claim sends to those
    devices again. A late answer from a slow worker still overwrites them by id."""
    if not notification_ids:
        return 0
    result: str = await conn.execute(
        """
        update push_attempts set outcome = 'retry', reason = 'lease_expired'
         where notification_id = any($1) and outcome = 'sending'
        """,
        list(notification_ids),
    )
    return int(result.rsplit(" ", 1)[-1])


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
    user and key (due, pending or sent, or read in the app and so not pushed; newer by when it
    was meant for) makes obsolete: the phone would show the older one over the newer one."""
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
                  and n.id <> k.id
                  and (n.push_status in ('pending', 'sent')
                       or (n.read_at is not null and n.push_status <> 'withdrawn'))
                  and n.send_at <= now()
                  and (n.created_at, n.id) > (mine.created_at, mine.id))
        """,
        users,
        keys,
        ids,
    )
    return {r["id"] for r in rows}


async def folded_since_last_summary(conn: Connection, user_id: uuid.UUID, device_id: str) -> int:
    """How many of the user's alerts were folded on the device since the user's last summary
    there (at most a day back), not counting those read or withdrawn meanwhile: what the
    summary tells them is waiting in their notification centre."""
    count: int = await conn.fetchval(
        """
        select count(distinct a.notification_id) from push_attempts a
          join notifications n on n.id = a.notification_id
         where a.device_id = $2 and a.outcome = 'folded' and n.user_id = $1
           and n.read_at is null and n.push_status <> 'withdrawn'
           and a.at > coalesce(
                 (select max(s.at) from push_attempts s
                    join notifications sn on sn.id = s.notification_id
                   where s.device_id = $2 and s.outcome = 'sent'
                     and sn.user_id = $1 and sn.category = 'push.summary'),
                 now() - interval '1 day')
        """,
        user_id,
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


async def settle(
    conn: Connection, owner: uuid.UUID, settled: Sequence[tuple[Any, ...]]
) -> set[uuid.UUID]:
    """Release this round's leases: (id, push_status, reason, hold_seconds, send_at, uncount).
    A final status ends the row; 'pending' with hold_seconds is a retry after that delay;
    'pending' with send_at is deferred (quiet hours) and its claim is not counted as an
    attempt. Rows whose lease another worker took over are left alone. The ids released."""
    if not settled:
        return set()
    ids, statuses, reasons, holds, send_ats, uncounts = (
        list(c) for c in zip(*settled, strict=True)
    )
    rows = await conn.fetch(
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
        returning n.id
        """,
        owner,
        ids,
        statuses,
        reasons,
        holds,
        send_ats,
        uncounts,
    )
    return {r["id"] for r in rows}


async def schedule_summaries(conn: Connection, folded: Sequence[tuple[str, uuid.UUID]]) -> None:
    """(device_id, user_id) that had alerts folded: one summary each, sent when the user's
    hourly count on the device drops below the cap again (the first of their alerts of the hour
    there to leave the count: its last attempt there turns an hour old). None when one is already
    waiting for its time there: it tells of every alert folded before it goes out, and a second
    one (a fold settled late, after the hour moved on) would only say it again."""
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
               select coalesce(min(c.last_at), now()) + interval '1 hour' as free_at
                 from (select max(a.at) as last_at
                         from push_attempts a
                         join notifications n on n.id = a.notification_id
                        where a.device_id = f.device_id and a.outcome in ('sent', 'sending')
                          and a.alert and a.at > now() - interval '1 hour'
                          and n.user_id = f.user_id
                        group by a.notification_id) c) w
         where not exists (
               select from notifications s
                where s.user_id = f.user_id and s.collapse_key = 'push.summary'
                  and s.device_id = f.device_id and s.category = 'push.summary'
                  and s.push_status = 'pending' and s.send_at > now())
        on conflict (user_id, dedupe_key) do nothing
        """,
        devices,
        users,
    )


async def delivery_in_flight(conn: Connection, notification_id: uuid.UUID) -> bool:
    """A worker holds the notification (its lease has not run out) or a provider's answer to
    one of its attempts is still awaited."""
    busy: bool = await conn.fetchval(
        """
        select (n.lease_owner is not null and n.lease_until > now())
               or exists (select from push_attempts a
                           where a.notification_id = n.id and a.outcome = 'sending')
          from notifications n where n.id = $1
        """,
        notification_id,
    )
    return bool(busy)


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

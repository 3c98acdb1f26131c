"""Dashboard SQL: per RM of a subtree, the tasks assigned (created in a period and not
cancelled), done, overdue and cancelled (the rollups for the whole weeks and bank days inside it,
the tasks for the rest), the plan of that query (for bench/dashboard.py), and the median hours
from creation to done."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.dashboard.queries._common import _RMS, OPEN_TASK, Record
from workbench.db import Connection

# The bank's time zone as the database reads it (as `survey_day` does).
_BANK_TZ = "coalesce(nullif(current_setting('workbench.bank_timezone', true), ''), 'Asia/Shanghai')"


# Per RM of the subtree of $1: tasks created in [$2, $3) and not cancelled (assigned: a task
# the bank cancelled was never the RM's to do; an expired one was, and stays assigned, not done),
# those done now (done), of those assigned, open ones past their due time now (overdue), and
# those cancelled (cancelled: assigned + cancelled are all the RM's tasks of the period, the
# rows of the `tasks` exports), as the rollups count them (migration 0056). `bounds` splits the
# period into the whole weeks [wk_start, wk_end) read from the weekly rollup, the whole bank days
# around them [first_day, wk_start) and [wk_end, end_day) read from the daily one, and the
# instants before and after the whole days [full_start, full_end) read from the tasks; with no
# whole week inside, days alone (wk_start = wk_end = first_day), with no whole day inside, the
# tasks alone.
_RM_COUNTS = f"""
    rms as ({_RMS}),
    bounds as (
        select b.first_day, b.end_day,
               case when b.first_day < b.end_day
                    then b.first_day::timestamp at time zone b.tz else $3 end as full_start,
               case when b.first_day < b.end_day
                    then b.end_day::timestamp at time zone b.tz else $3 end as full_end,
               case when w.wk_start < w.wk_end then w.wk_start else b.first_day end as wk_start,
               case when w.wk_start < w.wk_end then w.wk_end else b.first_day end as wk_end
          from (select z.tz,
                       ($2 at time zone z.tz)::date
                         + case when ($2 at time zone z.tz)::time = '00:00' then 0 else 1 end
                         as first_day,
                       ($3 at time zone z.tz)::date as end_day
                  from (select {_BANK_TZ} as tz) z) b
         cross join lateral (select dashboard_week(b.first_day + 6) as wk_start,
                                    dashboard_week(b.end_day) as wk_end) w
    ),
    from_rollups as (
        select x.assignee_id, sum(x.assigned)::bigint as assigned, sum(x.done)::bigint as done,
               sum(x.cancelled)::bigint as cancelled
          from (select w.assignee_id, w.assigned, w.done, w.cancelled
                  from dashboard_task_weeks w
                 where w.assignee_id = any(array(select id from rms))
                   and w.week >= (select wk_start from bounds)
                   and w.week < (select wk_end from bounds)
                union all
                select d.assignee_id, d.assigned, d.done, d.cancelled
                  from dashboard_task_days d
                 where d.assignee_id = any(array(select id from rms))
                   and d.day >= (select first_day from bounds)
                   and d.day < (select wk_start from bounds)
                union all
                select d.assignee_id, d.assigned, d.done, d.cancelled
                  from dashboard_task_days d
                 where d.assignee_id = any(array(select id from rms))
                   and d.day >= (select wk_end from bounds)
                   and d.day < (select end_day from bounds)) x
         group by x.assignee_id
    ),
    from_edges as (
        select e.assignee_id, count(*) filter (where not e.cancelled) as assigned,
               count(*) filter (where e.done) as done,
               count(*) filter (where e.cancelled) as cancelled
          from (select t.assignee_id, t.status = 'cancelled' as cancelled,
                       t.status = 'done' as done
                  from tasks t
                 where t.assignee_id = any(array(select id from rms))
                   and t.created_at >= $2 and t.created_at < (select full_start from bounds)
                union all
                select t.assignee_id, t.status = 'cancelled', t.status = 'done'
                  from tasks t
                 where t.assignee_id = any(array(select id from rms))
                   and t.created_at >= (select full_end from bounds) and t.created_at < $3) e
         group by e.assignee_id
    ),
    -- Open tasks past their due time, from the partial index on open tasks (their number is
    -- small, a year of tasks is not): materialized, so no plan scans the RMs' every task.
    open_overdue as materialized (
        select t.assignee_id, t.created_at
          from tasks t
         where t.assignee_id = any(array(select id from rms))
           and t.status in {OPEN_TASK}
           and coalesce(t.due_at, 'infinity') < now()
    ),
    overdue as (
        select o.assignee_id, count(*) as overdue
          from open_overdue o
         where o.created_at >= $2 and o.created_at < $3
         group by o.assignee_id
    ),
    counts as (
        select r.id as rm_id, r.name, r.org_unit_id,
               (coalesce(d.assigned, 0) + coalesce(e.assigned, 0))::bigint as assigned,
               (coalesce(d.done, 0) + coalesce(e.done, 0))::bigint as done,
               coalesce(o.overdue, 0)::bigint as overdue,
               (coalesce(d.cancelled, 0) + coalesce(e.cancelled, 0))::bigint as cancelled
          from rms r
          left join from_rollups d on d.assignee_id = r.id
          left join from_edges e on e.assignee_id = r.id
          left join overdue o on o.assignee_id = r.id
    )
"""


async def rm_counts(
    conn: Connection, *, root: uuid.UUID, start: datetime, end: datetime
) -> list[Record]:
    """Per RM of the subtree (all of them): rm_id, name, org_unit_id, unit_name, unit_path,
    assigned (not cancelled), done, overdue, cancelled, by name."""
    return await conn.fetch(
        f"""
        with {_RM_COUNTS}
        select c.*, o.name as unit_name, o.path as unit_path
          from counts c
          join org_units o on o.id = c.org_unit_id
         order by c.name, c.rm_id
        """,
        root,
        start,
        end,
    )


async def explain_rm_counts(
    conn: Connection, *, root: uuid.UUID, start: datetime, end: datetime
) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of `rm_counts` (for bench/dashboard.py)."""
    plan = await conn.fetch(
        f"explain (analyze, buffers) with {_RM_COUNTS} select * from counts", root, start, end
    )
    return [r[0] for r in plan]


async def median_hours_to_done(
    conn: Connection, *, root: uuid.UUID, start: datetime, end: datetime
) -> dict[uuid.UUID, float]:
    """Per RM of the subtree with done tasks created in [start, end): the median hours from
    creation to done."""
    rows = await conn.fetch(
        f"""
        with rms as ({_RMS})
        select t.assignee_id,
               percentile_cont(0.5) within group (
                   order by extract(epoch from t.done_at - t.created_at) / 3600.0) as median
          from tasks t
         where t.assignee_id = any(array(select id from rms))
           and t.created_at >= $2 and t.created_at < $3 and t.status = 'done'
         group by t.assignee_id
        """,
        root,
        start,
        end,
    )
    return {r["assignee_id"]: float(r["median"]) for r in rows if r["median"] is not None}

"""Dashboard SQL: the subtree's tasks assigned and done week by week over a period's days
(whole weeks from the weekly rollup, the cut weeks' days from the daily one)."""

from __future__ import annotations

import uuid
from datetime import date

from workbench.dashboard.queries._common import _RMS, Record
from workbench.db import Connection


async def weekly_counts(
    conn: Connection, *, root: uuid.UUID, first_day: date, end_day: date
) -> list[Record]:
    """(week_start, assigned, done) of the subtree's RMs for each week (Monday) overlapping the
    days [first_day, end_day), oldest first, empty weeks included; only the period's days
    count: whole weeks from the weekly rollup, the days of the weeks cut by the period's ends
    from the daily one."""
    return await conn.fetch(
        f"""
        with rms as ({_RMS}),
        bounds as (
            select case when w.wk_start < w.wk_end then w.wk_start else $2 end as wk_start,
                   case when w.wk_start < w.wk_end then w.wk_end else $2 end as wk_end
              from (select dashboard_week($2::date + 6) as wk_start,
                           dashboard_week($3::date) as wk_end) w
        ),
        weeks as (
            select x.week_start, sum(x.assigned)::bigint as assigned,
                   sum(x.done)::bigint as done
              from (select w.week as week_start, w.assigned, w.done
                      from dashboard_task_weeks w
                     where w.assignee_id = any(array(select id from rms))
                       and w.week >= (select wk_start from bounds)
                       and w.week < (select wk_end from bounds)
                    union all
                    select dashboard_week(d.day), d.assigned, d.done
                      from dashboard_task_days d
                     where d.assignee_id = any(array(select id from rms))
                       and d.day >= $2 and d.day < (select wk_start from bounds)
                    union all
                    select dashboard_week(d.day), d.assigned, d.done
                      from dashboard_task_days d
                     where d.assignee_id = any(array(select id from rms))
                       and d.day >= (select wk_end from bounds) and d.day < $3) x
             group by x.week_start
        )
        select g.week_start, coalesce(w.assigned, 0)::bigint as assigned,
               coalesce(w.done, 0)::bigint as done
          from (select dashboard_week($2::date) + 7 * n as week_start
                  from generate_series(0, ($3::date - 1 - dashboard_week($2::date)) / 7) n) g
          left join weeks w on w.week_start = g.week_start
         order by 1
        """,
        root,
        first_day,
        end_day,
    )

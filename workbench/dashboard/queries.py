"""SQL of the branch-head dashboard: the only place it talks to PostgreSQL.

Every query is scoped in SQL to a subtree (`org_subtree(root)`); RMs are the users of role `rm`
whose unit lies in it. Task counts read the per-assignee per-bank-day rollup
(`dashboard_task_days`, migration 0025) for the whole bank days inside a period and the tasks
themselves (index `tasks_by_assignee_created`) for the parts of a day at either end, so any
period [start, end) is counted exactly and a period of whole days reads the rollup alone.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

from workbench.db import Connection
from workbench.shares.queries import VISITOR_COUNTS
from workbench.sql import Where
from workbench.workorders.queries import customer_shown, readable

Record = asyncpg.Record

OPEN_TASK = "('pending', 'in_progress', 'submitted', 'awaiting_confirmation')"
OPEN_WORK_ORDER = "('open', 'in_progress')"

# The bank's time zone as the database reads it (as `survey_day` does).
_BANK_TZ = "coalesce(nullif(current_setting('workbench.bank_timezone', true), ''), 'Asia/Shanghai')"

# The RMs of the subtree of $1.
_RMS = """
    select u.id, u.name, u.org_unit_id from users u
     where u.role = 'rm'
       and u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
"""

# Per RM of the subtree of $1: tasks created in [$2, $3) (assigned, done) and, of those, open
# ones past their due time now (overdue). `bounds` splits the period into the whole weeks
# [wk_start, wk_end) read from the weekly rollup, the whole bank days around them
# [first_day, wk_start) and [wk_end, end_day) read from the daily one, and the instants before
# and after the whole days [full_start, full_end) read from the tasks; with no whole week inside,
# days alone (wk_start = wk_end = first_day), with no whole day inside, the tasks alone.
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
        select x.assignee_id, sum(x.assigned)::bigint as assigned, sum(x.done)::bigint as done
          from (select w.assignee_id, w.assigned, w.done
                  from dashboard_task_weeks w
                 where w.assignee_id = any(array(select id from rms))
                   and w.week >= (select wk_start from bounds)
                   and w.week < (select wk_end from bounds)
                union all
                select d.assignee_id, d.assigned, d.done
                  from dashboard_task_days d
                 where d.assignee_id = any(array(select id from rms))
                   and d.day >= (select first_day from bounds)
                   and d.day < (select wk_start from bounds)
                union all
                select d.assignee_id, d.assigned, d.done
                  from dashboard_task_days d
                 where d.assignee_id = any(array(select id from rms))
                   and d.day >= (select wk_end from bounds)
                   and d.day < (select end_day from bounds)) x
         group by x.assignee_id
    ),
    from_edges as (
        select e.assignee_id, count(*) as assigned, count(*) filter (where e.done) as done
          from (select t.assignee_id, t.status = 'done' as done
                  from tasks t
                 where t.assignee_id = any(array(select id from rms))
                   and t.created_at >= $2 and t.created_at < (select full_start from bounds)
                union all
                select t.assignee_id, t.status = 'done'
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
               coalesce(o.overdue, 0)::bigint as overdue
          from rms r
          left join from_rollups d on d.assignee_id = r.id
          left join from_edges e on e.assignee_id = r.id
          left join overdue o on o.assignee_id = r.id
    )
"""


# ---- the view --------------------------------------------------------------------------------


async def unit_in_scope(
    conn: Connection, unit_id: uuid.UUID | None, scope_root: uuid.UUID | None
) -> Record | None:
    """(id, name) of the unit if it lies in the subtree of `scope_root` (None: anywhere);
    without `unit_id`, `scope_root` itself, or the bank's root unit."""
    return await conn.fetchrow(
        """
        select u.id, u.name
          from org_units u
         where case when $1::uuid is not null then u.id = $1
                    when $2::uuid is not null then u.id = $2
                    else u.parent_id is null end
           and ($2::uuid is null or u.id in (select s.id from org_subtree($2::uuid) s(id)))
        """,
        unit_id,
        scope_root,
    )


# ---- task progress ---------------------------------------------------------------------------


async def transaction_marker(conn: Connection) -> tuple[int, datetime]:
    """(backend pid, transaction start): the same for every statement of one transaction."""
    row = await conn.fetchrow("select pg_backend_pid() as pid, now() as started")
    assert row is not None
    return row["pid"], row["started"]


async def rm_counts(
    conn: Connection, *, root: uuid.UUID, start: datetime, end: datetime
) -> list[Record]:
    """Per RM of the subtree (all of them): rm_id, name, org_unit_id, unit_name, unit_path,
    assigned, done, overdue, by name."""
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


async def children(conn: Connection, parent_id: uuid.UUID) -> list[Record]:
    """The child units (id, name, path) of a unit, by name."""
    return await conn.fetch(
        "select id, name, path from org_units where parent_id = $1 order by name, id", parent_id
    )


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


# ---- satisfaction ----------------------------------------------------------------------------


async def customer_surveys_answered(
    conn: Connection, *, root: uuid.UUID, first_day: date, end_day: date
) -> list[Record]:
    """Customer surveys with invitations of the subtree sent in the days: (id, versions) with
    every published version's questions, newest first."""
    return await conn.fetch(
        """
        select s.id,
               coalesce((select array_agg(v.questions order by v.version desc)
                           from survey_versions v where v.survey_id = s.id), '{}') as versions
          from surveys s
         where s.audience = 'customer'
           and exists (select from survey_tallies t
                        where t.survey_id = s.id and t.org_unit_id = $1
                          and t.day >= $2 and t.day < $3)
        """,
        root,
        first_day,
        end_day,
    )


async def satisfaction_counts(
    conn: Connection,
    *,
    root: uuid.UUID,
    first_day: date,
    end_day: date,
    survey_ids: list[uuid.UUID],
    question_survey_ids: list[uuid.UUID],
    question_keys: list[str],
) -> tuple[list[Record], list[Record]]:
    """From the survey rollups at the subtree's root: (week_start, responded) per week, and
    (week_start, survey_id, question_key, value, count) of the (survey, question) pairs
    (`question_survey_ids[i]`, `question_keys[i]`)."""
    responded = await conn.fetch(
        """
        select dashboard_week(t.day) as week_start, sum(t.responded)::bigint as responded
          from survey_tallies t
         where t.survey_id = any($4::uuid[]) and t.org_unit_id = $1
           and t.day >= $2 and t.day < $3
         group by 1
        """,
        root,
        first_day,
        end_day,
        survey_ids,
    )
    values = await conn.fetch(
        """
        select dashboard_week(t.day) as week_start, t.survey_id, t.question_key,
               t.value, sum(t.count)::bigint as count
          from unnest($4::uuid[], $5::text[]) as k (survey_id, question_key)
          join survey_value_tallies t
            on t.survey_id = k.survey_id and t.question_key = k.question_key
         where t.org_unit_id = $1 and t.day >= $2 and t.day < $3
         group by 1, 2, 3, 4
        """,
        root,
        first_day,
        end_day,
        question_survey_ids,
        question_keys,
    )
    return responded, values


# The nps (≤ 6) and rating (≤ 2) questions of customer surveys' versions: what a low score is.
_LOW_KEYS = """
    low_keys as materialized (
        select v.survey_id, v.version, x.q ->> 'key' as key, x.q ->> 'type' as scale,
               x.q ->> 'text' as label, x.ord,
               case x.q ->> 'type' when 'nps' then 6 else 2 end as highest
          from survey_versions v
         cross join lateral jsonb_array_elements(v.questions) with ordinality as x (q, ord)
         where x.q ->> 'type' in ('nps', 'rating')
           and v.audience = 'customer'  -- staff answer anonymously: a team of one is a name
    )
"""

# A response `r` whose answer to the low key `k` is a low score.
_IS_LOW = """
    k.survey_id = r.survey_id and k.version = r.version
    and jsonb_typeof(r.answers -> k.key) = 'number'
    and (r.answers ->> k.key)::numeric <= k.highest
"""


async def low_scores(
    conn: Connection,
    *,
    root: uuid.UUID,
    start: datetime,
    end: datetime,
    limit: int,
    user_id: uuid.UUID,
    scope_root: uuid.UUID | None,
    all_: bool,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[Record]:
    """Scores of nps (≤ 6) and rating (≤ 2) questions in customers' responses of the subtree
    submitted in [start, end) (and before the keyset `before`, (submitted_at, id), if given),
    newest first: every low score of the newest `limit` such responses (a response's rows are
    never split), with what showing them needs: `work_order_readable` says whether the reader
    (`user_id`, `scope_root`, `all_`, as the work-order service scopes them) may open the work
    order the response opened. Each unit's responses are read newest first from its index and
    only until `limit` low ones are found, so a year costs what a day does."""
    before_at, before_id = before or (None, None)
    where = Where()
    for value in (root, start, end, limit, before_at, before_id):
        where.param(value)
    can_open = readable(where, user_id=user_id, scope_root=scope_root, all_=all_)
    return await conn.fetch(
        f"""
        with {_LOW_KEYS},
        latest as (
            select r.*
              from (select s.id from org_subtree($1) s(id)) u
             cross join lateral (
                 select r.id, r.survey_id, r.version, r.answers, r.submitted_at, r.customer_id,
                        r.rm_id
                   from survey_responses r
                  where r.org_unit_id = u.id
                    and r.submitted_at >= $2 and r.submitted_at < $3
                    -- after the keyset: the index read from it on, ties of its moment by id
                    and r.submitted_at <= coalesce($5::timestamptz, $3)
                    and ($5::timestamptz is null or (r.submitted_at, r.id) < ($5, $6::uuid))
                    and exists (select from low_keys k where {_IS_LOW})
                  order by r.submitted_at desc, r.id desc
                  limit $4) r
             order by r.submitted_at desc, r.id desc
             limit $4
        )
        select r.id as response_id, r.submitted_at, s.title as survey_title,
               k.label as question_label, (r.answers ->> k.key)::numeric::int as score,
               k.scale, r.customer_id, c.external_id, c.name_enc,
               coalesce(u.name, '') as rm_name, w.id as work_order_id, {can_open}
          from latest r
          join low_keys k on {_IS_LOW}
          join surveys s on s.id = r.survey_id
          left join users u on u.id = r.rm_id
          left join customers c
            on c.id = r.customer_id
           and c.owner_id = any(array(select o.id from subtree_users($1) o(id)))
          left join work_orders w on w.response_id = r.id
         order by r.submitted_at desc, r.id desc, k.ord
        """,
        *where.args,
    )


async def low_score_count(
    conn: Connection, *, root: uuid.UUID, start: datetime, end: datetime
) -> int:
    """How many low scores (rows of `low_scores`) customers' responses of the subtree
    submitted in [start, end) hold in all (index `survey_responses_unit`)."""
    count = await conn.fetchval(
        f"""
        with {_LOW_KEYS}
        select count(*)
          from survey_responses r
          join low_keys k on {_IS_LOW}
         where r.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
           and r.submitted_at >= $2 and r.submitted_at < $3
        """,
        root,
        start,
        end,
    )
    return int(count or 0)


# ---- work orders -----------------------------------------------------------------------------


async def work_order_counts(conn: Connection, *, root: uuid.UUID) -> list[Record]:
    """(assignee_id, open, overdue) of the subtree's unresolved work orders now."""
    return await conn.fetch(
        f"""
        select w.assignee_id, count(*) as open, count(*) filter (where w.due_at < now()) as overdue
          from work_orders w
         where w.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
           and w.state in {OPEN_WORK_ORDER}
         group by w.assignee_id
        """,
        root,
    )


async def open_work_orders(
    conn: Connection,
    *,
    root: uuid.UUID,
    rm_id: uuid.UUID | None,
    limit: int | None,
    user_id: uuid.UUID,
    scope_root: uuid.UUID | None,
    all_: bool,
) -> list[Record]:
    """The subtree's unresolved work orders (or one assignee's), overdue first, then by due
    time, each with `customer_shown`: whether the reader (`user_id`, `scope_root`, `all_`, as
    the work-order service scopes them) may see its customer, by the work orders' own rule."""
    where = Where()
    where.add("w.org_unit_id = any(array(select s.id from org_subtree({}) s(id)))", root)
    where.add(f"w.state in {OPEN_WORK_ORDER}")
    where.when(rm_id, "w.assignee_id = {}")
    shown = customer_shown(where, user_id=user_id, scope_root=scope_root, all_=all_)
    return await conn.fetch(
        f"""
        select w.id, w.state, w.created_at, w.due_at, w.due_at < now() as overdue,
               w.assignee_id, a.name as assignee_name, w.customer_id, c.external_id, c.name_enc,
               v.title as survey_title, {shown}
          from work_orders w
          -- the title of the version answered, never the draft's (an author may be renaming it)
          join survey_responses r on r.id = w.response_id
          join survey_versions v on v.survey_id = r.survey_id and v.version = r.version
          join users a on a.id = w.assignee_id
          left join customers c on c.id = w.customer_id
         where {where.sql}
         order by w.due_at < now() desc, w.due_at, w.id
         limit {where.param(limit)}
        """,
        *where.args,
    )


# ---- one RM ----------------------------------------------------------------------------------


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
           t.due_at, t.done_at,
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


# ---- the demo bank's task history (workbench.dashboard.demo) ---------------------------------


async def demo_history_exists(conn: Connection, first_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("select exists (select from tasks where id = $1)", first_id))


async def demo_template(conn: Connection, name: str) -> Record | None:
    """(template_id, version) of the oldest template of this name, at its newest version."""
    return await conn.fetchrow(
        """
        select v.template_id, max(v.version) as version
          from task_template_versions v
          join task_templates t on t.id = v.template_id
         where v.name = $1
         group by v.template_id, t.created_at
         order by t.created_at, v.template_id
         limit 1
        """,
        name,
    )


async def demo_rms(conn: Connection, logins: list[str]) -> list[Record]:
    """(id, login, customers) of the demo bank's active RMs (`logins`): their demo customers'
    ids, in order. Only those: an RM an admin added is nobody's demo."""
    return await conn.fetch(
        """
        select u.id, u.login,
               coalesce(array(select c.id from customers c
                               where c.owner_id = u.id and c.external_id like 'DEMO-%'
                               order by c.external_id limit 40), '{}') as customers
          from users u
         where u.role = 'rm' and u.active and u.login = any($1::text[])
         order by u.login
        """,
        logins,
    )


DEMO_TASK_COLUMNS = (
    "id", "template_id", "template_version", "assignee_id", "customer_id", "title", "status",
    "due_at", "form_values", "started_at", "submitted_at", "done_at", "cancelled_at",
    "expired_at", "cancel_reason", "created_at", "updated_at",
)  # fmt: skip


async def insert_demo_tasks(conn: Connection, rows: list[tuple[object, ...]]) -> int:
    """Insert tasks (DEMO_TASK_COLUMNS) in one statement; how many were new."""
    columns = ", ".join(DEMO_TASK_COLUMNS)
    status = await conn.execute(
        f"""
        insert into tasks ({columns})
        select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::uuid[],
                             $6::text[], $7::text[], $8::timestamptz[], $9::jsonb[],
                             $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
                             $13::timestamptz[], $14::timestamptz[], $15::text[],
                             $16::timestamptz[], $17::timestamptz[])
        on conflict (id) do nothing
        """,
        *(list(column) for column in zip(*rows, strict=True)),
    )
    return int(status.split()[-1])

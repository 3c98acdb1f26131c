"""Dashboard SQL: the low scores (nps ≤ 6, rating ≤ 2) in customers' responses of a subtree:
a page of them, newest first, with whether the reader may open the work order each opened,
and how many there are in all."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.dashboard.queries._common import Record
from workbench.db import Connection
from workbench.sql import Where
from workbench.workorders.queries import readable

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

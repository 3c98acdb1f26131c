"""Dashboard SQL: customer satisfaction from the survey rollups at the subtree's root: the
customer surveys answered in the days, and responses and answer values per week."""

from __future__ import annotations

import uuid
from datetime import date

from workbench.dashboard.queries._common import Record
from workbench.db import Connection


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

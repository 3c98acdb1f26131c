"""Work-order SQL: responses and survey versions."""

from __future__ import annotations

import uuid
from typing import Any

from workbench.db import Connection
from workbench.workorders.queries._common import Record

# The customer's owner only when an active RM (`owner_id` null otherwise: a work order for the
# owning RM then goes to the branch head over the customer's unit, as for an owner gone, see
# `alerts.assignee_for`); the unit the customer sits in either way (their owner's).
_RESPONSE = """
    r.id, r.survey_id, r.version, r.customer_id, r.user_id, r.rm_id, r.org_unit_id, r.answers,
    r.texts_enc, r.submitted_at,
    case when o.active and o.role = 'rm' then c.owner_id end as owner_id,
    o.org_unit_id as owner_unit_id
"""


async def response(conn: Connection, response_id: uuid.UUID) -> Record | None:
    """A response with its customer's current owning RM (null if the owner is no active RM:
    disabled, or given another role) and the unit of the customer's owner."""
    return await conn.fetchrow(
        f"""
        select {_RESPONSE}
          from survey_responses r
          left join customers c on c.id = r.customer_id
          left join users o on o.id = c.owner_id
         where r.id = $1
        """,
        response_id,
    )


async def responses_without_work_order(
    conn: Connection, survey_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[Record]:
    """The survey's responses in id order after `after`, with whether one has a work order."""
    return await conn.fetch(
        f"""
        select {_RESPONSE},
               exists (select 1 from work_orders w where w.response_id = r.id) as has_work_order
          from survey_responses r
          left join customers c on c.id = r.customer_id
          left join users o on o.id = c.owner_id
         where r.survey_id = $1 and ($2::uuid is null or r.id > $2)
         order by r.id
         limit $3
        """,
        survey_id,
        after,
        limit,
    )


async def count_responses(conn: Connection, survey_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "select count(*) from survey_responses where survey_id = $1", survey_id
    )
    return count


async def version_questions(conn: Connection, survey_id: uuid.UUID, version: int) -> Any:
    return await conn.fetchval(
        "select questions from survey_versions where survey_id = $1 and version = $2",
        survey_id,
        version,
    )


async def survey_for_rules(conn: Connection, survey_id: uuid.UUID) -> Record | None:
    """A survey with the questions of its latest published version (null before publishing)."""
    return await conn.fetchrow(
        """
        select s.id, s.title, s.audience, s.version, v.questions
          from surveys s
          left join survey_versions v on v.survey_id = s.id and v.version = s.version
         where s.id = $1
        """,
        survey_id,
    )

"""SQL of the console's send page: how many people a sending would reach, counted before it is
confirmed with the selection the sending walks (`invitations.queries.next_recipients`,
`staff_of_subtree`) and the skips it applies (`holding_open_links`, `capped_customers`,
`holding_open_invitations`), so that the confirmation says what the send will do."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record

# The unit $1 is within the caller's subtree rooted at $2 (null: an admin, every unit).
_IN_SCOPE = """exists (select from org_units o where o.id = $1
                 and ($2::uuid is null or o.id in (select s.id from org_subtree($2) s(id))))"""


def _customer_counts(survey: str, now: str, since: str, cap: str) -> str:
    """Of the customers in `reach`: how many (total), those holding an open link to the survey
    at `now` (held: skipped as already invited), and of the others those with `cap` survey
    messages or more since `since` (capped: skipped for the contact cap). Arguments: the
    placeholders of these values."""
    return f"""
    held as materialized (
        select distinct i.customer_id as id from survey_invitations i
         where i.survey_id = {survey} and i.customer_id in (select r.id from reach r)
           and i.responded_at is null and i.expires_at > {now}
    ),
    capped as materialized (
        select m.customer_id as id from survey_messages m
         where m.customer_id in (select r.id from reach r) and m.created_at > {since}
         group by m.customer_id
        having count(*) >= {cap}
    )
    select (select count(*) from reach) as total,
           (select count(*) from held) as held,
           (select count(*) from capped c where c.id not in (select h.id from held h)) as capped
    """


async def unit_customers_reach(
    conn: Connection, *, unit_id: uuid.UUID, tag: str | None, scope_root: uuid.UUID | None,
    survey_id: uuid.UUID, now: datetime, since: datetime, cap: int,
) -> Record | None:  # fmt: skip
    """A customer survey sent to a unit's customers (with `tag`, read as the sending reads it):
    (total, held, capped); None when the unit is outside the caller's subtree."""
    return await conn.fetchrow(
        f"""
        with reach as materialized (
            select c.id from customers c
             where c.owner_id = any(array(select u.id from subtree_users($1) u(id)))
               and ($7::text is null or c.tags @> array[$7::text])
        ),
        {_customer_counts("$3", "$4", "$5", "$6")}
         where {_IN_SCOPE}
        """,
        unit_id, scope_root, survey_id, now, since, cap, tag,
    )  # fmt: skip


async def listed_customers_reach(
    conn: Connection, *, customer_ids: list[uuid.UUID], survey_id: uuid.UUID, now: datetime,
    since: datetime, cap: int,
) -> Record:  # fmt: skip
    """A customer survey sent to these customers (found in the caller's reach already):
    (total, held, capped)."""
    row = await conn.fetchrow(
        f"""
        with reach as materialized (select distinct c.id from unnest($1::uuid[]) c(id)),
        {_customer_counts("$2", "$3", "$4", "$5")}
        """,
        customer_ids, survey_id, now, since, cap,
    )  # fmt: skip
    assert row is not None
    return row


async def unit_staff_reach(
    conn: Connection, *, unit_id: uuid.UUID, scope_root: uuid.UUID | None,
    survey_id: uuid.UUID, now: datetime,
) -> Record | None:  # fmt: skip
    """A staff survey sent to a unit's active staff: (total, held: those with the survey in
    their inbox, unanswered and unexpired); None when the unit is outside the caller's
    subtree."""
    return await conn.fetchrow(
        f"""
        with reach as materialized (
            select u.id from users u
             where u.active and u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
        )
        select (select count(*) from reach) as total,
               (select count(distinct i.user_id) from survey_invitations i
                 where i.survey_id = $3 and i.user_id in (select r.id from reach r)
                   and i.responded_at is null and i.expires_at > $4) as held
         where {_IN_SCOPE}
        """,
        unit_id, scope_root, survey_id, now,
    )  # fmt: skip

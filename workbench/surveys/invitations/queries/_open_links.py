"""Invitation SQL: each person invited once: the per-person locks, and who already holds an open
link (a customer) or the survey in their inbox (a staff member)."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import Record


async def lock_contacts(conn: Connection, customer_ids: list[uuid.UUID]) -> None:
    """Hold each customer's contact lock until the transaction ends (always in the same order,
    so two deliveries reaching the same customers wait for each other instead of deadlocking)."""
    await conn.execute(
        """select pg_advisory_xact_lock(k.key)
             from (select distinct hashtextextended('survey-contact:' || c::text, 0) as key
                     from unnest($1::uuid[]) c
                    order by 1) k""",
        customer_ids,
    )


async def holding_open_links(
    conn: Connection, customer_ids: list[uuid.UUID], *, survey_id: uuid.UUID, now: datetime
) -> set[uuid.UUID]:
    """Those of these customers who hold a link to the survey they have not answered and that
    has not expired (by each customer's invitations, newest first)."""
    rows = await conn.fetch(
        """select distinct i.customer_id from survey_invitations i
            where i.customer_id = any($1::uuid[]) and i.survey_id = $2
              and i.responded_at is null and i.expires_at > $3""",
        customer_ids,
        survey_id,
        now,
    )
    return {r["customer_id"] for r in rows}


async def open_links(
    conn: Connection, customer_id: uuid.UUID, *, survey_id: uuid.UUID, now: datetime
) -> list[Record]:
    """The customer's unanswered, unexpired invitations to the survey, newest first."""
    return await conn.fetch(
        """select i.id, i.delivery_id, i.task_id, i.sent_by, i.sent_at, i.expires_at,
                  i.share_channel
             from survey_invitations i
            where i.customer_id = $1 and i.survey_id = $2
              and i.responded_at is null and i.expires_at > $3
            order by i.sent_at desc, i.id desc""",
        customer_id,
        survey_id,
        now,
    )


async def lock_inboxes(conn: Connection, user_ids: list[uuid.UUID]) -> None:
    """Hold each staff member's survey lock until the transaction ends (in the same order, as
    `lock_contacts`), so two deliveries to the same people invite each of them once."""
    await conn.execute(
        """select pg_advisory_xact_lock(k.key)
             from (select distinct hashtextextended('survey-inbox:' || u::text, 0) as key
                     from unnest($1::uuid[]) u
                    order by 1) k""",
        user_ids,
    )


async def holding_open_invitations(
    conn: Connection, user_ids: list[uuid.UUID], *, survey_id: uuid.UUID, now: datetime
) -> set[uuid.UUID]:
    """Those of these staff members who have the survey in their inbox: not answered, not
    expired."""
    rows = await conn.fetch(
        """select distinct i.user_id from survey_invitations i
            where i.user_id = any($1::uuid[]) and i.survey_id = $2
              and i.responded_at is null and i.expires_at > $3""",
        user_ids,
        survey_id,
        now,
    )
    return {r["user_id"] for r in rows}

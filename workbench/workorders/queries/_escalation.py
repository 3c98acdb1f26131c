"""Work-order SQL: escalation."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.workorders.queries._common import OPEN_STATES, Record


async def claim_escalations(conn: Connection, *, now: datetime, limit: int) -> list[Record]:
    """Unresolved work orders whose next escalation is due, locked (others' claims skipped)."""
    return await conn.fetch(
        f"""
        select w.id, w.assignee_id, w.org_unit_id, w.escalation_level, w.escalated_to_id,
               w.sla_hours, w.sla_kind, w.due_at, w.survey_id, w.customer_id, w.response_id
          from work_orders w
         where w.state in {OPEN_STATES} and w.next_escalation_at <= $1
         order by w.next_escalation_at
         limit $2
           for update skip locked
        """,
        now,
        limit,
    )


async def mark_escalated(
    conn: Connection,
    work_order_id: uuid.UUID,
    *,
    level: int,
    escalated_to: uuid.UUID | None,
    next_at: datetime | None,
    now: datetime,
) -> None:
    await conn.execute(
        """
        update work_orders
           set escalation_level = $2, escalated_to_id = coalesce($3, escalated_to_id),
               last_escalated_at = $5, next_escalation_at = $4, updated_at = $5
         where id = $1
        """,
        work_order_id,
        level,
        escalated_to,
        next_at,
        now,
    )


async def survey_title(
    conn: Connection, survey_id: uuid.UUID, *, response_id: uuid.UUID | None = None
) -> str:
    """The title a work order's pushes and timeline show: that of the version the response
    `response_id` answered; without one, the survey's latest published version's. Never the
    draft's, which an author may be renaming before publishing it."""
    title: str | None = await conn.fetchval(
        """
        select coalesce(
                 (select v.title
                    from survey_responses r
                    join survey_versions v on v.survey_id = r.survey_id and v.version = r.version
                   where r.id = $2 and r.survey_id = $1),
                 (select v.title
                    from surveys s
                    join survey_versions v on v.survey_id = s.id and v.version = s.version
                   where s.id = $1))
        """,
        survey_id,
        response_id,
    )
    return title or ""

"""Invitation SQL: reminders of unanswered customer invitations."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import Record


async def due_reminders(
    conn: Connection, *, before: datetime, now: datetime, max_reminders: int, limit: int
) -> list[Record]:
    """Unanswered, unexpired invitations of surveys not archived, last contacted before
    `before`, reminded fewer than `max_reminders` times, locked for this transaction (other
    workers skip them; their surveys' rows share-locked, so an archiving waits for the
    reminders or comes before them and stops them)."""
    return await conn.fetch(
        """
        select i.id, i.customer_id, i.user_id, i.reminders, i.survey_id, v.title
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
          join surveys s on s.id = i.survey_id
         where i.responded_at is null and i.customer_id is not null
           and i.sent_at < $1
           and i.expires_at > $2 and i.reminders < $3
           and coalesce(i.last_reminded_at, i.sent_at) < $1
           and s.status <> 'archived'
         order by i.sent_at
         limit $4
         for update of i skip locked
         for share of s
        """,
        before,
        now,
        max_reminders,
        limit,
    )


async def mark_reminded(conn: Connection, invitation_ids: list[uuid.UUID], *, at: datetime) -> None:
    await conn.execute(
        """update survey_invitations set reminders = reminders + 1, last_reminded_at = $2
            where id = any($1::uuid[])""",
        invitation_ids,
        at,
    )

"""Invitation SQL: the staff inbox: a staff member's open invitations."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import Record


async def inbox(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    now: datetime,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """My unanswered, unexpired invitations of surveys not closed (archived: a staff survey
    takes no answer then), newest first."""
    return await conn.fetch(
        """
        select i.id, i.survey_id, i.version, i.sent_at, i.expires_at, v.title,
               jsonb_array_length(v.questions) as questions
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
          join surveys s on s.id = i.survey_id and s.status <> 'archived'
         where i.user_id = $1 and i.responded_at is null and i.expires_at > $2
           and ($3::timestamptz is null or (i.sent_at, i.id) < ($3, $4))
         order by i.sent_at desc, i.id desc
         limit $5
        """,
        user_id,
        now,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )

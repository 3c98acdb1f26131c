"""Invitation SQL: the survey sent: one ever published, its status held while invitations go
out, and those sent after a task of a template."""

from __future__ import annotations

import uuid

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import Record


async def survey_to_send(
    conn: Connection, survey_id: uuid.UUID, *, hold: bool = False
) -> Record | None:
    """A survey ever published (published now, or archived since), with its latest version and
    its status: the caller refuses an archived one as what it is, not as a survey not found.
    `hold`: the survey's row share-locked until the transaction ends (see `survey_status`)."""
    if hold:
        # Locked alone first, then read in a new statement: locked in the join, a row a
        # publishing updated while this waited would be checked again against the version
        # joined before it (the one it replaced) and be left out, a survey not found.
        await conn.execute("select from surveys where id = $1 for share", survey_id)
    return await conn.fetchrow(
        """
        select s.id, s.audience, s.status, s.version, v.title
          from surveys s
          join survey_versions v on v.survey_id = s.id and v.version = s.version
         where s.id = $1 and s.status in ('published', 'archived') and s.version > 0
        """,
        survey_id,
    )


async def survey_status(conn: Connection, survey_id: uuid.UUID) -> str | None:
    """The survey's status, its row share-locked until the transaction ends: an archiving
    (which updates the row) waits for this transaction to end, or ended before it and is seen
    here. So invitations sent in the transaction are sent before the survey is archived."""
    status: str | None = await conn.fetchval(
        "select status from surveys where id = $1 for share", survey_id
    )
    return status


async def surveys_after_template(conn: Connection, template_id: uuid.UUID) -> list[Record]:
    """Published customer surveys sent when a task of this template is done (their rows
    share-locked until the transaction ends: an archiving comes before the send or after)."""
    return await conn.fetch(
        """
        select s.id, s.version from surveys s
         where s.after_template_id = $1 and s.status = 'published' and s.version > 0
           and s.audience = 'customer'
         order by s.id
         for share of s
        """,
        template_id,
    )

"""Surveys a user may send, and staff survey invitations (schema 4)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sync.queries._common import Record
from workbench.db import Connection

# ---- surveys (schema 4) ------------------------------------------------------------------------

# A customer survey the viewer may send: published, owned by a unit on the viewer's path to the
# root (as brochures); its latest published version.
_SENDABLE = "s.status = 'published' and s.audience = 'customer'"
_SURVEY_ON_PATH = """
    exists (select from org_units me join org_units owner on owner.id = s.owner_unit_id
             where me.id = {0} and me.path like owner.path || '%')
"""
_SURVEY_VERSION = "v.survey_id, v.version, v.title, v.audience, v.questions, v.published_at"
# A staff survey the user is invited to answer: not answered, not expired, the survey not
# archived (closed: it takes no answer; archiving records the change for each invitee, 0061).
_OPEN_INVITATION = """
    i.responded_at is null and i.expires_at > {0}
    and exists (select from surveys s where s.id = i.survey_id and s.status <> 'archived')
"""
_INVITATION = "i.id as invitation_id, i.sent_at, i.expires_at"


async def sendable_surveys(
    conn: Connection, viewer_unit_id: uuid.UUID, *, ids: list[uuid.UUID] | None = None,
    after: uuid.UUID | None = None, limit: int | None = None,
) -> list[Record]:  # fmt: skip
    """By id: a row for each id that is no survey or one on the viewer's path (`survey_id` null
    unless the viewer may send it now); surveys of other units give no row. Else the customer
    surveys the viewer may send, in id order."""
    if ids is not None:
        return await conn.fetch(
            f"""
            select k.id as key, {_SURVEY_VERSION}
              from unnest($1::uuid[]) k(id)
              left join surveys s on s.id = k.id
              left join survey_versions v
                on v.survey_id = s.id and v.version = s.version and {_SENDABLE}
             where s.id is null or {_SURVEY_ON_PATH.format("$2")}
            """,
            ids, viewer_unit_id,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select s.id as key, {_SURVEY_VERSION}
          from surveys s
          join survey_versions v on v.survey_id = s.id and v.version = s.version
         where {_SENDABLE} and {_SURVEY_ON_PATH.format("$1")}
           and ($2::uuid is null or s.id > $2)
         order by s.id limit $3
        """,
        viewer_unit_id, after, limit,
    )  # fmt: skip


async def survey_invitations(
    conn: Connection, user: uuid.UUID, now: datetime, *, ids: list[uuid.UUID] | None = None,
    after: uuid.UUID | None = None, limit: int | None = None,
) -> list[Record]:  # fmt: skip
    """By id: the user's invitations among `ids` (`survey_id` null unless open at `now`). Else
    the user's open invitations in id order."""
    if ids is not None:
        return await conn.fetch(
            f"""
            select i.id as key, {_INVITATION}, {_SURVEY_VERSION}
              from survey_invitations i
              left join survey_versions v
                on v.survey_id = i.survey_id and v.version = i.version
               and {_OPEN_INVITATION.format("$3")}
             where i.user_id = $1 and i.id = any($2)
            """,
            user, ids, now,
        )  # fmt: skip
    return await conn.fetch(
        f"""
        select i.id as key, {_INVITATION}, {_SURVEY_VERSION}
          from survey_invitations i
          join survey_versions v on v.survey_id = i.survey_id and v.version = i.version
         where i.user_id = $1 and {_OPEN_INVITATION.format("$2")}
           and ($3::uuid is null or i.id > $3)
         order by i.id limit $4
        """,
        user, now, after, limit,
    )  # fmt: skip

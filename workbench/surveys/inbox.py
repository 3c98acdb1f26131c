"""The staff inbox: surveys sent to me (no link; I am signed in), one of them, my answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mobile_contracts.v1 import survey_delivery as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.surveys import Audience, Submission
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.pagination import decode_cursor, encode_cursor
from workbench.security.vault import FieldCipher
from workbench.surveys import submission
from workbench.surveys.invitations import queries


async def waiting(
    conn: Connection, *, caller: Caller, cursor: str | None, limit: int, now: datetime | None = None
) -> Page[wire.InboxItem]:
    """My unanswered, unexpired invitations, newest first; none of a survey closed (archived)."""
    before = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.inbox(
        conn, caller.user_id, now=now or datetime.now(UTC), before=before, limit=limit + 1
    )
    items = [_item(r) for r in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return Page(
        items=items, next_cursor=encode_cursor([last["sent_at"], last["id"]]) if last else None
    )


def _item(row: queries.Record) -> wire.InboxItem:
    return wire.InboxItem(
        invitation_id=row["id"], survey_id=row["survey_id"], version=row["version"],
        title=row["title"], questions=row["questions"], sent_at=row["sent_at"],
        expires_at=row["expires_at"],
    )  # fmt: skip


async def invitation(
    conn: Connection, *, caller: Caller, invitation_id: uuid.UUID
) -> wire.Invitation:
    """One of my invitations (answered or not) with its version's questions; others 404."""
    opened = await submission.open_invitation(
        conn, invitation_id, customer=False, user_id=caller.user_id
    )
    if opened.row is None:
        raise NotFound("invitation")
    row = opened.row
    return wire.Invitation(
        id=row["id"], survey_id=row["survey_id"], version=row["version"], title=row["title"],
        audience=Audience(row["audience"]), questions=opened.questions, sent_at=row["sent_at"],
        expires_at=row["expires_at"], responded_at=row["responded_at"],
    )  # fmt: skip


async def answer(
    conn: Connection,
    *,
    cipher: FieldCipher,
    caller: Caller,
    invitation_id: uuid.UUID,
    data: Submission,
    now: datetime | None = None,
) -> wire.ResponseStored:
    """Answer one of my invitations, once (again: 409 `survey.already_answered`; the survey
    closed, archived: 409 `survey.archived`)."""
    response_id, at = await submission.store(
        conn, cipher=cipher, invitation_id=invitation_id, submitted=data.answers, customer=False,
        user_id=caller.user_id, now=now,
    )  # fmt: skip
    return wire.ResponseStored(id=response_id, invitation_id=invitation_id, submitted_at=at)

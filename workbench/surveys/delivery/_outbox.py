"""The outbox: the survey messages (invitations and reminders) in order from a position, as
the bank's SMS or WeChat gateway reads them, each once it has settled."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from mobile_contracts.v1 import survey_delivery as wire
from workbench.db import Connection
from workbench.surveys.delivery._common import OUTBOX_SETTLE_SECONDS
from workbench.surveys.delivery._rules import Rules
from workbench.surveys.invitations import queries


async def messages(
    conn: Connection,
    *,
    rules: Rules,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    now: datetime | None = None,
) -> tuple[list[wire.SurveyMessage], tuple[datetime, uuid.UUID] | None]:
    """The outbox in order from a position: the messages and the position after them.

    A message is listed once it is OUTBOX_SETTLE_SECONDS old: a message is stamped when its
    transaction (a chunk, a reminder batch, a request) starts and seen when it commits, so a
    reader that had moved past its time would miss one committed late; transactions that
    write messages last well under a second."""
    settled = (now or datetime.now(UTC)) - timedelta(seconds=OUTBOX_SETTLE_SECONDS)
    rows = await queries.messages_after(conn, after=after, before=settled, limit=limit)
    last = (rows[-1]["created_at"], rows[-1]["id"]) if rows else after
    return [_message(r, rules) for r in rows], last


def _message(row: queries.Record, rules: Rules) -> wire.SurveyMessage:
    return wire.SurveyMessage(
        id=row["id"], kind=wire.MessageKind(row["kind"]), seq=row["seq"],
        customer_external_id=row["external_id"], invitation_id=row["invitation_id"],
        survey_id=row["survey_id"], title=row["title"], url=rules.url(row["invitation_id"]),
        expires_at=row["expires_at"], created_at=row["created_at"],
    )  # fmt: skip

"""The worker's step of a queued delivery: the recipients counted when it starts, then the
next chunk after its position sent; a delivery of a survey archived since stops there,
`failed`."""

from __future__ import annotations

from datetime import UTC, datetime

from workbench.db import Connection
from workbench.surveys.delivery._common import CHUNK
from workbench.surveys.delivery._rules import Rules
from workbench.surveys.delivery._sending import send_chunk
from workbench.surveys.design import SurveyArchived
from workbench.surveys.invitations import queries


async def run_chunk(conn: Connection, *, delivery: queries.Record, rules: Rules,
                    now: datetime | None = None, chunk: int = CHUNK) -> queries.Record:  # fmt: skip
    """One step of a claimed delivery (in the caller's transaction, the row locked): count the
    recipients when it starts, then invite the next `chunk` after its position; the row as it
    is now (status `done` after the last chunk). A delivery of a survey archived since ends
    there, `failed` with error `survey.archived`, sending nothing more: the survey's row is
    held for the chunk's transaction, so an archiving comes before a chunk or after it."""
    now = now or datetime.now(UTC)
    if await queries.survey_status(conn, delivery["survey_id"]) == "archived":
        stopped = await queries.fail_delivery(conn, delivery["id"], SurveyArchived.code)
        return stopped or delivery
    if delivery["status"] == "queued":
        total = await queries.count_recipients(conn, delivery)
        await queries.start_delivery(conn, delivery["id"], total=total)
    ids = await queries.next_recipients(
        conn, delivery, after=delivery["position"], limit=chunk,
        offset=delivery["done"] + delivery["skipped"],
    )  # fmt: skip
    if not ids:
        return await queries.advance_delivery(
            conn, delivery["id"], position=None, done=0, skipped=0, finished=True
        )
    sent = await send_chunk(conn, delivery=delivery, recipient_ids=ids, rules=rules, now=now)
    done = sum(s.invitation_id is not None for s in sent)
    return await queries.advance_delivery(
        conn, delivery["id"], position=ids[-1], done=done, skipped=len(sent) - done,
        finished=len(ids) < chunk,
    )  # fmt: skip

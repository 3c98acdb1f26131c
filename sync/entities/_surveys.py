"""Entities: surveys (schema 4): those the user may send and the user's own open invitations to
answer, read by key and in key order (the sendable first, then the invitations)."""

from __future__ import annotations

import uuid

import msgspec

from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1.surveys import Audience, Question
from sync import queries
from sync.entities._common import Page, Partition, Rows, _resume, _uuids
from workbench.db import Connection


def _survey(r: queries.Record, use: wire.SurveyUse) -> wire.SyncSurvey | None:
    if r["survey_id"] is None:
        return None
    invited = use is wire.SurveyUse.ANSWER
    return wire.SyncSurvey(
        id=r["key"],
        use=use,
        survey_id=r["survey_id"],
        version=r["version"],
        title=r["title"],
        audience=Audience(r["audience"]),
        questions=msgspec.convert(r["questions"], list[Question]),
        published_at=r["published_at"],
        invitation_id=r["invitation_id"] if invited else None,
        sent_at=r["sent_at"] if invited else None,
        expires_at=r["expires_at"] if invited else None,
    )


async def _surveys_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    """A key is the user's invitation (open: the row; answered or expired: a delete) or a
    survey (one the user may send: the row; archived, or no longer a survey: a delete; a survey
    of a unit off the user's path: nothing)."""
    ids = _uuids(keys)
    invited = await queries.survey_invitations(conn, part.user_id, part.at, ids=ids)
    rows: Rows = [(str(r["key"]), _survey(r, wire.SurveyUse.ANSWER)) for r in invited]
    rest = [i for i in ids if i not in {r["key"] for r in invited}]
    if rest:
        sendable = await queries.sendable_surveys(conn, part.caller.org_unit_id, ids=rest)
        rows += [(str(r["key"]), _survey(r, wire.SurveyUse.SEND)) for r in sendable]
    return rows


async def _surveys_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    """The surveys the user may send (in id order), then their open invitations (in id order);
    the walk resumes at ["send" | "answer", last id read]."""
    rows: Rows = []
    phase, start = (after[0], uuid.UUID(after[1])) if after else ("send", None)
    if phase == "send":
        sendable = await queries.sendable_surveys(
            conn, part.caller.org_unit_id, after=start, limit=limit
        )
        rows = [(str(r["key"]), _survey(r, wire.SurveyUse.SEND)) for r in sendable]
        if len(rows) == limit:
            return rows, ["send", rows[-1][0]]
        start = None
    room = limit - len(rows)
    invited = await queries.survey_invitations(conn, part.user_id, part.at, after=start, limit=room)
    rows += [(str(r["key"]), _survey(r, wire.SurveyUse.ANSWER)) for r in invited]
    return rows, _resume(len(invited), room, lambda: ["answer", str(invited[-1]["key"])])

"""Storing an answer to an invitation, once: the public page's and the staff inbox's submission.

A staff survey takes no answer once it is archived (closed for good: its results then show its
answers, which must no longer move; see `results._staff_groups`); a customer's link sent before
the archiving is still answered until it expires.

In one transaction: the invitation row is locked (so that of many submissions racing, one goes
on and the others find it answered), the answers are checked against the invitation's version,
the response is stored (text answers encrypted with the response id as associated data), the
invitation marked answered, the chosen options' tags added to the customer, the customer's
timeline told, and the results' and alert rules' hooks called.

An app's JSON submission to the public page is read with `decode`: each answer as the JSON value
sent, so that a value of the wrong type (`true` for a score, a list for a single choice) is said
at its question in the customer's words by `answers.check`, never as the decoder's English.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from mobile_contracts.v1.surveys import Question
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, NotFound
from workbench.ids import uuid7
from workbench.security.rotation import EncryptedColumns
from workbench.security.vault import FieldCipher
from workbench.surveys import answers, tallies
from workbench.surveys.design import SurveyArchived
from workbench.surveys.invitations import queries
from workbench.timeline import service as timeline
from workbench.workorders import alerts


def texts_aad(response_id: uuid.UUID) -> str:
    """Associated data binding a response's encrypted text answers (a JSON object by question
    key) to the response (as the results read them)."""
    return f"survey_response.texts:{response_id}"


# What `workbench rotate-keys` re-encrypts of responses: their text answers.
ENCRYPTED = EncryptedColumns(
    kind="survey responses",
    table="survey_responses",
    key="id",
    key_type="uuid",
    aad={"texts_enc": lambda row: texts_aad(row["id"])},
)


class _Sent(msgspec.Struct, forbid_unknown_fields=True):
    """A Submission as sent: its answers any JSON values, judged question by question."""

    answers: dict[str, Any]


NOT_JSON = "无法读取提交内容：提交的不是有效的 JSON。"
NOT_ANSWERS = '无法读取提交内容：请以 {"answers": {题目: 回答}} 的形式提交。'


def decode(body: bytes) -> dict[str, Any]:
    """The answers of a JSON Submission, by question key, each as sent (any JSON value:
    `answers.check` says at each question what is wrong with its value). 422
    `survey.answers_invalid` at `answers` for a body that is not JSON, or not an object
    holding `answers`, an object, and nothing else."""
    try:
        return msgspec.json.decode(body, type=_Sent).answers
    except msgspec.ValidationError:  # JSON, but not the shape of a Submission
        raise answers.AnswersInvalid({"answers": NOT_ANSWERS}) from None
    except msgspec.DecodeError:
        raise answers.AnswersInvalid({"answers": NOT_JSON}) from None


class AlreadyAnswered(Conflict):
    code, title = "survey.already_answered", "This survey was answered already"


class LinkExpired(DomainError):
    status, code, title = 410, "survey.link_expired", "This survey can no longer be answered"


class State(enum.Enum):
    OPEN = "open"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class Opened:
    """An invitation as its page shows it."""

    state: State
    row: queries.Record | None = None

    @property
    def questions(self) -> list[Question]:
        assert self.row is not None
        return questions_of(self.row)


def questions_of(row: queries.Record) -> list[Question]:
    return msgspec.convert(row["questions"], list[Question])


async def open_invitation(
    conn: Connection,
    invitation_id: uuid.UUID | None,
    *,
    customer: bool | None = None,
    user_id: uuid.UUID | None = None,
    lock: bool = False,
    now: datetime | None = None,
) -> Opened:
    """An invitation and whether it can be answered now (expired also while the bank has
    closed its customer). `customer`: only a customer's (a link) or only a staff member's;
    `user_id`: only this staff member's. Reading changes nothing."""
    if invitation_id is None:
        return Opened(State.UNKNOWN)
    row = await queries.invitation(conn, invitation_id, lock=lock)
    if row is None:
        return Opened(State.UNKNOWN)
    if customer is not None and (row["customer_id"] is not None) != customer:
        return Opened(State.UNKNOWN)
    if user_id is not None and row["user_id"] != user_id:
        return Opened(State.UNKNOWN)
    if row["responded_at"] is not None:
        return Opened(State.ANSWERED, row)
    # A customer the bank closed: their links ended with the close (`end_links_of`), and one
    # made as it happened (a delivery under way) is no more open than those.
    if row["expires_at"] <= (now or datetime.now(UTC)) or row["customer_closed"]:
        return Opened(State.EXPIRED, row)
    return Opened(State.OPEN, row)


async def store(
    conn: Connection,
    *,
    cipher: FieldCipher,
    invitation_id: uuid.UUID | None,
    submitted: Mapping[str, Any],
    customer: bool | None = None,
    user_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[uuid.UUID, datetime]:
    """Store the answer to an invitation: (response id, submitted at as stored: a staff
    answer's is the midnight starting its bank day). 404 for an invitation unknown (or not the
    caller's), 409 `survey.already_answered` (the first answer is kept), 410
    `survey.link_expired`, 409 `survey.archived` for a staff survey closed (archived), 422
    `survey.answers_invalid` naming each question to fix.

    A staff answer is anonymous in the database too: stored with no user id, no invitation id
    and no time finer than its day, under a random id; the invitation alone records that it
    was answered (in this transaction, so never twice), not when (migration 0054)."""
    now = now or datetime.now(UTC)
    opened = await open_invitation(
        conn, invitation_id, customer=customer, user_id=user_id, lock=True, now=now
    )
    if opened.state is State.UNKNOWN or opened.row is None:
        raise NotFound("invitation")
    if opened.state is State.ANSWERED:
        raise AlreadyAnswered("您已提交过本问卷")
    if opened.state is State.EXPIRED:
        raise LinkExpired("This invitation expired")
    row = opened.row
    # A staff survey's row share-locked to the end: an archiving (which updates it) comes
    # before this answer, which it then refuses, or after it is counted, never between: no
    # answer moves the results of a closed staff survey.
    staff = row["customer_id"] is None
    if staff and await queries.survey_status(conn, row["survey_id"]) == "archived":
        raise SurveyArchived("This staff survey is closed (archived) and takes no more answers")
    checked = answers.check(opened.questions, submitted)
    customer_id = row["customer_id"]
    # A staff answer's id is random: a uuid7 would tell when it came (see `insert_response`).
    response_id = uuid7() if customer_id is not None else uuid.uuid4()
    texts_enc = (
        cipher.encrypt(msgspec.json.encode(checked.texts).decode(), aad=texts_aad(response_id))
        if checked.texts
        else None
    )
    rm_id = await queries.customer_owner(conn, customer_id) if customer_id else None
    stored_at = await queries.insert_response(
        conn, response_id=response_id, invitation=row, rm_id=rm_id, answers=checked.answers,
        texts_enc=texts_enc, submitted_at=now,
    )  # fmt: skip
    if stored_at is None:  # the lock makes this unreachable; the statement keeps it true anyway
        raise AlreadyAnswered("您已提交过本问卷")
    if customer_id is not None:
        if checked.tags:
            await queries.add_customer_tags(conn, customer_id, checked.tags)
        await timeline.record(
            conn, cipher=cipher, customer_id=customer_id, kind="survey.answered",
            occurred_at=now, source="survey", source_id=str(response_id),
            data={"survey_id": str(row["survey_id"]), "version": row["version"],
                  "title": row["title"], "response_id": str(response_id)},
        )  # fmt: skip
    await tallies.on_response(
        conn, response_id=response_id, texts=checked.texts, invitation_id=row["id"]
    )
    await alerts.on_response(conn, response_id=response_id, texts=checked.texts)
    return response_id, stored_at

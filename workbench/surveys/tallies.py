"""What results read, kept as answers arrive: per-question counts and the terms of text answers.

The submission calls `on_response` in its own transaction, right after storing the response, so
the counts and the response commit (or roll back) together. A response is counted once: calling
again for the same response changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from mobile_contracts.v1.surveys import Question, QuestionType
from workbench.db import Connection
from workbench.surveys import terms as words
from workbench.surveys.rollups import queries

ANSWERED = ""  # the value row that counts the responses answering a question at all


async def on_response(
    conn: Connection,
    *,
    response_id: uuid.UUID,
    texts: dict[str, str],
    invitation_id: uuid.UUID | None = None,
) -> None:
    """Count a response just stored (in its transaction). `texts`: its text answers, in clear;
    `invitation_id`: the invitation it answers, needed for a staff answer (which does not keep
    it: counts go by the invitation's unit; a staff answer's by its own day, a customer's by
    the invitation's)."""
    response = await queries.claim_response(conn, response_id, invitation_id=invitation_id)
    if response is None:
        return
    questions = msgspec.convert(response["questions"] or [], list[Question])
    await queries.add_response(conn, response, counts(questions, response["answers"], texts))


def counts(
    questions: Sequence[Question], answers: Mapping[str, Any], texts: Mapping[str, str]
) -> queries.Counts:
    """The (question, value) and (question, term) pairs one response adds to the rollups."""
    values: list[tuple[str, str]] = []
    found: list[tuple[str, str]] = []
    for question in questions:
        key = question.key
        if question.type is QuestionType.TEXT:
            text = (texts.get(key) or "").strip()
            if text:
                values.append((key, ANSWERED))
                found.extend((key, term) for term in words.terms(text))
            continue
        answer = answers.get(key)
        if answer is None or answer == [] or answer == "":
            continue
        values.append((key, ANSWERED))
        for value in answer if isinstance(answer, list) else [answer]:
            values.append((key, str(value)))
    return queries.Counts(values=values, terms=found)

"""The answers containing a word (`…/results/answers?term=`), one page, newest first: a
customer survey's each with its respondent and unit, a staff survey's only in groups shown,
under the group's unit, on its day, under an id that says nothing of when it came."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from mobile_contracts.v1 import survey_results as wire
from workbench.access import Caller
from workbench.db import Connection
from workbench.pagination import decode_cursor, encode_cursor
from workbench.security.vault import FieldCipher
from workbench.surveys.results._answers import STAFF, open_texts, respondent
from workbench.surveys.results._scope import Target
from workbench.surveys.results._staff_groups import require_group
from workbench.surveys.rollups import queries
from workbench.surveys.terms import holds_long_number


def normalized_term(term: str) -> str:
    """A term as the tallies store it (`terms.terms` lower-cases and NFKC-normalizes)."""
    return unicodedata.normalize("NFKC", term).strip().lower()


async def term_answers(
    conn: Connection,
    *,
    caller: Caller,
    target: Target,
    cipher: FieldCipher,
    term: str,
    question_key: str | None,
    cursor: str | None,
    limit: int,
    tz: str,
) -> tuple[list[wire.TermAnswer], str | None]:
    """The answers of the target's scope containing `term`, newest first, one page. A staff
    survey's: ResultsAfterClose while it is open, TooFewAnswers below MIN_STAFF_GROUP
    responses (`require_group`); else each under the unit of its
    group, on its day (midnight in the bank's time zone `tz`, and that day as `sent_on`: its
    invitation's would tell the round), under its shown id, by day, then by that id."""
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID, str])
    if holds_long_number(normalized_term(term)):  # never a term: a number the answers mask
        await require_group(conn, target)
        return [], None
    if target.staff:
        await require_group(conn, target)
        return await _staff_term_answers(
            conn, target=target, cipher=cipher, term=term, question_key=question_key,
            after=after, limit=limit, tz=tz,
        )  # fmt: skip
    rows = await queries.term_answers(
        conn, target.scope, term=normalized_term(term), question_key=question_key,
        after=after, limit=limit,
    )  # fmt: skip
    items = []
    for row in rows[:limit]:
        texts = open_texts(cipher, row["response_id"], row["texts_enc"])
        items.append(
            wire.TermAnswer(
                response_id=row["response_id"],
                question_key=row["question_key"],
                text=texts.get(row["question_key"], ""),
                respondent=respondent(cipher, caller.role, row),
                org_unit_id=row["org_unit_id"],
                org_unit_name=row["org_unit_name"],
                submitted_at=row["submitted_at"],
                sent_on=row["day"],
            )
        )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(
            [last["submitted_at"], last["response_id"], last["question_key"]]
        )
    return items, next_cursor


async def _staff_term_answers(
    conn: Connection,
    *,
    target: Target,
    cipher: FieldCipher,
    term: str,
    question_key: str | None,
    after: tuple[datetime, uuid.UUID, str] | None,
    limit: int,
    tz: str,
) -> tuple[list[wire.TermAnswer], str | None]:
    rows = await queries.staff_term_answers(
        conn, target.scope, term=normalized_term(term), question_key=question_key,
        after=after, limit=limit, tz=tz,
    )  # fmt: skip
    zone = ZoneInfo(tz)
    items = [
        wire.TermAnswer(
            response_id=row["shown_id"],
            question_key=row["question_key"],
            text=open_texts(cipher, row["response_id"], row["texts_enc"]).get(
                row["question_key"], ""
            ),
            respondent=STAFF,
            org_unit_id=row["org_unit_id"],
            org_unit_name=row["org_unit_name"],
            submitted_at=row["submitted_on"].astimezone(zone),  # midnight there
            # Its own day: its invitation's would tell the round (and a round of one, whose).
            sent_on=row["submitted_on"].astimezone(zone).date(),
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([last["submitted_on"], last["shown_id"], last["question_key"]])
    return items, next_cursor

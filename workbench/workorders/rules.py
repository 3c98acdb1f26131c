"""Alert rules: which conditions fit which question, and whether an answer matches one.

- nps (0-10) and rating (1-5): `lte`, `gte` or `eq` a whole number in the question's range;
- single and multi choice: `eq` an option value of the question (multi: that option chosen);
- text: `contains` a term (case-insensitive; Chinese text as written, no segmentation needed).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from mobile_contracts.v1 import workorders as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.problems import FieldError
from mobile_contracts.v1.surveys import Question, QuestionType
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.db import Connection, after_commit
from workbench.errors import DomainError, NotFound
from workbench.ids import uuid7
from workbench.pagination import decode_cursor, keyset_page
from workbench.security.vault import Vault
from workbench.visible import reads_otherwise, shows_something
from workbench.workorders import alerts, queries

SCORE_RANGES = {QuestionType.NPS: (0, 10), QuestionType.RATING: (1, 5)}
OPS_BY_TYPE: dict[QuestionType, frozenset[str]] = {
    QuestionType.NPS: frozenset({"lte", "gte", "eq"}),
    QuestionType.RATING: frozenset({"lte", "gte", "eq"}),
    QuestionType.SINGLE: frozenset({"eq"}),
    QuestionType.MULTI: frozenset({"eq"}),
    QuestionType.TEXT: frozenset({"contains"}),
}


class QuestionUnknown(DomainError):
    status, code, title = 422, "alert_rule.question_unknown", "No such question in the survey"


class ConditionInvalid(DomainError):
    status, code, title = 422, "alert_rule.condition_invalid", "The condition does not fit"


class StaffSurvey(DomainError):
    """A staff survey's answers are anonymous: a work order opened by one of them would hand the
    respondent's branch head their answer, their team and the minute they gave it."""

    status, code, title = 422, "alert_rule.staff_survey", "Staff answers open no work orders"


def check(questions: Sequence[Question], *, key: str, op: str, value: int | str) -> int | str:
    """The rule's value as stored (a term trimmed), or 422 if the survey's latest version has
    no such question or the condition does not fit its type."""
    question = next((q for q in questions if q.key == key), None)
    if question is None:
        raise QuestionUnknown(
            f"The survey's latest published version has no question {key!r}"
            if questions
            else "Publish the survey before adding alert rules to it"
        )
    allowed = OPS_BY_TYPE[question.type]
    if op not in allowed:
        raise ConditionInvalid(
            f"A {question.type.value} question takes the op {' or '.join(sorted(allowed))}",
            question_type=question.type.value,
        )
    if question.type in SCORE_RANGES:
        low, high = SCORE_RANGES[question.type]
        if not isinstance(value, int) or not low <= value <= high:
            raise ConditionInvalid(
                f"A {question.type.value} question takes a whole number {low}-{high}",
                question_type=question.type.value,
            )
        return value
    # A term that shows nothing (spaces or invisible characters only) or reads otherwise
    # (control characters, direction overrides) is no term a rule list can show.
    if not isinstance(value, str) or not shows_something(value) or reads_otherwise(value.strip()):
        message = (
            "Give an option value" if question.type is not QuestionType.TEXT else "Give a term"
        )
        raise ConditionInvalid(
            message,
            question_type=question.type.value,
            errors=[FieldError(path="$.value", message=message)],
        )
    if question.type is QuestionType.TEXT:
        return value.strip()
    options = {o.value for o in question.options}
    if value not in options:
        raise ConditionInvalid(
            f"{value!r} is not an option of question {key!r}: {', '.join(sorted(options))}",
            question_type=question.type.value,
        )
    return value


def matches(
    question: Question | None,
    *,
    op: str,
    value: Any,
    answers: Mapping[str, Any],
    texts: Mapping[str, str],
) -> bool:
    """Whether the answer to `question` (None: not in the version answered) meets the rule.
    An unanswered question, or one whose type no longer fits the rule, never matches."""
    if question is None or op not in OPS_BY_TYPE[question.type]:
        return False
    if question.type is QuestionType.TEXT:
        text = texts.get(question.key)
        return (
            isinstance(text, str)
            and isinstance(value, str)
            and value.casefold() in (text.casefold())
        )
    answer = answers.get(question.key)
    if answer is None:
        return False
    if question.type in SCORE_RANGES:
        if not isinstance(answer, int) or isinstance(answer, bool) or not isinstance(value, int):
            return False
        if op == "lte":
            return answer <= value
        if op == "gte":
            return answer >= value
        return answer == value
    if question.type is QuestionType.MULTI:
        return isinstance(answer, list) and value in answer
    return bool(answer == value)


# ---- the rules of a survey, kept by admins ------------------------------------------------------

INLINE_APPLY = 200  # up to this many past responses are evaluated in the request itself


async def _questions_of(
    conn: Connection, survey_id: uuid.UUID, *, new_rule: bool = False
) -> list[Question]:
    survey = await queries.survey_for_rules(conn, survey_id)
    if survey is None:
        raise NotFound("survey")
    if new_rule and survey["audience"] == "staff":
        raise StaffSurvey(
            "Staff surveys are answered anonymously: their answers are read in groups on the"
            " results page, and open no work orders"
        )
    return msgspec.convert(survey["questions"] or [], list[Question])


def _rule(row: queries.Record) -> wire.AlertRule:
    return msgspec.convert(dict(row), wire.AlertRule)


async def create(
    conn: Connection,
    *,
    caller: Caller,
    request: wire.AlertRuleCreate,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> wire.AlertRule:
    """A new rule on a question of the survey's latest published version (404 survey, 422
    `alert_rule.question_unknown` / `alert_rule.condition_invalid`; a staff survey: 422
    `alert_rule.staff_survey`), in the audit trail. `client_ip`: the admin's address."""
    questions = await _questions_of(conn, request.survey_id, new_rule=True)
    value = check(questions, key=request.question_key, op=request.op.value, value=request.value)
    row = await queries.insert_rule(
        conn, rule_id=uuid7(), survey_id=request.survey_id, question_key=request.question_key,
        op=request.op.value, value=value, assign_to=request.assign_to.value,
        sla_hours=request.sla_hours, sla_kind=request.sla_kind.value, active=request.active,
        created_by=caller.user_id, now=now or datetime.now(UTC),
    )  # fmt: skip
    await audit.record(
        conn,
        action="alert_rule.created",
        actor_id=caller.user_id,
        subject=f"alert_rule:{row['id']}",
        client_ip=client_ip,
        detail={"survey_id": str(request.survey_id), "active": request.active},
    )
    return _rule(row)


# What an edit may change, as the audit trail names it.
EDITABLE = ("question_key", "op", "value", "assign_to", "sla_hours", "sla_kind", "active")


async def edit(
    conn: Connection,
    *,
    caller: Caller,
    rule_id: uuid.UUID,
    request: wire.AlertRuleEdit,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> wire.AlertRule:
    """Change a rule; a changed condition is checked like a new one. Work orders it opened
    keep their assignee and SLA. A change is in the audit trail (the names of the fields it
    changed, never their values; `client_ip`: the admin's address); a request that changes
    nothing writes nothing."""
    row = await queries.rule(conn, rule_id)
    if row is None:
        raise NotFound("alert_rule")
    key = request.question_key or row["question_key"]
    op = request.op.value if request.op else row["op"]
    value = request.value if request.value is not None else row["value"]
    if (key, op, value) != (row["question_key"], row["op"], row["value"]):
        # A changed condition must fit the latest version; switching a rule off (or changing
        # whom it assigns) works even if a later version dropped its question.
        questions = await _questions_of(conn, row["survey_id"])
        value = check(questions, key=key, op=op, value=value)
    fields: dict[str, Any] = {
        "question_key": key,
        "op": op,
        "value": value,
        "assign_to": request.assign_to.value if request.assign_to else row["assign_to"],
        "sla_hours": request.sla_hours or row["sla_hours"],
        "sla_kind": request.sla_kind.value if request.sla_kind else row["sla_kind"],
        "active": row["active"] if request.active is None else request.active,
    }
    changed = [k for k in EDITABLE if not _same(row[k], fields[k])]
    if not changed:
        return _rule(row)
    updated = await queries.update_rule(conn, rule_id, **fields, now=now or datetime.now(UTC))
    assert updated is not None
    await audit.record(
        conn,
        action="alert_rule.updated",
        actor_id=caller.user_id,
        subject=f"alert_rule:{rule_id}",
        client_ip=client_ip,
        detail={"changed": changed},
    )
    return _rule(updated)


def _same(old: Any, new: Any) -> bool:
    """Whether a setting is unchanged: of the same type and equal (a score 6 is not the option
    value "6", and `True == 1` in Python)."""
    return type(old) is type(new) and old == new


async def get(conn: Connection, *, rule_id: uuid.UUID) -> wire.AlertRule:
    row = await queries.rule(conn, rule_id)
    if row is None:
        raise NotFound("alert_rule")
    return _rule(row)


async def list_rules(conn: Connection, *, survey_id: uuid.UUID | None) -> list[wire.AlertRule]:
    """Every rule (of one survey, when given) in the order they apply (the console's list, and
    the deprecated bare-array answer of `GET /alert-rules?array=true`)."""
    return [_rule(r) for r in await queries.rules(conn, survey_id)]


async def page_rules(
    conn: Connection, *, survey_id: uuid.UUID | None, cursor: str | None, limit: int
) -> Page[wire.AlertRule]:
    """A page of the rules of `list_rules`, in the order they apply."""
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.rules(conn, survey_id, after=after, limit=limit + 1)
    kept, next_cursor = keyset_page(rows, limit, lambda r: [r["created_at"], r["id"]])
    return Page(items=[_rule(r) for r in kept], next_cursor=next_cursor)


class RuleInactive(DomainError):
    status, code, title = 409, "alert_rule.inactive", "An inactive rule is not applied"


async def apply(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    rule_id: uuid.UUID,
    enqueue: Callable[[], Awaitable[None]] | None,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> wire.RuleApplied:
    """Apply a rule to its survey's past responses: here for a few, else in the worker
    (`enqueue`, run after the commit). Answers with a work order already keep it. In the audit
    trail (how many answers, whether queued, how many work orders opened; `client_ip`: the
    admin's address)."""
    row = await queries.rule(conn, rule_id)
    if row is None:
        raise NotFound("alert_rule")
    if not row["active"]:
        raise RuleInactive("Activate the rule before applying it")
    total = await queries.count_responses(conn, row["survey_id"])
    if total > INLINE_APPLY and enqueue is not None:
        after_commit(conn, enqueue)
        applied = wire.RuleApplied(rule_id=rule_id, responses=total, queued=True)
    else:
        opened, after = 0, None
        while True:
            count, after = await alerts.apply_rule(
                conn, cipher=vault.cipher, rule=row, after=after, now=now
            )
            opened += count
            if after is None:
                break
        applied = wire.RuleApplied(rule_id=rule_id, responses=total, queued=False, opened=opened)
    await audit.record(
        conn,
        action="alert_rule.applied",
        actor_id=caller.user_id,
        subject=f"alert_rule:{rule_id}",
        client_ip=client_ip,
        detail={"responses": total, "queued": True}
        if applied.queued
        else {"responses": total, "queued": False, "opened": applied.opened},
    )
    return applied

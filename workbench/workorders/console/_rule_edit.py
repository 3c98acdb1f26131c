"""The admin changes an alert rule from the console: 停用/启用 on the rules page (a rule that floods
branch heads is paused; the work orders it opened stay and are worked as before) and 编辑 (its
condition, whom it assigns, its time limit, whether it is on). Both go through `rules.edit`, as the
API's PATCH does, so the checks and the audit row are the API's.

The edit form sends back, hidden, the settings it showed, and only what the admin changed goes to
the service: a change of time limit does not switch back on a rule another admin paused meanwhile.
A condition is one thing (question, op and value checked together, as for a new rule): when any
part of it changed, all three are sent."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from mobile_contracts.v1 import workorders as wire
from mobile_contracts.v1.surveys import Question
from workbench.console import Console, visible_to
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.http.deps import CurrentCaller, Db
from workbench.workorders import rules
from workbench.workorders.console import queries
from workbench.workorders.console._admin import (
    ADMIN,
    RULES_PATH,
    TYPE_LABELS,
    _ip,
    _rule_refusal,
    _shape_refusal,
    _unset,
    chosen_value,
    value_choices,
)
from workbench.workorders.console._shared import (
    ASSIGN_LABELS,
    MESSAGES,
    OP_LABELS,
    SLA_LABELS,
    text,
)

# The edit form's fields: what PATCH /api/v1/alert-rules/{id} accepts, by the same names.
FIELDS = ("question_key", "op", "value", "assign_to", "sla_hours", "sla_kind", "active")
CONDITION = frozenset({"question_key", "op", "value"})
PAUSED = "规则已停用：新的回答不再因它生成工单；已生成的工单保持不变，照常处理。"
RESUMED = "规则已启用：之后的回答命中即生成工单。停用期间的回答可点“应用到历史回答”补上。"


def _rule_path(rule_id: uuid.UUID, tail: str) -> str:
    return f"{RULES_PATH}/{rule_id}/{tail}"


def _shown(rule: wire.AlertRule) -> dict[str, str]:
    """A rule's settings as the edit form shows them (and sends them back, hidden)."""
    return {
        "question_key": rule.question_key,
        "op": rule.op.value,
        "value": str(rule.value),
        "assign_to": rule.assign_to.value,
        "sla_hours": str(rule.sla_hours),
        "sla_kind": rule.sla_kind.value,
        "active": "1" if rule.active else "0",
    }


async def _survey(db: Connection, survey_id: uuid.UUID) -> tuple[str, list[Question]]:
    """The title of the rule's survey and the questions of its latest published version."""
    row = await queries.rule_survey(db, survey_id)
    if row is None:
        return "（问卷已不存在）", []
    return row["title"], msgspec.convert(row["questions"] or [], list[Question])


async def _edit_page(
    request: Request[Any, Any, Any],
    db: Connection,
    console: Console,
    rule: wire.AlertRule,
    *,
    sent: dict[str, str] | None = None,
    shown: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response[Any]:
    """The edit form, filled with the rule's settings or with the form as it was `sent`;
    `errors`: why a field was refused (said beside it); `error`: a refusal of no field."""
    title, questions = await _survey(db, rule.survey_id)
    sent = sent or _shown(rule)
    chosen = next((q for q in questions if q.key == sent["question_key"]), None)
    return console.render(
        "workorders/rule_edit.html",
        {
            "rule": rule,
            "survey_title": title,
            "questions": questions,
            "known": any(q.key == sent["question_key"] for q in questions),
            "type_labels": TYPE_LABELS,
            "ops": OP_LABELS,
            "assign_labels": ASSIGN_LABELS,
            "sla_labels": SLA_LABELS,
            "sent": sent,
            "shown": shown or _shown(rule),
            "errors": errors or {},
            "error": error,
            "action": _rule_path(rule.id, "edit"),
            "choices": value_choices(chosen),
        },
        status=status,
    )


@get(
    RULES_PATH.removeprefix("/console") + "/{rule_id:uuid}/edit",
    opt=visible_to(*ADMIN),
    name="console:alert-rule-edit-form",
)
async def edit_rule_form(
    request: Request[Any, Any, Any], db: Db, console: Console, rule_id: FromPath[uuid.UUID]
) -> Response[Any]:
    """The form to change a rule, filled with its settings (no such rule: the 404 page)."""
    rule = await rules.get(db, rule_id=rule_id)
    return await _edit_page(request, db, console, rule)


@post(
    RULES_PATH.removeprefix("/console") + "/{rule_id:uuid}/edit",
    opt=visible_to(*ADMIN),
    name="console:alert-rule-edit",
)
async def edit_rule(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    rule_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Save what the admin changed (rules.edit); a refusal is said beside the field it
    concerns, the form as it was sent, nothing saved."""
    rule = await rules.get(db, rule_id=rule_id)
    form = await request.form()
    sent = {name: text(form, name, 200) for name in FIELDS}
    sent["active"] = "1" if form.get("active") == "1" else "0"
    shown = {name: text(form, f"shown_{name}", 200) for name in FIELDS}
    _, questions = await _survey(db, rule.survey_id)
    question = next((q for q in questions if q.key == sent["question_key"]), None)
    sent["value"] = chosen_value(sent["value"], question)
    errors = _unfilled(sent)
    if not errors:
        try:
            change = msgspec.convert(_changes(sent, shown, question), wire.AlertRuleEdit)
        except msgspec.ValidationError as exc:
            errors = _beside(_shape_refusal(str(exc), question, sent["value"]))
    if not errors:
        try:
            async with db.transaction():
                saved = await rules.edit(
                    db, caller=caller, rule_id=rule_id, request=change, client_ip=_ip(request)
                )
        except DomainError as exc:
            if exc.code == "alert_rule.not_found":
                raise
            errors = _beside(_rule_refusal(exc, sent["op"], question))
            if not errors:
                message = MESSAGES.get(exc.code, "规则未保存，请检查后重试。")
                return await _edit_page(request, db, console, rule, sent=sent, shown=shown,
                                        error=message, status=exc.status)  # fmt: skip
        else:
            return console.redirect(RULES_PATH, flash=_saved(rule, saved))
    return await _edit_page(
        request, db, console, rule, sent=sent, shown=shown, errors=errors, status=422
    )


def _unfilled(sent: dict[str, str]) -> dict[str, str]:
    """What the edit form leaves unchosen or out of range, by field."""
    errors: dict[str, str] = {}
    if not sent["question_key"]:
        errors["question_key"] = "请选择问卷题目。"
    return errors | _unset(sent)


def _changes(
    sent: dict[str, str], shown: dict[str, str], question: Question | None
) -> dict[str, Any]:
    """The PATCH body: the fields the admin changed from what the form showed (the whole
    condition when any part of it changed), typed as the API takes them."""
    changed = {name for name in FIELDS if sent[name] != shown[name]}
    if changed & CONDITION:
        changed |= CONDITION
    typed: dict[str, Any] = {
        "question_key": sent["question_key"],
        "op": sent["op"],
        "value": _typed_value(sent["value"], question),
        "assign_to": sent["assign_to"],
        "sla_hours": int(sent["sla_hours"]),
        "sla_kind": sent["sla_kind"],
        "active": sent["active"] == "1",
    }
    return {name: typed[name] for name in FIELDS if name in changed}


def _typed_value(raw: str, question: Question | None) -> int | str:
    """A condition's value as the rule keeps it: a score question's a number, any other's text
    (an option value "6" of a choice question stays text)."""
    scored = question is None or question.type in rules.SCORE_RANGES
    return int(raw) if scored and raw.isascii() and raw.isdigit() and len(raw) <= 2 else raw


def _beside(errors: dict[str, str]) -> dict[str, str]:
    """The add form's refusals by field, named as the edit form's fields are."""
    return {("question_key" if name == "question" else name): why for name, why in errors.items()}


def _saved(before: wire.AlertRule, after: wire.AlertRule) -> str:
    """The flash after an edit: what changed for the answers to come."""
    if before == after:
        return "没有更改：规则保持原样。"
    if before.active and not after.active:
        return "规则已保存并停用：新的回答不再因它生成工单；已生成的工单保持不变，照常处理。"
    if not after.active:
        return "规则已保存（仍为停用）：启用后，之后的回答才按它生成工单。"
    return "规则已保存：之后的回答按新的设置生成工单；已生成的工单保持原来的分派和时限。"


@post(
    RULES_PATH.removeprefix("/console") + "/{rule_id:uuid}/active",
    opt=visible_to(*ADMIN),
    name="console:alert-rule-switch",
)
async def switch_rule(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    rule_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """停用 (`active=0`) or 启用 (`active=1`) a rule (rules.edit): a paused rule opens no work
    order for new answers; the ones it opened stay as they are."""
    form = await request.form()
    wanted = form.get("active")
    if wanted not in ("0", "1"):
        return console.redirect(
            RULES_PATH, flash="没有更改：请在规则列表中点“停用”或“启用”。", kind="error"
        )
    async with db.transaction():
        await rules.edit(
            db, caller=caller, rule_id=rule_id, request=wire.AlertRuleEdit(active=wanted == "1"),
            client_ip=_ip(request),
        )  # fmt: skip
    return console.redirect(RULES_PATH, flash=RESUMED if wanted == "1" else PAUSED)

"""Admin pages of work orders: the alert rules (add one, apply one to past answers) and the list
of root causes a work order is closed with. Everything goes through the rules and work-order
services; a refusal is a message on the page with the form as it was sent."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import msgspec
import msgspec.inspect
from litestar import Request, Response, get, post
from litestar.params import FromPath
from redis.exceptions import RedisError

from mobile_contracts.v1 import workorders as wire
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.surveys import Question, QuestionType
from workbench.console import Console, once, visible_to
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.ids import uuid7
from workbench.workorders import jobs, rules, service
from workbench.workorders.console import queries
from workbench.workorders.console._shared import (
    ASSIGN_LABELS,
    LIST_PATH,
    MESSAGES,
    OP_LABELS,
    SLA_LABELS,
    text,
)

log = logging.getLogger("workbench.workorders.console")
ADMIN = (Role.ADMIN,)
RULES_PATH = f"{LIST_PATH}/rules"
CAUSES_PATH = f"{LIST_PATH}/root-causes"
TYPE_LABELS = {
    QuestionType.NPS: "NPS 0–10",
    QuestionType.RATING: "评分 1–5",
    QuestionType.SINGLE: "单选",
    QuestionType.MULTI: "多选",
    QuestionType.TEXT: "文本",
}
RULE_FIELDS = ("question", "op", "value", "assign_to", "sla_hours", "sla_kind")  # the add form
SLA_RANGE = "处理时限须为 1–8760 之间的整数（小时）。"
KINDS = {  # a question's type, as a refusal names it
    QuestionType.NPS: "NPS 题",
    QuestionType.RATING: "评分题",
    QuestionType.SINGLE: "单选题",
    QuestionType.MULTI: "多选题",
    QuestionType.TEXT: "文本题",
}
_SHAPE_AT = re.compile(r"at `\$\.(\w+)")  # the field a msgspec.ValidationError names


# The longest term or option value a rule takes: the contract's (`RuleValue`), which the API
# checks; counted as it counts them, on the value as sent (trimmed).
def _term_max() -> int:
    info = msgspec.inspect.type_info(wire.RuleValue)
    types = info.types if isinstance(info, msgspec.inspect.UnionType) else (info,)
    return next(
        t.max_length
        for t in types
        if isinstance(t, msgspec.inspect.StrType) and t.max_length is not None
    )


TERM_MAX = _term_max()
TERM_TOO_LONG = f"关键词最多 {TERM_MAX} 个字，请删减后再提交。"


def _ip(request: Request[Any, Any, Any]) -> str:
    """The admin's address for the audit trail (relay headers believed from trusted proxies)."""
    return request_ip(request)


async def _surveys(db: Connection) -> list[dict[str, Any]]:
    """Published surveys with the questions a rule may name."""
    out = []
    for r in await queries.rule_surveys(db):
        questions = msgspec.convert(r["questions"], list[Question])
        out.append({"id": str(r["id"]), "title": r["title"], "audience": r["audience"],
                    "questions": questions})  # fmt: skip
    return out


CHOICE_TYPES = frozenset({QuestionType.SINGLE, QuestionType.MULTI})


def value_choices(question: Question | None) -> list[tuple[str, str]] | None:
    """A choice question's options as the rule forms offer them for the value: (value, label)
    (the label shown, the value sent); None for any other question (the value is typed)."""
    if question is None or question.type not in CHOICE_TYPES:
        return None
    return [(o.value, o.label) for o in question.options]


def chosen_value(raw: str, question: Question | None) -> str:
    """A rule's value as typed or picked: for a choice question, an option's label typed (a
    browser without script shows a text box) stands for that option's value."""
    choices = value_choices(question) or []
    if not raw or any(value == raw for value, _ in choices):
        return raw
    wanted = raw.casefold()
    return next((value for value, label in choices if label.strip().casefold() == wanted), raw)


def value_shown(value: object, question: Question | None) -> str:
    """A rule's value as the admin reads it: a choice question's option by its label."""
    labels = dict(value_choices(question) or [])
    return labels.get(str(value), str(value))


SURVEY_STATES = {"archived": "（已归档）", "draft": "（未发布）"}  # said after a rule's survey


async def _rule_names(
    db: Connection, survey_ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, str], dict[tuple[uuid.UUID, str], Question]]:
    """How the rules list names the surveys these rules are on, whatever their state (an
    archived one is marked so: its rules still open work orders for answers to its old links),
    and their questions (of the latest published version: the text, a choice's labels), by
    (survey, key)."""
    titles: dict[uuid.UUID, str] = {}
    questions: dict[tuple[uuid.UUID, str], Question] = {}
    for row in await queries.surveys_of_rules(db, survey_ids):
        titles[row["id"]] = row["title"] + SURVEY_STATES.get(row["status"], "")
        for q in msgspec.convert(row["questions"] or [], list[Question]):
            questions[(row["id"], q.key)] = q
    return titles, questions


async def _rules_page(
    request: Request[Any, Any, Any],
    db: Connection,
    console: Console,
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
    surveys: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response[Any]:
    """The rules and the form to add one; `errors`: why the form as `sent` was refused, by
    field (said beside it); `error`: a refusal of no field in particular."""
    if surveys is None:
        surveys = await _surveys(db)
    picked = (sent or {}).get("question", "")
    chosen = next((q for s in surveys for q in s["questions"] if f"{s['id']}:{q.key}" == picked),
                  None)  # fmt: skip
    listed = await rules.list_rules(db, survey_id=None)
    titles, named = await _rule_names(db, list({r.survey_id for r in listed}))
    items = [
        {
            "r": r,
            "survey": titles.get(r.survey_id, "（问卷已不存在）"),
            "question": q.text
            if (q := named.get((r.survey_id, r.question_key)))
            else r.question_key,
            "value": value_shown(r.value, named.get((r.survey_id, r.question_key))),
            "op": OP_LABELS[r.op],
            "assign": ASSIGN_LABELS[r.assign_to],
            "sla": SLA_LABELS[r.sla_kind],
        }
        for r in listed
    ]
    return console.render(
        "workorders/rules.html",
        {
            "items": items,
            "surveys": surveys,
            "type_labels": TYPE_LABELS,
            "ops": OP_LABELS,
            "assign_labels": ASSIGN_LABELS,
            "sla_labels": SLA_LABELS,
            "error": error,
            "errors": errors or {},
            "sent": sent or {"sla_hours": "24"},
            "choices": value_choices(chosen),
        },
        status=status,
    )


@get(RULES_PATH.removeprefix("/console"), opt=visible_to(*ADMIN), name="console:alert-rules")
async def rule_list(request: Request[Any, Any, Any], db: Db, console: Console) -> Response[Any]:
    """Alert rules, with the form to add one."""
    return await _rules_page(request, db, console)


def _rule_value(raw: str) -> int | str:
    return int(raw) if raw.isdigit() and len(raw) <= 2 else raw


@post(
    RULES_PATH.removeprefix("/console"),
    opt=visible_to(*ADMIN, acts_once=True),
    name="console:alert-rule-add",
)
async def add_rule(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Add a rule on a question of a published survey (rules.create); a refusal is said beside
    the field it concerns, the form as it was sent. The form sent again adds nothing (409)."""
    form = await request.form()
    sent = {name: text(form, name, 200) for name in RULE_FIELDS}
    surveys = await _surveys(db)
    survey_id, _, key = sent["question"].partition(":")
    question = next(
        (q for s in surveys if s["id"] == survey_id for q in s["questions"] if q.key == key), None
    )
    sent["value"] = chosen_value(sent["value"], question)
    errors = _unfilled(sent)
    if not errors:
        try:
            rule = msgspec.convert(
                {
                    "survey_id": survey_id, "question_key": key, "op": sent["op"],
                    "value": _rule_value(sent["value"]), "assign_to": sent["assign_to"],
                    "sla_hours": int(sent["sla_hours"]), "sla_kind": sent["sla_kind"],
                },
                wire.AlertRuleCreate,
            )  # fmt: skip
        except msgspec.ValidationError as exc:
            errors = _shape_refusal(str(exc), question, sent["value"])
    if not errors:
        claim = await once.claim(request, form, db, back=RULES_PATH)
        try:
            async with claim, db.transaction():  # a refusal lets the form's token go
                made = await rules.create(db, caller=caller, request=rule, client_ip=_ip(request))
                claim.made(f"{RULES_PATH}/{made.id}/edit")
        except DomainError as exc:
            errors = _rule_refusal(exc, sent["op"], question)
            if not errors:
                message = MESSAGES.get(exc.code, "规则未保存，请检查后重试。")
                return await _rules_page(request, db, console, sent=sent, surveys=surveys,
                                         status=exc.status, error=message)  # fmt: skip
        else:
            return console.redirect(
                RULES_PATH,
                flash="规则已添加：之后的回答命中即生成工单。历史回答可点“应用到历史回答”。",
            )
    return await _rules_page(
        request, db, console, sent=sent, surveys=surveys, errors=errors, status=422
    )


def _unfilled(sent: dict[str, str]) -> dict[str, str]:
    """What the form leaves unchosen or out of range, by field."""
    errors: dict[str, str] = {}
    survey_id, _, key = sent["question"].partition(":")
    try:
        uuid.UUID(survey_id)
    except ValueError:
        errors["question"] = "请选择问卷题目。"
    if not key:
        errors["question"] = "请选择问卷题目。"
    return errors | _unset(sent)


def _unset(sent: dict[str, str]) -> dict[str, str]:
    """The rule's settings (condition, assignee, time limit) the form leaves unchosen or out of
    range, by field: the add and the edit form ask for them alike, so refuse them alike."""
    errors: dict[str, str] = {}
    if sent["op"] not in {o.value for o in wire.AlertRuleOp}:
        errors["op"] = "请选择条件。"
    if not sent["value"]:
        errors["value"] = "请填写条件值。"
    if sent["assign_to"] not in {a.value for a in wire.AssignTo}:
        errors["assign_to"] = "请选择分派对象。"
    hours = sent["sla_hours"]
    if not (hours.isascii() and hours.isdigit() and 1 <= int(hours) <= 8760):
        errors["sla_hours"] = SLA_RANGE
    if sent["sla_kind"] not in {k.value for k in wire.SlaKind}:
        errors["sla_kind"] = "请选择时限计算方式。"
    return errors


def _shape_refusal(error: str, question: Question | None, value: str = "") -> dict[str, str]:
    """The API's contract refused the rule (`AlertRuleCreate`): the field it names (a term
    longer than the contract takes: its limit, not what a term may hold)."""
    found = _SHAPE_AT.search(error)
    name = found.group(1) if found else ""
    if (
        name == "value"
        and len(value) > TERM_MAX
        and (question is None or question.type is QuestionType.TEXT)
    ):
        return {"value": TERM_TOO_LONG}
    if name == "value" and question is not None:
        return {"value": _value_text(question.type, question)}
    if name == "value":
        return {"value": f"条件值须为 0–10 之间的整数，或 {TERM_MAX} 个字以内的选项、关键词。"}
    if name == "sla_hours":
        return {"sla_hours": SLA_RANGE}
    return {"question": "请选择问卷题目。"}  # survey_id, question_key


def _rule_refusal(exc: DomainError, op: str, question: Question | None) -> dict[str, str]:
    """The rules service refused the rule: the field it concerns (none: said above the page)."""
    if exc.code in ("survey.not_found", "alert_rule.question_unknown"):
        return {"question": MESSAGES[exc.code]}
    if exc.code != "alert_rule.condition_invalid":
        return {}
    try:
        kind = QuestionType(str(exc.extra.get("question_type")))
    except ValueError:
        return {"value": MESSAGES[exc.code]}
    allowed = rules.OPS_BY_TYPE[kind]
    if op not in allowed:
        labels = [label for o, label in OP_LABELS.items() if o.value in allowed]
        ops = "、".join(labels[:-1]) + f" 或 {labels[-1]}" if len(labels) > 1 else labels[0]
        return {"op": f"{KINDS[kind]}的条件只能是 {ops}。"}
    return {"value": _value_text(kind, question)}


def _value_text(kind: QuestionType, question: Question | None) -> str:
    """What a rule's value must be for a question of type `kind`."""
    if kind in rules.SCORE_RANGES:
        low, high = rules.SCORE_RANGES[kind]
        return f"{KINDS[kind]}的值须为 {low}–{high} 之间的整数。"
    if kind is QuestionType.TEXT:
        return (
            f"文本题的值须为要查找的关键词（最多 {TERM_MAX} 个字），"
            "不能含控制字符或改变文字方向的字符。"
        )
    labels = "、".join(o.label for o in question.options) if question else ""
    return f"{KINDS[kind]}的值须为这道题的选项" + (f"之一：{labels}。" if labels else "。")


@post(
    RULES_PATH.removeprefix("/console") + "/{rule_id:uuid}/apply",
    opt=visible_to(*ADMIN),
    name="console:alert-rule-apply",
)
async def apply_rule(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    rule_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Apply a rule to its survey's past answers (rules.apply): now for a few, else queued."""
    state = request.app.state
    prefix = state.settings.redis_prefix

    async def enqueue() -> None:
        try:
            await state.redis.enqueue_job(
                jobs.APPLY_JOB, str(rule_id), _job_id=f"{prefix}workorders:apply:{uuid7()}"
            )
        except (RedisError, OSError) as exc:
            log.warning("could not queue applying an alert rule: %s", type(exc).__name__)

    try:
        async with db.transaction():
            applied = await rules.apply(
                db, vault=state.vault, caller=caller, rule_id=rule_id, enqueue=enqueue,
                client_ip=_ip(request),
            )  # fmt: skip
    except DomainError as exc:
        if exc.status == 404:
            raise
        return console.redirect(RULES_PATH, flash=MESSAGES.get(exc.code, exc.title), kind="error")
    if applied.queued:
        done = f"共 {applied.responses} 份历史回答，已交给后台处理；新工单会陆续出现在工单列表。"
    else:
        done = (
            f"已检查 {applied.responses} 份历史回答，新生成 {applied.opened} 张工单"
            "（已有工单的回答不会重复生成）。"
        )
    return console.redirect(RULES_PATH, flash=done)


# ---- root causes ---------------------------------------------------------------------------------

LABEL_MAX = 100
CODE_PREFIX = "cause_"  # a code made for a cause added without one: cause_1, cause_2, ...
_MADE_CODE = re.compile(rf"{CODE_PREFIX}(\d{{1,9}})")
CAUSE_WORDS = {
    "label_blank": "请填写名称：关闭工单时在“根本原因”里看到的就是它。",
    "label_long": f"名称最多 {LABEL_MAX} 个字。",
    "label_reads": "名称不能只有空格或看不见的字符，也不能含控制字符或改变文字方向的字符。",
    "code_shape": (
        "代码只能用小写英文字母、数字和下划线，以字母开头，最多 40 个字符；也可以留空，自动生成。"
    ),
}


async def _causes_page(
    request: Request[Any, Any, Any],
    db: Connection,
    console: Console,
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
    row_typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    """The causes and the form to add one; `errors`: why the add form (`label`, `code`) or a
    row (`label-<code>`) was refused, said beside the field, with what was typed (`sent`, or
    `row_typed`: code -> name); `error`: a refusal of no field."""
    causes = await service.root_causes(db, include_inactive=True)
    return console.render(
        "workorders/root_causes.html",
        {
            "causes": causes,
            "error": error,
            "errors": errors or {},
            "sent": sent or {},
            "row_typed": row_typed or {},
            "next_code": next_code([c.code for c in causes]),
        },
        status=status,
    )


def next_code(codes: list[str]) -> str:
    """The code a cause added without one gets: `cause_<n>`, one past the highest made so."""
    made = [int(m.group(1)) for c in codes if (m := _MADE_CODE.fullmatch(c))]
    return f"{CODE_PREFIX}{max(made, default=0) + 1}"


@get(CAUSES_PATH.removeprefix("/console"), opt=visible_to(*ADMIN), name="console:root-causes")
async def root_cause_list(
    request: Request[Any, Any, Any], db: Db, console: Console
) -> Response[Any]:
    """The root causes a work order may be closed with: rename, (de)activate, add."""
    return await _causes_page(request, db, console)


@post(
    CAUSES_PATH.removeprefix("/console"),
    opt=visible_to(*ADMIN, acts_once=True),
    name="console:root-cause-save",
)
async def save_root_cause(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Add a root cause (the add form: its name, and a code if the admin gives one, else one
    made up; a code already taken or a name already in the list is refused, nothing changed;
    the form sent again adds nothing, 409), or rename or (de)activate one (a row of the list,
    same code). A refusal is said beside the field it concerns."""
    form = await request.form()
    sent = {name: text(form, name, 200) for name in ("code", "label", "active")}
    adding = _adding(form)
    causes = await service.root_causes(db, include_inactive=True)
    label_field = "label" if adding else f"label-{sent['code']}"
    errors = _cause_unfilled(sent, label_field)
    if adding and not errors.get("label"):
        same = next((c for c in causes if c.label.casefold() == sent["label"].casefold()), None)
        if same is not None:
            errors["label"] = (
                f"已有名为“{same.label}”的原因{'（已停用）' if not same.active else ''}，"
                "请换一个名称，或在上面的列表里修改、启用它。"
            )
    if errors:
        return await _cause_refused(request, db, console, sent, adding, errors, 422)
    code = sent["code"] or next_code([c.code for c in causes])
    cause = wire.RootCauseCreate(code=code, label=sent["label"], active=sent["active"] == "1")
    claim = await once.claim(request, form, db, back=CAUSES_PATH) if adding else None
    try:
        async with db.transaction():
            if claim is not None:
                async with claim:  # a refusal lets the form's token go
                    saved = await service.add_root_cause(
                        db, caller=caller, cause=cause, client_ip=_ip(request)
                    )
                    claim.made(CAUSES_PATH)
            else:
                saved = await service.save_root_cause(
                    db, caller=caller, cause=cause, client_ip=_ip(request)
                )
    except DomainError as exc:
        if exc.code == "work_order.root_cause_exists" and not sent["code"]:
            # Another admin took the code made for this one meanwhile: say so, the form kept.
            errors = {"label": "刚才有人同时添加了原因，这个原因没有添加，请再点一次“添加”。"}
        else:
            errors = {_cause_field(exc, label_field): _cause_message(exc)}
        return await _cause_refused(request, db, console, sent, adding, errors, exc.status)
    if adding:
        return console.redirect(CAUSES_PATH, flash=f"已添加原因“{saved.label}”。")
    state = "已启用" if saved.active else "已停用（已用它关闭的工单保持不变）"
    return console.redirect(CAUSES_PATH, flash=f"“{saved.label}”{state}。")


def _cause_unfilled(sent: dict[str, str], label_field: str) -> dict[str, str]:
    """What the form leaves empty or out of shape, by field (the contract's rules, in words)."""
    errors: dict[str, str] = {}
    if not sent["label"]:
        errors[label_field] = CAUSE_WORDS["label_blank"]
    elif len(sent["label"]) > LABEL_MAX:
        errors[label_field] = CAUSE_WORDS["label_long"]
    if sent["code"]:
        try:
            msgspec.convert(sent["code"], wire.RootCauseCode)
        except msgspec.ValidationError:
            errors["code"] = CAUSE_WORDS["code_shape"]
    return errors


def _cause_field(exc: DomainError, label_field: str) -> str:
    """The field a refusal of the work-order service concerns."""
    if exc.code == "work_order.root_cause_exists":
        return "code"
    paths = [getattr(e, "path", "") for e in exc.extra.get("errors") or []]
    return "code" if "$.code" in paths else label_field


def _cause_message(exc: DomainError) -> str:
    if exc.code in MESSAGES:
        return MESSAGES[exc.code]
    paths = [getattr(e, "path", "") for e in exc.extra.get("errors") or []]
    return CAUSE_WORDS["code_shape"] if "$.code" in paths else CAUSE_WORDS["label_reads"]


async def _cause_refused(
    request: Request[Any, Any, Any], db: Connection, console: Console, sent: dict[str, str],
    adding: bool, errors: dict[str, str], status: int,
) -> Response[Any]:  # fmt: skip
    """The page again with the refusal beside its field: the add form as typed, or the row
    (a code that is no row of the list, from a hand-made request: said above the list)."""
    if adding:
        return await _causes_page(request, db, console, sent=sent, errors=errors, status=status)
    causes = await service.root_causes(db, include_inactive=True)
    if not any(c.code == sent["code"] for c in causes):
        return await _causes_page(request, db, console, status=status,
                                  error=" ".join(dict.fromkeys(errors.values())))  # fmt: skip
    row = {f"label-{sent['code']}": why for why in errors.values()}
    return await _causes_page(request, db, console, errors=row, status=status,
                              row_typed={sent["code"]: sent["label"]})  # fmt: skip


def _adding(form: Any) -> bool:
    """Whether the add form sent this (`new=1`) rather than a row of the list (which renames the
    cause of its code)."""
    return bool(form.get("new") == "1")

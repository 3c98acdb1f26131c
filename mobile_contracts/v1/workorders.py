"""Alert rules and work orders: a worrying survey answer opens a work order for a person to act on.

An alert rule names a question of a survey and a condition (`op`, `value`): for nps and rating
questions a number (`lte`, `gte`, `eq`), for a single or multi choice question an option value
(`eq`: chosen), for a text question a term (`contains`). The survey's active rules are tried in
the order they were made; the first that matches an answer opens a work order, and an answer
never has more than one work order, whatever rules match or however often they are applied.

A work order goes open -> in_progress -> resolved -> closed, each step with a note; a resolved
work order whose fix did not hold may go back to in_progress (reopen); closing may name a root
cause from the bank's list (one closed without records none: null, shown as 未注明). Past its
due time a work order not yet resolved escalates once to the branch head over its assignee, and
once more to the next branch head up if it is still open one SLA period later.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mobile_contracts.v1.patterns import whole

_KEY = whole(
    "[a-z][a-z0-9_]{0,39}", says="1 to 40 lowercase letters, digits and _, starting with a letter"
)
QuestionKey = Annotated[str, msgspec.Meta(pattern=_KEY)]
RootCauseCode = Annotated[str, msgspec.Meta(pattern=_KEY)]
RuleValue = (
    Annotated[int, msgspec.Meta(ge=0, le=10)]
    | Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
)
SlaHours = Annotated[int, msgspec.Meta(ge=1, le=8760)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class AlertRuleOp(enum.StrEnum):
    LTE = "lte"  # score at most `value` (nps, rating)
    GTE = "gte"  # score at least `value` (nps, rating)
    EQ = "eq"  # score equal to `value` (nps, rating) or option `value` chosen (single, multi)
    CONTAINS = "contains"  # the text answer contains the term `value` (text)


RuleOp = AlertRuleOp  # the name of the first cut


class AssignTo(enum.StrEnum):
    """Whom a new work order goes to: the customer's owning RM, or the branch head of the
    answer's unit (staff surveys always go to the respondent's branch head)."""

    OWNER_RM = "owner_rm"
    BRANCH_HEAD = "branch_head"


class SlaKind(enum.StrEnum):
    """`hours`: calendar hours; `business_hours`: hours of the bank's working days (Chinese
    public holidays off, make-up working days on), 09:00-12:00 and 13:00-18:00 bank time."""

    HOURS = "hours"
    BUSINESS_HOURS = "business_hours"


class WorkOrderState(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class AlertRuleCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A rule on a question of the survey's latest published version."""

    survey_id: uuid.UUID
    question_key: QuestionKey
    op: AlertRuleOp
    value: RuleValue
    assign_to: AssignTo = AssignTo.OWNER_RM
    sla_hours: SlaHours = 24
    sla_kind: SlaKind = SlaKind.HOURS
    active: bool = True


class AlertRuleEdit(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Changes to a rule; what is left out stays. Work orders already open keep their SLA."""

    question_key: QuestionKey | None = None
    op: AlertRuleOp | None = None
    value: RuleValue | None = None
    assign_to: AssignTo | None = None
    sla_hours: SlaHours | None = None
    sla_kind: SlaKind | None = None
    active: bool | None = None


class AlertRule(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    survey_id: uuid.UUID
    question_key: str
    op: AlertRuleOp
    value: int | str
    assign_to: AssignTo
    sla_hours: int
    sla_kind: SlaKind
    active: bool
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime


class RuleApplied(msgspec.Struct, kw_only=True):
    """Applying a rule to past answers: done now (`queued` false, `opened` counted) for a few
    answers, or queued for the worker (`queued` true; the work orders appear as it goes)."""

    rule_id: uuid.UUID
    responses: int
    queued: bool
    opened: int = 0


ROOT_CAUSE_DOC = (
    "Closing only: the code of one of the active root causes (GET /work-orders/root-causes), or"
    " left out: the work order then closes with no root cause (`root_cause` null, shown and"
    " counted as 未注明). A code not in the active list is 422 `work_order.root_cause_unknown`;"
    " ignored on the other steps"
)

# The root cause a work order was closed with, as lists and the work order give it.
CLOSED_CAUSE_DOC = (
    "The code of the root cause it was closed with; null until it is closed, and for one closed"
    " without a root cause (show and count that as 未注明)"
)


# The state the step was chosen in (optional): a stale screen never moves a work order on.
FROM_STATE_DOC = (
    "The state the work order was in when the step was chosen (the `state` of the work order"
    " read). If it is in another state by then, nothing is recorded: 409"
    " `work_order.state_changed` with `current_status`. Optional (apps should send it); left out,"
    " the step applies to the state it is in now"
)


class WorkOrderTransition(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Move a work order on, with a note. `root_cause`: when closing, one of the active root
    causes, or none (optional: `{to: closed, note}` closes with no root cause). `from`
    (optional): the state the step was chosen in."""

    to: WorkOrderState
    note: Note
    root_cause: Annotated[RootCauseCode, msgspec.Meta(description=ROOT_CAUSE_DOC)] | None = None
    from_: Annotated[WorkOrderState, msgspec.Meta(description=FROM_STATE_DOC)] | None = (
        msgspec.field(default=None, name="from")
    )


class WorkOrderRow(msgspec.Struct, kw_only=True):
    """A work order in a list. `customer`: the customer's masked name (null for a staff survey);
    `overdue`: past its due time and not yet resolved."""

    id: uuid.UUID
    state: WorkOrderState
    survey_id: uuid.UUID
    survey_title: str
    response_id: uuid.UUID
    rule_id: uuid.UUID
    customer_id: uuid.UUID | None
    customer: str | None
    assignee_id: uuid.UUID
    assignee: str
    org_unit_id: uuid.UUID
    due_at: datetime
    overdue: bool
    escalation_level: int
    root_cause: Annotated[str | None, msgspec.Meta(description=CLOSED_CAUSE_DOC)]
    created_at: datetime
    updated_at: datetime


class AnswerLine(msgspec.Struct, kw_only=True):
    """One answered question: `answer` as the respondent chose it (option labels for choices;
    a text answer in full for the people who handle the work order)."""

    key: str
    question: str
    answer: str
    matched: bool = False


class WorkOrderEvent(msgspec.Struct, kw_only=True):
    """What happened to a work order, by `kind` (an app shows a kind it does not know by its
    time alone):

    - `opened`: by an alert rule; `data.rule_id`, `data.assignee_id`, and what the rule matched
      then (`data.question_key`, `data.op`, `data.value`): the answer the work order marks as
      `matched` stays the one that opened it after the rule is edited.
    - `transition`: `from_state` -> `to_state` by `actor`, with the note (and `root_cause` on
      closing: null when it was closed without one).
    - `escalated`: overdue; `data.level` (1 or 2) and `data.to` the id of the branch head told
      (null: there was none to tell).
    - `handed_over`: the unfinished work order went to another holder (no actor); `data.reason`
      says why:
      - `"customer_moved"`: a bank feed moved the customer to another RM (`data.customer_owner`
        the customer's new RM);
      - `"rm_moved"`: an admin moved the RM to another org unit, and the work order (assigned to
        them, or by a branch-head rule to a branch head because the customer is theirs) took
        their new unit (`data.staff` the RM);
      - `"branch_head_left"`: an admin moved the branch head it was assigned or escalated to,
        gave them another role or disabled them, and it went to the branch head now responsible
        for its unit (`data.staff` that former branch head; the unit stays);
      - `"unit_moved"`: an admin moved its org unit (with its subtree) under another parent, and
        it went from the branch head it was assigned or escalated to, no longer over it, to the
        one over it now (`data.staff` that branch head; the unit stays).
      Also `data.from` / `data.to` the assignee before and after (the same when only the unit or
      the escalation changed), `data.from_unit` / `data.to_unit` the work order's org unit
      before and after, and, for one escalated already, `data.escalated_to` the branch head it
      is escalated to now (all ids). A reason an app does not know, or none, reads as a plain
      hand-over."""

    id: uuid.UUID
    kind: str
    from_state: WorkOrderState | None
    to_state: WorkOrderState | None
    actor_id: uuid.UUID | None
    actor: str | None
    note: str | None
    root_cause: str | None
    data: dict[str, object]
    created_at: datetime


class WorkOrder(msgspec.Struct, kw_only=True):
    """A work order with the answer that opened it and everything that happened to it.
    `customer`: the customer's masked name; `respondent` is not given (staff answers are
    handled without naming who gave them)."""

    id: uuid.UUID
    state: WorkOrderState
    survey_id: uuid.UUID
    survey_title: str
    response_id: uuid.UUID
    rule_id: uuid.UUID
    customer_id: uuid.UUID | None
    customer: str | None
    respondent: str | None
    assignee_id: uuid.UUID
    assignee: str
    org_unit_id: uuid.UUID
    sla_hours: int
    sla_kind: SlaKind
    due_at: datetime
    overdue: bool
    escalation_level: int
    root_cause: Annotated[str | None, msgspec.Meta(description=CLOSED_CAUSE_DOC)]
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    submitted_at: datetime
    answers: list[AnswerLine]
    events: list[WorkOrderEvent]


class RootCause(msgspec.Struct, kw_only=True):
    code: str
    label: str
    active: bool


class RootCauseCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new root cause, or (same code) a changed label or an (in)activation."""

    code: RootCauseCode
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    active: bool = True

"""Task inbox: templates with typed forms, dispatches, the RM's tasks, confirmation, progress."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from mobile_contracts.v1.customers import ExternalId
from mobile_contracts.v1.patterns import whole

FieldKey = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            "[a-z][a-z0-9_]{0,39}",
            says="1 to 40 lowercase letters, digits and _, starting with a letter",
        )
    ),
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Bound = Annotated[float, msgspec.Meta(ge=-1e15, le=1e15)]
# What an event rule compares an event's field with: a number, a text, a yes/no, or (for `in`)
# a list of those. Never null.
# (Numbers are one type: a JSON schema `oneOf` of integer and number would refuse every integer.)
RuleScalar = Annotated[str, msgspec.Meta(max_length=200)] | Bound | bool
RuleValue = RuleScalar | Annotated[list[RuleScalar], msgspec.Meta(max_length=100)]


class FieldType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    PHOTO = "photo"
    LOCATION = "location"
    SIGNATURE = "signature"
    CUSTOMER = "customer"


class FormField(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One field of a task form. `options` only for choice types (at most 200, a 422 naming
    the field beyond); `min`/`max` bound numbers (and the count of photos); `max_length` bounds
    text."""

    key: FieldKey
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    type: FieldType
    # Always sent, `false` too (API.md lists it without `?`): omit_defaults leaves out a field
    # equal to its default, but never one whose default comes from a factory of its own.
    required: bool = msgspec.field(default_factory=bool)
    options: list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]] | None = None
    min: Bound | None = None
    max: Bound | None = None
    max_length: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None


class Form(msgspec.Struct, kw_only=True):
    fields: Annotated[list[FormField], msgspec.Meta(max_length=100)]


class Reminder(msgspec.Struct, kw_only=True):
    minutes_before_due: Annotated[int, msgspec.Meta(ge=0, le=60 * 24 * 60)]


class TemplateCreate(msgspec.Struct, kw_only=True):
    """A new template, or (PUT /task-templates/{id}) its next version."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    form: Form
    requires_customer_confirmation: bool = False
    sla_hours: Annotated[int, msgspec.Meta(ge=1, le=8760)] | None = None
    reminders: Annotated[list[Reminder], msgspec.Meta(max_length=10)] = []
    recurrence: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    owner_unit_id: uuid.UUID | None = None  # default: the creator's org unit


class Template(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    version: int
    name: str
    form: Form
    requires_customer_confirmation: bool
    sla_hours: int | None
    reminders: list[Reminder]
    recurrence: str | None
    owner_unit_id: uuid.UUID
    created_at: datetime


class DispatchCreate(msgspec.Struct, kw_only=True):
    """To every RM of an org subtree (`org_unit_id`), or one task per customer for its owner."""

    template_id: uuid.UUID
    title: Title
    due_at: datetime | None = None
    org_unit_id: uuid.UUID | None = None
    customer_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=100_000)] | None = None
    per_rm_cap: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None


class Dispatch(msgspec.Struct, kw_only=True):
    """What a dispatch made: `created` tasks; of a customer list, `skipped` over `per_rm_cap`,
    `not_found` (unknown or outside my scope) and `no_active_rm` (in my scope, but owned by a
    user who is no active RM: disabled, or given another role; nobody to give the task to)."""

    id: uuid.UUID
    created: int
    skipped: int
    not_found: int = 0
    no_active_rm: int = 0


class TaskStatus(enum.StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class TaskSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    title: str
    status: TaskStatus
    due_at: datetime | None
    overdue: bool
    assignee_id: uuid.UUID
    customer_id: uuid.UUID | None
    template_id: uuid.UUID
    template_version: int
    created_at: datetime
    updated_at: datetime


class Task(msgspec.Struct, kw_only=True):
    """A task with the form of its template version and what was submitted."""

    id: uuid.UUID
    title: str
    status: TaskStatus
    due_at: datetime | None
    overdue: bool
    assignee_id: uuid.UUID
    customer_id: uuid.UUID | None
    template_id: uuid.UUID
    template_version: int
    requires_customer_confirmation: bool
    form: Form
    values: dict[str, Any] | None
    started_at: datetime | None
    submitted_at: datetime | None
    done_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Why it was cancelled, as the RM or branch head said it (or 客户已销户: the bank closed the
    # customer); null if none was given or the task was not cancelled.
    cancel_reason: str | None = None


class Submission(msgspec.Struct, kw_only=True):
    values: dict[str, Any]


class Reschedule(msgspec.Struct, kw_only=True):
    """PATCH /tasks/{id}: a new due time (in the future) for an open task; without a UTC offset
    it is UTC, as a dispatch's `due_at` (`workbench.tasks.lifecycle.reschedule` reads it so)."""

    due_at: datetime


class Cancellation(msgspec.Struct, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class Reassignment(msgspec.Struct, kw_only=True):
    """POST /tasks/{id}/reassign: the active RM of the branch head's subtree who is to do the
    task from now on (`workbench.tasks.reassign`)."""

    assignee_id: uuid.UUID


class Attachment(msgspec.Struct, kw_only=True):
    """An uploaded photo or signature; put its id into the form value of that field."""

    id: uuid.UUID
    kind: str
    content_type: str
    width: int
    height: int
    byte_size: int
    sha256: str
    # When the photo was taken (the phone's `taken_at` if plausible, else the upload's time);
    # the watermark shows it.
    taken_at: datetime | None = None
    client_ref: uuid.UUID | None = None  # the app's id for the upload, as sent


class Location(msgspec.Struct, kw_only=True):
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lng: Annotated[float, msgspec.Meta(ge=-180, le=180)]


class ConfirmationRequest(msgspec.Struct, kw_only=True):
    location: Location | None = None  # where the RM is, to compare with the customer's


class Confirmation(msgspec.Struct, kw_only=True):
    """A single-use link for the customer (and the PNG QR code of it)."""

    url: str
    qr_png_url: str
    expires_at: datetime


class RuleOp(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"


RuleName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
EventKind = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
EventField = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
WithinDays = Annotated[int, msgspec.Meta(ge=1, le=3650)]
DueInHours = Annotated[int, msgspec.Meta(ge=1, le=8760)]


def whole_numbers(value: Any) -> Any:
    """A rule's value with each whole number an integer (in a list too): `RuleValue` reads every
    JSON number as a float, and `100000` must come back as it was sent, not as `100000.0`."""
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _event_kind(kind: str) -> str:
    """An event kind as rules compare it: trimmed, as events' kinds are (" balance_movement "
    would match none); a blank one is refused, naming the field."""
    kind = kind.strip()
    if not kind:
        raise ValueError("event_kind: must not be blank")
    return kind


class TaskRuleCreate(msgspec.Struct, kw_only=True):
    """When an event of `event_kind` arrives for a customer and `data[field] op value`, create a
    task from the template for the owning RM, at most once per customer per `within_days`.
    `event_kind` is trimmed (as an event's kind is); a number `value` is kept as sent (a whole
    number stays whole)."""

    name: RuleName
    event_kind: EventKind
    field: EventField
    op: RuleOp
    value: RuleValue
    template_id: uuid.UUID
    within_days: WithinDays
    due_in_hours: DueInHours = 72

    def __post_init__(self) -> None:
        self.event_kind = _event_kind(self.event_kind)
        self.value = whole_numbers(self.value)


class TaskRuleEdit(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """PATCH /task-rules/{id}: changes to an event rule; what is left out stays. `active: false`
    switches it off (its events create no tasks) and `active: true` on again; a new
    `op`/`value` is checked as on creation. Every field a rule holds has a value: `null` is
    refused (422 naming the field), never read as "leave it"."""

    name: RuleName | msgspec.UnsetType = msgspec.UNSET
    event_kind: EventKind | msgspec.UnsetType = msgspec.UNSET
    field: EventField | msgspec.UnsetType = msgspec.UNSET
    op: RuleOp | msgspec.UnsetType = msgspec.UNSET
    value: RuleValue | msgspec.UnsetType = msgspec.UNSET
    template_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    within_days: WithinDays | msgspec.UnsetType = msgspec.UNSET
    due_in_hours: DueInHours | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.event_kind is not msgspec.UNSET:
            self.event_kind = _event_kind(self.event_kind)
        if self.value is not msgspec.UNSET:
            self.value = whole_numbers(self.value)


class TaskRule(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    event_kind: str
    field: str
    op: RuleOp
    value: Any
    template_id: uuid.UUID
    within_days: int
    due_in_hours: int
    active: bool


class Event(msgspec.Struct, kw_only=True):
    kind: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=60,
            description="Trimmed; an event whose kind is blank is rejected alone",
        ),
    ]
    customer_external_id: ExternalId
    occurred_at: Annotated[
        datetime, msgspec.Meta(description="An RFC 3339 time; one without an offset is UTC")
    ]
    data: dict[str, Any] = {}

    def __post_init__(self) -> None:
        # A time without an offset is UTC, as it always was checked: never the local time of
        # whichever server stores it.
        if self.occurred_at.tzinfo is None:
            self.occurred_at = self.occurred_at.replace(tzinfo=UTC)
        # Keys are trimmed, as in every feed (mobile_contracts.v1.customers); so is the kind,
        # which rules compare as it is (" balance_movement " would match none).
        self.customer_external_id = self.customer_external_id.strip()
        self.kind = self.kind.strip()


class EventBatch(msgspec.Struct, kw_only=True):
    events: Annotated[list[Event], msgspec.Meta(max_length=10_000)]


class EventResult(msgspec.Struct, kw_only=True):
    accepted: int
    tasks_created: int
    rejected: list[dict[str, Any]]


class ProgressRow(msgspec.Struct, kw_only=True):
    rm_id: uuid.UUID
    name: str
    org_unit_id: uuid.UUID
    assigned: int
    done: int
    overdue: int
    completion_rate: float
    median_hours_to_done: float | None


class TeamProgress(msgspec.Struct, kw_only=True):
    org_unit_id: uuid.UUID
    from_: datetime = msgspec.field(name="from")
    to: datetime
    rows: list[ProgressRow]

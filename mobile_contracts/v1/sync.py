"""Offline sync: pull the caller's partition from a cursor, push queued offline mutations.

Rows travel in the shape of the client's `schema_version`: `sync.schema.CURRENT` is this server's,
and the ones before it are still served while apps move over (see `sync.schema`).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from mobile_contracts.v1.customers import NoteKind, ProductRisk
from mobile_contracts.v1.shares import ShareChannel
from mobile_contracts.v1.surveys import Audience, Question
from mobile_contracts.v1.workorders import (
    AnswerLine,
    Note,
    RootCauseCode,
    SlaKind,
    WorkOrderEvent,
    WorkOrderState,
)

MAX_PULL_LIMIT = 5_000
DEFAULT_PULL_LIMIT = 1_000
MAX_MUTATIONS = 500


class Entity(enum.StrEnum):
    """What a change is about. A customer's delete takes its holdings and notes with it."""

    PRODUCT = "product"
    TASK_TEMPLATE = "task_template"
    CUSTOMER = "customer"
    HOLDING = "holding"
    NOTE = "note"
    TASK = "task"
    NOTIFICATION = "notification"
    BROCHURE = "brochure"  # schema 3: live for the user now; a delete when it no longer is
    SURVEY = "survey"  # schema 4: one to send (customer) or to answer (staff invitation)
    WORK_ORDER = "work_order"  # schema 4: assigned to the user (a branch head: their subtree's)


class Op(enum.StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


class PullRequest(msgspec.Struct, kw_only=True):
    """`cursor` from the last answer (none: a fresh initial sync)."""

    schema_version: Annotated[int, msgspec.Meta(ge=0, le=1_000)]
    cursor: Annotated[str, msgspec.Meta(max_length=2_000)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PULL_LIMIT)] = DEFAULT_PULL_LIMIT


class Change(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An upsert carries the full current row, masked as the API masks it."""

    entity: Entity
    op: Op
    id: str
    data: Any = None


class PullResult(msgspec.Struct, kw_only=True):
    """Apply `changes` in order, store `cursor`, and pull again at once while `has_more`.
    `wipe`: this device was revoked; delete every local copy and sign out."""

    changes: list[Change]
    cursor: str | None
    has_more: bool
    wipe: bool = False


ARGS_DOC = (
    "The operation's arguments, an object (see the README's table); anything else rejects this"
    " mutation alone (`request.invalid`)"
)


OCCURRED_AT_DOC = (
    "When the user did it, by the device's clock, with its UTC offset (RFC 3339). The server"
    " records it as the time of what the mutation records: a note's time (`note.add`), a task's"
    " `started_at` (`task.start`), `submitted_at` (`task.submit`; also `done_at` and the timeline"
    " entry when the task is done at once) and `cancelled_at` (`task.cancel`); other mutations"
    " ignore it. A time ahead of the server's clock, older than WORKBENCH_SYNC_OFFLINE_MAX_DAYS"
    " (7 days by default) or, for a task, before its previous step (issued, started) is not"
    " believed: the server's time is recorded instead, and the mutation applies all the same."
    " Left out: the server's time. A task the server moved on is a conflict whatever the time"
)


_NAME_SCHEMA: dict[str, Any] = {"type": "string", "maxLength": 1000}


class Mutation(msgspec.Struct, kw_only=True):
    """One offline action, named like the API operation it performs (see `sync.mutations`)."""

    id: Annotated[int, msgspec.Meta(ge=1, le=2**62)]
    # A name no mutation has (empty, too long, misspelt, not a string) makes that mutation
    # `rejected` (`sync.unknown_mutation`), not the batch: typed loosely, as `args`, so that
    # one such row queued on a device never blocks the rest. The published schema still says
    # what to send: a string of at most 1,000 characters (the OpenAPI document is Litestar's,
    # which takes a loose field's schema from `extra_json_schema["extra"]`; msgspec's own from
    # the rest).
    name: Annotated[Any, msgspec.Meta(extra_json_schema=_NAME_SCHEMA | {"extra": _NAME_SCHEMA})]
    # The operation's arguments, an object. Typed loosely on purpose: arguments a mutation's
    # operation cannot take (not an object, null, wrong fields) make that mutation `rejected`
    # (`request.invalid`) while the batch's others still run, instead of refusing the whole
    # batch and blocking the app's queue behind it.
    args: Annotated[Any, msgspec.Meta(description=ARGS_DOC)] = {}
    # Typed loosely too: a time the server cannot read (no offset, not a time) is the server's
    # time for that mutation, never a refused batch.
    occurred_at: Annotated[
        Any,
        msgspec.Meta(
            description=OCCURRED_AT_DOC,
            extra_json_schema={"type": ["string", "null"], "format": "date-time"},
        ),
    ] = None


class PushRequest(msgspec.Struct, kw_only=True):
    """Mutations of one app install (`client_id`), oldest first; ids increase per client."""

    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    mutations: Annotated[list[Mutation], msgspec.Meta(max_length=MAX_MUTATIONS)]


class MutationStatus(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # applied (or answered) by an earlier push; nothing done now
    REJECTED = "rejected"  # can never succeed (bad args, forbidden, illegal); `code` says why
    CONFLICT = "conflict"  # the server's row moved on; `server` is its current state


class MutationResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: int
    status: MutationStatus
    code: str | None = None
    detail: str | None = None
    server: Any = None  # conflict: the row as the server has it now
    result: Any = None  # applied: what the API operation answered
    problem: dict[str, Any] | None = None  # rejected: the API error's details (e.g. per field)


class PushResult(msgspec.Struct, kw_only=True):
    results: list[MutationResult]
    last_mutation_id: int


# ---- arguments of each offline mutation (named like the API operation) -------------------------


class TaskArgs(msgspec.Struct, kw_only=True):
    """task.start"""

    task_id: uuid.UUID


class TaskSubmitArgs(msgspec.Struct, kw_only=True):
    """task.submit: as POST /tasks/{id}/submit."""

    task_id: uuid.UUID
    values: dict[str, Any]


class TaskCancelArgs(msgspec.Struct, kw_only=True):
    """task.cancel: as POST /tasks/{id}/cancel."""

    task_id: uuid.UUID
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class TaskRescheduleArgs(msgspec.Struct, kw_only=True):
    """task.reschedule: as PATCH /tasks/{id}."""

    task_id: uuid.UUID
    # Without an offset it is UTC, as the online PATCH reads it (`lifecycle.reschedule`).
    due_at: datetime


class NoteAddArgs(msgspec.Struct, kw_only=True):
    """note.add: as POST /customers/{id}/notes; create `id` on the device."""

    customer_id: uuid.UUID
    id: uuid.UUID
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    kind: NoteKind


class NotificationReadArgs(msgspec.Struct, kw_only=True):
    """notification.read: as POST /notifications/{id}/read."""

    notification_id: uuid.UUID


class ShareCreateArgs(msgspec.Struct, kw_only=True):
    """share.create: as POST /shares; create `client_ref` on the device (the link works once
    the push is applied; a resend, or the same `client_ref` online, gives the same share)."""

    client_ref: uuid.UUID
    channel: ShareChannel
    brochure_id: uuid.UUID | None = None
    survey_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None


class WorkOrderTransitionArgs(msgspec.Struct, kw_only=True):
    """work_order.transition: as POST /work-orders/{id}/transition (`root_cause` to close;
    `from`, the state the work order was in on the device when the step was chosen: a work
    order in another state by the push is a `conflict`, never a step applied to it)."""

    work_order_id: uuid.UUID
    to: WorkOrderState
    note: Note
    root_cause: RootCauseCode | None = None
    from_: WorkOrderState | None = msgspec.field(default=None, name="from")


# ---- rows that only sync carries (the others are the API's own structs) -----------------------


class SyncProduct(msgspec.Struct, kw_only=True):
    code: str
    name: str
    category: str
    risk_level: ProductRisk
    active: bool


class SyncHolding(msgspec.Struct, kw_only=True):
    """One product a customer holds; `id` is `<customer_id>:<product_code>`. The product's
    name, category and risk come with the product entity."""

    id: str
    customer_id: uuid.UUID
    product_code: str
    amount: Decimal
    as_of: date


class SyncNote(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A note the RM wrote on a customer's timeline (visit, call, chat, other)."""

    id: uuid.UUID
    customer_id: uuid.UUID
    occurred_at: datetime
    kind: str
    actor_id: uuid.UUID | None = None
    text: str | None = None


class SyncPageFiles(msgspec.Struct, kw_only=True):
    """One size of a page: API paths (under the API's base URL) the app downloads with its
    bearer token for its offline copy. They do not expire; a 404 means the rendition is not
    built yet (try again later) or the brochure is no longer live for the user."""

    webp: str
    jpeg: str


class SyncBrochurePage(msgspec.Struct, kw_only=True):
    """A page of a brochure. `image` (SHA-256 of the source image, hex) names its content: a
    page whose `image` is unchanged need not be downloaded again."""

    number: int
    image: str
    width: int
    height: int
    phone: SyncPageFiles
    tablet: SyncPageFiles
    thumb: SyncPageFiles


class SyncBrochure(msgspec.Struct, kw_only=True):
    """A brochure as the catalogue shows it (its live version, with the product's facts); its
    pages as API paths rather than the catalogue's short-lived signed URLs."""

    id: uuid.UUID
    version: int
    title: str
    product_code: str
    product_name: str
    category: str
    risk_level: ProductRisk
    talk_track: str
    tags: list[str]
    pages: list[SyncBrochurePage]
    live_from: datetime | None
    live_until: datetime | None
    published_at: datetime


class SurveyUse(enum.StrEnum):
    SEND = "send"  # a published customer survey the user may send to their customers
    ANSWER = "answer"  # a staff survey the user is invited to answer in their inbox


class SyncSurvey(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A survey on the device. `send`: keyed by the survey id, its latest published version (a
    delete when it is archived). `answer`: keyed by the invitation id, the version the user was
    invited to answer, until `expires_at` (the app hides it then) or the answer (a delete)."""

    id: uuid.UUID
    use: SurveyUse
    survey_id: uuid.UUID
    version: int
    title: str
    audience: Audience
    questions: list[Question]
    published_at: datetime
    invitation_id: uuid.UUID | None = None
    sent_at: datetime | None = None
    expires_at: datetime | None = None


class SyncWorkOrder(msgspec.Struct, kw_only=True):
    """A work order in its holder's partition (assignee, the branch heads over its unit).
    `trigger`: the answer that opened it; `answers`: the response's answers, a text answer as a
    short snippet with long numbers masked (GET /work-orders/{id} has it in full). `overdue` is
    as of the pull: between pulls the app compares `due_at` with its clock."""

    id: uuid.UUID
    state: WorkOrderState
    survey_id: uuid.UUID
    survey_title: str
    response_id: uuid.UUID
    customer_id: uuid.UUID | None
    customer: str | None  # masked name
    respondent: str | None  # a staff survey's respondent
    assignee_id: uuid.UUID
    assignee: str
    org_unit_id: uuid.UUID
    sla_hours: int
    sla_kind: SlaKind
    due_at: datetime
    overdue: bool
    escalation_level: int
    root_cause: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    submitted_at: datetime
    trigger: AnswerLine | None
    answers: list[AnswerLine]
    events: list[WorkOrderEvent]


class SyncEvent(msgspec.Struct, kw_only=True):
    """A server-sent event on GET /sync/events: `pull` means something in my partition
    changed; `hello` opens the stream."""

    type: str

"""Sending surveys: deliveries to customers (single-use links) and staff (their inbox), the
staff inbox, and the survey message outbox the bank's SMS or WeChat gateway reads."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mobile_contracts.v1.surveys import Audience, Question

MAX_RECIPIENTS = 100_000
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


class DeliveryCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who gets the survey: `customer_ids` (a customer survey) or `user_ids` (a staff survey),
    or, for a customer survey sent by an admin or branch head, a selection: every customer
    owned by an RM of the org unit `org_unit_id`'s subtree (with `tag`: only those tagged so).
    Up to 200 listed recipients are sent in the request (201); more, or a selection, by the
    worker (202, follow its progress)."""

    customer_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_RECIPIENTS)] | None = None
    user_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_RECIPIENTS)] | None = None
    org_unit_id: uuid.UUID | None = None
    tag: Tag | None = None


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RecipientStatus(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"


class SkipReason(enum.StrEnum):
    """Why a recipient got nothing: the contact cap (survey messages a customer got lately),
    already invited by this delivery (listed twice), or already holding an open link to this
    survey (sent before, not answered, not expired: a second would be counted twice)."""

    CONTACT_CAP = "contact_cap"
    DUPLICATE = "duplicate"
    ALREADY_INVITED = "already_invited"


class DeliveredRecipient(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One recipient of a delivery done in the request. `url`: the customer's single-use link."""

    status: RecipientStatus
    customer_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    invitation_id: uuid.UUID | None = None
    url: str | None = None
    reason: SkipReason | None = None


class Delivery(msgspec.Struct, kw_only=True):
    """A delivery and its progress: `done` recipients invited, `skipped` ones not (contact cap),
    of `total`. `recipients`: each one, for a delivery done in the request (empty otherwise).
    `error`: why a `failed` delivery stopped, a problem code (`survey.archived`: the survey was
    archived while it was being sent, and the recipients left got nothing); null otherwise."""

    id: uuid.UUID
    survey_id: uuid.UUID
    version: int
    status: DeliveryStatus
    total: int
    done: int
    skipped: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    recipients: list[DeliveredRecipient] = []
    error: str | None = None


class InboxItem(msgspec.Struct, kw_only=True):
    """A survey waiting for my answer."""

    invitation_id: uuid.UUID
    survey_id: uuid.UUID
    version: int
    title: str
    questions: int
    sent_at: datetime
    expires_at: datetime


class Invitation(msgspec.Struct, kw_only=True):
    """One of my survey invitations with the questions of the version I am asked to answer."""

    id: uuid.UUID
    survey_id: uuid.UUID
    version: int
    title: str
    audience: Audience
    questions: list[Question]
    sent_at: datetime
    expires_at: datetime
    responded_at: datetime | None = None


class ResponseStored(msgspec.Struct, kw_only=True):
    """A stored answer."""

    id: uuid.UUID
    invitation_id: uuid.UUID
    submitted_at: datetime


class MessageKind(enum.StrEnum):
    INVITATION = "invitation"
    REMINDER = "reminder"


class SurveyMessage(msgspec.Struct, kw_only=True):
    """One survey message for the bank's SMS or WeChat gateway to send to a customer: the
    invitation (`seq` 0) or its n-th reminder, with the customer's single-use link."""

    id: uuid.UUID
    kind: MessageKind
    seq: int
    customer_external_id: str
    invitation_id: uuid.UUID
    survey_id: uuid.UUID
    title: str
    url: str
    expires_at: datetime
    created_at: datetime

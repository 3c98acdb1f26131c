"""What the parts of delivery share: how many recipients are sent in the request and per
worker chunk, how old an outbox message must be, who may send, why a delivery stops, the problems
of a wrong request (`WrongRecipients`, `IdempotencyKeyReused`), one recipient's outcome (`Sent`),
and the delivery an `Idempotency-Key` names."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mobile_contracts.v1 import survey_delivery as wire
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.errors import Conflict, DomainError
from workbench.ids import uuid5_for
from workbench.surveys.design import SurveyArchived

IN_REQUEST = 200  # listed recipients up to this many are sent in the request
CHUNK = 1000  # recipients per worker transaction
OUTBOX_SETTLE_SECONDS = 10  # the outbox lists messages this old (see `messages`)
SENDERS = (Role.ADMIN, Role.BRANCH_HEAD, Role.RM)
# Why a delivery stopped (`failed`), as its progress says it: the problem codes it stores.
STOP_CODES = frozenset({SurveyArchived.code})
Wake = Callable[[uuid.UUID], Awaitable[None]]


class WrongRecipients(DomainError):
    status, code, title = 422, "survey.wrong_recipients", "These recipients do not fit the survey"


class IdempotencyKeyReused(Conflict):
    code, title = "delivery.idempotency_key_reused", "This Idempotency-Key named another delivery"


@dataclass(frozen=True, slots=True)
class Sent:
    """One recipient's outcome: their invitation, or why none was made (`held`: for a customer
    `already_invited`, the open link they hold that the same sender sent)."""

    recipient_id: uuid.UUID
    invitation_id: uuid.UUID | None
    reason: wire.SkipReason | None = None
    held: uuid.UUID | None = None


def delivery_id_for_key(caller: Caller, idempotency_key: str) -> uuid.UUID:
    """The id of the delivery an `Idempotency-Key` names (per sender: two senders' keys never
    meet)."""
    return uuid5_for(f"survey-delivery-idempotency:{caller.user_id}:{idempotency_key}")

"""Sending a published survey: invitations to customers (single-use links) and to staff (their
inbox), in the request for a few recipients, chunk by chunk in the worker for many.

Every invitation to a customer is also a survey message (the outbox the bank's SMS or WeChat
gateway reads), and so is every reminder. The contact cap holds across surveys and reminders:
at most `cap` messages per customer in `cap_days`. It is checked and the message written under
a per-customer transaction lock, so deliveries running at the same time cannot pass it; a
customer at the cap is skipped (`contact_cap`). Whoever holds an open invitation to the survey (a
customer's unanswered, unexpired link, one an RM shared too; a staff member's inbox) is skipped
as well (`already_invited`, checked under that lock or a staff member's): nobody counted twice.
A customer skipped for an open link the same sender sent them (an earlier delivery, a share, a
task done) is answered with that link (`invitation_id`, `url`): the sender can still pass it on;
a link someone else sent is not handed out.

A delivery's sender can read its answer again: a request with the `Idempotency-Key` of one they
made before answers that delivery as it is (the same request again: its recipients with their
links; anything else under that key is 409 `delivery.idempotency_key_reused`), and so does its
progress (GET), for whoever requested it, when its listed recipients were sent in the request.
The key names the delivery (its id is derived from the sender and the key), so nothing else
keeps it.

Who sends what: an admin to anyone; a branch head to customers owned by RMs of their subtree
and to staff of their subtree (or to a whole unit's customers, with an optional tag); an RM a
customer survey to their own customers. Anyone else is refused: 403 for a survey they see
(marketing designs surveys, and sends none), 404 for one they do not; anything out of reach is
404. A selection that reaches no customer when it is asked (a mistyped tag) is refused (422), as
the console's send form refuses it.

One private module per role, re-exported here:
- `_create`: a delivery made from a request (recipients checked, a retried key answered, a short
  list sent in the request, the rest queued for the worker)
- `_progress`: a delivery read back (its progress; its recipients' outcomes, to its requester)
- `_sending`: recipients invited in the caller's transaction (customers within the contact cap,
  staff to their inbox)
- `_chunks`: the worker's step of a queued delivery (`run_chunk`)
- `_after_task`: the customer of a task just done invited to the surveys after its template
- `_reminders`: unanswered invitations reminded, within the contact cap
- `_outbox`: the survey messages as the bank's gateway reads them
- `_to_send`: the survey the caller may send or follow, and the units, customers and staff to
  send it to
- `_rules`: what delivery needs from the settings (`Rules`)
- `_common`: what they share (limits, senders, stop codes, problems, `Sent`, a key's delivery id)
"""

from workbench.surveys.delivery._after_task import after_task_done
from workbench.surveys.delivery._chunks import run_chunk
from workbench.surveys.delivery._common import (
    CHUNK,
    IN_REQUEST,
    OUTBOX_SETTLE_SECONDS,
    SENDERS,
    STOP_CODES,
    IdempotencyKeyReused,
    Sent,
    Wake,
    WrongRecipients,
    delivery_id_for_key,
)
from workbench.surveys.delivery._create import create
from workbench.surveys.delivery._outbox import messages
from workbench.surveys.delivery._progress import progress
from workbench.surveys.delivery._reminders import send_reminders
from workbench.surveys.delivery._rules import Rules
from workbench.surveys.delivery._sending import invite_customers, send_chunk
from workbench.surveys.delivery._to_send import (
    customers_by_external_id,
    followable,
    selection_is_empty,
    sendable,
    staff_of_unit,
    units_to_send_to,
)

__all__ = [
    "CHUNK",
    "IN_REQUEST",
    "OUTBOX_SETTLE_SECONDS",
    "SENDERS",
    "STOP_CODES",
    "IdempotencyKeyReused",
    "Rules",
    "Sent",
    "Wake",
    "WrongRecipients",
    "after_task_done",
    "create",
    "customers_by_external_id",
    "delivery_id_for_key",
    "followable",
    "invite_customers",
    "messages",
    "progress",
    "run_chunk",
    "selection_is_empty",
    "send_chunk",
    "send_reminders",
    "sendable",
    "staff_of_unit",
    "units_to_send_to",
]

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
customer survey to their own customers. Anyone else, and anything out of reach, is 404.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from mobile_contracts.v1 import survey_delivery as wire
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.customers.views import text_filter
from workbench.db import Connection, after_commit
from workbench.errors import Conflict, DomainError, NotFound
from workbench.ids import uuid5_for, uuid7
from workbench.notifications import categories
from workbench.notifications import service as notifications
from workbench.settings import Settings
from workbench.surveys.delivered import queries as delivered
from workbench.surveys.design import SurveyArchived
from workbench.surveys.invitations import queries
from workbench.surveys.links import SurveyLinks

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
class Rules:
    """What delivery needs from the settings (`links` and `base_url`: to make link URLs)."""

    base_url: str = ""
    links: SurveyLinks | None = None
    link_days: int = 30
    cap: int = 2
    cap_days: int = 7
    remind_after_days: int = 3
    max_reminders: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            base_url=settings.public_base_url,
            links=SurveyLinks(settings.jwt_keys),
            link_days=settings.survey_link_days,
            cap=settings.survey_contact_cap,
            cap_days=settings.survey_contact_days,
            remind_after_days=settings.survey_remind_after_days,
            max_reminders=settings.survey_max_reminders,
        )

    @classmethod
    def from_environment(cls) -> Rules:
        """The contact and link rules from WORKBENCH_SURVEY_* (defaults where unset), for a
        caller that has no settings object at hand (a task being done); no link URLs."""
        names = {"survey_link_days": "link_days", "survey_contact_cap": "cap",
                 "survey_contact_days": "cap_days"}  # fmt: skip
        values: dict[str, Any] = {}
        for f in fields(Settings):
            raw = os.environ.get(f.metadata["env"], "").strip()
            if f.name in names and raw.isdigit() and int(raw) > 0:
                values[names[f.name]] = int(raw)
        return cls(**values)

    def url(self, invitation_id: uuid.UUID) -> str:
        assert self.links is not None, "these rules make no links"
        return self.links.url(self.base_url, invitation_id)


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


# ---- creating a delivery ---------------------------------------------------------------------


async def create(
    conn: Connection,
    *,
    caller: Caller,
    survey_id: uuid.UUID,
    request: wire.DeliveryCreate,
    rules: Rules,
    wake: Wake | None = None,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> tuple[wire.Delivery, bool]:
    """The new delivery and whether it was done here (True) or queued for the worker; with an
    `idempotency_key` the caller used before, that delivery as it is now (the same request: else
    409 `delivery.idempotency_key_reused`), even if the survey was archived since."""
    request = _tag_as_matched(request)
    now = now or datetime.now(UTC)
    delivery_id = uuid7()
    if idempotency_key is not None and caller.role in SENDERS:
        delivery_id = delivery_id_for_key(caller, idempotency_key)
        await delivered.lock_key(conn, delivery_id)
        earlier = await delivered.delivery_of_key(
            conn, delivery_id, requested_by=caller.user_id, survey_id=survey_id,
            recipients=_asked(request),
        )  # fmt: skip
        if earlier is not None:
            if not earlier["same"]:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used for a different delivery; use a new key"
                )
            in_request = _sent_in_request(listed=earlier["listed"], total=earlier["total"])
            if not in_request:
                return _delivery(earlier), False
            outcomes = await _outcomes(
                conn, earlier["id"], requested_by=caller.user_id,
                to_customers=earlier["to_customers"], rules=rules,
            )  # fmt: skip
            return _delivery(earlier, outcomes), True
    # Held until the request's transaction ends: an archiving comes before this send or after.
    survey = await sendable(conn, caller=caller, survey_id=survey_id, hold=True)
    recipients, listed = await _recipients(conn, caller=caller, survey=survey, request=request)
    row = await queries.insert_delivery(
        conn, delivery_id=delivery_id, survey_id=survey_id, version=survey["version"],
        source="api", requested_by=caller.user_id, recipients=recipients,
        total=len(listed) if listed is not None else 0, created_at=now,
    )  # fmt: skip
    if listed is not None and len(listed) <= IN_REQUEST:
        sent = await send_chunk(conn, delivery=row, recipient_ids=listed, rules=rules, now=now)
        done = sum(s.invitation_id is not None for s in sent)
        row = await queries.advance_delivery(
            conn, row["id"], position=None, done=done, skipped=len(sent) - done, finished=True
        )
        return _delivery(row, [_recipient(survey["audience"], s, rules) for s in sent]), True
    if wake is not None:
        delivery_id = row["id"]
        after_commit(conn, lambda: wake(delivery_id))
    return _delivery(row), False


def _tag_as_matched(request: wire.DeliveryCreate) -> wire.DeliveryCreate:
    """The request with its `tag` as the customer list's `?tag=` filter reads it (trimmed; blank:
    no tag), so that a delivery to " vip " reaches the customers the list shows for it."""
    return msgspec.structs.replace(request, tag=text_filter(request.tag))


def _asked(request: wire.DeliveryCreate) -> dict[str, Any]:
    """The recipients a request asks for, as a delivery keeps them (`_recipients`): a retry
    with the same key must ask for the same ones."""
    asked: dict[str, Any] = {}
    for name, ids in (("customer_ids", request.customer_ids), ("user_ids", request.user_ids)):
        if ids is not None:
            asked[name] = [str(i) for i in dict.fromkeys(ids)]
    if request.org_unit_id is not None:
        asked["org_unit_id"] = str(request.org_unit_id)
    if request.tag is not None:
        asked["tag"] = request.tag
    return asked


def _sent_in_request(*, listed: bool, total: int) -> bool:
    """Whether a delivery's recipients were sent in the request that made it (a list of at
    most IN_REQUEST; more, or a selection, went to the worker)."""
    return listed and total <= IN_REQUEST


async def _outcomes(
    conn: Connection,
    delivery_id: uuid.UUID,
    *,
    requested_by: uuid.UUID,
    to_customers: bool,
    rules: Rules,
) -> list[wire.DeliveredRecipient]:
    """Each listed recipient of a delivery sent in its request, as that request answered: the
    invitation it made them (with a customer's link), or why none (`already_invited`: they held
    an open one then, given with its link when its sender made this delivery too; else the
    contact cap)."""
    if to_customers:
        rows = await delivered.listed_customers(conn, delivery_id)
    else:
        rows = await delivered.listed_staff(conn, delivery_id)
    sent = []
    for r in rows:
        if r["invitation_id"] is not None:
            sent.append(Sent(r["recipient_id"], r["invitation_id"]))
        elif r["held_id"] is not None or not to_customers:
            own = r["held_by"] == requested_by and to_customers
            sent.append(Sent(r["recipient_id"], None, wire.SkipReason.ALREADY_INVITED,
                             held=r["held_id"] if own else None))  # fmt: skip
        else:
            sent.append(Sent(r["recipient_id"], None, wire.SkipReason.CONTACT_CAP))
    audience = "customer" if to_customers else "staff"
    return [_recipient(audience, s, rules) for s in sent]


async def _recipients(
    conn: Connection, *, caller: Caller, survey: queries.Record, request: wire.DeliveryCreate
) -> tuple[dict[str, Any], list[uuid.UUID] | None]:
    """(what the delivery row keeps, the listed recipients in order or None for a selection);
    422 for recipients of the wrong kind, 404 for any out of the caller's reach."""
    given = [
        name
        for name, value in (
            ("customer_ids", request.customer_ids),
            ("user_ids", request.user_ids),
            ("org_unit_id", request.org_unit_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise WrongRecipients("Give exactly one of customer_ids, user_ids and org_unit_id")
    if request.tag is not None and request.org_unit_id is None:
        raise WrongRecipients("A tag narrows an org unit's customers: give org_unit_id too")
    customer_survey = survey["audience"] == "customer"
    if customer_survey == (request.user_ids is not None):
        raise WrongRecipients(
            "A customer survey goes to customers (customer_ids or org_unit_id), a staff survey"
            " to staff (user_ids)"
        )
    if request.org_unit_id is not None:
        if caller.role is Role.RM or not await queries.unit_in_scope(
            conn, request.org_unit_id, scope_root=caller.scope_root
        ):
            raise NotFound("org_unit")
        selection: dict[str, Any] = {"org_unit_id": str(request.org_unit_id)}
        if request.tag is not None:
            selection["tag"] = request.tag
        return selection, None
    ids = list(dict.fromkeys(request.customer_ids or request.user_ids or []))
    if not ids:
        raise WrongRecipients("Name at least one recipient")
    if customer_survey:
        owner = caller.user_id if caller.role is Role.RM else None
        found = await queries.customers_in_scope(
            conn, ids, owner_id=owner, scope_root=None if owner else caller.scope_root
        )
        if len(found) != len(ids):
            raise NotFound("customer")
        return {"customer_ids": [str(i) for i in ids]}, ids
    found = await queries.users_in_scope(conn, ids, scope_root=caller.scope_root)
    if len(found) != len(ids):
        raise NotFound("user")
    return {"user_ids": [str(i) for i in ids]}, ids


def _recipient(audience: str, sent: Sent, rules: Rules) -> wire.DeliveredRecipient:
    """A recipient as the sender reads it: a customer's link is the one made now, or the open
    one they hold that the sender sent before (skipped `already_invited`)."""
    customer = audience == "customer"
    link = sent.invitation_id or (sent.held if customer else None)
    return wire.DeliveredRecipient(
        status=wire.RecipientStatus.SENT if sent.invitation_id else wire.RecipientStatus.SKIPPED,
        customer_id=sent.recipient_id if customer else None,
        user_id=None if customer else sent.recipient_id,
        invitation_id=link,
        url=rules.url(link) if customer and link else None,
        reason=sent.reason,
    )


def _delivery(
    row: queries.Record, recipients: list[wire.DeliveredRecipient] | None = None
) -> wire.Delivery:
    return wire.Delivery(
        id=row["id"],
        survey_id=row["survey_id"],
        version=row["version"],
        status=wire.DeliveryStatus(row["status"]),
        total=row["total"],
        done=row["done"],
        skipped=row["skipped"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        recipients=recipients or [],
        error=row["error"] if row["error"] in STOP_CODES else None,
    )


async def progress(
    conn: Connection,
    *,
    caller: Caller,
    survey_id: uuid.UUID,
    delivery_id: uuid.UUID,
    rules: Rules | None = None,
) -> wire.Delivery:
    """A delivery's progress, for whoever requested it and those above them. Its requester
    also reads its recipients as the request that sent them answered (`rules`: with customers'
    links), when they were sent in that request."""
    if caller.role not in SENDERS:
        raise NotFound("delivery")
    row = await queries.delivery_in_scope(
        conn, survey_id=survey_id, delivery_id=delivery_id, user_id=caller.user_id,
        scope_root=caller.scope_root, own_only=caller.role is Role.RM,
    )  # fmt: skip
    if row is None:
        raise NotFound("delivery")
    if rules is None or row["requested_by"] != caller.user_id:
        return _delivery(row)
    kind = row["recipients"]  # which kind only (see queries._deliveries._DELIVERY)
    if not _sent_in_request(listed="org_unit_id" not in kind, total=row["total"]):
        return _delivery(row)
    outcomes = await _outcomes(
        conn, row["id"], requested_by=caller.user_id, to_customers="customer_ids" in kind,
        rules=rules,
    )  # fmt: skip
    return _delivery(row, outcomes)


# ---- sending ---------------------------------------------------------------------------------


async def send_chunk(
    conn: Connection,
    *,
    delivery: queries.Record,
    recipient_ids: Sequence[uuid.UUID],
    rules: Rules,
    now: datetime,
) -> list[Sent]:
    """Invite these recipients of a delivery (in the caller's transaction)."""
    if "user_ids" in delivery["recipients"]:
        return await _invite_staff(conn, delivery=delivery, user_ids=recipient_ids, rules=rules,
                                   now=now)  # fmt: skip
    return await invite_customers(
        conn, survey_id=delivery["survey_id"], version=delivery["version"],
        delivery_id=delivery["id"], customer_ids=recipient_ids, sent_by=delivery["requested_by"],
        rules=rules, now=now,
    )  # fmt: skip


async def invite_customers(
    conn: Connection,
    *,
    survey_id: uuid.UUID,
    version: int,
    delivery_id: uuid.UUID | None,
    customer_ids: Sequence[uuid.UUID],
    sent_by: uuid.UUID,
    rules: Rules,
    now: datetime,
    task_id: uuid.UUID | None = None,
) -> list[Sent]:
    """Invite customers, each with a survey message, unless they hold an open link to the
    survey already (it would be answered and counted twice) or the contact cap holds them
    back."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return []
    await queries.lock_contacts(conn, ids)  # also orders two deliveries of one survey
    invited = await queries.holding_open_links(conn, ids, survey_id=survey_id, now=now)
    # Skipped, but not left without a link: the one the sender sent them before.
    own = await delivered.open_links_sent_by(
        conn, list(invited), survey_id=survey_id, sent_by=sent_by, now=now
    ) if invited else {}  # fmt: skip
    capped = await queries.capped_customers(
        conn, ids, since=now - timedelta(days=rules.cap_days), cap=rules.cap
    )
    wanted = [c for c in ids if c not in capped and c not in invited]
    rows = await queries.insert_customer_invitations(
        conn, invitation_ids=[uuid7() for _ in wanted], customer_ids=wanted, survey_id=survey_id,
        version=version, delivery_id=delivery_id, sent_by=sent_by, sent_at=now,
        expires_at=now + timedelta(days=rules.link_days), task_id=task_id,
    )  # fmt: skip
    made = {r["customer_id"]: r["id"] for r in rows}
    await queries.insert_messages(
        conn, message_ids=[uuid7() for _ in rows], customer_ids=list(made),
        invitation_ids=list(made.values()), seqs=[0] * len(made), kind="invitation",
        created_at=now,
    )  # fmt: skip
    return [
        Sent(c, made.get(c), None if c in made else _why(c, invited, capped), held=own.get(c))
        for c in ids
    ]


def _why(
    customer_id: uuid.UUID, invited: set[uuid.UUID], capped: set[uuid.UUID]
) -> wire.SkipReason:
    if customer_id in invited:
        return wire.SkipReason.ALREADY_INVITED
    return wire.SkipReason.CONTACT_CAP if customer_id in capped else wire.SkipReason.DUPLICATE


async def _invite_staff(
    conn: Connection,
    *,
    delivery: queries.Record,
    user_ids: Sequence[uuid.UUID],
    rules: Rules,
    now: datetime,
) -> list[Sent]:
    """Invite staff members: the survey waits in their inbox, and they are told; unless it is
    waiting there already (unanswered, unexpired: it would be answered and counted twice)."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return []
    await queries.lock_inboxes(conn, ids)  # two deliveries of one survey: one after the other
    invited = await queries.holding_open_invitations(
        conn, ids, survey_id=delivery["survey_id"], now=now
    )
    wanted = [u for u in ids if u not in invited]
    rows = await queries.insert_user_invitations(
        conn, invitation_ids=[uuid7() for _ in wanted], user_ids=wanted,
        survey_id=delivery["survey_id"], version=delivery["version"],
        delivery_id=delivery["id"], sent_by=delivery["requested_by"], sent_at=now,
        expires_at=now + timedelta(days=rules.link_days),
    )  # fmt: skip
    made = {r["user_id"]: r["id"] for r in rows}
    for user_id, invitation_id in made.items():
        await notifications.notify(
            conn, user_id=user_id, category=categories.SURVEY_INVITATION, title="新的问卷",
            body="您有一份问卷待填写，请在工作台“我的问卷”中作答。",
            dedupe_key=f"survey-invitation:{invitation_id}",
            data={"invitation_id": str(invitation_id), "survey_id": str(delivery["survey_id"])},
            expires_at=now + timedelta(days=rules.link_days), subject_id=invitation_id,
        )  # fmt: skip
    return [Sent(u, made.get(u), None if u in made else _why(u, invited, set())) for u in ids]


async def run_chunk(conn: Connection, *, delivery: queries.Record, rules: Rules,
                    now: datetime | None = None, chunk: int = CHUNK) -> queries.Record:  # fmt: skip
    """One step of a claimed delivery (in the caller's transaction, the row locked): count the
    recipients when it starts, then invite the next `chunk` after its position; the row as it
    is now (status `done` after the last chunk). A delivery of a survey archived since ends
    there, `failed` with error `survey.archived`, sending nothing more: the survey's row is
    held for the chunk's transaction, so an archiving comes before a chunk or after it."""
    now = now or datetime.now(UTC)
    if await queries.survey_status(conn, delivery["survey_id"]) == "archived":
        stopped = await queries.fail_delivery(conn, delivery["id"], SurveyArchived.code)
        return stopped or delivery
    if delivery["status"] == "queued":
        total = await queries.count_recipients(conn, delivery)
        await queries.start_delivery(conn, delivery["id"], total=total)
    ids = await queries.next_recipients(
        conn, delivery, after=delivery["position"], limit=chunk,
        offset=delivery["done"] + delivery["skipped"],
    )  # fmt: skip
    if not ids:
        return await queries.advance_delivery(
            conn, delivery["id"], position=None, done=0, skipped=0, finished=True
        )
    sent = await send_chunk(conn, delivery=delivery, recipient_ids=ids, rules=rules, now=now)
    done = sum(s.invitation_id is not None for s in sent)
    return await queries.advance_delivery(
        conn, delivery["id"], position=ids[-1], done=done, skipped=len(sent) - done,
        finished=len(ids) < chunk,
    )  # fmt: skip


# ---- after a task is done --------------------------------------------------------------------


async def after_task_done(
    conn: Connection, *, task: Any, rules: Rules | None = None, now: datetime | None = None
) -> list[uuid.UUID]:
    """Invite the customer of a task just done to every published survey sent after its
    template (once per survey and task; the contact cap applies). The new invitations."""
    if task["customer_id"] is None:
        return []
    rules = rules or Rules.from_environment()
    made = []
    for survey in await queries.surveys_after_template(conn, task["template_id"]):
        sent = await invite_customers(
            conn, survey_id=survey["id"], version=survey["version"], delivery_id=None,
            customer_ids=[task["customer_id"]], sent_by=task["assignee_id"], rules=rules,
            now=now or datetime.now(UTC), task_id=task["id"],
        )  # fmt: skip
        made += [s.invitation_id for s in sent if s.invitation_id is not None]
    return made


# ---- reminders -------------------------------------------------------------------------------


async def send_reminders(
    conn: Connection, *, rules: Rules, now: datetime | None = None, limit: int = CHUNK
) -> tuple[int, int]:
    """Remind customers who have not answered an unexpired invitation after
    `remind_after_days` (at most `max_reminders` times), within the contact cap; a reminder the
    cap holds back is dropped, not postponed. An archived survey's invitations are reminded no
    more. (reminded, held back) of one batch."""
    now = now or datetime.now(UTC)
    if rules.max_reminders <= 0:
        return 0, 0
    due = await queries.due_reminders(
        conn, before=now - timedelta(days=rules.remind_after_days), now=now,
        max_reminders=rules.max_reminders, limit=limit,
    )  # fmt: skip
    if not due:
        return 0, 0
    customers = sorted({r["customer_id"] for r in due})
    await queries.lock_contacts(conn, customers)
    capped = await queries.capped_customers(
        conn, customers, since=now - timedelta(days=rules.cap_days), cap=rules.cap
    )
    # One message per customer per run, even if several of their invitations are due.
    chosen: dict[uuid.UUID, queries.Record] = {}
    for row in due:
        if row["customer_id"] not in capped:
            chosen.setdefault(row["customer_id"], row)
    sent = await queries.insert_messages(
        conn, message_ids=[uuid7() for _ in chosen], customer_ids=list(chosen),
        invitation_ids=[r["id"] for r in chosen.values()],
        seqs=[r["reminders"] + 1 for r in chosen.values()], kind="reminder", created_at=now,
    )  # fmt: skip
    later = {r["id"] for r in due if r["customer_id"] in chosen and r["id"] not in set(sent)}
    # Held back by the cap: that reminder is used up. A second due invitation of a customer
    # reminded in this run waits for the next run.
    await queries.mark_reminded(conn, [r["id"] for r in due if r["id"] not in later], at=now)
    return len(sent), len(due) - len(sent) - len(later)


# ---- the outbox ------------------------------------------------------------------------------


async def messages(
    conn: Connection,
    *,
    rules: Rules,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    now: datetime | None = None,
) -> tuple[list[wire.SurveyMessage], tuple[datetime, uuid.UUID] | None]:
    """The outbox in order from a position: the messages and the position after them.

    A message is listed once it is OUTBOX_SETTLE_SECONDS old: a message is stamped when its
    transaction (a chunk, a reminder batch, a request) starts and seen when it commits, so a
    reader that had moved past its time would miss one committed late; transactions that
    write messages last well under a second."""
    settled = (now or datetime.now(UTC)) - timedelta(seconds=OUTBOX_SETTLE_SECONDS)
    rows = await queries.messages_after(conn, after=after, before=settled, limit=limit)
    last = (rows[-1]["created_at"], rows[-1]["id"]) if rows else after
    return [_message(r, rules) for r in rows], last


def _message(row: queries.Record, rules: Rules) -> wire.SurveyMessage:
    return wire.SurveyMessage(
        id=row["id"], kind=wire.MessageKind(row["kind"]), seq=row["seq"],
        customer_external_id=row["external_id"], invitation_id=row["invitation_id"],
        survey_id=row["survey_id"], title=row["title"], url=rules.url(row["invitation_id"]),
        expires_at=row["expires_at"], created_at=row["created_at"],
    )  # fmt: skip


# ---- the survey to send (the API's deliveries and the console's send page) ---------------


async def sendable(
    conn: Connection, *, caller: Caller, survey_id: uuid.UUID, hold: bool = False
) -> queries.Record:
    """The published survey the caller may send (id, audience, status, version, title); 404
    when there is none they may send, 409 `survey.archived` when it was archived (as an edit
    answers: the sender learns why, not that it vanished). `hold`: its row share-locked until
    the transaction ends (an archiving waits for the send)."""
    survey = await followable(conn, caller=caller, survey_id=survey_id, hold=hold)
    if survey["status"] == "archived":
        raise SurveyArchived("This survey is archived and is sent no more; send another one")
    return survey


async def followable(
    conn: Connection, *, caller: Caller, survey_id: uuid.UUID, hold: bool = False
) -> queries.Record:
    """As `sendable`, but an archived survey too: the survey of a delivery whose progress the
    caller follows (a delivery stopped by the archiving says so on its progress page)."""
    survey = await queries.survey_to_send(conn, survey_id, hold=hold)
    if caller.role not in SENDERS or survey is None:
        raise NotFound("survey")
    if survey["audience"] == "staff" and caller.role is Role.RM:
        raise NotFound("survey")
    return survey


async def units_to_send_to(conn: Connection, *, caller: Caller) -> list[queries.Record]:
    """The org units of the caller's subtree (id, name, path), in tree order."""
    return await queries.units_in_scope(conn, scope_root=caller.scope_root)


async def customers_by_external_id(
    conn: Connection, *, caller: Caller, external_ids: list[str]
) -> dict[str, uuid.UUID]:
    """The caller's reachable customers among these external ids (missing: out of reach)."""
    owner = caller.user_id if caller.role is Role.RM else None
    found = await queries.customers_by_external_id(
        conn, external_ids, scope_root=None if caller.sees_everything else caller.org_unit_id
    )
    if owner is not None:
        mine = await queries.customers_in_scope(conn, list(found.values()), owner_id=owner,
                                                scope_root=None)  # fmt: skip
        found = {k: v for k, v in found.items() if v in mine}
    return found


async def selection_is_empty(
    conn: Connection, *, caller: Caller, unit_id: uuid.UUID, tag: str | None
) -> bool:
    """Whether a unit of the caller's subtree has no customers (with `tag`, if given) to send
    to (`tag` read as a delivery reads it). A unit out of reach is not said to be empty: sending
    to it answers 404."""
    if not await queries.unit_in_scope(conn, unit_id, scope_root=caller.scope_root):
        return False
    return not await queries.any_customers(conn, unit_id, tag=text_filter(tag))


async def staff_of_unit(conn: Connection, *, unit_id: uuid.UUID) -> list[uuid.UUID]:
    return await queries.staff_of_subtree(conn, unit_id)

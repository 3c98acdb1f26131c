"""A delivery read back: its progress for whoever requested it and those above them, and, to
its requester, each listed recipient as the request that sent them answered (their invitation
and a customer's link, or why none) when they were sent in that request."""

from __future__ import annotations

import uuid

from mobile_contracts.v1 import survey_delivery as wire
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.surveys.delivered import queries as delivered
from workbench.surveys.delivery._common import IN_REQUEST, SENDERS, STOP_CODES, Sent
from workbench.surveys.delivery._rules import Rules
from workbench.surveys.invitations import queries


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

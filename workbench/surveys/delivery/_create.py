"""Creating a delivery: the request checked (its recipients of the survey's kind and within
the caller's reach, its tag read as the customer list reads it), a retry with the same
`Idempotency-Key` answered with the delivery it made, and the recipients sent in the request
(a short list) or left to the worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from mobile_contracts.v1 import survey_delivery as wire
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.problems import FieldError
from workbench.access import Caller
from workbench.customers.views import text_filter
from workbench.db import Connection, after_commit
from workbench.errors import NotFound
from workbench.ids import uuid7
from workbench.surveys.delivered import queries as delivered
from workbench.surveys.delivery._common import (
    IN_REQUEST,
    SENDERS,
    IdempotencyKeyReused,
    Wake,
    WrongRecipients,
    delivery_id_for_key,
)
from workbench.surveys.delivery._progress import _delivery, _outcomes, _recipient, _sent_in_request
from workbench.surveys.delivery._rules import Rules
from workbench.surveys.delivery._sending import send_chunk
from workbench.surveys.delivery._to_send import sendable
from workbench.surveys.invitations import queries


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


def _reaches_nobody(unit: str, tag: str | None) -> WrongRecipients:
    """422 `survey.wrong_recipients` for a selection of no customer, said in words."""
    if tag is not None:
        message = (
            f"No customer of {unit} or the units under it has the tag {tag!r}: nobody to send"
            " to; check the tag, or choose another unit"
        )
        path = "$.tag"
    else:
        message = f"{unit} and the units under it have no customers yet: nobody to send to"
        path = "$.org_unit_id"
    return WrongRecipients(message, errors=[FieldError(path=path, message=message)])


async def _recipients(
    conn: Connection, *, caller: Caller, survey: queries.Record, request: wire.DeliveryCreate
) -> tuple[dict[str, Any], list[uuid.UUID] | None]:
    """(what the delivery row keeps, the listed recipients in order or None for a selection);
    422 for recipients of the wrong kind or a selection that reaches no customer now, 404 for
    any out of the caller's reach."""
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
        unit = None
        if caller.role is not Role.RM:
            unit = await queries.unit_name_in_scope(
                conn, request.org_unit_id, scope_root=caller.scope_root
            )
        if unit is None:
            raise NotFound("org_unit")
        # As the console's send form refuses it: a selection that reaches nobody now (a mistyped
        # tag) would only make a delivery `done` with total 0, sent to no one.
        if not await queries.any_customers(conn, request.org_unit_id, tag=request.tag):
            raise _reaches_nobody(unit, request.tag)
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

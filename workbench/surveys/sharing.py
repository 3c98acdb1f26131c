"""An RM shares a survey with one of their customers: a single-use link they send themselves
(WeChat, SMS) or show as a poster with its QR code, in the Share shape brochures use.

The invitation is the share (its id the share's id, its link token the share's code). It is no
message of the bank's gateway (the RM passes it on), so the contact cap does not apply to it;
its reminders are messages and do. The app's `client_ref` names the invitation (the same RM
sending it again gets the same share; another share's `client_ref` is 409).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from mobile_contracts.v1 import shares as share_wire
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, NotFound
from workbench.ids import uuid5_for, uuid7
from workbench.surveys.delivery import Rules
from workbench.surveys.design import SurveyArchived
from workbench.surveys.invitations import queries


class CustomerRequired(DomainError):
    status, code, title = 422, "share.customer_required", "A survey is shared with one customer"


class ClientRefReused(Conflict):
    code, title = "share.client_ref_reused", "This client_ref belongs to a different share"


def poster_url(base_url: str, invitation_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}/api/v1/shares/{invitation_id}/poster.png"


async def share(
    conn: Connection,
    *,
    caller: Caller,
    request: share_wire.ShareCreate,
    rules: Rules,
    now: datetime | None = None,
) -> tuple[share_wire.Share, bool]:
    """The survey share (new: True), or the one made before with this `client_ref` (False)."""
    assert request.survey_id is not None
    if request.customer_id is None:
        raise CustomerRequired("Share a survey with one of your customers: give customer_id")
    now = now or datetime.now(UTC)
    invitation_id = (
        uuid5_for(f"survey-share:{request.client_ref}") if request.client_ref else uuid7()
    )
    if request.client_ref is not None:
        made = await _made_before(conn, caller=caller, request=request, rules=rules,
                                  invitation_id=invitation_id)  # fmt: skip
        if made is not None:
            return made, False
    survey = await queries.survey_to_send(conn, request.survey_id)
    if survey is None or survey["audience"] != "customer":
        raise NotFound("survey")
    if survey["status"] == "archived":
        raise SurveyArchived("This survey is archived and is shared no more; share another one")
    mine = await queries.customers_in_scope(
        conn, [request.customer_id], owner_id=caller.user_id, scope_root=None
    )
    if not mine:
        raise NotFound("customer")
    inserted = await queries.insert_share_invitation(
        conn, invitation_id=invitation_id, customer_id=request.customer_id,
        survey_id=request.survey_id, version=survey["version"], sent_by=caller.user_id,
        sent_at=now, expires_at=now + timedelta(days=rules.link_days),
    )  # fmt: skip
    if not inserted:  # a concurrent resend made it meanwhile
        made = await _made_before(conn, caller=caller, request=request, rules=rules,
                                  invitation_id=invitation_id)  # fmt: skip
        if made is not None:
            return made, False
        raise RuntimeError("survey share invitation neither inserted nor found")
    return _share(invitation_id, request, rules, now), True


async def _made_before(
    conn: Connection,
    *,
    caller: Caller,
    request: share_wire.ShareCreate,
    rules: Rules,
    invitation_id: uuid.UUID,
) -> share_wire.Share | None:
    row = await queries.share_invitation(conn, invitation_id, sent_by=None, scope_root=None)
    if row is None:
        return None
    same = (row["sent_by"], row["survey_id"], row["customer_id"]) == (
        caller.user_id, request.survey_id, request.customer_id,
    )  # fmt: skip
    if not same:
        raise ClientRefReused("This client_ref was used for a different share; make a new one")
    return _share(row["id"], request, rules, row["sent_at"])


def _share(
    invitation_id: uuid.UUID, request: share_wire.ShareCreate, rules: Rules, at: datetime
) -> share_wire.Share:
    assert rules.links is not None
    return share_wire.Share(
        id=invitation_id,
        code=rules.links.token(invitation_id),
        url=rules.url(invitation_id),
        poster_png_url=poster_url(rules.base_url, invitation_id),
        channel=request.channel,
        brochure_id=None,
        created_at=at,
        customer_id=request.customer_id,
        client_ref=request.client_ref,
    )

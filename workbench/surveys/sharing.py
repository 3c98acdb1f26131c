"""An RM shares a survey with one of their customers: a single-use link they send themselves
(WeChat, SMS) or show as a poster with its QR code, in the Share shape brochures use.

The invitation is the share (its id the share's id, its link token the share's code). It is no
message of the bank's gateway (the RM passes it on), so the contact cap does not apply to it;
its reminders are messages and do. The app's `client_ref` names the invitation (the same RM
sending the same share again gets it back; anything else under that `client_ref` is 409).

A customer holds one open link to a survey, as deliveries keep it: while their link is open
(unanswered, unexpired), sharing the survey with them again answers the link the RM sent them
before (a double tap, a lost link; shared, or sent by the RM's delivery or a task they did, as a
delivery answers it), and a link someone else sent them is 409 `survey.already_invited`. This
is checked under the customer's contact lock, which deliveries take too, so two shares at once
make one link.

The invitation keeps the channel it was first shared over (a link a delivery or a task sent has
none: `link`), and every answer with that link says that channel, as the share list does; every
`client_ref` a share request was answered with names the link in survey_share_refs (migration
0034), with the channel that request asked for: the one that made the link, and each one
answered with the customer's open link. A resend of any of them answers that link (200) as it
was answered the first time, whatever happened to the link since, while the customer is still
the RM's (else 404 `customer.not_found`, as a new share to them); its channel is compared with
what the ref asked for. Shares made before name theirs by their id (uuid5 of the client_ref),
the channel asked for unknown (not compared).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from mobile_contracts.v1 import shares as share_wire
from mobile_contracts.v1.shares import ShareChannel
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


class AlreadyInvited(Conflict):
    code, title = "survey.already_invited", "The customer holds an open link to this survey"


def poster_url(base_url: str, invitation_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}/api/v1/shares/{invitation_id}/poster.png"


def channel_of(row: queries.Record) -> ShareChannel:
    """The channel a survey link was first shared over, which every answer with it says (`link`
    for one a delivery or a task sent, and for shares stored before it was kept)."""
    return ShareChannel(row["share_channel"] or ShareChannel.LINK)


async def made_with_client_ref(conn: Connection, client_ref: uuid.UUID) -> queries.Record | None:
    """The survey share this `client_ref` names, by whoever made it."""
    legacy_id = uuid5_for(f"survey-share:{client_ref}")  # how shares were named before 0034
    return await queries.share_by_ref(conn, client_ref, legacy_id=legacy_id)


async def share(
    conn: Connection,
    *,
    caller: Caller,
    request: share_wire.ShareCreate,
    rules: Rules,
    now: datetime | None = None,
) -> tuple[share_wire.Share, bool]:
    """The survey share (new: True), or one made before (False): with this `client_ref`, or the
    customer's open link to the survey that the caller sent. The caller holds the
    `client_ref`'s lock (workbench.shares.service)."""
    assert request.survey_id is not None
    if request.customer_id is None:
        raise CustomerRequired("Share a survey with one of your customers: give customer_id")
    now = now or datetime.now(UTC)
    if request.client_ref is not None:
        made = await made_before(conn, caller=caller, request=request, rules=rules)
        if made is not None:
            return made, False
    survey = await queries.survey_to_send(conn, request.survey_id)
    if survey is None or survey["audience"] != "customer":
        raise NotFound("survey")
    if survey["status"] == "archived":
        raise SurveyArchived("This survey is archived and is shared no more; share another one")
    await _require_own_customer(conn, caller=caller, customer_id=request.customer_id)
    await queries.lock_contacts(conn, [request.customer_id])
    held = await queries.open_links(conn, request.customer_id, survey_id=request.survey_id, now=now)
    if held:
        link = _open_link(held, caller=caller)
        await _name(conn, caller=caller, request=request, invitation_id=link["id"])
        return _share(link["id"], request, rules, link["sent_at"], channel_of(link)), False
    invitation_id = uuid7()
    inserted = await queries.insert_share_invitation(
        conn, invitation_id=invitation_id, customer_id=request.customer_id,
        survey_id=request.survey_id, version=survey["version"], sent_by=caller.user_id,
        sent_at=now, expires_at=now + timedelta(days=rules.link_days),
        channel=request.channel.value,
    )  # fmt: skip
    if not inserted:
        raise RuntimeError("survey share invitation not inserted")
    await _name(conn, caller=caller, request=request, invitation_id=invitation_id)
    return _share(invitation_id, request, rules, now, request.channel), True


async def _name(
    conn: Connection, *, caller: Caller, request: share_wire.ShareCreate, invitation_id: uuid.UUID
) -> None:
    """Remember the request's `client_ref` (if any) as naming this link."""
    if request.client_ref is not None:
        await queries.insert_share_ref(
            conn, client_ref=request.client_ref, invitation_id=invitation_id,
            sent_by=caller.user_id, channel=request.channel.value,
        )  # fmt: skip


async def made_before(
    conn: Connection, *, caller: Caller, request: share_wire.ShareCreate, rules: Rules
) -> share_wire.Share | None:
    """The survey share the caller made before under the request's `client_ref` (None: none),
    answered as it was the first time (the link's own channel); 409 `share.client_ref_reused`
    if that ref named another share; 404 `customer.not_found` once the customer is no longer
    the caller's, as a new share to them is (the link is theirs to pass on no more). Reads
    only."""
    assert request.client_ref is not None
    row = await made_with_client_ref(conn, request.client_ref)
    if row is None:
        return None
    asked = row["ref_channel"] or request.channel  # unknown for a share made before 0034
    same = (row["sent_by"], row["survey_id"], row["customer_id"], asked) == (
        caller.user_id, request.survey_id, request.customer_id, request.channel,
    )  # fmt: skip
    if not same:
        raise ClientRefReused("This client_ref was used for a different share; make a new one")
    await _require_own_customer(conn, caller=caller, customer_id=row["customer_id"])
    return _share(row["id"], request, rules, row["sent_at"], channel_of(row))


async def _require_own_customer(
    conn: Connection, *, caller: Caller, customer_id: uuid.UUID
) -> None:
    """404 `customer.not_found` unless the customer is the caller's own now: a survey link is
    only handed to the RM who holds its customer."""
    mine = await queries.customers_in_scope(
        conn, [customer_id], owner_id=caller.user_id, scope_root=None
    )
    if not mine:
        raise NotFound("customer")


def _open_link(held: list[queries.Record], *, caller: Caller) -> queries.Record:
    """The open link the caller sent before (shared, or by their delivery or a task they did),
    newest first, to answer again: the RM wants a link to pass on, and a delivery of theirs
    hands it out as well; 409 for one someone else sent (another RM, a branch head's delivery):
    it is not the caller's to hand out, and the customer answers that one."""
    for row in held:
        if row["sent_by"] == caller.user_id:
            return row
    raise AlreadyInvited(
        "This customer already holds a link to this survey, neither answered nor expired, that"
        " you did not send; a second would be counted twice: they can answer the one they have"
    )


def _share(
    invitation_id: uuid.UUID,
    request: share_wire.ShareCreate,
    rules: Rules,
    at: datetime,
    channel: ShareChannel,
) -> share_wire.Share:
    assert rules.links is not None
    return share_wire.Share(
        id=invitation_id,
        code=rules.links.token(invitation_id),
        url=rules.url(invitation_id),
        poster_png_url=poster_url(rules.base_url, invitation_id),
        channel=channel,
        brochure_id=None,
        created_at=at,
        customer_id=request.customer_id,
        client_ref=request.client_ref,
    )

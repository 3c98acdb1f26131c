"""Making tracked shares and listing them, for the API and for sync's `share.create`.

A share names what was shared as it was then: the brochure's published version, its product,
the RM and the RM's org unit. Only a brochure live for the RM now can be shared, only to one of
their own customers. The app's `client_ref` makes a share idempotent: the same RM sending the
same `client_ref` again (online, or a sync resend) gets the same share, even after the brochure
has expired; a `client_ref` of another share (another RM, brochure, customer or channel) is a
409 conflict. Brochure and survey shares are one namespace of `client_ref`s (and so of
`Idempotency-Key`s): one used for a share of one kind is a 409 for the other.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mobile_contracts.v1 import shares as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.brochures import queries as brochure_queries
from workbench.customers import queries as customer_queries
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import masked_for
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, NotFound
from workbench.ids import uuid5_for, uuid7
from workbench.pagination import decode_cursor, encode_cursor
from workbench.security.vault import UNREADABLE, Vault
from workbench.shares import codes, queries
from workbench.surveys import delivery as survey_delivery
from workbench.surveys import sharing as survey_sharing

CODE_ATTEMPTS = 8  # a collision of 59-bit codes is astronomically rare; a few draws suffice


class SurveyUnavailable(DomainError):
    status, code, title = 422, "share.survey_unavailable", "Surveys cannot be shared yet"


class OneTarget(DomainError):
    status, code, title = 422, "share.one_target", "Share exactly one brochure or survey"


class Unsuitable(DomainError):
    """Suitability, as the catalogue and recommendations keep it: never a product above the
    customer's risk level."""

    status, code, title = 422, "share.unsuitable", "The product does not suit this customer"


class ClientRefReused(Conflict):
    code, title = "share.client_ref_reused", "This client_ref belongs to a different share"


def client_ref_for_key(caller: Caller, idempotency_key: str) -> uuid.UUID:
    """The `client_ref` an `Idempotency-Key` header stands for (per RM: keys of two RMs never
    meet)."""
    return uuid5_for(f"share-idempotency:{caller.user_id}:{idempotency_key}")


def poster_path(share_id: uuid.UUID) -> str:
    return f"/api/v1/shares/{share_id}/poster.png"


async def create(
    conn: Connection,
    *,
    caller: Caller,
    request: wire.ShareCreate,
    base_url: str,
    now: datetime | None = None,
    survey_rules: survey_delivery.Rules | None = None,
) -> tuple[wire.Share, bool]:
    """The share (new: True), or the one this RM made before with the same `client_ref`
    (False). 404 `brochure.not_found` unless the brochure is live for the RM, 404
    `customer.not_found` unless the customer is theirs, 422 `share.unsuitable` if the product is
    rated above the customer's risk level. A survey (`survey_id`, with `survey_rules`) is shared
    as a single-use link to one of the RM's customers (workbench.surveys.sharing)."""
    if request.survey_id is not None:
        if request.brochure_id is not None:
            raise OneTarget("Give either brochure_id or survey_id, not both")
        if survey_rules is None:
            raise SurveyUnavailable("Surveys cannot be shared here yet; share it online")
        if request.client_ref is not None:
            await queries.lock_client_ref(conn, request.client_ref)
            if await queries.share_by_client_ref(conn, request.client_ref) is not None:
                raise ClientRefReused(
                    "This client_ref was used for a brochure share; make a new one"
                )
        return await survey_sharing.share(conn, caller=caller, request=request,
                                          rules=survey_rules, now=now)  # fmt: skip
    if request.brochure_id is None:
        raise OneTarget("Give the brochure_id of the brochure to share")
    if request.client_ref is not None:
        await queries.lock_client_ref(conn, request.client_ref)
        if await survey_sharing.made_with_client_ref(conn, request.client_ref) is not None:
            raise ClientRefReused("This client_ref was used for a survey share; make a new one")
        made = await _made_before(conn, caller=caller, request=request, base_url=base_url)
        if made is not None:
            return made, False
    version = await brochure_queries.live_version(
        conn, request.brochure_id, viewer_unit_id=caller.org_unit_id, now=now or datetime.now(UTC)
    )
    if version is None:
        raise NotFound("brochure")
    if request.customer_id is not None:
        customer = await customer_queries.customer_in_scope(
            conn, request.customer_id, owner_id=caller.user_id, scope_root=None
        )
        if customer is None:
            raise NotFound("customer")
        if version["risk_level"] > customer["risk_level"]:
            raise Unsuitable(
                f"The product is rated R{version['risk_level']}, above this customer's"
                f" risk level C{customer['risk_level']}; share it only with customers it suits"
            )
    for _ in range(CODE_ATTEMPTS):
        row = await queries.insert_share(
            conn,
            share_id=uuid7(),
            code=codes.new_code(),
            brochure_id=request.brochure_id,
            brochure_version=version["version"],
            product_code=version["product_code"],
            customer_id=request.customer_id,
            rm_id=caller.user_id,
            org_unit_id=caller.org_unit_id,
            channel=request.channel.value,
            client_ref=request.client_ref,
        )
        if row is not None:
            return _share(row, base_url), True
        if request.client_ref is not None:  # made meanwhile by a concurrent resend?
            made = await _made_before(conn, caller=caller, request=request, base_url=base_url)
            if made is not None:
                return made, False
    raise RuntimeError("no free share code after several draws")


async def made_before(
    conn: Connection,
    *,
    caller: Caller,
    request: wire.ShareCreate,
    base_url: str,
    survey_rules: survey_delivery.Rules | None = None,
) -> wire.Share | None:
    """The share the caller made before under the request's `client_ref`, as `create` answers
    a resend of it; None when there is none (or no ref). Reads only: what an offline push's
    retried `share.create` answers again."""
    if request.client_ref is None:
        return None
    if request.survey_id is not None:
        if survey_rules is None:
            return None
        return await survey_sharing.made_before(
            conn, caller=caller, request=request, rules=survey_rules
        )
    return await _made_before(conn, caller=caller, request=request, base_url=base_url)


async def _made_before(
    conn: Connection, *, caller: Caller, request: wire.ShareCreate, base_url: str
) -> wire.Share | None:
    assert request.client_ref is not None
    row = await queries.share_by_client_ref(conn, request.client_ref)
    if row is None:
        return None
    same = (row["rm_id"], row["brochure_id"], row["customer_id"], row["channel"]) == (
        caller.user_id, request.brochure_id, request.customer_id, request.channel.value,
    )  # fmt: skip
    if not same:
        raise ClientRefReused("This client_ref was used for a different share; make a new one")
    return _share(row, base_url)


def _share(row: queries.Record, base_url: str) -> wire.Share:
    return wire.Share(
        id=row["id"],
        code=row["code"],
        url=codes.link(row["code"], base_url),
        poster_png_url=f"{base_url.rstrip('/')}{poster_path(row['id'])}",
        channel=wire.ShareChannel(row["channel"]),
        brochure_id=row["brochure_id"],
        customer_id=row["customer_id"],
        client_ref=row["client_ref"],
        created_at=row["created_at"],
    )


def scope(caller: Caller, *, mine: bool) -> tuple[uuid.UUID | None, uuid.UUID]:
    """(RM, subtree root) for the queries: an RM (or anyone asking for `mine`) their own
    shares; a branch head those of their subtree."""
    if caller.role is Role.RM or mine:
        return caller.user_id, caller.org_unit_id
    return None, caller.org_unit_id


async def list_shares(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    mine: bool,
    cursor: str | None,
    limit: int,
    base_url: str,
    survey_rules: survey_delivery.Rules,
) -> Page[wire.ShareRow]:
    """Shares newest first, brochures' and surveys', each with its visitors' opens, dwell and
    clicks (a survey share: whether its link was answered). `survey_rules` make survey links."""
    rm_id, root = scope(caller, mine=mine)
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.shares_with_counts(
        conn, rm_id=rm_id, scope_root=root, after=after, limit=limit + 1
    )
    more, rows = len(rows) > limit, rows[:limit]
    items = [_row(vault, caller.role, r, base_url, survey_rules) for r in rows]
    next_cursor = encode_cursor([rows[-1]["created_at"], rows[-1]["id"]]) if more else None
    return Page[wire.ShareRow](items=items, next_cursor=next_cursor)


def _row(
    vault: Vault, role: Role, row: queries.Record, base_url: str, rules: survey_delivery.Rules
) -> wire.ShareRow:
    if row["survey_id"] is not None:
        return _survey_row(vault, role, row, rules)
    share = _share(row, base_url)
    return wire.ShareRow(
        id=share.id,
        code=share.code,
        url=share.url,
        poster_png_url=share.poster_png_url,
        channel=share.channel,
        brochure_id=share.brochure_id,
        title=row["title"],
        customer_id=share.customer_id,
        customer=_masked_customer(vault, role, row),
        created_at=share.created_at,
        opens=row["opens"],
        unique_visitors=row["opens"],
        dwell_seconds=int(row["dwell_ms"]) // 1000,
        clicks=row["clicks"],
    )


def _survey_row(
    vault: Vault, role: Role, row: queries.Record, rules: survey_delivery.Rules
) -> wire.ShareRow:
    """A survey share in the list: its customer's single-use link, and whether it was answered
    (visits to a survey page are not tracked)."""
    assert rules.links is not None
    return wire.ShareRow(
        id=row["id"],
        code=rules.links.token(row["id"]),
        url=rules.url(row["id"]),
        poster_png_url=survey_sharing.poster_url(rules.base_url, row["id"]),
        channel=wire.ShareChannel(row["channel"]),
        brochure_id=None,
        title=row["title"],
        customer_id=row["customer_id"],
        customer=_masked_customer(vault, role, row),
        created_at=row["created_at"],
        opens=0,
        unique_visitors=0,
        dwell_seconds=0,
        clicks=0,
        survey_id=row["survey_id"],
        answered=row["answered_at"] is not None,
        answered_at=row["answered_at"],
        expires_at=row["expires_at"],
    )


def _masked_customer(vault: Vault, role: Role, row: queries.Record) -> str | None:
    """The customer's name masked for the reader's role (as customer lists mask it), if the
    share has a customer the reader still sees."""
    if row["external_id"] is None:
        return None
    name = vault.cipher.decrypt_or_none(
        row["name_enc"],
        aad=personal_data_aad("name", row["external_id"]),
        column="customers.name_enc",
        row=row["customer_id"],
    )
    return UNREADABLE if name is None else masked_for(role, name=name, phone="", id_number="")[0]

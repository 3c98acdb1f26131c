"""What RMs and branch heads see of customers: scoped lists, the 360° view, notes, timeline.

Scope is applied in SQL: an RM reads only their own customers, a branch head those owned by the
users of their org subtree; anything else answers 404. Personal data is decrypted only to be
masked for the caller's role, and every detail view is written to the audit trail.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from mobile_contracts.v1 import customers as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.problems import FieldError
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.customers import queries
from workbench.customers.feeds import personal_data_aad, search_indexes
from workbench.customers.personal_data import mask_id_number, mask_name, masked_for
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, NotFound
from workbench.ids import uuid7
from workbench.pagination import decode_cursor, encode_cursor
from workbench.security.vault import UNREADABLE, Vault
from workbench.tasks.forms import check_text
from workbench.timeline import service as timeline
from workbench.visible import shows_something

TIMELINE_PAGE = 20


class BlankNote(DomainError):
    """422 `note.blank_text`: the note shows nothing (spaces, line breaks, invisible characters);
    the contract's length check counts those as text."""

    status, code, title = 422, "note.blank_text", "The note has no text"


def text_filter(value: str | None) -> str | None:
    """A text filter as it is matched: trimmed (spaces of any width), as the feed stores tags and
    segments; an empty one (`?tag=`, the form apps send for "any") is no filter."""
    return (value.strip() or None) if value is not None else None


class CustomerFilters:
    """The list's optional filters, as the route parsed them; every text filter goes through
    `text_filter`."""

    def __init__(
        self,
        *,
        q: str | None = None,
        tag: str | None = None,
        segment: str | None = None,
        risk_level: wire.CustomerRisk | None = None,
        min_aum: Decimal | None = None,
        max_aum: Decimal | None = None,
    ) -> None:
        self.q, self.tag, self.segment = text_filter(q), text_filter(tag), text_filter(segment)
        self.risk_level = risk_level
        self.min_aum, self.max_aum = min_aum, max_aum


def _scope(caller: Caller) -> dict[str, uuid.UUID | None]:
    """RMs: their own customers. Branch heads: their subtree's (routes admit no other role)."""
    if caller.role is Role.RM:
        return {"owner_id": caller.user_id, "scope_root": None}
    return {"owner_id": None, "scope_root": caller.org_unit_id}


def _masked(vault: Vault, role: Role, row: queries.Record) -> tuple[str, str, str]:
    """Name, phone and ID number masked for the role; a value that cannot be decrypted shows as
    UNREADABLE (logged and counted) instead of failing the whole list."""
    name, phone, id_number = (
        _plain(vault, row, f, customer_id=row["id"]) for f in ("name", "phone", "id_number")
    )
    masked = masked_for(role, name=name or "", phone=phone or "", id_number=id_number or "")
    return (
        masked[0] if name is not None else UNREADABLE,
        masked[1] if phone is not None else UNREADABLE,
        masked[2] if id_number is not None else UNREADABLE,
    )


def _plain(vault: Vault, row: queries.Record, field: str, *, customer_id: uuid.UUID) -> str | None:
    return vault.cipher.decrypt_or_none(
        row[f"{field}_enc"],
        aad=personal_data_aad(field, row["external_id"]),
        column=f"customers.{field}_enc",
        row=customer_id,
    )


def summary(vault: Vault, role: Role, row: queries.Record) -> wire.CustomerSummary:
    """A customer as a list (and sync) shows it: personal data masked for the role."""
    name, phone, id_number = _masked(vault, role, row)
    return wire.CustomerSummary(
        id=row["id"],
        name=name,
        phone=phone,
        id_number=id_number,
        risk_level=wire.CustomerRisk(f"C{row['risk_level']}"),
        segment=row["segment"],
        tags=list(row["tags"]),
        aum=row["aum"],
        verified=row["verified_at"] is not None,
        owner_id=row["owner_id"],
    )


async def masked_name(conn: Connection, *, vault: Vault, customer_id: uuid.UUID) -> str:
    """The customer's name as anyone outside the bank may see it (张*三), for public pages."""
    row = await queries.name_of(conn, customer_id)
    if row is None:
        return "*"
    name = _plain(vault, row, "name", customer_id=customer_id)
    return UNREADABLE if name is None else mask_name(name)


async def masked_id_number(conn: Connection, *, vault: Vault, customer_id: uuid.UUID) -> str:
    """110***********123X: identifies the customer on a photo stamp without revealing them."""
    row = await queries.name_of(conn, customer_id)
    if row is None:
        return "-"
    id_number = _plain(vault, row, "id_number", customer_id=customer_id)
    return UNREADABLE if id_number is None else mask_id_number(id_number)


async def list_customers(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    filters: CustomerFilters,
    cursor: str | None,
    limit: int,
) -> Page[wire.CustomerSummary]:
    """The caller's customers, richest first; `q` finds by name, surname, phone or ID number."""
    after = decode_cursor(cursor, tuple[Decimal, uuid.UUID])
    rows = await queries.list_customers(
        conn,
        **_scope(caller),
        search_bidx=search_indexes(vault, filters.q) if filters.q else None,
        tag=filters.tag,
        segment=filters.segment,
        risk_level=int(filters.risk_level.value[1]) if filters.risk_level else None,
        min_aum=filters.min_aum,
        max_aum=filters.max_aum,
        after=after,
        limit=limit + 1,
    )
    items = [summary(vault, caller.role, r) for r in rows[:limit]]
    more = len(rows) > limit
    return Page(
        items=items,
        next_cursor=encode_cursor([str(items[-1].aum), items[-1].id]) if more else None,
    )


async def visible_customer(
    conn: Connection, *, caller: Caller, customer_id: uuid.UUID
) -> queries.Record:
    """The customer row if the caller may see it; 404 `customer.not_found` otherwise."""
    row = await queries.customer_in_scope(conn, customer_id, **_scope(caller))
    if row is None:
        raise NotFound("customer")
    return row


async def customer_360(
    conn: Connection, *, vault: Vault, caller: Caller, customer_id: uuid.UUID, client_ip: str
) -> wire.Customer360:
    """Masked profile, holdings, intimacy score and the newest timeline; the view is audited."""
    row = await visible_customer(conn, caller=caller, customer_id=customer_id)
    listed = summary(vault, caller.role, row)
    holdings = [
        wire.Holding(
            product_code=h["product_code"],
            product_name=h["product_name"],
            category=h["category"],
            risk_level=wire.ProductRisk(f"R{h['risk_level']}"),
            amount=h["amount"],
            as_of=h["as_of"],
        )
        for h in await queries.holdings_of(conn, customer_id)
    ]
    await audit.record(
        conn,
        action="customer_viewed",
        actor_id=caller.user_id,
        subject=f"customer:{customer_id}",
        client_ip=client_ip,
    )
    return wire.Customer360(
        id=listed.id,
        external_id=row["external_id"],
        name=listed.name,
        phone=listed.phone,
        id_number=listed.id_number,
        risk_level=listed.risk_level,
        segment=listed.segment,
        tags=listed.tags,
        aum=listed.aum,
        verified=listed.verified,
        verified_at=row["verified_at"],
        owner_id=listed.owner_id,
        intimacy_score=await timeline.intimacy_score(conn, customer_id=customer_id),
        holdings=holdings,
        timeline=await timeline.page(
            conn, cipher=vault.cipher, customer_id=customer_id, cursor=None, limit=TIMELINE_PAGE
        ),
    )


async def timeline_page(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    customer_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> wire.TimelinePage:
    await visible_customer(conn, caller=caller, customer_id=customer_id)
    return await timeline.page(
        conn, cipher=vault.cipher, customer_id=customer_id, cursor=cursor, limit=limit
    )


async def add_note(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    customer_id: uuid.UUID,
    note: wire.NoteCreate,
    at: datetime | None = None,
) -> wire.TimelineEntry:
    """The owning RM records a visit, call or chat. Resending a note id (an offline app retrying)
    answers the note stored the first time; the id sent again with anything else (another text,
    kind or customer), or already used for something else, is a 409. A note with nothing to read
    is a 422, online and offline alike (offline sync adds notes through here). `at`: when it was
    written, for a note written offline (a device time sync found plausible); None: now."""
    _check_text(note.text)
    await visible_customer(conn, caller=caller, customer_id=customer_id)
    entry_id = note.id or uuid7()
    source_id = f"{caller.user_id}:{entry_id}"
    kind = f"note.{note.kind.value}"
    inserted = await timeline.record(
        conn,
        cipher=vault.cipher,
        customer_id=customer_id,
        kind=kind,
        occurred_at=at or datetime.now(UTC),
        source="note",
        source_id=source_id,
        actor_id=caller.user_id,
        text=note.text,
        entry_id=entry_id,
    )
    stored = await timeline.recorded(conn, cipher=vault.cipher, source="note", source_id=source_id)
    if stored is None or stored[0] != customer_id:
        error = Conflict("This note id is already used for another entry")
        error.code = "note.id_taken"
        raise error
    if not inserted and (stored[1].text, stored[1].kind) != (note.text, kind):
        error = Conflict("A different note was already saved under this id")
        error.code = "note.id_taken"
        raise error
    return timeline.shown(stored[1])  # as every reader is shown it (long numbers masked)


def _check_text(text: str) -> None:
    """Something to read: a character that is neither a space nor invisible (a format or control
    character such as a zero-width space); and nothing that makes it read otherwise than typed
    (a direction override, a control character: 422 `request.validation_failed` naming
    `$.text`, as a title; its line breaks and tabs stay)."""
    if not shows_something(text):
        message = "must not be blank: spaces, line breaks or invisible characters only"
        raise BlankNote(f"$.text: {message}", errors=[FieldError(path="$.text", message=message)])
    check_text(text, path="$.text")

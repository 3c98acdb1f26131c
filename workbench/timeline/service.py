"""Recording and reading the timeline, and the intimacy score derived from it.

Intimacy score (0-100): what the customer and their RM did together in the last 365 days. Each
kind of contact (`CONTACTS`: a visit, a call, a chat, another note, a survey answer, a
verification, a share) counts at most once per bank day, with the weight of its strongest entry
that day, halved for each 30 days of age; the sum is capped at 100. A visit this week counts
about 20, one three months ago about 2.5. Once a day per kind, so that a burst (thirty call
notes in a second, every reader of a forwarded share link) counts as the one contact it is.
A task about the customer done (`task.done`) counts as the contact it records: a visit when its
form asks where it took place (a location field), else a call; a visit the customer confirmed by
QR code is `visit.confirmed`. Kinds that do not express contact (an owner change, a work order)
weigh nothing.

Texts (notes) are shown with every number of six characters or more masked (a phone or ID
number typed into a note), to every reader, as survey comments are (`note_text`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from mobile_contracts.v1.customers import TimelineEntry, TimelinePage
from workbench.customers.personal_data import mask_long_numbers
from workbench.db import Connection
from workbench.ids import uuid7
from workbench.pagination import decode_cursor, encode_cursor
from workbench.security.rotation import EncryptedColumns
from workbench.security.vault import UNREADABLE, FieldCipher
from workbench.timeline import queries

# Timeline kind -> (the kind of contact it is, its weight). A contact counts once per bank day,
# with the weight of its strongest entry that day.
CONTACTS: dict[str, tuple[str, float]] = {
    "visit.confirmed": ("visit", 25.0),
    "note.visit": ("visit", 20.0),
    "task.done.visit": ("visit", 20.0),  # a done task whose form asks where (see module doc)
    "note.call": ("call", 8.0),
    "task.done.call": ("call", 8.0),  # any other task about the customer done
    "note.chat": ("chat", 5.0),
    "note.other": ("other", 3.0),
    "survey.answered": ("survey", 10.0),
    "verification.completed": ("verification", 10.0),
    "share.opened": ("share", 4.0),
    "share.engaged": ("share", 6.0),  # read for 10 s or more
    "share.clicked": ("share", 8.0),  # asked to be contacted
}
HALF_LIFE_DAYS = 30.0
HORIZON_DAYS = 365


def text_aad(entry_id: uuid.UUID) -> str:
    return f"timeline.text:{entry_id}"


# What `workbench rotate-keys` re-encrypts of the timeline: the texts of notes.
ENCRYPTED = EncryptedColumns(
    kind="timeline entries",
    table="customer_timeline",
    key="id",
    key_type="uuid",
    aad={"text_enc": lambda row: text_aad(row["id"])},
)


async def record(
    conn: Connection,
    *,
    cipher: FieldCipher,
    customer_id: uuid.UUID,
    kind: str,
    occurred_at: datetime,
    source: str,
    source_id: str,
    actor_id: uuid.UUID | None = None,
    text: str | None = None,
    data: dict[str, Any] | None = None,
    entry_id: uuid.UUID | None = None,
) -> bool:
    """Append an entry; recording the same (source, source_id) twice changes nothing."""
    entry_id = entry_id or uuid7()
    return await queries.insert_entry(
        conn,
        entry_id=entry_id,
        customer_id=customer_id,
        occurred_at=occurred_at,
        kind=kind,
        actor_id=actor_id,
        text_enc=cipher.encrypt(text, aad=text_aad(entry_id)) if text is not None else None,
        data=data or {},
        source=source,
        source_id=source_id,
    )


@dataclass(frozen=True, slots=True)
class Event:
    """One text-less entry for `record_events`."""

    customer_id: uuid.UUID
    kind: str
    occurred_at: datetime
    source_id: str
    data: dict[str, Any]


async def record_events(conn: Connection, *, source: str, events: list[Event]) -> None:
    """Append many text-less entries in one statement; each (source, source_id) once."""
    if not events:
        return
    await queries.insert_entries(
        conn,
        entry_ids=[uuid7() for _ in events],
        customer_ids=[e.customer_id for e in events],
        occurred_ats=[e.occurred_at for e in events],
        kinds=[e.kind for e in events],
        datas=[e.data for e in events],
        source=source,
        source_ids=[e.source_id for e in events],
    )


async def record_many(
    conn: Connection,
    *,
    kind: str,
    occurred_at: datetime,
    source: str,
    entries: list[tuple[uuid.UUID, str, dict[str, Any]]],
) -> None:
    """Append many text-less entries of one kind: (customer_id, source_id, data) each."""
    await record_events(
        conn,
        source=source,
        events=[
            Event(customer, kind, occurred_at, source_id, data)
            for customer, source_id, data in entries
        ],
    )


async def page(
    conn: Connection,
    *,
    cipher: FieldCipher,
    customer_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> TimelinePage:
    """One page of the timeline, newest first (the caller has already checked access)."""
    before = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.entries(conn, customer_id, before=before, limit=limit + 1)
    items = [_entry(r, note_text(cipher, r)) for r in rows[:limit]]
    more = len(rows) > limit
    last = items[-1] if items else None
    return TimelinePage(
        items=items,
        next_cursor=encode_cursor([last.occurred_at, last.id]) if more and last else None,
    )


async def recorded(
    conn: Connection, *, cipher: FieldCipher, source: str, source_id: str
) -> tuple[uuid.UUID, TimelineEntry] | None:
    """The entry an earlier `record` call stored for this event: (customer_id, entry), its text
    as stored (for the writer to compare with what it sent; `shown` masks it for a reader)."""
    row = await queries.entry_by_source(conn, source=source, source_id=source_id)
    if row is None:
        return None
    return row["customer_id"], _entry(row, _stored_text(cipher, row))


def shown(entry: TimelineEntry) -> TimelineEntry:
    """An entry as a reader is shown it: its text with long numbers masked (`note_text`)."""
    if entry.text is None:
        return entry
    return msgspec.structs.replace(entry, text=mask_long_numbers(entry.text))


def _entry(row: queries.Record, text: str | None) -> TimelineEntry:
    return TimelineEntry(
        id=row["id"],
        occurred_at=row["occurred_at"],
        kind=row["kind"],
        actor_id=row["actor_id"],
        text=text,
        data=row["data"],
    )


def note_text(cipher: FieldCipher, row: queries.Record) -> str | None:
    """The entry's text as every reader is shown it (the timeline, the 360° view, offline
    sync's notes): each number of six characters or more masked, its first three and last two
    kept (`13812345678` -> `138******78`), as survey comments are, so that a phone or ID number
    typed into a note reaches no screen, whoever owns the customer by then. UNREADABLE (logged
    and counted) if it cannot be decrypted, so that one bad entry does not break the page."""
    text = _stored_text(cipher, row)
    return None if text is None else mask_long_numbers(text)


def _stored_text(cipher: FieldCipher, row: queries.Record) -> str | None:
    """The entry's text in clear, as written; UNREADABLE if it cannot be decrypted."""
    if not row["text_enc"]:
        return None
    text = cipher.decrypt_or_none(
        row["text_enc"], aad=text_aad(row["id"]), column="customer_timeline.text_enc", row=row["id"]
    )
    return UNREADABLE if text is None else text


async def intimacy_score(conn: Connection, *, customer_id: uuid.UUID) -> int:
    """0-100 from recent contacts, each kind once a bank day, decaying with a 30-day half-life
    (see module doc)."""
    total = await queries.decayed_weight(
        conn,
        customer_id,
        kinds=list(CONTACTS),
        contacts=[contact for contact, _ in CONTACTS.values()],
        weights=[weight for _, weight in CONTACTS.values()],
        half_life_days=HALF_LIFE_DAYS,
        horizon_days=HORIZON_DAYS,
    )
    return min(100, round(total))

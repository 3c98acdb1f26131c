"""Recording and reading the timeline, and the intimacy score derived from it.

Intimacy score (0-100): every interaction of the last 365 days adds its kind's weight, halved for
each 30 days of age, and the sum is capped at 100. A visit this week counts about 20, one three
months ago about 2.5. Kinds that do not express contact (e.g. an owner change) weigh nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mobile_contracts.v1.customers import TimelineEntry, TimelinePage
from workbench.db import Connection
from workbench.ids import uuid7
from workbench.pagination import decode_cursor, encode_cursor
from workbench.security.rotation import EncryptedColumns
from workbench.security.vault import UNREADABLE, FieldCipher
from workbench.timeline import queries

INTIMACY_WEIGHTS: dict[str, float] = {
    "note.visit": 20.0,
    "visit.confirmed": 25.0,
    "note.call": 8.0,
    "note.chat": 5.0,
    "note.other": 3.0,
    "survey.answered": 10.0,
    "share.opened": 4.0,
    "share.engaged": 3.0,
    "share.clicked": 8.0,
    "verification.completed": 10.0,
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
    items = [_entry(cipher, r) for r in rows[:limit]]
    more = len(rows) > limit
    last = items[-1] if items else None
    return TimelinePage(
        items=items,
        next_cursor=encode_cursor([last.occurred_at, last.id]) if more and last else None,
    )


async def recorded(
    conn: Connection, *, cipher: FieldCipher, source: str, source_id: str
) -> tuple[uuid.UUID, TimelineEntry] | None:
    """The entry an earlier `record` call stored for this event: (customer_id, entry)."""
    row = await queries.entry_by_source(conn, source=source, source_id=source_id)
    if row is None:
        return None
    return row["customer_id"], _entry(cipher, row)


def _entry(cipher: FieldCipher, row: queries.Record) -> TimelineEntry:
    return TimelineEntry(
        id=row["id"],
        occurred_at=row["occurred_at"],
        kind=row["kind"],
        actor_id=row["actor_id"],
        text=note_text(cipher, row),
        data=row["data"],
    )


def note_text(cipher: FieldCipher, row: queries.Record) -> str | None:
    """The entry's text; UNREADABLE (logged and counted) if it cannot be decrypted, so that one
    bad entry does not break the page."""
    if not row["text_enc"]:
        return None
    text = cipher.decrypt_or_none(
        row["text_enc"], aad=text_aad(row["id"]), column="customer_timeline.text_enc", row=row["id"]
    )
    return UNREADABLE if text is None else text


async def intimacy_score(conn: Connection, *, customer_id: uuid.UUID) -> int:
    """0-100 from recent interactions, decaying with a 30-day half-life (see module doc)."""
    total = await queries.decayed_weight(
        conn,
        customer_id,
        kinds=list(INTIMACY_WEIGHTS),
        weights=list(INTIMACY_WEIGHTS.values()),
        half_life_days=HALF_LIFE_DAYS,
        horizon_days=HORIZON_DAYS,
    )
    return min(100, round(total))

"""Entities: a partition's customers, their holdings and their notes, each read by key and in
key order (by AUM, the largest customers first), shaped as the API shows them (personal data
masked for the role, a note's text decrypted)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import msgspec

from mobile_contracts.v1 import sync as wire
from sync import queries
from sync.entities._common import Page, Partition, Rows, _resume, _uuids
from workbench.customers import views as customer_views
from workbench.db import Connection
from workbench.timeline import service as timeline


def _customers(part: Partition, rows: list[queries.Record]) -> Rows:
    role = part.caller.role
    return [(str(r["id"]), customer_views.summary(part.vault, role, r)) for r in rows]


async def _customers_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    return _customers(part, await queries.customers(conn, part.user_id, ids=_uuids(keys)))


async def _customers_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = (Decimal(after[0]), uuid.UUID(after[1])) if after else None
    rows = await queries.customers(conn, part.user_id, after=start, limit=limit)
    resume = _resume(len(rows), limit, lambda: [str(rows[-1]["aum"]), str(rows[-1]["id"])])
    return _customers(part, rows), resume


def _holdings(rows: list[queries.Record]) -> Rows:
    return [(r["key"], msgspec.Raw(r["row_json"])) for r in rows]


async def _holdings_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    pairs = []
    for key in keys:
        customer, _, code = key.partition(":")
        try:
            pairs.append((uuid.UUID(customer), code))
        except ValueError:
            continue
    return _holdings(await queries.holdings(conn, part.user_id, keys=pairs))


async def _holdings_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = (Decimal(after[0]), uuid.UUID(after[1]), after[2]) if after else None
    rows = await queries.holdings(conn, part.user_id, after=start, limit=limit)
    resume = _resume(
        len(rows), limit, lambda: [str(rows[-1]["aum"]), *rows[-1]["key"].split(":", 1)]
    )
    return _holdings(rows), resume


def _notes(part: Partition, rows: list[queries.Record]) -> Rows:
    cipher = part.vault.cipher
    return [
        (
            str(r["id"]),
            wire.SyncNote(
                id=r["id"],
                customer_id=r["customer_id"],
                occurred_at=r["occurred_at"],
                kind=r["kind"],
                actor_id=r["actor_id"],
                text=timeline.note_text(cipher, r),  # an unreadable one: a placeholder
            ),
        )
        for r in rows
    ]


async def _notes_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    return _notes(part, await queries.notes(conn, part.user_id, ids=_uuids(keys)))


async def _notes_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = None
    if after:
        start = (Decimal(after[0]), uuid.UUID(after[1]), datetime.fromisoformat(after[2]),
                 uuid.UUID(after[3]))  # fmt: skip
    rows = await queries.notes(conn, part.user_id, after=start, limit=limit)
    resume = _resume(len(rows), limit, lambda: [
        str(rows[-1]["aum"]), str(rows[-1]["customer_id"]), rows[-1]["occurred_at"].isoformat(),
        str(rows[-1]["id"]),
    ])  # fmt: skip
    return _notes(part, rows), resume

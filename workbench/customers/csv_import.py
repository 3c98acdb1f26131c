"""`workbench import customers FILE.csv`: the customer feed from a CSV file, in chunks.

Columns: external_id, name, id_number, phone, owner_login, risk_level (required) and segment,
tags (separated by ';'), aum (optional). UTF-8, with or without the BOM Excel writes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

from mobile_contracts.v1 import customers as wire
from workbench.customers import feeds
from workbench.db import Pool
from workbench.security.vault import Vault

REQUIRED = ("external_id", "name", "id_number", "phone", "owner_login", "risk_level")
OPTIONAL = ("segment", "tags", "aum")


class CsvProblem(ValueError):
    """The file as a whole cannot be imported (missing columns, not UTF-8)."""


def read_rows(path: Path) -> Iterator[tuple[int, wire.CustomerFeedRow | str]]:
    """(line number, row) per data line; a row that cannot even be read yields its reason."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CsvProblem(f"cannot open {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise CsvProblem(f"missing column(s): {', '.join(missing)}; found: {', '.join(header)}")
        reader.fieldnames = header
        try:
            for record in reader:
                yield reader.line_num, _row(record)
        except UnicodeDecodeError:
            raise CsvProblem(f"{path} is not UTF-8 text") from None


def _row(record: dict[str, str | None]) -> wire.CustomerFeedRow | str:
    values = {k: (v or "").strip() for k, v in record.items() if k}
    aum: Decimal | None = None
    if values.get("aum"):
        try:
            aum = Decimal(values["aum"].replace(",", ""))
        except InvalidOperation:
            return "aum is not a number"
    tags = [t.strip() for t in values.get("tags", "").split(";") if t.strip()]
    try:
        return wire.CustomerFeedRow(
            external_id=values["external_id"],
            name=values["name"],
            id_number=values["id_number"],
            phone=values["phone"],
            owner_login=values["owner_login"],
            risk_level=values["risk_level"],
            segment=values.get("segment") or None,
            tags=tags,
            aum=aum,
        )
    except ValueError as exc:  # an amount no column can hold ("aum: must be below 10^18 ...")
        return str(exc)


async def import_customers(
    pool: Pool, *, vault: Vault, path: Path, chunk_size: int = wire.FEED_MAX_ROWS
) -> tuple[wire.FeedResult, list[tuple[int, str, str]]]:
    """Apply the file chunk by chunk (one transaction each); returns totals and rejected lines."""
    totals = wire.FeedResult(inserted=0, updated=0, unchanged=0, rejected=[])
    rejected: list[tuple[int, str, str]] = []
    chunk: list[tuple[int, wire.CustomerFeedRow]] = []

    async def flush() -> None:
        if not chunk:
            return
        async with pool.acquire() as conn, conn.transaction():
            result = await feeds.upsert_customers(conn, vault=vault, rows=[r for _, r in chunk])
        totals.inserted += result.inserted
        totals.updated += result.updated
        totals.unchanged += result.unchanged
        rejected.extend((chunk[r.index][0], r.code, r.detail) for r in result.rejected)
        chunk.clear()

    for line, row in read_rows(path):
        if isinstance(row, str):
            rejected.append((line, "customer.unreadable", row))
            continue
        chunk.append((line, row))
        if len(chunk) >= chunk_size:
            await flush()
    await flush()
    return totals, rejected

"""`workbench import customers FILE.csv`: the customer feed from a CSV file, in chunks.

Columns: external_id, name, id_number, phone, owner_login, risk_level (required) and segment,
tags (separated by ';'), aum (optional). UTF-8, with or without the BOM Excel writes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import asyncpg
import msgspec

from mobile_contracts.v1 import customers as wire
from workbench.customers import feeds
from workbench.db import VALUE_REFUSED, Pool
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
    """The line as a feed row, through the contract's own decoding: every rule the API applies
    to a row (lengths, amounts) applies here too; a line breaking one yields the reason, with
    the field (`Expected `str` of length <= 64 - at `$.external_id``)."""
    values = {k: (v or "").strip() for k, v in record.items() if k}
    aum: Decimal | None = None
    if values.get("aum"):
        try:
            aum = Decimal(values["aum"].replace(",", ""))
        except InvalidOperation:
            return "aum is not a number"
    fields = {
        **{k: values[k] for k in REQUIRED},
        "segment": values.get("segment") or None,
        "tags": [t.strip() for t in values.get("tags", "").split(";") if t.strip()],
        "aum": aum,
    }
    try:
        return msgspec.convert(fields, wire.CustomerFeedRow)
    except msgspec.ValidationError as exc:  # "aum: must be below 10^18 ...", "... at `$.phone`"
        return str(exc)


async def import_customers(
    pool: Pool, *, vault: Vault, path: Path, chunk_size: int = wire.FEED_MAX_ROWS
) -> tuple[wire.FeedResult, list[tuple[int, str, str]]]:
    """Apply the file chunk by chunk (one transaction each); returns totals and rejected lines.

    The rows are checked as the API's feed checks them, so the database should refuse none; if
    it does refuse a chunk, its lines are applied one by one and only the refused ones are
    rejected. A database error never carries the row into the output (its detail quotes the
    failing row, personal data encrypted or not): only its kind and constraint are named."""
    totals = wire.FeedResult(inserted=0, updated=0, unchanged=0, rejected=[])
    rejected: list[tuple[int, str, str]] = []
    chunk: list[tuple[int, wire.CustomerFeedRow]] = []

    async def apply(lines: list[tuple[int, wire.CustomerFeedRow]]) -> int:
        """Apply these lines in one transaction; returns how many were rejected."""
        async with pool.acquire() as conn, conn.transaction():
            result = await feeds.upsert_customers(conn, vault=vault, rows=[r for _, r in lines])
        totals.inserted += result.inserted
        totals.updated += result.updated
        totals.unchanged += result.unchanged
        rejected.extend((lines[r.index][0], r.code, r.detail) for r in result.rejected)
        return len(result.rejected)

    async def one_by_one() -> None:
        """The net under the checks: the database refused a line of the chunk, so each line is
        applied on its own and only a refused one is lost (a line repeating an external id that
        landed is still a duplicate, as within one feed)."""
        landed: set[str] = set()
        for line in chunk:
            if line[1].external_id in landed:
                rejected.append((line[0], *feeds.DUPLICATE_CUSTOMER))
                continue
            try:
                if not await apply([line]):
                    landed.add(line[1].external_id)
            except VALUE_REFUSED as exc:
                rejected.append((line[0], "customer.refused_by_database", _refusal(exc)))

    async def flush() -> None:
        if not chunk:
            return
        try:
            try:
                await apply(chunk)
            except VALUE_REFUSED:
                await one_by_one()
        except asyncpg.PostgresError as exc:
            first, last = chunk[0][0], chunk[-1][0]
            raise CsvProblem(
                f"cannot use the database: {_refusal(exc)}; lines {first}-{last} and the ones"
                " after them were not imported (the lines before were)"
            ) from None
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


def _refusal(exc: asyncpg.PostgresError) -> str:
    """What the database refused, without the values: the error's kind and the constraint (its
    message and detail may quote the row)."""
    constraint = getattr(exc, "constraint_name", None)
    return f"{type(exc).__name__}" + (f" ({constraint})" if constraint else "")

"""`workbench import customers FILE.csv`: the customer feed from a CSV file, in chunks.

Columns: external_id, name, id_number, phone, owner_login, risk_level (required) and segment,
tags (separated by ';'), aum, status (`active` or `closed`, in any case; empty: active)
(optional). UTF-8, with or without the BOM Excel writes (Excel's "CSV UTF-8"; its plain "CSV"
is the system's code page, GBK on a Chinese Windows: refused whole).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

import asyncpg
import msgspec

from mobile_contracts.v1 import customers as wire
from workbench.customers import feeds
from workbench.db import VALUE_REFUSED, Pool
from workbench.http.words import in_words
from workbench.security.vault import Vault

REQUIRED = ("external_id", "name", "id_number", "phone", "owner_login", "risk_level")
OPTIONAL = ("segment", "tags", "aum", "status")


class CsvProblem(ValueError):
    """The file as a whole cannot be imported (missing columns, not UTF-8)."""


def read_rows(path: Path) -> Iterator[tuple[int, wire.CustomerFeedRow | str]]:
    """(line number, row) per data line; a row that cannot even be read yields its reason.

    The whole file is read once first: a file that is not UTF-8 text (or not CSV) at any line is
    refused before a line of it is applied, never halfway through."""
    _check_readable(path)
    try:
        with _open(path) as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            if missing := [c for c in REQUIRED if c not in header]:
                raise CsvProblem(_missing_columns(missing, header))
            reader.fieldnames = header
            while True:
                first = reader.line_num + 1  # a quoted value may run over several lines
                record = next(reader, None)
                if record is None:
                    return
                yield first, _row(record)
    except (UnicodeDecodeError, csv.Error):  # the file changed since it was checked
        raise CsvProblem(f"{path} changed while it was imported; import it again") from None


HEADER = f"{','.join(REQUIRED)}[,{','.join(OPTIONAL)}]"


def _missing_columns(missing: list[str], header: list[str]) -> str:
    """Which required columns the first line lacks, naming of what it holds only the column
    names this import knows: a first line that is not a header is a line of data (a name, an ID
    number, a phone), and an unknown column name cannot be told apart from one."""
    known = [h for h in header if h in REQUIRED or h in OPTIONAL]
    others = len([h for h in header if h]) - len(known)
    if not known:
        found = (
            "the first line names no column: it is not a header (a line of data?), and is not shown"
            if others
            else "the first line is empty (or the file is)"
        )
    else:
        found = f"found: {', '.join(known)}"
        if others:
            found += f" and {others} column(s) this import does not know (not shown)"
    return (
        f"missing column(s): {', '.join(missing)}; {found}; nothing was imported."
        f" The first line must be the header: {HEADER}"
    )


def _open(path: Path) -> TextIO:
    try:
        return path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CsvProblem(f"cannot open {path}: {exc.strerror}") from None


def _check_readable(path: Path) -> None:
    """Read the whole file as CSV in UTF-8 (one line at a time), or say why it cannot be."""
    with _open(path) as handle:
        reader = csv.reader(handle)
        try:
            for _ in reader:
                pass
        except UnicodeDecodeError:
            raise CsvProblem(
                f"{path} is not UTF-8 text (line {_first_line_not_utf8(path)} is not):"
                " nothing was imported. Save it as UTF-8 (in Excel: Save As, file type"
                ' "CSV UTF-8 (Comma delimited)") and import it again'
            ) from None
        except csv.Error as exc:  # a field longer than the csv module reads (128 KiB)
            raise CsvProblem(
                f"{path} line {reader.line_num} cannot be read as CSV ({exc}): nothing was imported"
            ) from None
        except OSError as exc:
            raise CsvProblem(f"cannot read {path}: {exc.strerror}") from None


def _first_line_not_utf8(path: Path) -> int:
    """The number of the first line (split at line feeds) that is not UTF-8."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _row(record: dict[str | None, str | list[str] | None]) -> wire.CustomerFeedRow | str:
    """The line as a feed row, through the contract's own decoding: every rule the API applies
    to a row (lengths, amounts) applies here too; a line breaking one yields the reason in the
    API's words, with the field (`must be at most 64 characters - at `$.external_id``). A line
    with more or fewer fields than the header is refused as such: its values would land in the
    wrong columns (an amount written 1,250,000.50 without quotes is three fields)."""
    if (extra := record.get(None)) is not None:
        count = len(extra) if isinstance(extra, list) else 1
        return (
            f"the line has {count} more field(s) than the header: a value holding a comma must"
            ' be quoted ("1,250,000.50")'
        )
    # Optional columns may be left off the end of a line; a required one may not.
    if short := [k for k, v in record.items() if k in REQUIRED and v is None]:
        return f"the line has fewer fields than the header: no {', '.join(map(str, short))}"
    values = {str(k): str(v or "").strip() for k, v in record.items() if k}
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
        # As a spreadsheet may spell it (Closed, CLOSED); left empty: active, as left out.
        "status": values.get("status", "").lower() or wire.CustomerStatus.ACTIVE.value,
    }
    try:
        return msgspec.convert(fields, wire.CustomerFeedRow)
    except msgspec.ValidationError as exc:  # "aum: must be below 10^18 ...", "... at `$.phone`"
        return in_words(str(exc), of=wire.CustomerFeedRow)


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
    # The external ids of the lines applied so far, all chunks: the file is one feed, so a line
    # repeating one is a duplicate wherever the first stood (only the ids are kept).
    landed: set[str] = set()

    async def apply(lines: list[tuple[int, wire.CustomerFeedRow]]) -> int:
        """Apply these lines in one transaction; returns how many were rejected."""
        async with pool.acquire() as conn, conn.transaction():
            result = await feeds.upsert_customers(
                conn, vault=vault, rows=[r for _, r in lines], earlier=landed
            )
        totals.inserted += result.inserted
        totals.updated += result.updated
        totals.unchanged += result.unchanged
        rejected.extend((lines[r.index][0], r.code, _told(r)) for r in result.rejected)
        refused = {r.index for r in result.rejected}
        landed.update(row.external_id for i, (_, row) in enumerate(lines) if i not in refused)
        return len(result.rejected)

    async def one_by_one() -> None:
        """The net under the checks: the database refused a line of the chunk, so each line is
        applied on its own and only a refused one is lost (a line repeating an external id that
        landed is still a duplicate, as within one feed)."""
        for line in chunk:
            try:
                await apply([line])
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


# What the feed says of a row that quotes what was sent, said without it: the file's lines are
# printed where a scheduler logs them (a login sent may be a misplaced name or phone).
_UNQUOTED = {"customer.unknown_owner": "no user with the owner_login given"}
_FEED_PATH = re.compile(r"\$\.customers\[\d+\]\.?")


def _told(rejected: wire.RejectedRow) -> str:
    """A feed's reason for rejecting a line, as the file's output tells it: without any of the
    line's values, and naming a field by its column (the feed's path counts rows of a chunk)."""
    return _UNQUOTED.get(rejected.code) or _FEED_PATH.sub("", rejected.detail)


def _refusal(exc: asyncpg.PostgresError) -> str:
    """What the database refused, without the values: the error's kind and the constraint (its
    message and detail may quote the row)."""
    constraint = getattr(exc, "constraint_name", None)
    return f"{type(exc).__name__}" + (f" ({constraint})" if constraint else "")

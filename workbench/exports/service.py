"""Exports of registered tables: the rules.

A request names a table (`tables.table(key)`), a format and the dashboard's view (`?unit=&from=
&to=`, resolved by `dashboard.numbers.view` for the caller: a unit outside their subtree is not
found) with the table's own filters (`rm=`: an RM of the view). Up to DIRECT_LIMIT rows the file
is written at once; a larger one is recorded as an export and built by the worker (`build`),
which writes progress every PROGRESS_ROWS rows, stores the file in the blob store and marks the
export done (or failed, with a reason). The same request while one is queued or running joins
it. Files expire after EXPIRE_DAYS days: from that moment the pages read the export as expired
(`expired`, in SQL) and never serve its file; `expire` deletes the row and its file later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.dashboard import numbers
from workbench.db import Connection, Pool, after_commit
from workbench.errors import DomainError, NotFound
from workbench.exports import filenames, files, queries, writers
from workbench.exports.tables import ExportRequest, Table, table
from workbench.ids import uuid7
from workbench.media.store import BlobStore
from workbench.security.vault import Vault

log = logging.getLogger("workbench.exports")
DIRECT_LIMIT = 20_000  # rows up to which a file is written in the request
PROGRESS_ROWS = 10_000  # the worker writes its progress every this many rows
BATCH_ROWS = 2_000  # rows handed to the writer's thread at a time
EXPIRE_DAYS = 7
LEASE_SECONDS = 120.0  # a running export whose worker wrote nothing for this long is taken over
MAX_ATTEMPTS = 3  # a worker died this often on one export: it fails
TABLE_PARAMS = ("rm",)  # the tables' own filters a request may carry (each an RM of the view)
Wake = Callable[[uuid.UUID], Awaitable[None]]


class UnknownTable(NotFound):
    def __init__(self) -> None:
        super().__init__("export_table")


class BadFormat(DomainError):
    status, code, title = 422, "export.bad_format", "The format is csv or xlsx"


class ClaimLost(Exception):
    """Another worker took the export over (this one stalled past its lease)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A checked export request: the table, what its rows are asked with, the file's name and
    the params stored with a worker export (the resolved view and the table's filters)."""

    table: Table
    request: ExportRequest
    fmt: str
    params: dict[str, str]
    filename: str
    rm_name: str | None = None  # the RM of a table's `rm` filter, as the dashboard names them


def filename(table_: Table, view: numbers.View, fmt: str) -> str:
    """`<title>-<unit>-<first day>-<last day>.<fmt>`, without characters a file system minds."""
    last = view.end_day - timedelta(days=1)
    name = f"{table_.title}-{view.unit_name}-{view.first_day:%Y%m%d}-{last:%Y%m%d}"
    return f"{filenames.safe_name(name)}.{fmt}"


async def prepare(
    conn: Connection,
    *,
    caller: Caller,
    table_key: str | None,
    fmt: str | None,
    unit: str | None,
    from_: str | None,
    to: str | None,
    filters: Mapping[str, str | None],
    tz: str,
    now: datetime,
) -> Prepared:
    """Check a request: a known table (else UnknownTable), csv or xlsx (else BadFormat), a view
    the caller may see and filters inside it (else NotFound)."""
    found = table(table_key) if table_key else None
    if found is None:
        raise UnknownTable
    if fmt not in writers.FORMATS:
        raise BadFormat
    try:
        unit_id = uuid.UUID(unit) if unit else None
    except ValueError:
        raise NotFound("org_unit") from None
    view = await numbers.view(
        conn, caller=caller, org_unit_id=unit_id, from_=from_, to=to, tz=tz, now=now
    )
    table_params: dict[str, str] = {}
    rm_name = None
    for name in TABLE_PARAMS:
        value = filters.get(name)
        if not value:
            continue
        try:
            rm_id = uuid.UUID(value)
        except ValueError:
            raise NotFound("rm") from None
        rm_name = (await numbers.rm_in_view(conn, view, rm_id)).name
        table_params[name] = str(rm_id)
    last = view.end_day - timedelta(days=1)
    params = {"unit": str(view.org_unit_id), "from": view.first_day.isoformat(),
              "to": last.isoformat(), **table_params}  # fmt: skip
    return Prepared(
        table=found,
        request=ExportRequest(caller=caller, view=view, params=table_params),
        fmt=fmt,
        params=params,
        filename=filename(found, view, fmt),
        rm_name=rm_name,
    )


async def count(conn: Connection, vault: Vault, prepared: Prepared) -> int:
    return int(await prepared.table.count(conn, vault, prepared.request))


async def write_file(
    conn: Connection,
    vault: Vault,
    prepared: Prepared,
    path: str,
    *,
    tz: str,
    progress: Callable[[int], Awaitable[None]] | None = None,
) -> tuple[int, int]:
    """Write the table's rows to `path` as they come; `progress(rows)` every PROGRESS_ROWS rows.
    Returns (rows, sheets).

    Rows are written in batches of BATCH_ROWS in a thread while the next batch is read, so the
    database and the writer work at the same time and the event loop stays free; at most two
    batches are held."""
    t = prepared.table
    writer = await asyncio.to_thread(
        writers.open_writer, prepared.fmt, path, [c.label for c in t.columns], title=t.title,
        tz=tz, rates=[n for n, c in enumerate(t.columns) if c.rate],
    )  # fmt: skip

    def write(rows: list[tuple[Any, ...]]) -> int:
        for row in rows:
            writer.write(row)
        return len(rows)

    written, next_report = 0, PROGRESS_ROWS
    pending: asyncio.Future[int] | None = None

    async def settle() -> None:
        nonlocal written, pending, next_report
        if pending is None:
            return
        written += await pending
        pending = None
        if progress is not None and written >= next_report:
            await progress(written)
            next_report = written + PROGRESS_ROWS

    batch: list[tuple[Any, ...]] = []
    try:
        async for row in t.rows(conn, vault, prepared.request):
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                await settle()
                pending = asyncio.ensure_future(asyncio.to_thread(write, batch))
                batch = []
        await settle()
        if batch:
            written += await asyncio.to_thread(write, batch)
    except BaseException:
        if pending is not None:  # let the thread finish before the file is dropped
            await asyncio.wait([pending])
        with contextlib.suppress(Exception):
            await asyncio.to_thread(writer.close)
        raise
    await asyncio.to_thread(writer.close)
    return written, writer.sheets


def temp_path(fmt: str) -> str:
    fd, path = tempfile.mkstemp(prefix="workbench-export-", suffix=f".{fmt}")
    os.close(fd)
    return path


async def direct_file(
    conn: Connection, vault: Vault, prepared: Prepared, *, tz: str
) -> tuple[str, int, int]:
    """The whole file in a temporary file now (the caller streams and deletes it): (path, size,
    rows)."""
    path = temp_path(prepared.fmt)
    try:
        rows, _ = await write_file(conn, vault, prepared, path, tz=tz)
    except BaseException:
        os.unlink(path)
        raise
    return path, (await asyncio.to_thread(os.stat, path)).st_size, rows


def audit_detail(
    table_key: str, fmt: str, params: Mapping[str, Any], **extra: Any
) -> dict[str, Any]:
    """What an export's audit event records: the table, the format and the filters it was asked
    with (the view's unit and days, the table's own: ids and days, never personal data), and
    `extra` (rows, whether it was downloaded at once)."""
    return {"table": table_key, "format": fmt, "filters": dict(params), **extra}


async def queue(
    conn: Connection, prepared: Prepared, *, rows_total: int, now: datetime, wake: Wake | None
) -> tuple[Any, bool]:
    """Record a worker export (or join the same one still queued or running); the worker is
    woken once this transaction has committed. Returns (its row, whether it is new)."""
    row, new = await queries.create_or_join(
        conn, export_id=uuid7(), user_id=prepared.request.caller.user_id,
        table_key=prepared.table.key, params=prepared.params, fmt=prepared.fmt,
        rows_total=rows_total, filename=prepared.filename,
        expires_at=now + timedelta(days=EXPIRE_DAYS),
    )  # fmt: skip
    if new and wake is not None:
        export_id = row["id"]
        after_commit(conn, lambda: wake(export_id))
    return row, new


async def mine(conn: Connection, caller: Caller, export_id: uuid.UUID) -> Any:
    """The caller's own export; anyone else's (an admin asking too) is not found."""
    row = await queries.mine(conn, export_id, caller.user_id)
    if row is None:
        raise NotFound("export")
    return row


@dataclass(frozen=True, slots=True)
class Listed:
    """One of my exports on my list: `available` is false once its request has left my scope
    (its page, status and file answer 404 then, so the list offers no link to them)."""

    row: Any
    available: bool


def expired(row: Any) -> bool:
    """Whether an export read for a page (`queries.mine`, `queries.list_mine`) has expired: from
    then on its file is not served (404, as once `expire` has deleted it) and its pages say so."""
    return bool(row["expired"])


async def list_mine(
    conn: Connection, caller: Caller, *, tz: str, now: datetime, limit: int = 50
) -> list[Listed]:
    """The caller's exports, newest first, each checked again as its page is (`recheck`)."""
    listed = []
    for row in await queries.list_mine(conn, caller.user_id, limit=limit):
        try:
            await recheck(conn, caller, row, tz=tz, now=now)
        except NotFound:
            listed.append(Listed(row, available=False))
        else:
            listed.append(Listed(row, available=True))
    return listed


async def recheck(
    conn: Connection, caller: Caller, row: Any, *, tz: str, now: datetime
) -> Prepared:
    """The export's request checked again for `caller` now (a branch head moved elsewhere no
    longer sees it: NotFound)."""
    params = queries.params_of(row)
    return await prepare(
        conn, caller=caller, table_key=row["table_key"], fmt=row["format"],
        unit=params.get("unit"), from_=params.get("from"), to=params.get("to"),
        filters={k: params.get(k) for k in TABLE_PARAMS}, tz=tz, now=now,
    )  # fmt: skip


def percent(row: Any) -> int:
    if row["state"] == "done":
        return 100
    total = row["rows_total"]
    return min(99, int(100 * row["rows_done"] / total)) if total else 0


# The worker's side.


@dataclass(frozen=True, slots=True)
class Builder:
    """What building an export needs (from the worker's context)."""

    pool: Pool
    blobs: BlobStore
    vault: Vault
    tz: str
    lease_seconds: float = LEASE_SECONDS


async def build(b: Builder, export_id: uuid.UUID | None = None) -> uuid.UUID | None:
    """Claim one export (this one, or the oldest waiting) and build it; the id built, or None
    if there was none to take. A failure marks it failed with a reason; a worker killed on the
    way leaves it running until its lease runs out, then another worker builds it again."""
    token = uuid.uuid4()
    async with b.pool.acquire() as conn, conn.transaction():
        await queries.fail_worn_out(conn, max_attempts=MAX_ATTEMPTS)
        row = await queries.claim(conn, export_id, token=token, lease_seconds=b.lease_seconds)
    if row is None:
        return None
    export_id = row["id"]

    async def progress(rows: int) -> None:
        async with b.pool.acquire() as conn:
            ok = await queries.progress(conn, export_id, token=token, rows_done=rows,
                                        lease_seconds=b.lease_seconds)  # fmt: skip
        if not ok:
            raise ClaimLost

    path = temp_path(row["format"])
    try:
        try:
            async with (
                b.pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                user = await queries.requester(conn, row["requested_by"])
                if user is None:
                    raise NotFound("user")
                caller = Caller(
                    user_id=user["id"], role=Role(user["role"]), org_unit_id=user["org_unit_id"],
                    session_id=uuid.UUID(int=0), device_id="export-worker",
                )  # fmt: skip
                prepared = await recheck(conn, caller, row, tz=b.tz, now=row["created_at"])
                rows, sheets = await write_file(
                    conn, b.vault, prepared, path, tz=b.tz, progress=progress
                )
            key, parts, size = await files.store(
                b.blobs, export_id, path, content_type=writers.FORMATS[row["format"]],
                on_part=lambda: progress(rows),
            )  # fmt: skip
            async with b.pool.acquire() as conn:
                finished = await queries.finish(
                    conn, export_id, token=token, rows_done=rows, sheets=sheets, file_key=key,
                    file_parts=parts, size=size,
                )  # fmt: skip
            if not finished:
                raise ClaimLost
        except ClaimLost:
            log.warning("an export was taken over by another worker",
                        extra={"export_id": str(export_id)})  # fmt: skip
            return None
        except NotFound:
            await _fail(b, export_id, token, "您已无权导出这些数据（机构、人员或表格已变更）。")
        except DomainError as exc:
            await _fail(b, export_id, token, f"导出条件无效：{exc.detail or exc.title}")
        except Exception:
            log.exception("an export failed", extra={"export_id": str(export_id)})
            await _fail(b, export_id, token, "导出时发生内部错误，请稍后重试。")
    finally:
        os.unlink(path)
    return export_id


async def _fail(b: Builder, export_id: uuid.UUID, token: uuid.UUID, reason: str) -> None:
    async with b.pool.acquire() as conn:
        await queries.fail(conn, export_id, token=token, reason=reason)


async def expire(pool: Pool, blobs: BlobStore, *, batch: int = 100) -> int:
    """Delete exports past their expiry and their files; how many were deleted."""
    deleted = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await queries.expired(conn, limit=batch)
            for row in rows:
                if row["file_key"] and row["file_parts"]:
                    await files.delete(blobs, row["file_key"], row["file_parts"])
            if rows:
                await queries.delete(conn, [r["id"] for r in rows])
        deleted += len(rows)
        if len(rows) < batch:
            return deleted

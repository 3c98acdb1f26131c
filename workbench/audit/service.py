"""Reading the audit trail (compliance and admins, the whole bank): pages of events newest first,
filtered by period, actor, kind and object, and the same events as a CSV file.

Periods are read as every `?from=&to=` is (`workbench.periods`): a day in the bank's time zone,
`to` included; either bound may be left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from mobile_contracts.v1 import audit as wire
from mobile_contracts.v1.common import Page
from workbench.audit import kinds, queries
from workbench.audit.queries import Filters
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.exports import writers
from workbench.pagination import decode_cursor, keyset_page
from workbench.periods import YEARS, period_bound, within_years_as_given

EXPORT_LIMIT = 100_000  # events one CSV holds at most (narrow the filters for more)
EXPORT_BATCH = 2_000
CSV_HEADER = (
    "编号", "时间", "操作人", "登录名", "操作", "类型代码", "对象类型", "对象编号", "IP 地址",
    "详情",
)  # fmt: skip
SYSTEM = "系统"  # the actor of an event no one signed in did


class BadPeriod(DomainError):
    status, code, title = 422, "audit.bad_period", "The period is not usable"


class TooManyToExport(DomainError):
    status, code, title = 422, "audit.export_too_large", "Too many events for one file"


def period(
    from_: str | None, to: str | None, *, tz: str
) -> tuple[datetime | None, datetime | None]:
    """`?from=&to=` as instants (either may be None: no bound); a bound outside YEARS, or `to`
    not after `from`, is BadPeriod; one that reads as no date is a ValidationException."""
    bounds: list[datetime | None] = []
    for name, text, end in (("from", from_, False), ("to", to, True)):
        if not text:
            bounds.append(None)
            continue
        try:
            bound = period_bound(text, name=name, tz=tz, end=end)
            last = bound - timedelta(microseconds=1) if end else bound
        except OverflowError:  # a day next to the calendar's ends (9999-12-31)
            last = None
        if last is None or not within_years_as_given(last):
            raise BadPeriod(f"a period lies within the years {YEARS[0]} to {YEARS[1]}")
        bounds.append(bound)
    start, end_ = bounds
    if start is not None and end_ is not None and end_ <= start:
        raise BadPeriod("`to` must be after `from`")
    return start, end_


def filters(
    *,
    start: datetime | None,
    end: datetime | None,
    actor: str | None,
    kind: str | None,
    object_id: str | None,
) -> Filters:
    """The filters asked for, blank ones left out."""
    return Filters(
        start=start,
        end=end,
        actor_login=(actor or "").strip() or None,
        kind=(kind or "").strip() or None,
        object_id=(object_id or "").strip() or None,
    )


async def page(
    conn: Connection, asked: Filters, *, cursor: str | None, limit: int
) -> Page[wire.AuditEvent]:
    """A page of events, newest first; `next_cursor` names the page after it."""
    after = decode_cursor(cursor, tuple[datetime, int])
    rows = await queries.events(conn, asked, after=after, limit=limit + 1)
    kept, next_cursor = keyset_page(rows, limit, lambda r: [r["occurred_at"], r["id"]])
    return Page(items=[event(r) for r in kept], next_cursor=next_cursor)


async def actor_known(conn: Connection, login: str) -> bool:
    return await queries.login_exists(conn, login)


def event(row: Any) -> wire.AuditEvent:
    """An audit row as the API answers it."""
    actor = None
    if row["actor_id"] is not None:
        actor = wire.AuditActor(
            id=row["actor_id"], name=row["actor_name"] or "", login=row["actor_login"] or ""
        )
    subject = None
    if parts := kinds.split_subject(row["subject"]):
        subject = wire.AuditSubject(
            type=parts[0], type_label=kinds.object_label(parts[0]), id=parts[1]
        )
    detail = row["detail"]
    return wire.AuditEvent(
        id=row["id"],
        occurred_at=row["occurred_at"],
        kind=row["action"],
        kind_label=kinds.kind_label(row["action"]),
        actor=actor,
        subject=subject,
        client_ip=row["client_ip"],
        detail=detail if isinstance(detail, dict) else {"value": detail},
    )


def detail_text(detail: dict[str, Any]) -> str:
    """The recorded detail as one line of JSON (for the CSV)."""
    return msgspec.json.encode(detail).decode() if detail else ""


def csv_cells(item: wire.AuditEvent) -> tuple[Any, ...]:
    """An event as a CSV row (CSV_HEADER's columns)."""
    subject = item.subject
    return (
        item.id,
        item.occurred_at,
        item.actor.name if item.actor else SYSTEM,
        item.actor.login if item.actor else "",
        item.kind_label,
        item.kind,
        subject.type_label if subject else "",
        (subject.id or "") if subject else "",
        item.client_ip or "",
        detail_text(item.detail),
    )


async def write_csv(conn: Connection, asked: Filters, path: str, *, tz: str) -> int:
    """Every event of the filters, newest first, into a CSV file at `path` (UTF-8 with a BOM,
    times in the bank's time zone, text a spreadsheet would run as a formula quoted: the
    exports' writer); how many. More than EXPORT_LIMIT: TooManyToExport (nothing kept)."""
    writer = await asyncio.to_thread(
        writers.open_writer, "csv", path, CSV_HEADER, title="审计日志", tz=tz
    )

    def write(rows: Sequence[tuple[Any, ...]]) -> None:
        for cells in rows:
            writer.write(cells)

    written = 0
    after: tuple[datetime, int] | None = None
    try:
        while True:
            rows = await queries.events(conn, asked, after=after, limit=EXPORT_BATCH)
            if written + len(rows) > EXPORT_LIMIT:
                raise TooManyToExport(f"more than {EXPORT_LIMIT} events: narrow the filters")
            await asyncio.to_thread(write, [csv_cells(event(r)) for r in rows])
            written += len(rows)
            if len(rows) < EXPORT_BATCH:
                break
            after = (rows[-1]["occurred_at"], rows[-1]["id"])
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(writer.close)
    return written


def temp_csv() -> str:
    fd, path = tempfile.mkstemp(prefix="workbench-audit-", suffix=".csv")
    os.close(fd)
    return path


def asked_detail(asked: Filters, *, from_: str | None, to: str | None) -> dict[str, Any]:
    """The filters of an export as its own audit event records them (as typed: days, a login,
    a kind, an object id; never personal data)."""
    found = {
        "from": from_ or None,
        "to": to or None,
        "actor": asked.actor_login,
        "kind": asked.kind,
        "object_id": asked.object_id,
    }
    return {k: v for k, v in found.items() if v is not None}

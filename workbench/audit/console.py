"""The audit trail in the staff console (/console/audit, compliance and admins: the whole bank):
events newest first with their time (bank time zone), actor, action in words, object (linked to
its console page where the reader may open one), address and recorded detail; filters by days,
actor login, kind and object id in a GET form; the filtered events as CSV
(/console/audit/events.csv), itself audited as `audit.exported`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, get
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from mobile_contracts.v1 import audit as wire
from workbench.access import Caller
from workbench.audit import downloads, kinds, queries, service
from workbench.console import Console, bad_period, nav, visible_to
from workbench.console.errors import error_page
from workbench.dashboard.console import Chip, period_presets
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.exports import writers
from workbench.exports.filenames import content_disposition
from workbench.http.deps import CurrentCaller, Db

LIST_PATH = nav.AUDIT.path
CSV_PATH = f"{LIST_PATH}/events.csv"
ROLES = visible_to(*nav.AUDIT.roles)
PAGE_ROWS = 50
AUDIT_EXPORTED = "audit.exported"
FROM = Annotated[str | None, QueryParameter(name="from", max_length=40)]
TEXT = Annotated[str | None, QueryParameter(max_length=200)]
FIELDS = ("from", "to", "actor", "kind", "object")  # the filter form's fields
FILE_CHUNK = 256 * 1024
_DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _asked(
    from_: str | None, to: str | None, actor: str | None, kind: str | None, object_id: str | None
) -> dict[str, str]:
    """The filters as typed (trimmed; blank ones left out), for links and the form."""
    typed = {"from": from_, "to": to, "actor": actor, "kind": kind, "object": object_id}
    return {k: v.strip() for k, v in typed.items() if v and v.strip()}


def _chosen(
    request: Request[Any, Any, Any], asked: dict[str, str], *, tz: str
) -> queries.Filters | Response[Any]:
    """The filters asked for, or the bad-period page for a period that cannot be read."""
    try:
        start, end = service.period(asked.get("from"), asked.get("to"), tz=tz)
    except (service.BadPeriod, ValidationException) as exc:
        return _bad_period(request, exc, asked, tz=tz)
    return service.filters(
        start=start, end=end, actor=asked.get("actor"), kind=asked.get("kind"),
        object_id=asked.get("object"),
    )  # fmt: skip


def _href(path: str, params: dict[str, str]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


@get(LIST_PATH.removeprefix("/console"), opt=ROLES, name="console:audit")
async def audit_list(
    request: Request[Any, Any, Any],
    db: Db,
    console: Console,
    from_: FROM = None,
    to: Annotated[str | None, QueryParameter(max_length=40)] = None,
    actor: TEXT = None,
    kind: TEXT = None,
    object_id: Annotated[str | None, QueryParameter(name="object", max_length=200)] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[Any]:
    """The bank's audit trail, newest first, filtered."""
    asked = _asked(from_, to, actor, kind, object_id)
    tz = request.app.state.settings.bank_timezone
    chosen = _chosen(request, asked, tz=tz)
    if isinstance(chosen, Response):
        return chosen
    try:
        found = await service.page(db, chosen, cursor=cursor, limit=PAGE_ROWS)
    except DomainError:  # a cursor mangled in the address bar: the first page
        cursor = None
        found = await service.page(db, chosen, cursor=None, limit=PAGE_ROWS)
    unknown_actor = None
    if (
        not found.items
        and chosen.actor_login
        and not await service.actor_known(db, chosen.actor_login)
    ):
        unknown_actor = chosen.actor_login
    known = list(kinds.KIND_LABELS.items())
    if chosen.kind and chosen.kind not in kinds.KIND_LABELS:
        known.append((chosen.kind, chosen.kind))  # kept in the form as it was asked for
    role = console.caller.role
    return console.render(
        "audit/list.html",
        {
            "items": [_row(item, role) for item in found.items],
            "filters": {name: asked.get(name, "") for name in FIELDS},
            "kinds": known,
            "filtered": bool(asked),
            "unknown_actor": unknown_actor,
            "next_url": _href(LIST_PATH, {**asked, "cursor": found.next_cursor})
            if found.next_cursor
            else None,
            "first_url": _href(LIST_PATH, asked) if cursor else None,
            "csv_href": _href(CSV_PATH, asked),
            "clear_href": LIST_PATH,
            "export_limit": service.EXPORT_LIMIT,
            "system": service.SYSTEM,
        },
    )


def _row(item: wire.AuditEvent, role: Any) -> dict[str, Any]:
    subject = item.subject
    return {
        "e": item,
        "object": {
            "type_label": subject.type_label,
            "id": subject.id,
            "href": kinds.object_href(subject.type, subject.id, role),
        }
        if subject
        else None,
        "detail": [(key, _shown(value)) for key, value in item.detail.items()],
    }


def _shown(value: Any) -> str:
    """A detail's value as the page shows it: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def _bad_period(
    request: Request[Any, Any, Any], exc: Exception, asked: dict[str, str], *, tz: str
) -> Response[Any]:
    """422, the console's bad-period page: why, and the form again with the other filters."""
    if isinstance(exc, service.BadPeriod) and exc.detail:
        why = bad_period.reason(exc.detail, max_days=0)
    else:
        why = bad_period.FORMAT_REASON
    kept = {k: v[:200] for k, v in asked.items() if k not in ("from", "to")}
    today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
    chips = [
        Chip(label, _days(kept, first, last), current=False)
        for label, first, last in period_presets(today)
    ]
    return bad_period.page(
        request, area="审计日志", home=LIST_PATH, hidden=kept, from_=asked.get("from"),
        to=asked.get("to"), why=why, period_chips=chips, code=service.BadPeriod.code,
    )  # fmt: skip


def _days(kept: dict[str, str], first: date, last: date) -> str:
    return _href(LIST_PATH, {**kept, "from": first.isoformat(), "to": last.isoformat()})


# ---- the CSV --------------------------------------------------------------------------------


@get(CSV_PATH.removeprefix("/console"), opt=ROLES, name="console:audit-csv")
async def audit_csv(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    from_: FROM = None,
    to: Annotated[str | None, QueryParameter(max_length=40)] = None,
    actor: TEXT = None,
    kind: TEXT = None,
    object_id: Annotated[str | None, QueryParameter(name="object", max_length=200)] = None,
) -> Response[Any]:
    """The filtered events as CSV (UTF-8 with a BOM, formula-safe), audited as exported."""
    asked = _asked(from_, to, actor, kind, object_id)
    tz = request.app.state.settings.bank_timezone
    chosen = _chosen(request, asked, tz=tz)
    if isinstance(chosen, Response):
        return chosen
    path = service.temp_csv()
    try:
        rows = await service.write_csv(db, chosen, path, tz=tz)
    except service.TooManyToExport:
        os.unlink(path)
        return error_page(
            request, 422, title="记录太多，无法导出", code=service.TooManyToExport.code,
            text=f"一次最多导出 {service.EXPORT_LIMIT:,} 条记录。"
            "请缩短时间范围或增加筛选条件后再导出。",
        )  # fmt: skip
    except BaseException:
        os.unlink(path)
        raise
    await _record_export(request, db, caller, chosen, asked, rows)
    size = os.stat(path).st_size
    stamp = datetime.now(UTC).astimezone(ZoneInfo(tz))
    name = f"审计日志-{stamp:%Y%m%d-%H%M%S}.csv"
    return Stream(
        _file_chunks(path),
        status_code=200,
        media_type=writers.MEDIA_TYPES["csv"],
        headers={
            **_DOWNLOAD_HEADERS,
            "Content-Length": str(size),
            "Content-Disposition": content_disposition(name, f"audit-{stamp:%Y%m%d-%H%M%S}.csv"),
        },
    )


async def _record_export(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    chosen: queries.Filters,
    asked: dict[str, str],
    rows: int,
) -> None:
    await queries.record(
        db,
        action=AUDIT_EXPORTED,
        actor_id=caller.user_id,
        subject="audit_events",
        client_ip=downloads.address(request),
        detail={
            "format": "csv",
            "rows": rows,
            **service.asked_detail(chosen, from_=asked.get("from"), to=asked.get("to")),
        },
    )


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    with open(path, "rb") as file:  # noqa: ASYNC230 - a local temporary file
        os.unlink(path)  # gone from the folder at once; the open file is read to its end
        while chunk := file.read(FILE_CHUNK):
            yield chunk


PAGES: list[Any] = [audit_list, audit_csv]

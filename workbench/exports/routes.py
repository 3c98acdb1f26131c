"""The export downloads and progress pages of the staff console (branch heads and admins).

- `GET /console/exports/new` without a table: a form to choose one of the dashboard's tables of
  the unit, a format and the days (the bad-period page's home), which posts as below.
- `GET /console/exports/new?table=&format=csv|xlsx&unit=&from=&to=[&rm=]`: the table with the
  dashboard's filters and scope; up to `service.DIRECT_LIMIT` rows the file downloads at once
  (it is only read: nothing is stored or queued), otherwise a page says what would be exported
  (table, format, unit, RM, period, about how many rows) with a 开始导出 button. A GET or HEAD
  (a link prefetch, a reload, a HEAD check) never starts a worker export.
- `POST /console/exports/new` (that button: the same fields, the CSRF token and a one-time token,
  `console.once`): a small table downloads at once; a large one is queued for the worker, or
  joins the same request still queued or running, and the browser goes to its progress page.
  The same form sent again queues nothing (409, a page linking to the export it started).
- `GET /console/exports/{id}`: progress (refreshed by exports.js, or a meta refresh without
  script) and the download link when done; `.../status` is the same as JSON; `.../file` the file.
- `GET /console/exports`: my exports; one whose request has left my scope is listed as no
  longer available, without links.

Only the user who asked sees an export or its file (anyone else, an admin too: 404), and its
request is checked against a branch head's subtree again whenever its page, status or file is
asked for (a branch head moved elsewhere: 404, not a page whose download link is a 404). An
export past its `expires_at` (read in SQL) is expired from that moment, whether or not the hourly
`expire_exports` has deleted it yet: its file answers 404 as a deleted one does, its page, status
and my list say 已过期 without a download. A period that cannot be read is the console's
bad-period page, as on the dashboard.

Every file downloaded (at once, or a worker export's) is in the audit trail as
`export.downloaded`, every worker export started (or joined) as `export.started`: who, from
which address, the table, format and filters (ids and days, never personal data) and the rows.
The expiry job deletes exports after 7 days; their audit events stay.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.console import Console, ConsoleContext, bad_period, nav, once, visible_to
from workbench.console.errors import error_page
from workbench.console.rendering import redirect
from workbench.dashboard import numbers
from workbench.dashboard.console import EXPORTED, Chip, period_presets
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.exports import files, jobs, service, tables, writers
from workbench.exports.filenames import content_disposition
from workbench.exports.service import BadFormat, Prepared, UnknownTable
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db

PATH = "/exports"
ROLES = visible_to(*nav.EXPORTS.roles)
STARTS = visible_to(*nav.EXPORTS.roles, acts_once=True)  # the form that queues a worker export
CHUNK = 256 * 1024
STATES = {"queued": "排队中", "running": "导出中", "done": "已完成", "failed": "失败"}
FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel"}
# An export whose request has left my scope (its unit or RM is no longer mine): on my list, words
# instead of its links, which would answer 404.
UNAVAILABLE = "不再可用"
UNAVAILABLE_REASON = "您已无权查看这些数据（机构或人员已变更），文件不能再下载。"
# An export past its expiry: its file is no longer served (nor kept for long: `expire_exports`).
EXPIRED = "已过期"
EXPIRED_REASON = (
    f"文件已超过 {service.EXPIRE_DAYS} 天的保留期限，不能再下载；如仍需要，请重新导出。"
)
ASKED = ("table", "format", "unit", "from", "to", "rm")  # the fields of an export request
FROM = Annotated[str | None, QueryParameter(name="from")]
_DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# The audit trail's kinds: a file downloaded (at once, or a worker export's), a worker export
# started (or joined: the same request still queued or running).
DOWNLOADED = "export.downloaded"
STARTED = "export.started"


def new_href(table_key: str, fmt: str, *, unit: Any = None, from_: Any = None, to: Any = None,
             rm: Any = None) -> str:  # fmt: skip
    """The console URL that exports `table_key` as `fmt` with these filters (for page links)."""
    parts = []
    for name, value in (("table", table_key), ("format", fmt), ("unit", unit), ("from", from_),
                        ("to", to), ("rm", rm)):  # fmt: skip
        if value is not None and value != "":
            parts.append(f"{name}={quote(str(value))}")
    return f"/console{PATH}/new?" + "&".join(parts)


def _fallback(prepared_params: dict[str, str], table_key: str, fmt: str) -> str:
    first = prepared_params.get("from", "").replace("-", "")
    last = prepared_params.get("to", "").replace("-", "")
    return f"export-{table_key}-{first}-{last}.{fmt}"


async def _temp_file_chunks(path: str) -> AsyncIterator[bytes]:
    with open(path, "rb") as file:  # noqa: ASYNC230 - a local temporary file
        os.unlink(path)  # gone from the folder at once; the open file is read to its end
        while chunk := file.read(CHUNK):
            yield chunk


@get(f"{PATH}/new", opt=ROLES, name="console:export-new")
async def new_export(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    table: FromQuery[str | None] = None,
    format: FromQuery[str | None] = None,
    unit: FromQuery[str | None] = None,
    from_: FROM = None,
    to: FromQuery[str | None] = None,
    rm: FromQuery[str | None] = None,
) -> Response[Any]:
    """Download a table at once, or say what a worker export would hold, with its start button."""
    asked = {"table": table, "format": format, "unit": unit, "from": from_, "to": to, "rm": rm}
    if not table:  # no table named: the form to choose one of the unit's tables
        return await _choose(request, db, caller, console, asked)
    prepared = await _prepared(request, db, caller, asked)
    if isinstance(prepared, Response):
        return prepared
    total = await service.count(db, request.app.state.vault, prepared)
    if total <= service.DIRECT_LIMIT:
        return await _direct(request, db, prepared)
    return console.render(
        "exports/confirm.html",
        {
            "table_title": prepared.table.title,
            "format_label": FORMAT_LABELS[prepared.fmt],
            "unit_name": prepared.request.view.unit_name,
            "rm_name": prepared.rm_name,
            "first_day": prepared.params["from"],
            "last_day": prepared.params["to"],
            "rows_total": total,
            "filename": prepared.filename,
            "fields": prepared.params | {"table": prepared.table.key, "format": prepared.fmt},
            "back": _back(prepared.params),
            "expire_days": service.EXPIRE_DAYS,
        },
    )


@post(f"{PATH}/new", opt=STARTS, name="console:export-start")
async def start_export(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller
) -> Response[Any]:
    """Start the export the confirmation page names (a small one downloads at once)."""
    form = await request.form()
    asked = {name: _field(form, name) for name in ASKED}
    prepared = await _prepared(request, db, caller, asked)
    if isinstance(prepared, Response):
        return prepared
    state = request.app.state
    total = await service.count(db, state.vault, prepared)
    if total <= service.DIRECT_LIMIT:  # only read, as its GET: nothing to claim
        return await _direct(request, db, prepared)
    page = _confirm_href(prepared)
    claim = await once.claim(request, form, db, back=page)
    async with claim:  # a refusal lets the form's token go
        row, new = await service.queue(
            db, prepared, rows_total=total, now=datetime.now(UTC),
            wake=jobs.waker(state.redis, state.settings.redis_prefix),
        )  # fmt: skip
        await _audit(
            request, db, caller, STARTED, f"export:{row['id']}",
            service.audit_detail(prepared.table.key, prepared.fmt, prepared.params,
                                 rows_total=total, joined=not new),
        )  # fmt: skip
        claim.made(f"/console{PATH}/{row['id']}")
    return redirect(request, f"/console{PATH}/{row['id']}")


async def _choose(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    console: ConsoleContext,
    asked: dict[str, str | None],
) -> Response[Any]:
    """The form that starts an export of one of the dashboard's tables of a unit (the caller's
    own by default) over any days (the dashboard's default period)."""
    tz = request.app.state.settings.bank_timezone
    now = datetime.now(UTC)
    try:
        unit_id = uuid.UUID(asked["unit"]) if asked["unit"] else None
    except ValueError:
        raise NotFound("org_unit") from None
    try:
        view = await numbers.view(
            db, caller=caller, org_unit_id=unit_id, from_=asked["from"], to=asked["to"], tz=tz,
            now=now,
        )  # fmt: skip
    except (numbers.BadPeriod, ValidationException) as exc:
        kept = {"format": asked["format"], "unit": asked["unit"]}
        return _bad_period(
            request, exc, asked=kept, from_=asked["from"], to=asked["to"], today=_today(tz, now)
        )
    choices = [(key, found.title) for key in EXPORTED if (found := tables.table(key))]
    first, last = view.first_day.isoformat(), (view.end_day - timedelta(days=1)).isoformat()
    return console.render(
        "exports/new.html",
        {
            "choices": choices,
            "unit_id": str(view.org_unit_id),
            "unit_name": view.unit_name,
            "first_day": first,
            "last_day": last,
            "format": asked["format"] if asked["format"] in FORMAT_LABELS else "csv",
            "formats": FORMAT_LABELS,
            "back": _back({"unit": str(view.org_unit_id), "from": first, "to": last}),
            "expire_days": service.EXPIRE_DAYS,
            "direct_limit": service.DIRECT_LIMIT,
        },
    )


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value else None


async def _prepared(
    request: Request[Any, Any, Any], db: Connection, caller: Caller, asked: dict[str, str | None]
) -> Prepared | Response[Any]:
    """The checked request, or the page that says why it cannot be exported."""
    tz = request.app.state.settings.bank_timezone
    now = datetime.now(UTC)
    try:
        return await service.prepare(
            db, caller=caller, table_key=asked["table"], fmt=asked["format"], unit=asked["unit"],
            from_=asked["from"], to=asked["to"], filters={"rm": asked["rm"]}, tz=tz, now=now,
        )  # fmt: skip
    except UnknownTable:
        return error_page(
            request, 404, title="没有这张表", code="export_table.not_found",
            text="要导出的表不存在。请从团队看板上的“导出”按钮进入。",
        )  # fmt: skip
    except BadFormat:
        return error_page(
            request, 422, title="不支持的格式", code=BadFormat.code,
            text="导出格式只能是 CSV（format=csv）或 Excel（format=xlsx）。",
        )  # fmt: skip
    except (numbers.BadPeriod, ValidationException) as exc:
        kept = {"table": asked["table"], "format": asked["format"], "unit": asked["unit"],
                "rm": asked["rm"]}  # fmt: skip
        return _bad_period(
            request, exc, asked=kept, from_=asked["from"], to=asked["to"], today=_today(tz, now)
        )


async def _direct(request: Request[Any, Any, Any], db: Connection, prepared: Prepared) -> Stream:
    """The whole file now, streamed from a temporary file deleted as it is read; audited as
    downloaded, with its rows."""
    state = request.app.state
    tz = state.settings.bank_timezone
    path, size, rows = await service.direct_file(db, state.vault, prepared, tz=tz)
    try:
        await _audit(
            request, db, prepared.request.caller, DOWNLOADED, f"export_table:{prepared.table.key}",
            service.audit_detail(prepared.table.key, prepared.fmt, prepared.params, rows=rows,
                                 direct=True),
        )  # fmt: skip
    except BaseException:
        os.unlink(path)
        raise
    fallback = _fallback(prepared.params, prepared.table.key, prepared.fmt)
    return Stream(
        _temp_file_chunks(path),
        status_code=200,  # from the POST too (Litestar's default there is 201)
        media_type=writers.MEDIA_TYPES[prepared.fmt],
        headers={
            **_DOWNLOAD_HEADERS,
            "Content-Length": str(size),
            "Content-Disposition": content_disposition(prepared.filename, fallback),
        },
    )


async def _audit(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    action: str,
    subject: str,
    detail: dict[str, Any],
) -> None:
    """An export started or downloaded, in the audit trail: who, from where, what."""
    await audit.record(
        db, action=action, actor_id=caller.user_id, subject=subject,
        client_ip=request_ip(request), detail=detail,
    )  # fmt: skip


def _confirm_href(prepared: Prepared) -> str:
    """The page that asks for this export (its confirmation, for a large one)."""
    p = prepared.params
    return new_href(prepared.table.key, prepared.fmt, unit=p["unit"], from_=p["from"],
                    to=p["to"], rm=p.get("rm"))  # fmt: skip


def _back(params: dict[str, str]) -> str:
    """The dashboard page the export's table is on: the unit's, or the RM's, over its days."""
    query = f"unit={quote(params['unit'])}&from={params['from']}&to={params['to']}"
    if params.get("rm"):
        return f"/console/dashboard/rms/{quote(params['rm'])}?{query}"
    return f"/console/dashboard?{query}"


def _today(tz: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def _bad_period(
    request: Request[Any, Any, Any],
    exc: Exception,
    *,
    asked: dict[str, str | None],
    from_: str | None,
    to: str | None,
    today: date,
) -> Response[Any]:
    """422, the dashboard's bad-period page: why the period cannot be exported, and its form and
    chips asking for the same export (table, format, unit, RM) over days that can be."""
    if isinstance(exc, numbers.BadPeriod) and exc.detail:
        why = bad_period.reason(exc.detail, max_days=numbers.MAX_PERIOD_DAYS)
    else:
        why = bad_period.FORMAT_REASON
    kept = {name: value[:40] for name, value in asked.items() if value}
    chips = [
        Chip(label, _again(kept, first.isoformat(), last.isoformat()), current=False)
        for label, first, last in period_presets(today)
    ]
    return bad_period.page(
        request, area="导出", home=f"/console{PATH}/new", hidden=kept, from_=from_, to=to,
        why=why, period_chips=chips, code=numbers.BadPeriod.code,
    )  # fmt: skip


def _again(kept: dict[str, str], from_: str, to: str) -> str:
    """The export asked for again over these days."""
    return new_href(
        kept.get("table", ""), kept.get("format", ""), unit=kept.get("unit"), from_=from_, to=to,
        rm=kept.get("rm"),
    )  # fmt: skip


async def _in_scope(
    request: Request[Any, Any, Any], db: Connection, caller: Caller, export_id: uuid.UUID
) -> Any:
    """The caller's own export, its request still within their scope now (else NotFound): the
    page, its status and its file answer alike, so no page offers a download that is a 404."""
    row = await service.mine(db, caller, export_id)
    tz = request.app.state.settings.bank_timezone
    await service.recheck(db, caller, row, tz=tz, now=datetime.now(UTC))
    return row


def _item(row: Any, *, available: bool = True) -> dict[str, Any]:
    """What the pages show of an export; one that left the caller's scope (`available` false)
    is shown as no longer available, with no link (its page, status and file are 404); one past
    its expiry as expired, with no download (its file is 404) and the same export asked again."""
    export_id = row["id"]
    base = {
        "id": str(export_id),
        "row": row,
        "format_label": FORMAT_LABELS[row["format"]],
        "again_href": None,
    }
    if not available:
        return base | {
            "state_label": UNAVAILABLE,
            "state_key": "unavailable",
            "reason": UNAVAILABLE_REASON,
            "percent": 0,
            "href": None,
            "file_href": None,
            "finished": True,
        }
    if service.expired(row):
        return base | {
            "state_label": EXPIRED,
            "state_key": "expired",
            "reason": EXPIRED_REASON,
            "percent": service.percent(row),
            "href": None,
            "page_href": f"/console{PATH}/{export_id}",
            "file_href": None,
            "finished": True,
            "again_href": _again_href(row),
        }
    return base | {
        "state_label": STATES[row["state"]],
        "state_key": row["state"],
        "reason": None,
        "percent": service.percent(row),
        "href": f"/console{PATH}/{export_id}",
        "page_href": f"/console{PATH}/{export_id}",
        "file_href": f"/console{PATH}/{export_id}/file" if row["state"] == "done" else None,
        "finished": row["state"] in ("done", "failed"),
    }


def _again_href(row: Any) -> str:
    """The same export asked for again (a small one downloads, a large one asks first)."""
    p = dict(row["params"] or {})
    return new_href(row["table_key"], row["format"], unit=p.get("unit"), from_=p.get("from"),
                    to=p.get("to"), rm=p.get("rm"))  # fmt: skip


@get(PATH, opt=ROLES, name="console:exports")
async def export_list(request: Request[Any, Any, Any], db: Db, console: Console) -> Response[Any]:
    """My exports, newest first, with their state and downloads."""
    tz = request.app.state.settings.bank_timezone
    listed = await service.list_mine(db, console.caller, tz=tz, now=datetime.now(UTC))
    return console.render(
        "exports/list.html",
        {
            "items": [_item(x.row, available=x.available) for x in listed],
            "expire_days": service.EXPIRE_DAYS,
        },
    )


@get(f"{PATH}/{{export_id:uuid}}", opt=ROLES, name="console:export")
async def export_page(
    request: Request[Any, Any, Any], db: Db, console: Console, export_id: FromPath[uuid.UUID]
) -> Response[Any]:
    """An export's progress; the page refreshes itself until it is finished."""
    row = await _in_scope(request, db, console.caller, export_id)
    return console.render(
        "exports/progress.html", {"item": _item(row), "expire_days": service.EXPIRE_DAYS}
    )


@get(f"{PATH}/{{export_id:uuid}}/status", opt=ROLES, name="console:export-status")
async def export_status(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, export_id: FromPath[uuid.UUID]
) -> Response[dict[str, Any]]:
    """An export's progress as JSON, for the page's script."""
    item = _item(await _in_scope(request, db, caller, export_id))
    row = item["row"]
    return Response(
        {
            "state": item["state_key"],
            "state_label": item["state_label"],
            "rows_done": row["rows_done"],
            "rows_total": row["rows_total"],
            "percent": item["percent"],
            "reason": item["reason"] or row["reason"],
            "file_url": item["file_href"],
        },
        headers={"Cache-Control": "no-store"},
    )


@get(f"{PATH}/{{export_id:uuid}}/file", opt=ROLES, name="console:export-file")
async def export_file(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, export_id: FromPath[uuid.UUID]
) -> Response[Any]:
    """Download a finished export: only its requester, within their scope now."""
    row = await _in_scope(request, db, caller, export_id)
    if service.expired(row):  # as once `expire_exports` has deleted it: no such export
        raise NotFound("export")
    if row["state"] != "done":
        raise NotFound("export_file")
    blobs = request.app.state.blobs
    if await blobs.stat(files.part_key(row["file_key"], 0)) is None:
        raise NotFound("export_file")
    await _audit(
        request, db, caller, DOWNLOADED, f"export:{export_id}",
        service.audit_detail(row["table_key"], row["format"], dict(row["params"] or {}),
                             rows=row["rows_done"], direct=False),
    )  # fmt: skip
    fallback = _fallback(dict(row["params"]), row["table_key"], row["format"])
    return Stream(
        files.read(blobs, row["file_key"], row["file_parts"]),
        media_type=writers.MEDIA_TYPES[row["format"]],
        headers={
            **_DOWNLOAD_HEADERS,
            "Content-Length": str(row["size"]),
            "Content-Disposition": content_disposition(row["filename"], fallback),
        },
    )


PAGES: list[Any] = [new_export, start_export, export_list, export_page, export_status, export_file]

"""The export downloads and progress pages of the staff console (branch heads and admins).

- `GET /console/exports/new?table=&format=csv|xlsx&unit=&from=&to=[&rm=]`: the table with the
  dashboard's filters and scope; up to `service.DIRECT_LIMIT` rows the file downloads at once,
  otherwise the worker builds it and the browser goes to its progress page.
- `GET /console/exports/{id}`: progress (refreshed by exports.js, or a meta refresh without
  script) and the download link when done; `.../status` is the same as JSON; `.../file` the file.
- `GET /console/exports`: my exports; one whose request has left my scope is listed as no
  longer available, without links.

Only the user who asked sees an export or its file (anyone else, an admin too: 404), and its
request is checked against a branch head's subtree again whenever its page, status or file is
asked for (a branch head moved elsewhere: 404, not a page whose download link is a 404). A
period that cannot be read is the console's bad-period page, as on the dashboard.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from workbench.access import Caller
from workbench.console import Console, bad_period, nav, visible_to
from workbench.console.errors import error_page
from workbench.console.rendering import redirect
from workbench.dashboard import numbers
from workbench.dashboard.console import Chip, period_presets
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.exports import files, jobs, service, writers
from workbench.exports.filenames import content_disposition
from workbench.exports.service import BadFormat, UnknownTable
from workbench.http.deps import CurrentCaller, Db

PATH = "/exports"
ROLES = visible_to(*nav.EXPORTS.roles)
CHUNK = 256 * 1024
STATES = {"queued": "排队中", "running": "导出中", "done": "已完成", "failed": "失败"}
FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel"}
# An export whose request has left my scope (its unit or RM is no longer mine): on my list, words
# instead of its links, which would answer 404.
UNAVAILABLE = "不再可用"
UNAVAILABLE_REASON = "您已无权查看这些数据（机构或人员已变更），文件不能再下载。"
FROM = Annotated[str | None, QueryParameter(name="from")]
_DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def new_href(table_key: str, fmt: str, *, unit: Any = None, from_: Any = None, to: Any = None,
             rm: Any = None) -> str:  # fmt: skip
    """The console URL that exports `table_key` as `fmt` with these filters (for page links)."""
    parts = [f"table={quote(table_key)}", f"format={quote(fmt)}"]
    for name, value in (("unit", unit), ("from", from_), ("to", to), ("rm", rm)):
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
    table: FromQuery[str | None] = None,
    format: FromQuery[str | None] = None,
    unit: FromQuery[str | None] = None,
    from_: FROM = None,
    to: FromQuery[str | None] = None,
    rm: FromQuery[str | None] = None,
) -> Response[Any]:
    """Download a table at once, or start a worker export and follow its progress."""
    state = request.app.state
    tz = state.settings.bank_timezone
    now = datetime.now(UTC)
    try:
        prepared = await service.prepare(
            db, caller=caller, table_key=table, fmt=format, unit=unit, from_=from_, to=to,
            filters={"rm": rm}, tz=tz, now=now,
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
        asked = {"table": table, "format": format, "unit": unit, "rm": rm}
        return _bad_period(request, exc, asked=asked, from_=from_, to=to, today=_today(tz, now))
    total = await service.count(db, state.vault, prepared)
    if total > service.DIRECT_LIMIT:
        row, _ = await service.queue(
            db, prepared, rows_total=total, now=now,
            wake=jobs.waker(state.redis, state.settings.redis_prefix),
        )  # fmt: skip
        return redirect(request, f"/console{PATH}/{row['id']}")
    path, size = await service.direct_file(db, state.vault, prepared, tz=tz)
    fallback = _fallback(prepared.params, prepared.table.key, prepared.fmt)
    return Stream(
        _temp_file_chunks(path),
        media_type=writers.MEDIA_TYPES[prepared.fmt],
        headers={
            **_DOWNLOAD_HEADERS,
            "Content-Length": str(size),
            "Content-Disposition": content_disposition(prepared.filename, fallback),
        },
    )


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
    is shown as no longer available, with no link (its page, status and file are 404)."""
    export_id = row["id"]
    if not available:
        return {
            "id": str(export_id),
            "row": row,
            "state_label": UNAVAILABLE,
            "state_key": "unavailable",
            "reason": UNAVAILABLE_REASON,
            "format_label": FORMAT_LABELS[row["format"]],
            "percent": 0,
            "href": None,
            "file_href": None,
            "finished": True,
        }
    return {
        "id": str(export_id),
        "row": row,
        "state_label": STATES[row["state"]],
        "state_key": row["state"],
        "reason": None,
        "format_label": FORMAT_LABELS[row["format"]],
        "percent": service.percent(row),
        "href": f"/console{PATH}/{export_id}",
        "file_href": f"/console{PATH}/{export_id}/file" if row["state"] == "done" else None,
        "finished": row["state"] in ("done", "failed"),
    }


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
            "state": row["state"],
            "state_label": item["state_label"],
            "rows_done": row["rows_done"],
            "rows_total": row["rows_total"],
            "percent": item["percent"],
            "reason": row["reason"],
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
    if row["state"] != "done":
        raise NotFound("export_file")
    blobs = request.app.state.blobs
    if await blobs.stat(files.part_key(row["file_key"], 0)) is None:
        raise NotFound("export_file")
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


PAGES: list[Any] = [new_export, export_list, export_page, export_status, export_file]

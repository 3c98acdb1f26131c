"""The monthly report pages of the staff console (/console/reports): months × branches of the
caller's subtree with each report's state, size and build time, its download, a button to build
it again, and a form to build any month. Branch heads see the branches of their subtree, admins
all; a report outside the caller's subtree is 404, to the list, the buttons and the download. A
team of the subtree (`?unit=`, or a build asked for it) answers a page saying reports are made
per branch, with a link to the reports of its branch."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from workbench.access import Caller
from workbench.console import Console, nav, visible_to
from workbench.db import Connection, after_commit
from workbench.errors import NotFound
from workbench.exports.filenames import content_disposition
from workbench.http.deps import CurrentCaller, Db
from workbench.media.routes import serve_blob
from workbench.reports import builder, jobs, service

PATH = "/reports"
PAGE = f"/console{PATH}"
ROLES = nav.REPORTS.roles
STATE_LABELS = {"queued": "排队中", "building": "生成中", "ready": "已生成", "failed": "生成失败"}


def _size(n: int | None) -> str:
    if not n:
        return "—"
    if n < 1024:
        return "< 1 KB"
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _month_param(text: str | None, *, tz: str) -> date | None:
    if not text:
        return None
    try:
        return service.parse_month(text, tz=tz, now=datetime.now(UTC))
    except service.BadMonth:
        return None


def _typed(form: Any, name: str) -> str:
    """A form field as typed (trimmed; a long one cut, it is only shown again)."""
    value = form.get(name)
    return value.strip()[:100] if isinstance(value, str) else ""


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


@get(PATH, opt=visible_to(*ROLES), name="console:reports")
async def report_list(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    unit: FromQuery[str | None] = None,
    before: FromQuery[str | None] = None,
) -> Response[Any]:
    """Months × branches with their reports, newest month first."""
    try:
        return await _page(request, db, caller, console, unit_id=_uuid(unit), before=before)
    except service.NotABranch as exc:
        return _per_branch(console, exc)


def _per_branch(console: Console, exc: service.NotABranch) -> Response[Any]:
    """A team of the caller's subtree asked for: reports are made per branch, with a link to the
    reports of the branch that covers it (404 still: that unit has no reports)."""
    return console.render(
        "reports/per_branch.html",
        {
            "unit_name": exc.unit_name,
            "branch_name": exc.branch_name,
            "branch_href": f"{PAGE}?unit={exc.branch_id}" if exc.branch_id else PAGE,
        },
        status=404,
    )


async def _page(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    console: Console,
    *,
    unit_id: uuid.UUID | None = None,
    before: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    """The page; `form`/`errors`: the build form as it was sent and why it was refused (said
    beside the field), else the form's defaults (the shown branch, last month)."""
    tz = request.app.state.settings.bank_timezone
    listed = await service.listing(
        db, caller=caller, unit_id=unit_id, before=_month_param(before, tz=tz), tz=tz,
        now=datetime.now(UTC),
    )  # fmt: skip
    unit_query = f"unit={unit_id}&" if unit_id else ""
    months = []
    for month in listed.months:
        rows = []
        for b in listed.shown:
            r = listed.reports.get((b["id"], month))
            rows.append(
                {
                    "branch": b,
                    "r": r,
                    "state": STATE_LABELS[r["state"]] if r else "未生成",
                    "state_key": r["state"] if r else "none",
                    "size": _size(r["size_bytes"]) if r else "—",
                }
            )
        months.append({"month": month, "title": builder.month_title(month), "rows": rows})
    today = service.bank_today(tz, datetime.now(UTC))
    return console.render(
        "reports/index.html",
        {
            "months": months,
            "branches": listed.branches,
            "unit_id": unit_id,
            "older_href": f"{PAGE}?{unit_query}before={listed.older:%Y-%m}"
            if listed.older
            else None,
            "newest_href": f"{PAGE}?{unit_query}".rstrip("?&") if before else None,
            "form": form
            or {
                "org_unit_id": str(unit_id or ""),
                "month": f"{builder.previous_month(today):%Y-%m}",
            },
            "errors": errors or {},
            "max_month": f"{today:%Y-%m}",
        },
        status=status,
    )


def _wake(request: Request[Any, Any, Any], db: Any, row: Any) -> None:
    state = request.app.state
    wake = jobs.waker(state.redis, state.settings.redis_prefix)

    async def after() -> None:
        await wake(row["id"], row["requested_at"])

    after_commit(db, after)


@post(f"{PATH}/build", opt=visible_to(*ROLES), name="console:report-build")
async def build_report(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Build a branch's report of any month up to this one (a report that exists is rebuilt)."""
    data = await request.form()
    tz = request.app.state.settings.bank_timezone
    form = {name: _typed(data, name) for name in ("org_unit_id", "month")}
    errors: dict[str, str] = {}
    unit_id = _uuid(form["org_unit_id"])
    if unit_id is None:
        errors["org_unit_id"] = "请选择支行。"
    month: date | None = None
    try:
        month = service.parse_month(form["month"], tz=tz, now=datetime.now(UTC))
    except service.BadMonth:
        errors["month"] = "请选择 2000 年 1 月至本月之间的月份。"
    if unit_id is None or month is None:
        return await _page(request, db, caller, console, form=form, errors=errors, status=422)
    try:
        row = await service.request_build(db, caller=caller, unit_id=unit_id, month=month)
    except service.NotABranch as exc:  # a team's id in a hand-made or old form
        return _per_branch(console, exc)
    _wake(request, db, row)
    return console.redirect(
        PAGE,
        flash=f"已加入生成队列：{row['unit_name']}《{builder.month_title(month)}》，"
        "通常一分钟内生成，完成后将通知支行负责人。",
    )


@post(f"{PATH}/{{report_id:uuid}}/rebuild", opt=visible_to(*ROLES), name="console:report-rebuild")
async def rebuild_report(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    report_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Build a report again; the new file replaces the old one when it is ready."""
    row = await service.request_rebuild(db, caller=caller, report_id=report_id)
    _wake(request, db, row)
    return console.redirect(
        PAGE,
        flash=f"已重新加入生成队列：{row['unit_name']}《{builder.month_title(row['month'])}》。",
    )


@get(f"{PATH}/{{file_name:str}}", opt=visible_to(*ROLES), name="console:report-download")
async def download_report(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    file_name: FromPath[str],
) -> Response[Any]:
    """The report's PDF (`<id>.pdf`), if it is ready and in the caller's subtree."""
    report_id = _uuid(file_name.removesuffix(".pdf")) if file_name.endswith(".pdf") else None
    if report_id is None:
        raise NotFound("report")
    row = await service.downloadable(db, caller=caller, report_id=report_id)
    response = await serve_blob(
        request,
        request.app.state.blobs,
        row["blob_key"],
        content_type=service.CONTENT_TYPE,
        cache_control="private, no-store",
        missing="report",
    )
    # The branch's name as the bank wrote it (`北城支行 "North"/新`), made safe as an export's.
    name = f"{row['unit_name']}-{builder.month_title(row['month'])}.pdf"
    fallback = f"report-{row['month']:%Y-%m}-{str(row['org_unit_id'])[:8]}.pdf"
    response.headers["Content-Disposition"] = content_disposition(name, fallback)
    return response


PAGES = [report_list, build_report, rebuild_report, download_report]

"""The dashboard pages of the staff console (/console/dashboard): for the chosen org unit and
period, task completion and overdue per RM (a bar chart and a sortable table, ranked within the
unit), its teams drilling down to the same page, the weekly completion trend, the share funnel,
NPS and CSAT with the latest low scores, and open work orders; and one RM's page with their
tasks, shares and work orders. Every number comes from `workbench.dashboard.numbers` (the same
queries as the exports, the monthly report and the API); every table links its CSV and XLSX
export with the page's filters.

Charts are drawn by dashboard.js with Chart.js, vendored into the package when it is built
(`chartjs`); the page gives them their data as JSON in a `<script type="application/json">`.
Without the library the page shows every table and says so instead of the charts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.exceptions import ValidationException
from litestar.params import FromPath, QueryParameter

from workbench.console import Console, bad_period, nav, visible_to
from workbench.console.errors import error_page
from workbench.console.rendering import static_url
from workbench.dashboard import chartjs, figures, numbers
from workbench.errors import NotFound
from workbench.funnels import console as funnel_pages
from workbench.funnels import views as funnel_views
from workbench.http.deps import CurrentCaller, Db
from workbench.identity import staff

PATH = "/dashboard"
HOME = f"/console{PATH}"
EXPORT_PATH = "/console/exports/new"
EXPORTED = (
    "rm_progress",
    "teams",
    "weekly_trend",
    "share_funnel",
    "low_scores",
    "work_orders",
    "tasks",
)
REPORTS_PATH = "/console/reports"
FUNNELS_PATH = "/console/funnels"
WORK_ORDERS_PATH = "/console/work-orders"
LOW_SCORES_SHOWN = 10  # responses whose low scores the page lists (the export has them all)
CHART_RMS = 30  # RMs drawn in the bar chart: the best and the last 15 (the table has all)
CHILD_CHIPS = 12  # more child units than this: a list to pick from instead of chips

Unit = Annotated[str | None, QueryParameter(name="unit", required=False)]
From = Annotated[str | None, QueryParameter(name="from", required=False)]
To = Annotated[str | None, QueryParameter(name="to", required=False)]

FUNNEL_STEPS = funnel_views.STEP_LABELS
TASK_STATUS = {
    "pending": "待开始",
    "in_progress": "进行中",
    "submitted": "已提交",
    "awaiting_confirmation": "待客户确认",
    "done": "已完成",
    "cancelled": "已取消",
    "expired": "已过期",
}
WORK_ORDER_STATE = {
    "open": "待处理",
    "in_progress": "处理中",
    "resolved": "已解决",
    "closed": "已关闭",
}
CHANNELS = {"wechat": "微信", "sms": "短信", "qr": "二维码", "link": "链接"}
# A customer whose name the caller sees no part of, as the work-order pages say it.
NAME_HIDDEN = "客户（姓名已隐藏）"
# A low score's scale: its highest score, and its range in words (for a screen reader).
SCALES = {"nps": (10, "0–10 分"), "rating": (5, "1–5 分")}


# ---- periods --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chip:
    label: str
    href: str
    current: bool


def period_presets(today: date) -> list[tuple[str, date, date]]:
    """The period chips: label, first day, last day (both included), as of `today`."""
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [
        ("最近 7 天", today - timedelta(days=6), today),
        ("最近 30 天", today - timedelta(days=29), today),
        ("本月", month_start, today),
        ("上月", last_month_end.replace(day=1), last_month_end),
        ("最近 90 天", today - timedelta(days=89), today),
        ("本年", today.replace(month=1, day=1), today),
    ]


def _today(request: Request[Any, Any, Any]) -> date:
    return datetime.now(ZoneInfo(request.app.state.settings.bank_timezone)).date()


def _href(path: str, **params: Any) -> str:
    query = urlencode({k: str(v) for k, v in params.items() if v is not None})
    return f"{path}?{query}" if query else path


def _filters(v: numbers.View) -> dict[str, str]:
    """The page's filters as query parameters (`to` is the last day, included)."""
    return {
        "unit": str(v.org_unit_id),
        "from": v.first_day.isoformat(),
        "to": (v.end_day - timedelta(days=1)).isoformat(),
    }


def _period_chips(
    request: Request[Any, Any, Any], path: str, unit: str | None, current: tuple[date, date] | None
) -> list[Chip]:
    return [
        Chip(
            label,
            _href(path, unit=unit, **{"from": first.isoformat(), "to": last.isoformat()}),
            current == (first, last),
        )
        for label, first, last in period_presets(_today(request))
    ]


def _exports(table: str, v: numbers.View, **extra: str) -> dict[str, str]:
    """The CSV and XLSX links of one table with the page's filters (helper routes in exports)."""
    return {
        fmt: _href(EXPORT_PATH, table=table, format=fmt, **_filters(v), **extra)
        for fmt in ("csv", "xlsx")
    }


# ---- shared parts ---------------------------------------------------------------------------


def _percent(part: int, whole: int) -> str:
    """`part` of `whole` as the dashboard, its charts and the PDF write it (`figures`)."""
    return figures.percent_text(part, whole)


def _score(value: float | None, *, signed: bool = False) -> str:
    return figures.score_text(value, signed=signed)


def shown_customer(masked: str | None) -> str | None:
    """A row's customer as the page shows it: the masked name, or "客户（姓名已隐藏）" where the
    caller sees no part of it (a mask of stars only: an admin's "*", a customer moved out of
    reach, an unreadable name); None without a customer."""
    if masked is None:
        return None
    return NAME_HIDDEN if set(masked) <= {"*"} else masked


def low_score_badge(score: int, scale: str) -> dict[str, str]:
    """A low score with its scale ("5" of "/10"), and the whole of it in words for a screen
    reader ("5 分（0–10 分）")."""
    highest, words = SCALES.get(scale, SCALES["rating"])
    return {"score": str(score), "of": f"/{highest}", "label": f"{score} 分（{words}）"}


def dwell_text(seconds: int, opens: int) -> str:
    """How long a share's visitors stayed: "—" when nobody opened it, "45 秒", "1 分 30 秒",
    "2 分钟" (whole minutes without the seconds), "1 小时 5 分钟" (an hour on: no seconds)."""
    if not opens:
        return figures.NONE
    if seconds < 60:
        return f"{seconds} 秒"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} 分 {rest} 秒" if rest else f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时" + (f" {minutes} 分钟" if minutes else "")


def _funnel_steps(counts: Any) -> list[dict[str, Any]]:
    """The funnel's steps with each step's share of `shared` and its rate from the step before."""
    steps = []
    shared = counts.shared
    before: int | None = None
    for key, label in FUNNEL_STEPS:
        value = getattr(counts, key)
        steps.append(
            {
                "key": key,
                "label": label,
                "value": value,
                "width": round(100 * value / shared, 1) if shared else 0,
                "of_shared": _percent(value, shared),
                "from_before": None if before is None else _percent(value, before),
            }
        )
        before = value
    return steps


async def _view(
    request: Request[Any, Any, Any],
    db: Db,
    caller: Any,
    unit: str | None,
    from_: str | None,
    to: str | None,
) -> numbers.View | Response[Any]:
    """The view of the query, or the page saying what is wrong with it (404 unit, 422 period)."""
    unit_id: uuid.UUID | None = None
    if unit:
        try:
            unit_id = uuid.UUID(unit.strip())
        except ValueError:
            return _unit_not_found(request)
    try:
        return await numbers.view(
            db,
            caller=caller,
            org_unit_id=unit_id,
            from_=(from_ or "").strip()[:40] or None,
            to=(to or "").strip()[:40] or None,
            tz=request.app.state.settings.bank_timezone,
            now=datetime.now(UTC),
        )
    except NotFound:
        return _unit_not_found(request)
    except (numbers.BadPeriod, ValidationException) as exc:
        return _bad_period(request, unit_id, from_, to, exc)


def _unit_not_found(request: Request[Any, Any, Any]) -> Response[Any]:
    return error_page(
        request,
        404,
        title="机构不存在",
        text="没有这个机构，或它不在您的管辖范围内。请从团队看板的机构导航进入。",
        code="org_unit.not_found",
    )


def _bad_period(
    request: Request[Any, Any, Any],
    unit_id: uuid.UUID | None,
    from_: str | None,
    to: str | None,
    exc: Exception,
) -> Response[Any]:
    unit = str(unit_id) if unit_id else None
    if isinstance(exc, numbers.BadPeriod) and exc.detail:
        why = bad_period.reason(exc.detail, max_days=numbers.MAX_PERIOD_DAYS)
    else:
        why = bad_period.FORMAT_REASON
    return bad_period.page(
        request, area="团队看板", home=HOME, hidden={"unit": unit} if unit else {},
        from_=from_, to=to, why=why, period_chips=_period_chips(request, HOME, unit, None),
        code=numbers.BadPeriod.code,
    )  # fmt: skip


def _breadcrumb(units: list[Any], unit_id: uuid.UUID) -> tuple[list[Any], list[Any]]:
    """The units from the caller's top unit down to `unit_id`, and `unit_id`'s children."""
    by_id = {u.id: u for u in units}
    path = []
    current = by_id.get(unit_id)
    while current is not None:
        path.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    children = [u for u in units if u.parent_id == unit_id]
    return list(reversed(path)), children


def _tone(value: float | None, good: float, bad: float) -> str:
    if value is None:
        return ""
    return "good" if value >= good else "bad" if value < bad else ""


def _rm_rows(
    rows: Iterable[numbers.RmRow], counts: numbers.WorkOrderCounts, v: numbers.View
) -> list[dict[str, Any]]:
    filters = _filters(v)
    out = []
    for r in rows:
        wo_open, wo_overdue = counts.by_rm.get(r.rm_id, (0, 0))
        out.append(
            {
                "row": r,
                "href": _href(f"{HOME}/rms/{r.rm_id}", **filters),
                "rate": r.rate_text,
                "width": round(100 * r.completion_rate, 1),
                "wo_open": wo_open,
                "wo_overdue": wo_overdue,
            }
        )
    return out


def _chart_rms(rows: list[numbers.RmRow]) -> dict[str, Any]:
    """The bar chart's data: every RM, or for a large unit the best and the last ones."""
    drawn = rows if len(rows) <= CHART_RMS else rows[: CHART_RMS // 2] + rows[-CHART_RMS // 2 :]
    return {
        "labels": [r.name for r in drawn],
        "done": [r.done for r in drawn],
        "open": [max(0, r.assigned - r.done - r.overdue) for r in drawn],
        "overdue": [r.overdue for r in drawn],
        "rate": [r.rate_percent or 0.0 for r in drawn],
    }


def _week_label(day: date, v: numbers.View) -> str:
    """A week by its Monday; `*` when the period covers only part of it."""
    return f"{day.month}/{day.day}{'*' if numbers.partial_week(day, v) else ''}"


def _week_cell(day: date, v: numbers.View) -> str:
    """A week in a table (每周数字) by its Monday's date, `*` as on the chart when the period
    covers only part of it."""
    return f"{day.isoformat()}{'*' if numbers.partial_week(day, v) else ''}"


def _funnel_link(v: numbers.View, today: date) -> dict[str, str]:
    """The funnel page by brochure for the view's unit, over its period closest to the
    dashboard's: the funnel page has the last 7, 30 or 90 days up to today (`period=`) and no
    other days. The dashboard's own when it is one of them; else the shortest of them that holds
    it, else 90 days; the link then says which days it shows (`label`)."""
    last = v.end_day - timedelta(days=1)
    days = (v.end_day - v.first_day).days
    periods = funnel_pages.PERIODS  # (key, label, days), shortest first
    exact = next((p for p in periods if last == today and days == p[2]), None)
    holds = next(
        (p for p in periods if last <= today and today - timedelta(days=p[2] - 1) <= v.first_day),
        periods[-1],
    )
    key, label, _ = exact or holds
    href = _href(FUNNELS_PATH, group_by="brochure", period=key, unit=str(v.org_unit_id))
    return {"href": href, "label": "" if exact else label}


# ---- the dashboard --------------------------------------------------------------------------


@get(PATH, opt=visible_to(*nav.DASHBOARD.roles), name="console:dashboard")
async def dashboard_page(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    unit: Unit = None,
    from_: From = None,
    to: To = None,
) -> Response[Any]:
    """The dashboard of one org unit (default: the caller's own) over a period."""
    v = await _view(request, db, caller, unit, from_, to)
    if not isinstance(v, numbers.View):
        return v
    vault = request.app.state.vault
    rms = await numbers.rm_progress(db, v)
    teams = await numbers.teams(db, v)
    are_teams = bool(teams) and await numbers.children_are_teams(db, v)
    weeks = await numbers.weekly_trend(db, v)
    funnel = await numbers.share_funnel(db, caller, v)
    satisfaction = await numbers.satisfaction(db, v)
    low = await numbers.low_scores(db, vault, caller, v, limit=LOW_SCORES_SHOWN)
    low_total = (
        await numbers.low_score_count(db, v)
        if len({s.response_id for s in low}) >= LOW_SCORES_SHOWN
        else len(low)
    )
    wo_counts = await numbers.work_order_counts(db, v)
    work_orders = await numbers.work_orders(db, vault, caller, v)
    path, children = _breadcrumb(await staff.list_org_units(db, caller=caller), v.org_unit_id)

    filters = _filters(v)
    last_day = v.end_day - timedelta(days=1)
    assigned = sum(r.assigned for r in rms)
    done = sum(r.done for r in rms)
    overdue = sum(r.overdue for r in rms)
    completion = figures.fraction(done, assigned)
    total = funnel.total
    charts = chartjs.available()
    data = {
        "rms": _chart_rms(rms),
        "weeks": {
            "labels": [_week_label(w.week_start, v) for w in weeks],
            "assigned": [w.assigned for w in weeks],
            "done": [w.done for w in weeks],
            "rate": [w.rate_percent for w in weeks],
        },
        "satisfaction": {
            "labels": [_week_label(w.week_start, v) for w in satisfaction.weeks],
            "nps": [figures.score_value(w.nps) for w in satisfaction.weeks],
            "csat": [figures.score_value(w.csat) for w in satisfaction.weeks],
            "responses": [w.responses for w in satisfaction.weeks],
        },
    }
    return console.render(
        "dashboard/index.html",
        {
            "v": v,
            "last_day": last_day,
            "filters": filters,
            "path": path,
            "children": [
                {"unit": c, "href": _href(HOME, **{**filters, "unit": str(c.id)})} for c in children
            ],
            "crumb_hrefs": {str(u.id): _href(HOME, **{**filters, "unit": str(u.id)}) for u in path},
            "period_chips": _period_chips(request, HOME, filters["unit"], (v.first_day, last_day)),
            "kpi": {
                "completion": _percent(done, assigned),
                "completion_tone": _tone(completion, 0.8, 0.5),
                "assigned": assigned,
                "done": done,
                "overdue": overdue,
                "shared": total.shared,
                "opened": total.opened,
                "converted": total.converted,
                "open_rate": _percent(total.opened, total.shared),
                "convert_rate": _percent(total.converted, total.shared),
                "nps": _score(satisfaction.nps, signed=True),
                "nps_tone": _tone(satisfaction.nps, 30, 0),
                "csat": _score(satisfaction.csat) + ("%" if satisfaction.csat is not None else ""),
                "csat_tone": _tone(satisfaction.csat, 80, 60),
                "responses": satisfaction.responses,
                "wo_open": wo_counts.open,
                "wo_overdue": wo_counts.overdue,
            },
            "rms": _rm_rows(rms, wo_counts, v),
            "rms_in_chart": min(len(rms), CHART_RMS),
            "child_chips": len(children) <= CHILD_CHIPS,
            "teams": [
                {
                    "row": t,
                    "href": _href(HOME, **{**filters, "unit": str(t.org_unit_id)}),
                    "rate": t.rate_text,
                    "width": round(100 * t.completion_rate, 1),
                }
                for t in teams
            ],
            # What the rows below the unit are: its teams, or units such as head office's
            # branches (the section and its column say which).
            "child_kind": "团队" if are_teams else "机构",
            "weeks": [
                {"point": w, "label": _week_cell(w.week_start, v), "rate": w.rate_text}
                for w in weeks
            ],
            # Whether a table of weeks has a cut one (`*`), which its note explains.
            "partial_weeks": any(numbers.partial_week(w.week_start, v) for w in weeks),
            "funnel": funnel,
            "funnel_steps": _funnel_steps(total),
            "satisfaction": satisfaction,
            "sat_weeks": [
                {
                    "point": w,
                    "label": _week_cell(w.week_start, v),
                    "nps": _score(w.nps, signed=True),
                    "csat": _score(w.csat) + ("%" if w.csat is not None else ""),
                }
                for w in satisfaction.weeks
            ],
            "low_scores": [
                {
                    "s": s,
                    "customer": shown_customer(s.customer),
                    **low_score_badge(s.score, s.scale),
                }
                for s in low
            ],
            "low_total": low_total,
            "work_orders": work_orders,
            "wo_state": WORK_ORDER_STATE,
            "customer": shown_customer,
            "exports": {key: _exports(key, v) for key in EXPORTED},
            "reports_href": REPORTS_PATH,
            "funnel_link": _funnel_link(v, _today(request)),
            "work_orders_href": _href(WORK_ORDERS_PATH, unit=filters["unit"]),
            "charts": charts,
            "chart_script": static_url(f"vendor/{chartjs.SCRIPT}") if charts else None,
            "chart_data": data,
        },
    )


# ---- one RM ---------------------------------------------------------------------------------


@get(
    f"{PATH}/rms/{{rm_id:uuid}}", opt=visible_to(*nav.DASHBOARD.roles), name="console:dashboard-rm"
)
async def rm_page(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    rm_id: FromPath[uuid.UUID],
    unit: Unit = None,
    from_: From = None,
    to: To = None,
) -> Response[Any]:
    """One RM of the chosen unit: their numbers and rank, tasks, shares and work orders."""
    v = await _view(request, db, caller, unit, from_, to)
    if not isinstance(v, numbers.View):
        return v
    try:
        rm = await numbers.rm_in_view(db, v, rm_id)
    except NotFound:
        return error_page(
            request,
            404,
            title="客户经理不存在",
            text="没有这位客户经理，或其不在所选机构及您的管辖范围内。",
            code="rm.not_found",
        )
    vault = request.app.state.vault
    rows = await numbers.rm_progress(db, v)
    row = next((r for r in rows if r.rm_id == rm_id), None)
    funnel = await numbers.share_funnel(db, caller, v)
    funnel_row = next((r for r in funnel.rows if r.key == rm_id), None)
    wo_counts = await numbers.work_order_counts(db, v)
    tasks = await numbers.rm_tasks(db, vault, caller, v, rm_id)
    shares = await numbers.rm_shares(db, vault, caller, v, rm_id)
    work_orders = await numbers.work_orders(db, vault, caller, v, rm_id=rm_id)
    filters = _filters(v)
    last_day = v.end_day - timedelta(days=1)
    path = f"{HOME}/rms/{rm_id}"
    wo_open, wo_overdue = wo_counts.by_rm.get(rm_id, (0, 0))
    return console.render(
        "dashboard/rm.html",
        {
            "v": v,
            "rm": rm,
            "row": row,
            "ranked_of": len(rows),
            "rate": row.rate_text if row else figures.NONE,
            "funnel_steps": _funnel_steps(funnel_row) if funnel_row else None,
            "funnel_row": funnel_row,
            "wo_open": wo_open,
            "wo_overdue": wo_overdue,
            "last_day": last_day,
            "filters": filters,
            "back_href": _href(HOME, **filters),
            "period_chips": _period_chips(request, path, filters["unit"], (v.first_day, last_day)),
            "path": path,
            "tasks": tasks,
            "task_status": TASK_STATUS,
            "shares": [{"s": s, "dwell": dwell_text(s.dwell_seconds, s.opens)} for s in shares],
            "channels": CHANNELS,
            "work_orders": work_orders,
            "wo_state": WORK_ORDER_STATE,
            "customer": shown_customer,
            "exports": {
                "rm_tasks": _exports("rm_tasks", v, rm=str(rm_id)),
                "rm_shares": _exports("rm_shares", v, rm=str(rm_id)),
                "work_orders": _exports("work_orders", v, rm=str(rm_id)),
            },
        },
    )


PAGES = [dashboard_page, rm_page]

"""The monthly branch report as a PDF: the branch head's dashboard numbers for one bank month
(workbench.dashboard.numbers, the one source), an HTML page rendered with Jinja2
(templates/reports/pdf/), SVG charts drawn here, and WeasyPrint for A4 pages with Noto Sans SC
embedded. No browser and nothing fetched: the only file the renderer may read is the font."""

from __future__ import annotations

import asyncio
import functools
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import jinja2
import msgspec
from PIL import ImageFile

from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.console.rendering import TEMPLATES
from workbench.dashboard import figures, numbers
from workbench.dashboard.console import FUNNEL_STEPS  # the dashboard's words for the steps
from workbench.reports import charts
from workbench.reports import queries as q

if TYPE_CHECKING:
    from mobile_contracts.v1 import funnels as funnel_wire
    from workbench.db import Connection
    from workbench.security.vault import Vault

FONT_FAMILY = charts.FONT
STATE_LABELS = {"open": "待处理", "in_progress": "处理中", "resolved": "已解决", "closed": "已关闭"}
MAX_RMS = 500  # rows of the per-RM table (a large branch has 200 RMs)
CHART_RMS = 20  # bars of the per-RM chart, in rank order (fits the first page)
MAX_FUNNEL_ROWS = 20
LOW_SCORES = 10  # responses whose low scores the report lists (the newest)
PARTIAL_WEEK = "*"  # a week the month covers only part of (as the dashboard marks it)
# Times in the tables (a low score answered, a work order due) with their year: a report is read
# long after its month, and a work order may be due in another year.
DATE_TIME = "%Y-%m-%d %H:%M"


def month_title(month: date) -> str:
    """`2026年11月经营月报`."""
    return f"{month.year}年{month.month}月经营月报"


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(today: date) -> date:
    """The month before the one `today` is in."""
    first = today.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def month_end(month: date, tz: str) -> datetime:
    """The instant the month ends in the bank's time zone."""
    return datetime.combine(next_month(month), time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ReportData:
    """What one report shows, read in one snapshot."""

    unit_name: str
    month: date
    generated_at: datetime
    view: numbers.View
    rms: list[numbers.RmRow]
    teams: list[numbers.TeamRow]
    weeks: list[numbers.WeekPoint]
    funnel: funnel_wire.Funnel
    satisfaction: numbers.Satisfaction
    low_scores: list[numbers.LowScore]
    work_order_counts: numbers.WorkOrderCounts
    work_orders: list[numbers.WorkOrderRow]
    low_score_total: int = 0  # the month's low scores in all (the report lists the newest)


def report_caller(unit_id: uuid.UUID, head_id: uuid.UUID | None) -> Caller:
    """The branch head of the unit as the numbers see them (their scope and their masking), for
    the worker that has no signed-in user."""
    return Caller(
        user_id=head_id or uuid.UUID(int=0),
        role=Role.BRANCH_HEAD,
        org_unit_id=unit_id,
        session_id=uuid.UUID(int=0),
        device_id="monthly-report",
    )


async def gather(
    conn: Connection, vault: Vault, *, unit_id: uuid.UUID, month: date, tz: str, now: datetime
) -> ReportData:
    """The numbers of the branch's dashboard for the month (`?unit=&from=&to=` of that month;
    the current month up to today: its days to come have nothing to count yet). Call inside a
    (repeatable read) transaction so that every part agrees."""
    heads = await q.branch_heads(conn, unit_id)
    caller = report_caller(unit_id, heads[0] if heads else None)
    last_day = min(next_month(month) - timedelta(days=1), now.astimezone(ZoneInfo(tz)).date())
    view = await numbers.view(
        conn, caller=caller, org_unit_id=unit_id, from_=month.isoformat(),
        to=last_day.isoformat(), tz=tz, now=now,
    )  # fmt: skip
    # A report leaves the system (mailed, printed, read by head office as well as the branch): it
    # names no customer, as head office sees them ('*'); the console has them for those who may.
    printed = msgspec.structs.replace(caller, role=Role.ADMIN)
    return ReportData(
        unit_name=view.unit_name,
        month=month,
        generated_at=now,
        view=view,
        rms=await numbers.rm_progress(conn, view),
        teams=await numbers.teams(conn, view),
        weeks=await numbers.weekly_trend(conn, view),
        funnel=await numbers.share_funnel(conn, caller, view),
        satisfaction=await numbers.satisfaction(conn, view),
        low_scores=await numbers.low_scores(conn, vault, printed, view, limit=LOW_SCORES),
        work_order_counts=await numbers.work_order_counts(conn, view),
        work_orders=await numbers.work_orders(conn, vault, printed, view, limit=20),
        low_score_total=await numbers.low_score_count(conn, view),
    )


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "reports" / "pdf"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def font_path() -> Path:
    """Noto Sans SC, shipped as a file by the pylopdf-fonts-zh-cn package."""
    from pylopdf_fonts_zh_cn import sans_path

    return Path(sans_path()).resolve()


def _week_label(week_start: date, view: numbers.View) -> str:
    """A week by its Monday (`11-03`), marked `*` when the month covers only part of it."""
    partial = PARTIAL_WEEK if numbers.partial_week(week_start, view) else ""
    return f"{week_start:%m-%d}{partial}"


def render_html(data: ReportData, *, bank_name: str, tz: str) -> str:
    """The report's HTML page (what WeasyPrint lays out)."""
    zone = ZoneInfo(tz)
    assigned = sum(r.assigned for r in data.rms)
    done = sum(r.done for r in data.rms)
    overdue = sum(r.overdue for r in data.rms)
    total = data.funnel.total
    steps = [(label, getattr(total, key)) for key, label in FUNNEL_STEPS]
    wo_by_rm = data.work_order_counts.by_rm
    week_labels = [_week_label(w.week_start, data.view) for w in data.weeks]
    sat_weeks = data.satisfaction.weeks
    sat_labels = [_week_label(p.week_start, data.view) for p in sat_weeks]
    nps = figures.score_text(data.satisfaction.nps, signed=True)  # +37.5, as the dashboard
    csat = data.satisfaction.csat
    csat_text = figures.score_text(csat) + ("%" if csat is not None else "")
    score = figures.score_value
    context: dict[str, Any] = {
        "font_url": font_path().as_uri(),
        "font_family": FONT_FAMILY,
        "bank_name": bank_name,
        "title": month_title(data.month),
        "unit_name": data.unit_name,
        "month": data.month,
        "first_day": data.view.first_day,
        "last_day": data.view.end_day - timedelta(days=1),
        "generated_at": data.generated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "kpis": [
            (
                "任务完成率",
                figures.percent_text(done, assigned),
                f"完成 {done} / 分派 {assigned}",
            ),
            ("逾期任务", str(overdue), "截至生成时"),
            (
                "分享 → 转化",
                f"{total.shared} → {total.converted}",
                f"打开率 {figures.percent_text(total.opened, total.shared)}"
                f" · 转化率 {figures.percent_text(total.converted, total.shared)}",
            ),
            ("NPS", nps, f"{data.satisfaction.responses} 份回答"),
            ("CSAT", csat_text, "4–5 分占比"),
            (
                "未结工单",
                str(data.work_order_counts.open),
                f"其中逾期 {data.work_order_counts.overdue}",
            ),
        ],
        "rms": [
            {
                "row": r,
                "rate": r.rate_text,
                "work_orders": wo_by_rm.get(r.rm_id, (0, 0)),
            }
            for r in data.rms[:MAX_RMS]
        ],
        "more_rms": max(len(data.rms) - MAX_RMS, 0),
        "chart_rms": min(len(data.rms), CHART_RMS),
        "all_rms": len(data.rms),
        "rm_chart": charts.bars(
            [charts.BarGroup(r.name, (r.done, r.overdue)) for r in data.rms[:CHART_RMS]],
            [charts.Series("完成", charts.BLUE), charts.Series("逾期", charts.RED)],
            title="各客户经理完成与逾期任务数",
        ),
        "trend_chart": charts.lines(
            week_labels,
            [
                charts.Line(
                    "完成率",
                    charts.BLUE,
                    tuple(w.rate_percent for w in data.weeks),
                )
            ],
            title="每周任务完成率",
            y_min=0,
            y_max=100,
            y_suffix="%",
        ),
        "weeks": [
            {"label": label, "w": w, "rate": w.rate_text}
            for label, w in zip(week_labels, data.weeks, strict=True)
        ],
        "partial_weeks": PARTIAL_WEEK in "".join(week_labels + sat_labels),
        "teams": [{"row": t, "rate": t.rate_text} for t in data.teams],
        "funnel_chart": charts.funnel(steps, title="分享转化漏斗"),
        "funnel_steps": [
            {
                "label": label,
                "count": count,
                "rate": figures.percent_text(count, steps[i - 1][1]) if i else figures.NONE,
                "of_shared": figures.percent_text(count, total.shared),
            }
            for i, (label, count) in enumerate(steps)
        ],
        "funnel_rows": data.funnel.rows[:MAX_FUNNEL_ROWS],
        "satisfaction": data.satisfaction,
        "nps": nps,
        "csat": csat_text,
        "sat_chart": charts.lines(
            sat_labels,
            [
                charts.Line("NPS", charts.GREEN, tuple(score(p.nps) for p in sat_weeks)),
                charts.Line("CSAT（%）", charts.AMBER, tuple(score(p.csat) for p in sat_weeks)),
            ],
            title="NPS 与 CSAT 每周趋势",
            y_min=-100,
            y_max=100,
        ),
        "low_scores": [
            {
                "s": s,
                "at": s.answered_at.astimezone(zone).strftime(DATE_TIME),
                "scale": "NPS" if s.scale == "nps" else "评分",
            }
            for s in data.low_scores
        ],
        "low_score_total": max(data.low_score_total, len(data.low_scores)),
        "work_order_counts": data.work_order_counts,
        "work_orders": [
            {
                "w": w,
                "state": STATE_LABELS.get(w.state, w.state),
                "due": w.due_at.astimezone(zone).strftime(DATE_TIME),
            }
            for w in data.work_orders
        ],
    }
    return _environment().get_template("report.html").render(context)


_RENDERING = threading.Lock()
_IMPORTING = threading.Lock()


@dataclass(frozen=True, slots=True)
class Pdf:
    data: bytes
    pages: int


def _weasyprint() -> Any:
    """WeasyPrint, without the side effect of its import: it turns on Pillow's
    `LOAD_TRUNCATED_IMAGES` for the whole process, after which the photo and brochure intakes
    of the same process would take half a JPEG for an image. The report gives it no images."""
    with _IMPORTING:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        import weasyprint

        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return weasyprint


@functools.cache
def _only_the_font() -> Any:
    """WeasyPrint's URL fetcher: the embedded font file and nothing else (no network). A
    subclass of its URLFetcher (WeasyPrint 70 takes no plain function: given one, it failed to
    load the font and quietly laid the report out in whatever fonts the machine had)."""
    weasyprint = _weasyprint()

    class OnlyTheFont(weasyprint.URLFetcher):  # type: ignore[misc, name-defined]
        def __call__(self, url: str) -> Any:  # how WeasyPrint asks for each resource
            if url != font_path().as_uri():
                raise ValueError(f"the report fetches nothing but its font: {url[:80]}")
            return super().__call__(url)

    return OnlyTheFont(allowed_protocols=("file",), fail_on_errors=True)


def write_pdf(html: str, *, title: str) -> Pdf:
    """Lay the page out on A4 and write the PDF (CPU-bound: call it in a thread)."""
    weasyprint = _weasyprint()

    # One at a time per process: WeasyPrint's font loading (fontconfig, Pango) is not safe
    # across threads, and two reports of one worker would fall back to other fonts.
    with _RENDERING:
        document = weasyprint.HTML(string=html, url_fetcher=_only_the_font()).render()
        document.metadata.title = title
        document.metadata.lang = "zh-CN"
        data = document.write_pdf()
    assert data is not None
    return Pdf(data=data, pages=len(document.pages))


async def build_pdf(data: ReportData, *, bank_name: str, tz: str) -> Pdf:
    """The report of `data` as a PDF, laid out off the event loop."""
    html = render_html(data, bank_name=bank_name, tz=tz)
    return await asyncio.to_thread(
        write_pdf, html, title=f"{data.unit_name} {month_title(data.month)}"
    )

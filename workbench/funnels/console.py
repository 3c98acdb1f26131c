"""The funnel pages of the staff console (/console/funnels): the funnel of a period by brochure,
RM or org unit, top groups first, each step as a bar of its share of `shared`, and the same rows
as a CSV file; a brochure's own funnel (/console/funnels/brochures/{id}: its shares by RM or org
unit, and their CSV at .../funnel.csv). Same service, scope and rules as GET /api/v1/funnels.

By org unit, the rows are the units right below the one looked at (`unit`; at first the
caller's own, or the bank: its branches for marketing, a branch's teams for its head), and a
unit's row opens its own units below; every grouping keeps to the unit looked at."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery

from mobile_contracts.v1 import funnels as wire
from workbench.access import Caller
from workbench.audit import downloads
from workbench.console import Console, nav, visible_to
from workbench.db import Connection
from workbench.funnels import views
from workbench.http.deps import CurrentCaller, Db

PATH = "/funnels"
PAGE_ROWS = 50
STEPS = views.STEP_LABELS
GROUPS = (
    (wire.FunnelGroupBy.BROCHURE, "按宣传册"),
    (wire.FunnelGroupBy.RM, "按客户经理"),
    (wire.FunnelGroupBy.SUB_UNIT, "按机构"),
)
PERIODS = (("7d", "最近 7 天", 7), ("30d", "最近 30 天", 30), ("90d", "最近 90 天", 90))
# The CSV's columns in the page's words: its rows' names, the steps, then the raw figures.
NAMED = {
    wire.FunnelGroupBy.BROCHURE: "宣传册",
    wire.FunnelGroupBy.RM: "客户经理",
    wire.FunnelGroupBy.ORG_UNIT: "机构",
    wire.FunnelGroupBy.SUB_UNIT: "机构",
}
FIGURES = (("visitors", "访客"), ("conversions", "转化笔数"))
# A brochure's funnel: its shares by who shared them.
BROCHURE_GROUPS = GROUPS[1:]


async def _funnel(
    request: Request[Any, Any, Any],
    db: Db,
    caller: Any,
    group_by: str | None,
    period: str | None,
    limit: int,
    *,
    groups: tuple[tuple[wire.FunnelGroupBy, str], ...] = GROUPS,
    brochure_id: UUID | None = None,
    unit: UUID | None = None,
) -> tuple[wire.Funnel, str, str]:
    group = next((g for g, _ in groups if g.value == group_by), groups[0][0])
    chosen = next((p for p in PERIODS if p[0] == period), PERIODS[1])
    tz = request.app.state.settings.bank_timezone
    _, end = views.period(None, None, tz=tz, now=datetime.now(UTC))
    funnel = await views.funnel(
        db, caller=caller, group_by=group, start=end - timedelta(days=chosen[2]), end=end,
        org_unit_id=unit, limit=limit, brochure_id=brochure_id,
    )  # fmt: skip
    return funnel, group.value, chosen[0]


def _page(funnel: wire.Funnel) -> dict[str, Any]:
    """What the funnel's include shows: the total's steps and each group's, under the name of
    what its rows are (客户经理, 机构, 宣传册: the CSV's heading)."""
    return {
        "funnel": funnel,
        "group_label": NAMED[funnel.group_by],
        "steps": [(key, label, getattr(funnel.total, key)) for key, label in STEPS],
        "rows": [
            {"row": r, "steps": [(label, getattr(r, key)) for key, label in STEPS[1:]]}
            for r in funnel.rows
        ],
    }


@get(PATH, opt=visible_to(*nav.FUNNELS.roles), name="console:funnels")
async def funnel_page(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    group_by: FromQuery[str | None] = None,
    period: FromQuery[str | None] = None,
    unit: FromQuery[UUID | None] = None,
) -> Response[Any]:
    """The funnel of the chosen period and grouping (within the unit looked at), most shares
    first. A unit the caller may not see is the 404 page."""
    funnel, group, chosen = await _funnel(
        request, db, caller, group_by, period, PAGE_ROWS, unit=unit
    )
    within = f"&unit={unit}" if unit else ""
    query = f"group_by={group}&period={chosen}{within}"
    row_href: Callable[[Any], str | None] | None = None
    if group == wire.FunnelGroupBy.BROCHURE.value:
        row_href = _brochure_href(chosen, unit)
    elif group == wire.FunnelGroupBy.SUB_UNIT.value:
        row_href = _unit_href(chosen, unit)
    groups = [(g.value, label) for g, label in GROUPS]
    periods = [(p, label) for p, label, _ in PERIODS]
    return console.render(
        "funnels/index.html",
        {
            **_page(funnel),
            "row_href": row_href,
            "unit_name": await views.unit_name(db, unit) if unit else None,
            "all_units_href": f"/console{PATH}?group_by={group}&period={chosen}",
            "group_chips": _chips(groups, "group_by", group, f"period={chosen}{within}"),
            "period_chips": _chips(periods, "period", chosen, f"group_by={group}{within}"),
            "csv_href": f"/console{PATH}.csv?{query}",
        },
    )


@get(
    f"{PATH}/brochures/{{brochure_id:uuid}}",
    opt=visible_to(*nav.FUNNELS.roles),
    name="console:funnels-brochure",
)
async def brochure_funnel_page(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[UUID],
    group_by: FromQuery[str | None] = None,
    period: FromQuery[str | None] = None,
    unit: FromQuery[UUID | None] = None,
) -> Response[Any]:
    """One brochure's funnel over the chosen period: its shares by RM or org unit (of the
    caller's scope: a branch head sees their subtree's shares of it; `unit`: within that unit,
    as the brochure's row of the unit's list counts them). A brochure unknown or not the
    caller's to name (`views.brochure_viewer`: another unit's draft), or a unit the caller may
    not see, is the 404 page."""
    title = await views.brochure_title(db, caller=caller, brochure_id=brochure_id)
    funnel, group, chosen = await _funnel(
        request, db, caller, group_by, period, PAGE_ROWS,
        groups=BROCHURE_GROUPS, brochure_id=brochure_id, unit=unit,
    )  # fmt: skip
    here = f"/console{PATH}/brochures/{brochure_id}"
    within = f"&unit={unit}" if unit else ""
    groups = [(g.value, label) for g, label in BROCHURE_GROUPS]
    group_chips = _chips(groups, "group_by", group, f"period={chosen}{within}", path=here)
    periods = [(p, label) for p, label, _ in PERIODS]
    period_chips = _chips(periods, "period", chosen, f"group_by={group}{within}", path=here)
    return console.render(
        "funnels/brochure.html",
        {
            **_page(funnel),
            "row_href": None,
            "brochure_title": title,
            "unit_name": await views.unit_name(db, unit) if unit else None,
            "all_units_href": f"{here}?group_by={group}&period={chosen}",
            "group_chips": group_chips,
            "period_chips": period_chips,
            "back_href": f"/console{PATH}?group_by=brochure&period={chosen}{within}",
            "csv_href": f"{here}/funnel.csv?group_by={group}&period={chosen}{within}",
        },
    )


@get(f"{PATH}.csv", opt=visible_to(*nav.FUNNELS.roles), name="console:funnels-csv")
async def funnel_csv(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    group_by: FromQuery[str | None] = None,
    period: FromQuery[str | None] = None,
    unit: FromQuery[UUID | None] = None,
) -> Response[bytes]:
    """Every group of the page (up to 500) as CSV, for a spreadsheet; in the audit trail as
    downloaded (`export.downloaded`, as the dashboard's exports)."""
    funnel, group, chosen = await _funnel(
        request, db, caller, group_by, period, wire.MAX_FUNNEL_ROWS, unit=unit
    )
    tz = request.app.state.settings.bank_timezone
    await _record_download(
        request, db, caller, "funnels", funnel, tz, group_by=group, period=chosen, unit=unit
    )
    return _csv(funnel, f"funnels-{group}-{chosen}-{_days(funnel, tz)}.csv")


@get(
    f"{PATH}/brochures/{{brochure_id:uuid}}/funnel.csv",
    opt=visible_to(*nav.FUNNELS.roles),
    name="console:funnels-brochure-csv",
)
async def brochure_funnel_csv(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    brochure_id: FromPath[UUID],
    group_by: FromQuery[str | None] = None,
    period: FromQuery[str | None] = None,
    unit: FromQuery[UUID | None] = None,
) -> Response[bytes]:
    """A brochure's groups (up to 500, within `unit` if given) as CSV; audited as the page's."""
    # A brochure unknown or not the caller's to name: 404, as the page.
    await views.brochure_title(db, caller=caller, brochure_id=brochure_id)
    funnel, group, chosen = await _funnel(
        request, db, caller, group_by, period, wire.MAX_FUNNEL_ROWS,
        groups=BROCHURE_GROUPS, brochure_id=brochure_id, unit=unit,
    )  # fmt: skip
    tz = request.app.state.settings.bank_timezone
    await _record_download(
        request, db, caller, "brochure_funnel", funnel, tz,
        group_by=group, period=chosen, unit=unit, brochure=brochure_id,
    )  # fmt: skip
    return _csv(funnel, f"funnel-brochure-{brochure_id}-{group}-{chosen}-{_days(funnel, tz)}.csv")


def _days(funnel: wire.Funnel, tz: str) -> str:
    """The bank days the funnel covers, first and last included: 20261106-20261205."""
    first, last = _first_and_last(funnel, tz)
    return f"{first:%Y%m%d}-{last:%Y%m%d}"


def _first_and_last(funnel: wire.Funnel, tz: str) -> tuple[date, date]:
    """The first and last bank day of the funnel (`to` is the exclusive end: the day after the
    last)."""
    zone = ZoneInfo(tz)
    first = funnel.from_.astimezone(zone)
    last = (funnel.to - timedelta(microseconds=1)).astimezone(zone)
    return first.date(), last.date()


async def _record_download(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    table: str,
    funnel: wire.Funnel,
    tz: str,
    *,
    group_by: str,
    period: str,
    unit: UUID | None,
    brochure: UUID | None = None,
) -> None:
    """The CSV in the audit trail: who, from where, the grouping, the days, the unit and
    brochure (ids), how many rows; never a row's name."""
    first, last = _first_and_last(funnel, tz)
    filters = {"group_by": group_by, "period": period, "from": first.isoformat(),
               "to": last.isoformat()}  # fmt: skip
    if unit is not None:
        filters["unit"] = str(unit)
    if brochure is not None:
        filters["brochure"] = str(brochure)
    await downloads.table_downloaded(
        db, request, caller, table=table, fmt="csv", filters=filters, rows=len(funnel.rows)
    )


def _csv(funnel: wire.Funnel, name: str) -> Response[bytes]:
    """The funnel's groups as a CSV attachment."""
    out = io.StringIO()
    writer = csv.writer(out)
    headed = (*STEPS, *FIGURES)
    columns = tuple(field for field, _ in headed)
    writer.writerow(("编号", NAMED[funnel.group_by], *(label for _, label in headed)))
    for row in funnel.rows:
        writer.writerow((row.key, _cell(row.label), *(getattr(row, c) for c in columns)))
    # With a BOM, spreadsheet programs read the Chinese labels as UTF-8.
    body = ("\ufeff" + out.getvalue()).encode()
    return Response(
        body,
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",  # RMs' names and numbers: no cache keeps them
        },
    )


def _cell(text: str) -> str:
    """A label a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _chips(
    options: list[tuple[str, str]],
    name: str,
    current: str,
    other: str,
    *,
    path: str = f"/console{PATH}",
) -> list[dict[str, Any]]:
    return [
        {"label": label, "href": f"{path}?{name}={value}&{other}", "current": value == current}
        for value, label in options
    ]


def _brochure_href(period: str, unit: UUID | None) -> Callable[[Any], str | None]:
    """The link of a brochure row: that brochure's funnel over the same period, within the same
    unit (its row counts that unit's shares of it)."""
    within = f"&unit={unit}" if unit else ""
    return lambda key: f"/console{PATH}/brochures/{key}?period={period}{within}"


def _unit_href(period: str, unit: UUID | None) -> Callable[[Any], str | None]:
    """The link of a unit row: the units below it (none for the unit looked at itself: its row
    holds the shares made right at it)."""
    group = wire.FunnelGroupBy.SUB_UNIT.value
    return lambda key: (
        None if key == unit else f"/console{PATH}?group_by={group}&period={period}&unit={key}"
    )


PAGES = [funnel_page, funnel_csv, brochure_funnel_page, brochure_funnel_csv]

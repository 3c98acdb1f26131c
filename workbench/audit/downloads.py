"""Downloads of customer data in the audit trail: who took which file, from where, with what
filters (ids and days, never personal data). The exports (`workbench.exports.routes`) record
theirs as `export.started` / `export.downloaded`; survey results here, and the tables a console
page downloads itself (the funnels' CSV) as the exports' direct downloads."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workbench.audit import queries
from workbench.http.client_ip import request_ip

if TYPE_CHECKING:
    from litestar import Request

    from workbench.access import Caller
    from workbench.db import Connection
    from workbench.surveys.results import Target

SURVEY_RESULTS_EXPORTED = "survey_results.exported"
EXPORT_DOWNLOADED = "export.downloaded"


def address(request: Request[Any, Any, Any]) -> str:
    """The downloader's address, as sign-in records it (relay headers from trusted proxies)."""
    return request_ip(request)


async def survey_results(
    conn: Connection, request: Request[Any, Any, Any], caller: Caller, target: Target, fmt: str
) -> None:
    """A survey's results downloaded as `fmt` (csv, xlsx), through the API or the console: the
    survey, the scope's unit and the period's days."""
    period = target.period
    await queries.record(
        conn,
        action=SURVEY_RESULTS_EXPORTED,
        actor_id=caller.user_id,
        subject=f"survey:{target.survey_id}",
        client_ip=address(request),
        detail={
            "format": fmt,
            "audience": str(target.audience),
            "org_unit_id": str(target.root["id"]),
            "from": period.first_day.isoformat(),
            "to": (period.end_day - timedelta(days=1)).isoformat(),
        },
    )


async def table_downloaded(
    conn: Connection,
    request: Request[Any, Any, Any],
    caller: Caller,
    *,
    table: str,
    fmt: str,
    filters: dict[str, str],
    rows: int,
) -> None:
    """A console page's table downloaded at once as `fmt`, recorded as a direct download from
    `/console/exports/new` is (`export.downloaded` about `export_table:<table>`, the detail of
    `workbench.exports.service.audit_detail`): `filters` are ids, choices and days."""
    await queries.record(
        conn,
        action=EXPORT_DOWNLOADED,
        actor_id=caller.user_id,
        subject=f"export_table:{table}",
        client_ip=address(request),
        detail={"table": table, "format": fmt, "filters": filters, "rows": rows, "direct": True},
    )

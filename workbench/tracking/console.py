"""The admin page of filtered hits (/console/tracking/filtered): what the bot rules labelled,
by reason, with how many, when last and an example user agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Response, get
from litestar.params import FromQuery

from workbench.console import Console, nav, visible_to
from workbench.http.deps import Db
from workbench.tracking import bots, queries

PATH = "/tracking/filtered"
MAX_REASONS = 200
# (query value, label, how far back)
PERIODS: tuple[tuple[str, str, timedelta], ...] = (
    ("24h", "最近 24 小时", timedelta(hours=24)),
    ("7d", "最近 7 天", timedelta(days=7)),
    ("30d", "最近 30 天", timedelta(days=30)),
)


@get(PATH, opt=visible_to(*nav.TRACKING.roles), name="console:tracking-filtered")
async def filtered_hits(
    db: Db, console: Console, period: FromQuery[str | None] = None
) -> Response[Any]:
    """Bot-labelled hits of the chosen period grouped by reason, the most recent first."""
    chosen = next((p for p in PERIODS if p[0] == period), PERIODS[1])
    rows = await queries.filtered_by_reason(
        db, since=datetime.now(UTC) - chosen[2], limit=MAX_REASONS
    )
    return console.render(
        "tracking/filtered.html",
        {
            "rows": [{**r, "label": bots.reason_label(r["reason"])} for r in rows],
            "chips": [
                {
                    "label": label,
                    "href": f"/console{PATH}?period={value}",
                    "current": value == chosen[0],
                }
                for value, label, _ in PERIODS
            ],
        },
    )


PAGES = [filtered_hits]

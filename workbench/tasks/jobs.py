"""Scheduled jobs of the task inbox (thin: a transaction, then the service). Idempotent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from workbench.settings import Settings
from workbench.tasks import dispatching, lifecycle, queries

log = logging.getLogger("workbench.tasks.jobs")
MAX_CATCH_UP = 12  # periods per series per run, so a long outage catches up in bounded steps


async def expire_tasks(ctx: dict[str, Any]) -> int:
    """Every minute: expire open tasks past their expiry."""
    async with ctx["pool"].acquire() as conn, conn.transaction():
        count = await lifecycle.expire_overdue(conn)
    if count:
        log.info("tasks expired", extra={"count": count})
    return count


async def open_recurring_periods(ctx: dict[str, Any]) -> int:
    """Every minute: create the tasks of recurring series whose next period has started."""
    settings: Settings = ctx["settings"]
    tz, now, created = settings.bank_timezone, datetime.now(UTC), 0
    async with ctx["pool"].acquire() as conn:
        for series in await queries.recurring_dispatches(conn):
            last = series["last_period"]
            for _ in range(MAX_CATCH_UP):
                upcoming = (
                    dispatching.following_period(series, after_start=last, tz=tz) if last else None
                )
                if upcoming is None or upcoming.start > now:
                    break
                async with conn.transaction():
                    created += await dispatching.open_next_period(
                        conn, dispatch_row=series, after_start=last, tz=tz
                    )
                last = upcoming.start
    if created:
        log.info("recurring tasks created", extra={"count": created})
    return created

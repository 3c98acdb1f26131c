"""Scheduled jobs of the task inbox (thin: a transaction, then the service). Idempotent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from workbench.security.vault import Vault
from workbench.settings import Settings
from workbench.tasks import dispatching, form_values, lifecycle, queries
from workbench.tasks.recurrence import period_at

log = logging.getLogger("workbench.tasks.jobs")


async def expire_tasks(ctx: dict[str, Any]) -> int:
    """Every minute, and at the worker's start: expire open tasks past their expiry; then
    encrypt answers still stored in clear (`seal_form_values`)."""
    async with ctx["pool"].acquire() as conn, conn.transaction():
        count = await lifecycle.expire_overdue(conn)
    if count:
        log.info("tasks expired", extra={"count": count})
    await seal_form_values(ctx)
    return count


async def seal_form_values(ctx: dict[str, Any]) -> int:
    """Encrypt the answers of tasks submitted before migration 0058 (stored in clear), for up
    to `form_values.SEAL_SECONDS` a run, a batch per transaction (`form_values.seal_clear_rows`);
    the next run goes on. Run by `expire_tasks`, the task job every worker runs at its start
    and every minute (`unique`: one run at a time): once none is left it reads one empty
    index."""
    vault = ctx.get("vault")
    if vault is None:
        settings: Settings = ctx["settings"]
        vault = ctx["vault"] = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    return await form_values.seal_clear_rows(ctx["pool"], vault.cipher)


async def open_recurring_periods(ctx: dict[str, Any]) -> int:
    """Every minute: make sure every running recurring series (not ended, its template still
    recurring) has its current period's tasks, at the template's current version (the version
    dispatched for an RM whose unit does not see the template), for the people of its latest
    earlier period (or its unit's RMs today). Idempotent."""
    settings: Settings = ctx["settings"]
    tz, now, created = settings.bank_timezone, datetime.now(UTC), 0
    async with ctx["pool"].acquire() as conn:
        for series in await queries.recurring_dispatches(conn):
            current = period_at(series["recurrence"], anchor=series["anchor"], at=now, tz=tz)
            if current is None:
                continue
            source = await queries.last_period_before(conn, series["id"], current.start)
            if source is None:  # the series began with this period: created at dispatch
                continue
            async with conn.transaction():
                created += await dispatching.open_period(
                    conn, dispatch_row=series, period=current, source_start=source, tz=tz
                )
    if created:
        log.info("recurring tasks created", extra={"count": created})
    return created

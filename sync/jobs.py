"""Scheduled jobs of offline sync. Idempotent; safe on any number of workers."""

from __future__ import annotations

import logging
from typing import Any

from sync import queries
from workbench.settings import Settings

log = logging.getLogger("sync.jobs")
PURGE_BATCH = 50_000


async def purge_changes(ctx: dict[str, Any]) -> int:
    """Daily: changes older than the tombstone retention are deleted, in batches (a pull from a
    cursor older than that starts over with a fresh initial sync), and so are the answers kept
    for pushes retried (a retry older than that is answered `duplicate`); the changes deleted."""
    settings: Settings = ctx["settings"]
    total = await _purge(ctx, queries.purge_changes, settings.sync_retention_days)
    if total:
        log.info("sync changes purged", extra={"count": total})
    answers = await _purge(ctx, queries.purge_answers, settings.sync_retention_days)
    if answers:
        log.info("sync push answers purged", extra={"count": answers})
    return total


async def _purge(ctx: dict[str, Any], purge: Any, days: int) -> int:
    total = 0
    while True:
        async with ctx["pool"].acquire() as conn:
            purged: int = await purge(conn, older_than_days=days, batch=PURGE_BATCH)
        total += purged
        if purged < PURGE_BATCH:
            return total

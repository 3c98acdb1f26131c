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
    cursor older than that starts over with a fresh initial sync)."""
    settings: Settings = ctx["settings"]
    total = 0
    while True:
        async with ctx["pool"].acquire() as conn:
            purged = await queries.purge_changes(
                conn, older_than_days=settings.sync_retention_days, batch=PURGE_BATCH
            )
        total += purged
        if purged < PURGE_BATCH:
            break
    if total:
        log.info("sync changes purged", extra={"count": total})
    return total

"""arq jobs of share tracking (thin: a connection, then the service)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from workbench.settings import Settings
from workbench.tracking import partitions

log = logging.getLogger("workbench.tracking")


async def maintain_hit_partitions(ctx: dict[str, Any]) -> tuple[int, int]:
    """Daily: share_hits partitions for the next months; those past retention dropped."""
    settings: Settings = ctx["settings"]
    async with ctx["pool"].acquire() as conn, conn.transaction():
        created, dropped = await partitions.maintain(
            conn, retention_months=settings.tracking_retention_months, now=datetime.now(UTC)
        )
    if created or dropped:
        log.info(
            "share_hits partitions",
            extra={"partitions_created": created, "partitions_dropped": dropped},
        )
    return created, dropped

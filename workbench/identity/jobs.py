"""Background jobs of identity (thin: one transaction, then the queries)."""

from __future__ import annotations

import logging
from typing import Any

from workbench.identity import queries

log = logging.getLogger("workbench.identity.jobs")
KEEP_EXPIRED_DAYS = 7


async def purge_expired_refresh_tokens(ctx: dict[str, Any]) -> int:
    """Daily: forget refresh tokens expired over a week ago (idempotent)."""
    async with ctx["pool"].acquire() as conn, conn.transaction():
        purged = await queries.purge_expired_refresh_tokens(conn, older_than_days=KEEP_EXPIRED_DAYS)
    log.info("purged expired refresh tokens", extra={"count": purged})
    return purged

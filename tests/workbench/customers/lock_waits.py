"""Making two transactions meet: hold rows, start both, release once both wait for a lock."""

from __future__ import annotations

import asyncio
from typing import Any


async def until_waiting_for_locks(db: Any, sessions: int) -> None:
    """Until this many other sessions of the test database wait for a lock (they run in the
    background on connections of their own; the API test client would run them one by one)."""
    for _ in range(1200):
        waiting = await db.fetchval(
            "select count(*) from pg_stat_activity where datname = current_database()"
            " and pid <> pg_backend_pid() and wait_event_type = 'Lock'"
        )
        if waiting >= sessions:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{sessions} sessions never waited for a lock")

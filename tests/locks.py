"""Sequencing two transactions through PostgreSQL's lock table, for tests of what happens when
two requests meet: the test holds one transaction open, starts the other, and lets the first
commit only once the second waits for it (or has finished without waiting)."""

from __future__ import annotations

import asyncio
from typing import Any


async def waits_for_a_lock(db: Any, pid: int, task: asyncio.Task[Any]) -> bool:
    """Whether the session `pid` waits for a lock (True) or `task`, which runs on it, ended
    first (False)."""
    async with asyncio.timeout(30):
        while not task.done():
            if await db.fetchval(
                "select exists (select from pg_locks where pid = $1 and not granted)", pid
            ):
                return True
            await asyncio.sleep(0.01)
    return False

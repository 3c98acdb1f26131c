"""SQL of the operations endpoints."""

from __future__ import annotations

from workbench.db import Pool


async def database_answers(pool: Pool) -> bool:
    async with pool.acquire(timeout=2) as conn:
        return bool(await conn.fetchval("select true", timeout=2))

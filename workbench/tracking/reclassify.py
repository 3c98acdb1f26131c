"""Re-classification: the stored hits get the verdicts of the current bot rules, and the
per-visitor rollup of every share whose hits were looked at is rebuilt from its human hits.

One transaction per batch of shares, so a long run can be stopped and started again. The rate flag
is not in the user agent: a hit labelled 'rate' at the door stays 'rate'. Only hits still kept
(partitions within retention) are counted in a rebuilt rollup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.tracking import bots, queries

SHARES_PER_BATCH = 200


@dataclass(frozen=True, slots=True)
class Reclassified:
    shares: int
    changed_hits: int


async def reclassify(pool: Any, *, since: datetime | None = None) -> Reclassified:
    """Relabel the hits of the shares hit since `since` (all if None) and rebuild their rollup."""
    async with pool.acquire() as conn:
        shares = await queries.shares_hit_since(conn, since)
        changed = 0
        for i in range(0, len(shares), SHARES_PER_BATCH):
            batch = shares[i : i + SHARES_PER_BATCH]
            async with conn.transaction():
                labels = []
                for row in await queries.user_agents_of(conn, batch):
                    label = bots.verdict(row["user_agent"], row["limited"])
                    labels.append((row["user_agent"], row["limited"], *label))
                changed += await queries.relabel(conn, batch, labels)
                await queries.rebuild_visitors(conn, batch)
    return Reclassified(shares=len(shares), changed_hits=changed)

"""SQL of offline sync: the change log."""

from __future__ import annotations

from workbench.db import Connection


async def purge_changes(conn: Connection, *, older_than_days: int, batch: int) -> int:
    """Delete up to `batch` changes older than the retention; the number deleted."""
    result: str = await conn.execute(
        """
        delete from sync_changes
         where (txid, seq) in (select txid, seq from sync_changes
                                where changed_at < now() - make_interval(days => $1)
                                limit $2)
        """,
        older_than_days,
        batch,
    )
    return int(result.rsplit(" ", 1)[-1])

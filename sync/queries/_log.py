"""The change log: its horizon, the changes after a position, and its retention."""

from __future__ import annotations

import uuid

from sync.queries._common import Record
from workbench.db import Connection


async def horizon(conn: Connection) -> int:
    """xmin of a fresh snapshot: every transaction below it has finished."""
    return int(await conn.fetchval("select pg_snapshot_xmin(pg_current_snapshot())::text"))


async def changes_after(
    conn: Connection,
    *,
    users: list[uuid.UUID],
    subtree_root: uuid.UUID | None,
    txid: int,
    seq: int,
    below_txid: int,
    limit: int,
) -> list[Record]:
    """The partition's changes after (txid, seq) of transactions below `below_txid`, in order.
    With `subtree_root`, the tasks of that subtree's users too (a branch head)."""
    return await conn.fetch(
        """
        select l.txid::text::bigint as txid, l.seq, l.user_id, l.entity, l.entity_key
          from sync_log l
         where (l.user_id = any($1::uuid[])
                or ($2::uuid is not null and l.entity = 'task'
                    and l.user_id = any(array(select s.id from subtree_users($2) s(id)))))
           and l.txid >= $3::text::xid8 and (l.txid, l.seq) > ($3::text::xid8, $4::bigint)
           and l.txid < $5::text::xid8
         order by l.txid, l.seq
         limit $6
        """,
        users,
        subtree_root,
        str(txid),
        seq,
        str(below_txid),
        limit,
    )


async def purge_answers(conn: Connection, *, older_than_days: int, batch: int) -> int:
    """Delete up to `batch` kept answers older than the retention; the number deleted."""
    return await _purge(conn, "sync_answers", "answered_at", older_than_days, batch)


async def purge_changes(conn: Connection, *, older_than_days: int, batch: int) -> int:
    """Delete up to `batch` changes older than the retention; the number deleted."""
    return await _purge(conn, "sync_log", "changed_at", older_than_days, batch)


async def _purge(conn: Connection, table: str, stamp: str, older_than_days: int, batch: int) -> int:
    """Delete up to `batch` rows of `table` whose `stamp` is older than the days given (the
    names are this module's constants, never input); the number deleted."""
    result: str = await conn.execute(
        f"""
        delete from {table}
         where ctid = any(array(select ctid from {table}
                                 where {stamp} < now() - make_interval(days => $1)
                                 limit $2))
        """,
        older_than_days,
        batch,
    )
    return int(result.rsplit(" ", 1)[-1])

"""The feed: one worker tails the whole log to tell apps to pull."""

from __future__ import annotations

import uuid

from sync.queries._common import Record
from workbench.db import Connection

# ---- the feed: tails the whole log to tell apps to pull ----------------------------------------


FEED_LOCK = 0x73796E63  # 'sync': held by the one worker whose feed loop leads


async def take_lead(conn: Connection) -> bool:
    """Lead the feed while this connection lives (or until `give_up_lead`)."""
    led: bool = await conn.fetchval("select pg_try_advisory_lock($1)", FEED_LOCK)
    return led


async def give_up_lead(conn: Connection) -> None:
    await conn.execute("select pg_advisory_unlock($1)", FEED_LOCK)


async def feed_position(conn: Connection) -> tuple[int, int]:
    """Where the feed stands ((0, 0): the start of the log, should the row ever be gone)."""
    row = await conn.fetchrow("select txid::text::bigint as txid, seq from sync_feed")
    return (row["txid"], row["seq"]) if row else (0, 0)


async def feed_changes(
    conn: Connection, *, txid: int, seq: int, below_txid: int, limit: int
) -> list[Record]:
    """Who each change after the feed's position is for (the nil uuid: everyone)."""
    return await conn.fetch(
        """
        select l.txid::text::bigint as txid, l.seq, l.user_id, l.entity
          from sync_log l
         where l.txid >= $1::text::xid8 and (l.txid, l.seq) > ($1::text::xid8, $2::bigint)
           and l.txid < $3::text::xid8
         order by l.txid, l.seq
         limit $4
        """,
        str(txid),
        seq,
        str(below_txid),
        limit,
    )


async def save_feed_position(conn: Connection, txid: int, seq: int) -> None:
    await conn.execute(
        """
        insert into sync_feed (txid, seq) values ($1::text::xid8, $2)
        on conflict (id) do update set txid = excluded.txid, seq = excluded.seq
        """,
        str(txid),
        seq,
    )


async def branch_heads_above(conn: Connection, user_ids: list[uuid.UUID]) -> list[Record]:
    """For each user, the branch heads whose subtree holds them: (user_id, head_id)."""
    return await conn.fetch(
        """
        select u.id as user_id, h.id as head_id
          from users u
          join org_units uu on uu.id = u.org_unit_id
          join org_units hu on uu.path like hu.path || '%'
          join users h on h.org_unit_id = hu.id and h.role = 'branch_head' and h.active
         where u.id = any($1)
        """,
        user_ids,
    )

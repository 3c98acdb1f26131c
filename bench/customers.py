"""Customer butler hot paths against a real API process on scale-model customers.

    python -m bench.customers [--fraction 0.1] [--concurrency 20] [--seconds 15]
                              [--database-url URL --redis-url URL]

Like bench.identity: embedded PostgreSQL and Redis in a temporary folder unless URLs are given
(then a fresh database `wbbench_<random>` and a unique Redis key prefix, both removed at the end).
It migrates, generates the identity data (bench.generate) and the customers
(bench.generate_customers, really encrypted under fresh keys that the API is then started with),
starts
`python -m workbench serve` and measures, each list/detail phase once with one client (latency)
and once with --concurrency clients (throughput):

  1. list     GET /api/v1/customers?limit=50 as rm000001 (5,000 customers at the default):
              walking every page with the cursor, and first pages filtered by surname (q), full
              name (q), a common and a rare tag, and an AUM band; latency per page
  2. detail   GET /api/v1/customers/{id}, the audited 360° view, of rm000001's customers
  3. bulk     POST /api/v1/integration/customers:bulk-upsert of 10,000 new customers, the same
              10,000 again (unchanged), and 10,000 changed (updated, a tenth moving to another RM);
              wall time per request, the server's own time (from its /metrics), and the share of
              encryption and blind indexes measured in-process
  4. explain  EXPLAIN (ANALYZE, BUFFERS) of the product's list query for rm000001 straight through
              asyncpg (first page, last page, filters), as the planner picks it for the values
              (custom plan) and as a cached prepared statement runs it (generic plan)

Figures are printed and written to bench/results/customers-<timestamp>.json. Nothing here passes
or fails; answers that disagree with the data (a walk that does not see 5,000 customers, a
filtered page of the wrong size, a bulk result with the wrong counts) are counted as errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import generate, generate_customers
from bench.generate_customers import Keys
from bench.identity import (
    API_HOST,
    MAX_REQUESTS_PER_PHASE,
    RESULTS_DIR,
    CpuClock,
    Interrupted,
    Phase,
    Target,
    _admin_sql,
    _drop_redis_keys,
    _fmt,
    _outcome,
    _Stop,
    run_phase,
    server_env,
    start_api,
    stop_api,
    wait_ready,
    with_database,
)
from workbench import migrate
from workbench.customers import queries
from workbench.customers.feeds import personal_data_aad, search_indexes
from workbench.customers.personal_data import normalize_name, surname
from workbench.embedded import EmbeddedServers, free_port
from workbench.settings import Settings

PAGE = 50
BULK_ROWS = 10_000  # the feed's maximum per request
BULK_PERSON_BASE = 900_000_000  # person numbers of bulk-fed customers: clear of generated ones
BULK_ROUTE = "/api/v1/integration/customers:bulk-upsert"
COMMON_TAG, RARE_TAG = "payroll", "cross_border"
AUM_BAND = (Decimal(1_000_000), Decimal(6_000_000))  # the "affluent" band, [min, max)


# ---- HTTP helpers ----------------------------------------------------------------------------


def _client(base_url: str, timeout: float = 60.0) -> httpx.AsyncClient:
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


_SERIES = re.compile(r"^workbench_http_request_seconds_(bucket|sum|count)\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
# (method, route template as a regular expression) of the histogram series to read
LIST_ROUTE = ("GET", r"/api/v1/customers")
DETAIL_ROUTE = ("GET", r"/api/v1/customers/\{customer_id[^}]*\}")


@dataclass
class Histogram:
    """The API's own latency histogram of one route (its /metrics), cumulative."""

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
        """Mean, share under 20 ms, and the bucket bound under which 99 % fall."""
        if self.count <= 0:
            return {}
        p99 = next((le for le, n in sorted(self.buckets.items()) if n >= 0.99 * self.count), None)
        return {
            "server_mean_ms": round(1000 * self.seconds / self.count, 2),
            "server_le_20ms_percent": round(100 * self.buckets.get(0.02, 0.0) / self.count, 2),
            "server_p99_at_most_ms": None if p99 is None or p99 == float("inf") else p99 * 1000,
        }


async def _histogram(client: httpx.AsyncClient, method: str, route: str) -> Histogram:
    found = Histogram()
    for line in (await client.get("/metrics")).text.splitlines():
        m = _SERIES.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(2)))
        if labels.get("method") != method or not re.fullmatch(route, labels.get("route", "")):
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
    client: httpx.AsyncClient, method: str, route: str, before: Histogram, at_least: int
) -> Histogram:
    """The histogram once it counts `at_least` more requests (the API counts a request just
    after answering it), or after a second."""
    now = await _histogram(client, method, route)
    for _ in range(20):
        if now.count >= before.count + at_least:
            break
        await asyncio.sleep(0.05)
        now = await _histogram(client, method, route)
    return now


# ---- what rm000001 holds (read straight from the database, decrypted with the keys) -----------


@dataclass
class BigRm:
    login: str
    user_id: uuid.UUID
    customer_ids: list[uuid.UUID]
    names: list[str]  # decrypted, normalized
    tags: list[list[str]]
    aums: list[Decimal]
    keyset: list[tuple[Decimal, uuid.UUID]]  # (aum, id), richest first, as the list orders

    def count(self, predicate: Callable[[int], bool]) -> int:
        return sum(1 for i in range(len(self.customer_ids)) if predicate(i))


async def _big_rm(conn: asyncpg.Connection, keys: Keys, login: str) -> BigRm:
    user_id = await conn.fetchval("select id from users where login = $1", login)
    if user_id is None:
        raise RuntimeError(f"no user {login}")
    rows = await conn.fetch(
        """
        select id, external_id, name_enc, tags, aum from customers
         where owner_id = $1 order by aum desc, id desc
        """,
        user_id,
    )
    vault = keys.vault()
    names = [
        normalize_name(
            vault.cipher.decrypt(r["name_enc"], aad=personal_data_aad("name", r["external_id"]))
        )
        for r in rows
    ]
    return BigRm(
        login=login,
        user_id=user_id,
        customer_ids=[r["id"] for r in rows],
        names=names,
        tags=[list(r["tags"]) for r in rows],
        aums=[r["aum"] for r in rows],
        keyset=[(r["aum"], r["id"]) for r in rows],
    )


# ---- phase 1: the list -----------------------------------------------------------------------


async def _walk(
    clients: list[httpx.AsyncClient],
    *,
    token: str,
    expected: int,
    workers: int,
    seconds: float,
    cpu: CpuClock,
) -> Phase:
    """Workers walk every page of GET /customers?limit=50; latency per page, by depth too."""
    phase = Phase(f"list_walk_x{workers}", workers)
    headers = {"Authorization": f"Bearer {token}"}
    by_depth: dict[int, list[float]] = {}
    walks: list[int] = []
    deadline = time.perf_counter() + seconds

    async def step(w: int, i: int) -> None:
        cursor: str | None = None
        page = seen = 0
        while time.perf_counter() < deadline and not _Stop.requested:
            params = {"limit": str(PAGE), **({"cursor": cursor} if cursor else {})}
            started = time.perf_counter()
            try:
                response = await clients[w].get("/api/v1/customers", params=params, headers=headers)
            except httpx.HTTPError as exc:
                phase.record(started, _outcome(None, exc))
                return
            elapsed_ms = (time.perf_counter() - started) * 1000
            outcome = _outcome(response)
            phase.record(started, outcome)
            if outcome is not None:
                return
            by_depth.setdefault(page, []).append(elapsed_ms)
            body = response.json()
            page += 1
            seen += len(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                walks.append(page)
                if seen != expected:
                    phase.errors[f"walk saw {seen} customers, the RM has {expected}"] += 1
                return

    await run_phase(
        phase,
        workers=workers,
        seconds=seconds,
        max_count=MAX_REQUESTS_PER_PHASE,
        step=step,
        cpu=cpu,
    )
    pages = max(by_depth) + 1 if by_depth else 0
    first = [v for d in range(min(10, pages)) for v in by_depth.get(d, [])]
    last = [v for d in range(max(0, pages - 10), pages) for v in by_depth.get(d, [])]
    phase.notes.update(
        walks_completed=len(walks),
        pages_per_walk=pages,
        p50_ms_first_10_pages=round(statistics.median(first), 2) if first else None,
        p50_ms_last_10_pages=round(statistics.median(last), 2) if last else None,
    )
    return phase


async def _first_pages(
    clients: list[httpx.AsyncClient],
    *,
    name: str,
    token: str,
    queries_: list[tuple[dict[str, str], int]],
    workers: int,
    seconds: float,
    cpu: CpuClock,
) -> Phase:
    """First pages of a filtered list, rotating over (params, expected matches)."""
    phase = Phase(f"{name}_x{workers}", workers)
    headers = {"Authorization": f"Bearer {token}"}

    async def step(w: int, i: int) -> None:
        params, expected = queries_[i % len(queries_)]
        started = time.perf_counter()
        try:
            response = await clients[w].get(
                "/api/v1/customers", params={"limit": str(PAGE), **params}, headers=headers
            )
        except httpx.HTTPError as exc:
            phase.record(started, _outcome(None, exc))
            return
        outcome = _outcome(response)
        phase.record(started, outcome)
        if outcome is None:
            body = response.json()
            if len(body["items"]) != min(PAGE, expected) or (
                (body["next_cursor"] is not None) != (expected > PAGE)
            ):
                phase.errors[f"page of {len(body['items'])}, expected {min(PAGE, expected)}"] += 1

    await run_phase(
        phase,
        workers=workers,
        seconds=seconds,
        max_count=MAX_REQUESTS_PER_PHASE,
        step=step,
        cpu=cpu,
    )
    counts = [e for _, e in queries_]
    phase.notes.update(
        variants=len(queries_), matches_per_query=round(sum(counts) / len(counts), 1)
    )
    return phase


def _filter_queries(big: BigRm) -> dict[str, list[tuple[dict[str, str], int]]]:
    """The filters of phase 1 with the number of rm000001's customers each must find."""
    surnames = Counter(surname(n) for n in big.names)
    rng = random.Random("names")
    names = rng.sample(big.names, min(200, len(big.names)))
    name_counts = Counter(big.names)
    low, high = AUM_BAND
    return {
        "list_q_surname": [
            ({"q": s}, c) for s, c in surnames.most_common(10)
        ],  # the 10 commonest: hundreds of matches each
        "list_q_full_name": [({"q": n}, name_counts[n]) for n in names],
        "list_tag_common": [({"tag": COMMON_TAG}, big.count(lambda i: COMMON_TAG in big.tags[i]))],
        "list_tag_rare": [({"tag": RARE_TAG}, big.count(lambda i: RARE_TAG in big.tags[i]))],
        "list_aum_band": [
            (
                {"min_aum": str(low), "max_aum": str(high)},
                big.count(lambda i: low <= big.aums[i] < high),
            )
        ],
    }


# ---- phase 2: the 360° view ------------------------------------------------------------------


async def _details(
    clients: list[httpx.AsyncClient],
    *,
    token: str,
    ids: list[uuid.UUID],
    workers: int,
    seconds: float,
    cpu: CpuClock,
) -> Phase:
    phase = Phase(f"detail_x{workers}", workers)
    headers = {"Authorization": f"Bearer {token}"}
    order = list(ids)
    random.Random("details").shuffle(order)

    async def step(w: int, i: int) -> None:
        started = time.perf_counter()
        try:
            response = await clients[w].get(
                f"/api/v1/customers/{order[i % len(order)]}", headers=headers
            )
        except httpx.HTTPError as exc:
            phase.record(started, _outcome(None, exc))
            return
        phase.record(started, _outcome(response))

    await run_phase(
        phase,
        workers=workers,
        seconds=seconds,
        max_count=MAX_REQUESTS_PER_PHASE,
        step=step,
        cpu=cpu,
    )
    return phase


# ---- phase 3: bulk upserts -------------------------------------------------------------------


def feed_rows(rm_logins: list[str], *, round_no: int, rows: int) -> list[dict[str, Any]]:
    """`rows` new, valid customers for the feed, spread over the RMs."""
    rng = random.Random(f"feed:{round_no}")
    out = []
    for k in range(rows):
        n = BULK_PERSON_BASE + round_no * rows + k
        aum = Decimal(generate_customers.aum_for(rng)).quantize(Decimal("0.01"))
        out.append(
            {
                "external_id": f"feed-{round_no}-{k:05d}",
                "name": generate_customers.name_for(rng),
                "id_number": generate_customers.id_number_for(n),
                "phone": generate_customers.phone_for(n),
                "owner_login": rng.choice(rm_logins),
                "risk_level": f"C{generate_customers.risk_for(rng)}",
                "segment": generate_customers.segment_for(aum),
                "tags": generate_customers.tags_for(rng),
                "aum": str(aum),
            }
        )
    return out


def changed_rows(
    rows: list[dict[str, Any]], rm_logins: list[str], *, round_no: int
) -> list[dict[str, Any]]:
    """Every row with a new AUM (and segment); one in ten also moves to another RM."""
    rng = random.Random(f"change:{round_no}")
    out = []
    for row in rows:
        aum = (Decimal(row["aum"]) * Decimal(rng.uniform(0.8, 1.25))).quantize(Decimal("0.01"))
        new = {**row, "aum": str(aum), "segment": generate_customers.segment_for(aum)}
        if rng.random() < 0.1:
            new["owner_login"] = rng.choice([r for r in rm_logins if r != row["owner_login"]])
        out.append(new)
    return out


def encryption_seconds(keys: Keys, rows: list[dict[str, Any]]) -> float:
    """In-process time of what the feed does per row with the Vault: 3 AES-GCM + 4 HMAC."""
    vault = keys.vault()
    cipher, bidx = vault.cipher, vault.blind_index
    started = time.perf_counter()
    for row in rows:
        ext, name = row["external_id"], normalize_name(row["name"])
        cipher.encrypt(row["name"], aad=personal_data_aad("name", ext))
        cipher.encrypt(row["id_number"], aad=personal_data_aad("id_number", ext))
        cipher.encrypt(row["phone"], aad=personal_data_aad("phone", ext))
        bidx("name", name)
        bidx("surname", surname(name))
        bidx("id_number", row["id_number"])
        bidx("phone", row["phone"])
    return time.perf_counter() - started


async def _bulk(
    target: Target, *, token: str, rm_logins: list[str], keys: Keys, rounds: int
) -> list[dict[str, Any]]:
    """Per round: 10,000 new customers, the same again, then changed; one request each.

    Besides the times, the WAL each request wrote (the server is otherwise idle): random-key
    indexes (blind indexes, owner) dirty many pages, and the first change of a page after a
    checkpoint logs the whole page.
    """
    results: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = await asyncpg.connect(target.database_url)
    wal_position = "select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(conn.close)
        client = await stack.enter_async_context(_client(target.base_url, timeout=300.0))
        for round_no in range(rounds):
            new = feed_rows(rm_logins, round_no=round_no, rows=BULK_ROWS)
            changed = changed_rows(new, rm_logins, round_no=round_no)
            expect = {
                "new": {"inserted": BULK_ROWS, "updated": 0, "unchanged": 0},
                "same again": {"inserted": 0, "updated": 0, "unchanged": BULK_ROWS},
                "changed": {"inserted": 0, "updated": BULK_ROWS, "unchanged": 0},
            }
            for kind, rows in (("new", new), ("same again", new), ("changed", changed)):
                _Stop.check()
                body = json.dumps({"customers": rows}, ensure_ascii=False).encode()
                server_0 = await _histogram(client, "POST", re.escape(BULK_ROUTE))
                wal_0 = await conn.fetchval(wal_position)
                started = time.perf_counter()
                response = await client.post(BULK_ROUTE, content=body, headers=headers)
                wall = time.perf_counter() - started
                wal = await conn.fetchval(wal_position) - wal_0
                after = await _settled(client, "POST", re.escape(BULK_ROUTE), server_0, 1)
                server = after.minus(server_0)
                entry: dict[str, Any] = {
                    "round": round_no + 1,
                    "kind": kind,
                    "rows": len(rows),
                    "body_bytes": len(body),
                    "status": response.status_code,
                    "wall_seconds": round(wall, 3),
                    "server_seconds": round(server.seconds, 3) if server.count == 1 else None,
                    "wal_mb": round(float(wal) / 1e6, 1),
                }
                if response.status_code == 200:
                    answer = response.json()
                    got = {k: answer[k] for k in ("inserted", "updated", "unchanged")}
                    entry.update(got, rejected=len(answer["rejected"]))
                    if got != expect[kind] or answer["rejected"]:
                        entry["error"] = f"expected {expect[kind]} and no rejections"
                else:
                    entry["error"] = _outcome(response)
                results.append(entry)
            results.append(
                {
                    "round": round_no + 1,
                    "kind": "encryption only (in-process)",
                    "rows": BULK_ROWS,
                    "wall_seconds": round(encryption_seconds(keys, new), 3),
                }
            )
    return results


# ---- phase 4: EXPLAIN of the list query ------------------------------------------------------


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
    """A SQL literal of a parameter value (our own values only: uuids, numbers, tags, bytes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return f"'{value}'"
    if isinstance(value, uuid.UUID):
        return f"'{value}'::uuid"
    if isinstance(value, bytes):
        return f"'\\x{value.hex()}'::bytea"
    if isinstance(value, list):
        return "array[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for {type(value).__name__}")


_EXEC_TIME = re.compile(r"Execution Time: ([\d.]+) ms")
_PLAN_TIME = re.compile(r"Planning Time: ([\d.]+) ms")


async def _explain(conn: asyncpg.Connection, *, big: BigRm, keys: Keys) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the list query, custom and generic plans, several cases."""
    vault = keys.vault()
    top_surname = Counter(surname(n) for n in big.names).most_common(1)[0][0]
    last_page_after = big.keyset[-PAGE - 1] if len(big.keyset) > PAGE else None
    base: dict[str, Any] = {
        "owner_id": big.user_id, "scope_root": None, "search_bidx": None, "tag": None,
        "segment": None, "risk_level": None, "min_aum": None, "max_aum": None, "after": None,
        "limit": PAGE + 1,
    }  # fmt: skip
    cases: list[tuple[str, dict[str, Any]]] = [
        ("first page", {}),
        ("page 2", {"after": big.keyset[PAGE - 1]} if len(big.keyset) > PAGE else {}),
        ("last page", {"after": last_page_after} if last_page_after else {}),
        (f"q={top_surname} (surname)", {"search_bidx": search_indexes(vault, top_surname)}),
        (f"tag={COMMON_TAG}", {"tag": COMMON_TAG}),
        (f"tag={RARE_TAG}", {"tag": RARE_TAG}),
        ("aum band", {"min_aum": AUM_BAND[0], "max_aum": AUM_BAND[1]}),
    ]
    out = []
    for label, overrides in cases:
        capture = _Capture(conn)
        await queries.list_customers(capture, **{**base, **overrides})  # type: ignore[arg-type]
        for mode in ("custom", "generic"):
            plan = await _explain_one(conn, capture.sql, capture.args, generic=mode == "generic")
            text = "\n".join(plan)
            exec_ms = _EXEC_TIME.search(text)
            plan_ms = _PLAN_TIME.search(text)
            out.append(
                {
                    "case": label,
                    "plan": mode,
                    "execution_ms": float(exec_ms.group(1)) if exec_ms else None,
                    "planning_ms": float(plan_ms.group(1)) if plan_ms else None,
                    "text": text,
                }
            )
    return out


async def _plan_cache(database_url: str, *, big: BigRm, walks: int = 3) -> dict[str, Any]:
    """Walk rm000001's pages through the product's query function on one fresh connection, as
    an API connection does (asyncpg reuses the prepared statement), then ask PostgreSQL how many
    generic and custom plans that statement ran, and time the first and last pages."""
    conn = await asyncpg.connect(database_url)
    base: dict[str, Any] = {
        "owner_id": big.user_id, "scope_root": None, "search_bidx": None, "tag": None,
        "segment": None, "risk_level": None, "min_aum": None, "max_aum": None,
        "limit": PAGE + 1,
    }  # fmt: skip
    per_page: dict[int, list[float]] = {}
    try:
        for _ in range(walks):
            after: tuple[Decimal, uuid.UUID] | None = None
            for page in range(10_000):
                started = time.perf_counter()
                rows = await queries.list_customers(conn, **base, after=after)
                per_page.setdefault(page, []).append((time.perf_counter() - started) * 1000)
                if len(rows) <= PAGE:
                    break
                after = (rows[PAGE - 1]["aum"], rows[PAGE - 1]["id"])
        counts = await conn.fetchrow(
            """
            select coalesce(sum(generic_plans), 0) as generic, coalesce(sum(custom_plans), 0)
                   as custom
              from pg_prepared_statements where statement like '%order by c.aum desc, c.id desc%'
            """
        )
    finally:
        await conn.close()
    pages = len(per_page)
    first = [v for d in range(min(10, pages)) for v in per_page[d]]
    last = [v for d in range(max(0, pages - 10), pages) for v in per_page[d]]
    return {
        "walks": walks,
        "pages_per_walk": pages,
        "generic_plans": int(counts["generic"]),
        "custom_plans": int(counts["custom"]),
        "mean_ms_first_10_pages": round(statistics.fmean(first), 3) if first else None,
        "mean_ms_last_10_pages": round(statistics.fmean(last), 3) if last else None,
    }


async def _explain_one(
    conn: asyncpg.Connection, sql: str, args: tuple[Any, ...], *, generic: bool
) -> list[str]:
    """Warm the cache once, then EXPLAIN; generic = as a prepared statement reused >5 times."""
    if not generic:
        await conn.fetch(sql, *args)
        rows = await conn.fetch("explain (analyze, buffers) " + sql, *args)
        return [r[0] for r in rows]
    name = f"bench_list_{secrets.token_hex(4)}"
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


# ---- the run ---------------------------------------------------------------------------------


async def benchmark(
    target: Target, args: argparse.Namespace, server_pid: int, keys: Keys
) -> dict[str, Any]:
    cpu = CpuClock(server_pid)
    run = secrets.token_hex(3)
    conn = await asyncpg.connect(target.database_url)
    try:
        big = await _big_rm(conn, keys, generate_customers.BIG_RM_LOGIN)
        rm_logins = [
            r["login"]
            for r in await conn.fetch(
                "select login from users where login ~ '^rm[0-9]{6}$' order by login"
            )
        ]
    finally:
        await conn.close()
    if not big.customer_ids:
        raise RuntimeError(f"{big.login} has no customers")
    filters = _filter_queries(big)
    levels = sorted({1, args.concurrency})
    phases: list[Phase] = []
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(_client(target.base_url)) for _ in range(max(levels))
        ]
        await asyncio.gather(*(c.get("/healthz") for c in clients))
        token = await _login(clients[0], big.login, f"bench-{run}-{big.login}")

        async def measured(route: tuple[str, str], phase: Awaitable[Phase]) -> Phase:
            """The phase, with the API's own view of it when one API process serves it."""
            before = await _histogram(clients[0], *route)
            done = await phase
            if args.workers == 1:
                after = await _settled(clients[0], *route, before, len(done.latencies_ms))
                done.notes.update(after.minus(before).summary())
            return done

        for workers in levels:
            print(f"  list walk, {workers} client(s) ...", flush=True)
            phases.append(
                await measured(
                    LIST_ROUTE,
                    _walk(
                        clients,
                        token=token,
                        expected=len(big.customer_ids),
                        workers=workers,
                        seconds=args.seconds,
                        cpu=cpu,
                    ),
                )
            )
        for name, variants in filters.items():
            for workers in levels:
                print(f"  {name}, {workers} client(s) ...", flush=True)
                phases.append(
                    await measured(
                        LIST_ROUTE,
                        _first_pages(
                            clients,
                            name=name,
                            token=token,
                            queries_=variants,
                            workers=workers,
                            seconds=args.seconds,
                            cpu=cpu,
                        ),
                    )
                )
        for workers in levels:
            print(f"  360° view, {workers} client(s) ...", flush=True)
            phases.append(
                await measured(
                    DETAIL_ROUTE,
                    _details(
                        clients,
                        token=token,
                        ids=big.customer_ids,
                        workers=workers,
                        seconds=args.seconds,
                        cpu=cpu,
                    ),
                )
            )
        admin_token = await _login(clients[0], "admin001", f"bench-{run}-admin001")
    print("  bulk upserts ...", flush=True)
    # The fed customers go to the other RMs: the measured RM keeps exactly its customers.
    owners = [login for login in rm_logins if login != big.login] or rm_logins
    bulk = await _bulk(
        target, token=admin_token, rm_logins=owners, keys=keys, rounds=args.bulk_rounds
    )
    print("  EXPLAIN ...", flush=True)
    conn = await asyncpg.connect(target.database_url)
    try:
        explain = await _explain(conn, big=big, keys=keys)
        plan_cache = await _plan_cache(target.database_url, big=big)
        pg_settings = {
            r["name"]: r["setting"] + (r["unit"] or "")
            for r in await conn.fetch(
                "select name, setting, unit from pg_settings where name = any($1)",
                [
                    "shared_buffers",
                    "work_mem",
                    "effective_cache_size",
                    "random_page_cost",
                    "jit",
                    "server_version",
                ],
            )
        }
    finally:
        await conn.close()
    return {
        "big_rm": {"login": big.login, "customers": len(big.customer_ids)},
        "phases": [p.summary() for p in phases],
        "bulk": bulk,
        "explain": explain,
        "plan_cache": plan_cache,
        "postgres": pg_settings,
    }


# ---- report ----------------------------------------------------------------------------------

_LABELS = {
    "list_walk": "GET /customers walk, per page",
    "list_q_surname": "  first page q=<surname>",
    "list_q_full_name": "  first page q=<full name>",
    "list_tag_common": f"  first page tag={COMMON_TAG}",
    "list_tag_rare": f"  first page tag={RARE_TAG}",
    "list_aum_band": "  first page AUM band 1M-6M",
    "detail": "GET /customers/{id} (360°, audited)",
}


def _label(name: str) -> str:
    base, _, workers = name.rpartition("_x")
    return f"{_LABELS.get(base, base)} x{workers}"


def render(document: dict[str, Any]) -> str:
    config, data = document["config"], document["data"]
    gen = data["customers"]
    totals = gen["totals"]
    lines = [
        f"customers benchmark  fraction {config['fraction']}  {config['seconds']} s/phase  "
        f"clients 1 and {config['concurrency']}  {config['servers']}  {config['cpus']} CPUs  "
        f"PostgreSQL {document['postgres'].get('server_version', '?')}",
        f"data: {totals['customers']:,} customers, {totals['holdings']:,} holdings, "
        f"{totals['timeline_entries']:,} timeline entries, {totals['products']} products, "
        f"{totals['rms']:,} RMs; {document['big_rm']['login']} owns "
        f"{document['big_rm']['customers']:,} customers",
        f"generated in {gen['seconds']} s ({gen['encrypt_and_copy_seconds']} s encrypt+COPY at "
        f"{gen['customers_per_second']} customers/s, {gen['rows_per_second']} rows/s; "
        f"{gen['vacuum_analyze_seconds']} s VACUUM ANALYZE; {gen['processes']} processes)",
        "",
        f"{'phase':<42}{'ok':>7}{'err':>4}{'per s':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8}{'srv mean':>9}{'srv<=20':>8}{'api cpu':>8}{'machine':>8}",
    ]
    for p in document["phases"]:
        lines.append(
            f"{_label(p['name']):<42}{p['ok']:>7}{p['errors']:>4}{_fmt(p['per_second'], 7, 0)}"
            f"{_fmt(p['p50_ms'], 8)}{_fmt(p['p95_ms'], 8)}{_fmt(p['p99_ms'], 8)}"
            f"{_fmt(p['max_ms'], 8)}{_fmt(p.get('server_mean_ms'), 9)}"
            f"{_fmt(p.get('server_le_20ms_percent'), 7)}%"
            f"{_fmt(p['server_cpu_percent'], 7, 0)}%{_fmt(p['machine_busy_percent'], 7, 0)}%"
        )
    lines += [
        "p50..max: latency in the client, send to full answer; x1 = one client (latency),"
        f" x{config['concurrency']} = closed loop of {config['concurrency']} (throughput)",
        "srv mean, srv<=20: the API's own time per request and the share of requests it answered"
        " within 20 ms (its /metrics histogram); api cpu: % of one core; machine: % of all"
        f" {config['cpus']} CPUs busy (PostgreSQL, Redis and this client included)",
    ]
    for p in document["phases"]:
        if p["name"].startswith("list_walk"):
            lines.append(
                f"  {_label(p['name']).strip()}: {p['walks_completed']} walks of "
                f"{p['pages_per_walk']} pages; p50 pages 1-10 {p['p50_ms_first_10_pages']} ms,"
                f" last 10 pages {p['p50_ms_last_10_pages']} ms"
            )
        if p["error_kinds"]:
            lines.append(f"  {p['name']} errors: {p['error_kinds']}")
    lines += [
        "",
        f"{'bulk upsert, ' + str(BULK_ROWS) + ' customers':<38}{'wall s':>8}{'server s':>10}"
        f"{'WAL MB':>8}{'ins':>7}{'upd':>7}{'same':>7}{'rej':>5}",
    ]
    for b in document["bulk"]:
        label = f"round {b['round']}: {b['kind']}"
        lines.append(
            f"{label:<38}{_fmt(b['wall_seconds'], 8, 3)}{_fmt(b.get('server_seconds'), 10, 3)}"
            f"{_fmt(b.get('wal_mb'), 8)}{_fmt(b.get('inserted'), 7)}{_fmt(b.get('updated'), 7)}"
            f"{_fmt(b.get('unchanged'), 7)}{_fmt(b.get('rejected'), 5)}"
            + (f"  ERROR {b['error']}" if b.get("error") else "")
        )
    lines += [
        "server s = the API's own time for the request (its /metrics histogram); WAL MB = WAL"
        " written meanwhile; encryption only = 3 AES-GCM + 4 HMAC per row, in this process",
        "",
        f"EXPLAIN (ANALYZE, BUFFERS) of the list query for {document['big_rm']['login']}"
        " (limit 51), execution ms:",
        f"{'case':<30}{'custom plan':>12}{'generic plan':>14}  top node (generic)",
    ]
    by_case: dict[str, dict[str, dict[str, Any]]] = {}
    for e in document["explain"]:
        by_case.setdefault(e["case"], {})[e["plan"]] = e
    for case, plans in by_case.items():
        generic = plans.get("generic", {})
        top = _top_nodes(generic.get("text", ""))
        lines.append(
            f"{case:<30}{_fmt(plans.get('custom', {}).get('execution_ms'), 12, 3)}"
            f"{_fmt(generic.get('execution_ms'), 14, 3)}  {top}"
        )
    pc = document["plan_cache"]
    lines.append(
        f"plan cache: {pc['walks']} walks of {pc['pages_per_walk']} pages through the product's"
        f" query on one connection ran {pc['custom_plans']} custom and {pc['generic_plans']}"
        f" generic plans; mean {pc['mean_ms_first_10_pages']} ms on pages 1-10,"
        f" {pc['mean_ms_last_10_pages']} ms on the last 10 (SQL and asyncpg, no HTTP)"
    )
    return "\n".join(lines)


def _top_nodes(plan: str) -> str:
    """The scan nodes of a plan, briefly: 'Index Scan using customers_owner_aum'."""
    nodes = re.findall(
        r"((?:Parallel )?(?:Bitmap Heap|Bitmap Index|Index Only|Index|Seq) Scan"
        r"(?: Backward)?(?: using \w+)?(?: on \w+)?)",
        plan,
    )
    return "; ".join(dict.fromkeys(n.replace(" on customers c", "") for n in nodes))


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
        keys = Keys.fresh()
        print(f"generating fraction {args.fraction} of the scale model ...", flush=True)
        conn = await asyncpg.connect(
            target.database_url, server_settings={"synchronous_commit": "off"}
        )
        try:
            identity = await generate.generate(conn, fraction=args.fraction)
            _Stop.check()
            customers = await generate_customers.generate_customers(
                conn,
                fraction=args.fraction,
                keys=keys,
                big_rm_customers=args.big_rm_customers,
                processes=args.processes,
            )
        finally:
            await conn.close()
        _Stop.check()
        env, _ = server_env(target)
        env.update(keys.env())  # the API decrypts and finds what the generator encrypted
        settings = Settings.from_env(env)
        port = free_port()
        target.base_url = f"http://{API_HOST}:{port}"
        log_path = workdir / "api.log"
        process = start_api(env, port, args.workers, log_path)
        await wait_ready(target.base_url, process, log_path)
        print(f"API ready on {target.base_url}; measuring ...", flush=True)
        results = await benchmark(target, args, process.pid, keys)
        return {
            "benchmark": "customers",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                "fraction": args.fraction,
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "bulk_rounds": args.bulk_rounds,
                "big_rm_customers": args.big_rm_customers,
                "api_workers": args.workers,
                "servers": "embedded" if target.embedded else "external",
                "db_pool_max": settings.db_pool_max,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "data": {"identity": identity.as_dict(), "customers": customers.as_dict()},
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
        prog="python -m bench.customers",
        description="Measure the customer list, the 360° view and bulk feeds on scale-model data.",
    )
    parser.add_argument("--fraction", type=float, default=0.1, help="of the scale model")
    parser.add_argument("--concurrency", type=int, default=20, help="clients of the loaded runs")
    parser.add_argument("--seconds", type=float, default=15, help="time bound of each phase")
    parser.add_argument(
        "--big-rm-customers",
        type=int,
        default=generate_customers.BIG_RM_CUSTOMERS,
        help="customers of rm000001, the RM whose list is measured (default 5,000)",
    )
    parser.add_argument("--bulk-rounds", type=int, default=3, help="new/same/changed rounds")
    parser.add_argument("--processes", type=int, default=None, help="encryption processes")
    parser.add_argument("--workers", type=int, default=1, help="API processes (uvicorn workers)")
    parser.add_argument("--database-url", help="PostgreSQL server to create a fresh database on")
    parser.add_argument("--redis-url", help="Redis server (keys get a unique prefix)")
    args = parser.parse_args(argv)
    if bool(args.database_url) != bool(args.redis_url):
        parser.error("give both --database-url and --redis-url, or neither (embedded)")
    if args.fraction <= 0 or args.concurrency < 1 or args.seconds <= 0 or args.bulk_rounds < 0:
        parser.error("--fraction, --concurrency and --seconds must be positive")
    if not 1 <= args.big_rm_customers <= generate_customers.MAX_PER_RM:
        parser.error(f"--big-rm-customers must be 1 to {generate_customers.MAX_PER_RM}")
    if args.workers != 1:
        print("note: with several API workers, server-side bulk times are not read", flush=True)

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
    out = RESULTS_DIR / f"customers-{stamp}.json"
    out.write_text(
        json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

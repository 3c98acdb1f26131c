"""The RMs' brochure catalogue against a real API process, next to a bare one-query endpoint.

    python -m bench.brochures [--live 200] [--other 1000] [--rate 200] [--seconds 20]
                              [--workers 1] [--database-url URL --redis-url URL]

Without URLs it starts embedded PostgreSQL and Redis in a temporary folder; with them it creates a
fresh database `wbbench_<random>` on that server (and a unique Redis key prefix), and removes both
at the end. It migrates, generates the org tree and users (bench.generate at --fraction), the
product catalogue of bench.generate_customers, a few customers of `rm000001`, and --live live
brochures plus --other brochures in every other state (expired, unpublished, scheduled, draft,
in review, approved, rejected) and superseded versions, inserted with COPY; every page image has
its six renditions `ready` with fake blob keys (the catalogue only signs URLs to them). Then it
starts `python -m workbench serve` on a free loopback port and measures, as `rm000001`:

  1. load       open loops at --rate requests/s (scheduled sends, latency from the scheduled time:
                no coordinated omission), for --seconds of each of
                  GET /api/v1/brochures                      the catalogue's first page (default)
                  GET /api/v1/me                             the bare reference: token + one query
                  GET /api/v1/brochures?risk_level=R2        a filter
                  GET /api/v1/brochures?customer_id=<C3>     suitability for one of my customers
                in slices of --slice seconds, taking turns, so that whatever else the machine does
                falls on all four alike; p50/p95/p99/max, errors, the API's own time (/metrics) and
                CPU per request; the catalogue's p99 over the bare endpoint's p99
  2. in-process the product's views.catalogue (and identity's service.me) on one pooled
                connection in a transaction, as the handler calls them: each SQL statement timed,
                the Python around them, the JSON encoding; also with URL signing skipped
  3. EXPLAIN    (ANALYZE, BUFFERS) of every statement the catalogue runs (captured from
                views.catalogue), as custom and as generic plans, and which plan a connection
                reusing the prepared statements ends up with

Figures are printed and written to bench/results/brochures-<timestamp>.json. Nothing here passes
or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec

from bench import generate, generate_customers
from bench.generate_tasks import _Ids
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
    _get,
    _histogram,
    _literal,
    _login,
    _open_loop,
    _quiet_machine,
    _settled,
)
from mobile_contracts.v1.customers import ProductRisk
from mobile_contracts.v1.identity import Role
from workbench import migrate
from workbench.access import Caller
from workbench.brochures import views
from workbench.brochures.routes import CATALOGUE_PAGE
from workbench.db import create_pool
from workbench.embedded import EmbeddedServers, free_port
from workbench.identity import service as identity_service
from workbench.ids import uuid7
from workbench.media.renditions import SPECS
from workbench.media.signing import MediaSigner
from workbench.settings import Settings

PAGE = CATALOGUE_PAGE  # the catalogue's default limit
BIG_RM = "rm000001"
CATALOGUE_ROUTE = ("GET", "/api/v1/brochures")
ME_ROUTE = ("GET", "/api/v1/me")
CUSTOMER_PREFIX = "bb-"

# ---- the shape of the brochure data ------------------------------------------------------------

HEAD_OFFICE_SHARE = 0.7  # of brochures owned by the head office (they reach every RM)
ON_PATH_SHARE = 0.25  # of the others: owned by a unit on rm000001's path (branch, sub-branch, team)
# Versions of a live brochure: v1 published; v1 superseded + v2 published; and a v3 in the works.
LIVE_HISTORY = [(1, 65), (2, 25), (3, 10)]
OTHER_STATES = [
    ("expired", 35),  # published, window ended
    ("unpublished", 20),
    ("scheduled", 5),  # published, window starts later
    ("draft", 15),
    ("pending_review", 8),
    ("approved", 5),
    ("rejected", 12),
]
PAGES = [(1, 5), (2, 15), (3, 15), (4, 20), (5, 10), (6, 15), (8, 10), (10, 5), (12, 5)]  # ~4.9
SOURCE_SIZES = [((2480, 3508), 70), ((1242, 2208), 20), ((3508, 2480), 10)]  # A4, phone, landscape
TAGS = ["热销", "新客", "高净值", "养老", "代发", "稳健", "定投", "节日", "理财", "存款", "基金"]
_SENTENCES = [
    "本产品业绩比较基准不代表实际收益，理财非存款，产品有风险，投资须谨慎。",
    "适合希望在控制回撤的前提下获取稳健收益的客户。",
    "建议结合客户的风险测评结果与资金流动性需求进行推荐。",
    "可与客户的定期存款到期日衔接，避免资金闲置。",
    "历史业绩不代表未来表现，请向客户完整揭示产品风险。",
    "新客户首次购买可享受专属活动，详情以活动公告为准。",
    "支持手机银行一键购买，申购赎回规则见产品说明书。",
    "对于临近退休的客户，可结合养老规划介绍长期配置思路。",
]


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


@dataclass
class BrochureData:
    rm_id: uuid.UUID
    rm_unit_id: uuid.UUID
    path_units: list[uuid.UUID]  # rm000001's unit and every unit above it, root first
    customers: list[tuple[uuid.UUID, int]]  # rm000001's bench customers and their risk levels
    counts: dict[str, Any]
    seconds: float


async def generate_brochures(
    conn: asyncpg.Connection, *, live: int, other: int, seed: str = "brochures"
) -> BrochureData:
    """Products (if missing), customers of rm000001 and the brochures; one transaction, COPY."""
    started = time.perf_counter()
    rng = random.Random(seed)
    ids = _Ids()
    now = datetime.now(UTC)
    catalogue = generate_customers.product_catalogue()
    await generate_customers._products(conn, catalogue)
    products = await conn.fetch("select code, name, risk_level from products where active")
    rm = await conn.fetchrow(
        "select u.id, u.org_unit_id, o.path from users u join org_units o on o.id = u.org_unit_id"
        " where u.login = $1",
        BIG_RM,
    )
    staff = [r["id"] for r in await conn.fetch("select id from users where role = 'admin'")]
    units = await conn.fetch("select id, depth from org_units")
    root = next(r["id"] for r in units if r["depth"] == 0)
    below_root = [r["id"] for r in units if r["depth"] > 0]
    path_units = [uuid.UUID(p) for p in rm["path"].strip("/").split("/")]
    on_path = path_units[1:]

    images: list[tuple[Any, ...]] = []
    renditions: list[tuple[Any, ...]] = []
    brochures: list[tuple[Any, ...]] = []
    versions: list[tuple[Any, ...]] = []

    def new_image(at: datetime) -> bytes:
        sha = rng.randbytes(32)
        (width, height) = _pick(rng, SOURCE_SIZES)
        images.append(
            (sha, f"brochures/src/{sha.hex()}.jpeg", "jpeg", width, height,
             int(width * height * rng.uniform(0.25, 0.45)), staff[0], at)
        )  # fmt: skip
        for spec in SPECS:
            w = min(spec.max_width, width)
            h = max(1, round(height * w / width))
            per_pixel = 0.08 if spec.fmt == "webp" else 0.2
            renditions.append(
                (sha, spec.name, "ready", spec.blob_key(sha), w, h,
                 int(w * h * per_pixel * rng.uniform(0.7, 1.3)), 1, at + timedelta(minutes=1))
            )  # fmt: skip
        return sha

    def owner() -> uuid.UUID:
        if rng.random() < HEAD_OFFICE_SHARE:
            return root
        return rng.choice(on_path) if rng.random() < ON_PATH_SHARE else rng.choice(below_root)

    def content(product: asyncpg.Record, pages: list[bytes], variant: int) -> dict[str, Any]:
        suffix = rng.choice(
            ["", " · 客户版", " · 春季版", " · 新客专享", " · 年末冲刺", "（新版）"]
        )
        talk = "".join(rng.sample(_SENTENCES, rng.randint(2, 6)))
        return {
            "title": f"{product['name']}{suffix}"[:120],
            "product_code": product["code"],
            "talk_track": talk,
            "tags": json.dumps(rng.sample(TAGS, rng.randint(1, 3)), ensure_ascii=False),
            "pages": pages,
            "content_hash": rng.randbytes(32),
            "variant": variant,
        }

    def version(
        brochure_id: uuid.UUID, number: int, body: dict[str, Any], status: str, created: datetime,
        *, published: datetime | None = None, live_from: datetime | None = None,
        live_until: datetime | None = None,
    ) -> None:  # fmt: skip
        reviewed_states = ("approved", "rejected", "published", "unpublished", "superseded")
        submitted = created + timedelta(hours=rng.uniform(1, 48)) if status != "draft" else None
        reviewed = (
            submitted + timedelta(hours=rng.uniform(1, 48))
            if submitted is not None and status in reviewed_states
            else None
        )
        if published is not None and reviewed is not None and reviewed > published:
            reviewed = published - timedelta(minutes=5)
        approved = status in ("approved", "published", "unpublished", "superseded")
        updated = max(t for t in (created, submitted, reviewed, published) if t is not None)
        versions.append(
            (
                brochure_id, number, body["title"], body["product_code"], body["talk_track"],
                body["tags"], body["pages"], body["content_hash"], status,
                body["content_hash"] if approved else None,
                "风险揭示不完整，请补充业绩比较基准说明" if status == "rejected" else None,
                live_from, live_until, staff[0], created,
                staff[0] if submitted else None, submitted,
                staff[1 % len(staff)] if reviewed else None, reviewed,
                staff[0] if published else None, published, updated,
            )
        )  # fmt: skip

    def pages_after(previous: list[bytes], at: datetime) -> list[bytes]:
        """A revision: one page replaced, sometimes one added."""
        pages = list(previous)
        pages[rng.randrange(len(pages))] = new_image(at)
        if rng.random() < 0.3 and len(pages) < 30:
            pages.append(new_image(at))
        return pages

    def brochure(created: datetime) -> uuid.UUID:
        brochure_id = ids.at(created)
        brochures.append((brochure_id, owner(), staff[0], created))
        return brochure_id

    for _ in range(live):
        product = rng.choice(products)
        published = now - timedelta(seconds=rng.uniform(3600, 365 * 86400))
        history = _pick(rng, LIVE_HISTORY)
        first = published - timedelta(days=rng.uniform(20, 200)) if history > 1 else published
        created = first - timedelta(days=rng.uniform(2, 10))
        brochure_id = brochure(created)
        pages = [new_image(created) for _ in range(_pick(rng, PAGES))]
        if history > 1:
            version(brochure_id, 1, content(product, pages, 1), "superseded", created,
                    published=first)  # fmt: skip
            pages = pages_after(pages, published - timedelta(days=3))
        live_from = (
            published + (now - published) * rng.uniform(0, 0.5) if rng.random() < 0.1 else None
        )
        live_until = now + timedelta(days=rng.uniform(1, 120)) if rng.random() < 0.3 else None
        number = 2 if history > 1 else 1
        version(
            brochure_id, number, content(product, pages, number), "published",
            published - timedelta(days=3), published=published, live_from=live_from,
            live_until=live_until,
        )  # fmt: skip
        if history > 2:
            at = published + (now - published) * rng.uniform(0.5, 0.99)
            status = "draft" if rng.random() < 0.6 else "pending_review"
            version(brochure_id, 3, content(product, pages_after(pages, at), 3), status, at)

    for _ in range(other):
        product = rng.choice(products)
        state = _pick(rng, OTHER_STATES)
        if state in ("expired", "unpublished"):
            published = now - timedelta(days=rng.uniform(60, 900))
        elif state == "scheduled":
            published = now - timedelta(seconds=rng.uniform(3600, 5 * 86400))
        else:
            published = None
        created = (published or now) - timedelta(days=rng.uniform(2, 60))
        brochure_id = brochure(created)
        pages = [new_image(created) for _ in range(_pick(rng, PAGES))]
        body = content(product, pages, 1)
        if state == "expired":
            assert published is not None
            version(brochure_id, 1, body, "published", created, published=published,
                    live_until=published + timedelta(days=rng.uniform(14, 50)))  # fmt: skip
        elif state == "scheduled":
            version(brochure_id, 1, body, "published", created, published=published,
                    live_from=now + timedelta(days=rng.uniform(1, 30)))  # fmt: skip
        else:
            version(brochure_id, 1, body, state, created, published=published)

    customers = []
    customer_rows = []
    for k in range(1, 11):
        created = now - timedelta(days=rng.uniform(30, 1500))
        risk = (k - 1) % 5 + 1
        customer_id = ids.at(created)
        customers.append((customer_id, risk))
        customer_rows.append(
            (
                customer_id, f"{CUSTOMER_PREFIX}{k:06d}", rm["id"], os.urandom(48), os.urandom(56),
                os.urandom(48), os.urandom(32), os.urandom(32), os.urandom(32), os.urandom(32),
                risk, "mass", round(rng.lognormvariate(11.9, 1.2), 2), created, created,
            )
        )  # fmt: skip

    async with conn.transaction():
        await conn.copy_records_to_table(
            "brochure_images",
            records=images,
            columns=["sha256", "blob_key", "format", "width", "height", "byte_size",
                     "uploaded_by", "created_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "brochure_renditions",
            records=renditions,
            columns=["image_sha256", "spec", "status", "blob_key", "width", "height",
                     "byte_size", "attempts", "updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "brochures", records=brochures, columns=["id", "owner_unit_id", "created_by",
                                                     "created_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "brochure_versions",
            records=versions,
            columns=[
                "brochure_id", "version", "title", "product_code", "talk_track", "tags", "pages",
                "content_hash", "status", "approved_hash", "reject_reason", "live_from",
                "live_until", "created_by", "created_at", "submitted_by", "submitted_at",
                "reviewed_by", "reviewed_at", "published_by", "published_at", "updated_at",
            ],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "customers",
            records=customer_rows,
            columns=[
                "id", "external_id", "owner_id", "name_enc", "id_number_enc", "phone_enc",
                "name_bidx", "surname_bidx", "id_number_bidx", "phone_bidx", "risk_level",
                "segment", "aum", "created_at", "updated_at",
            ],
        )  # fmt: skip
    await conn.execute(
        "vacuum (analyze) brochure_images, brochure_renditions, brochures, brochure_versions,"
        " products, customers"
    )
    counts = dict(
        await conn.fetchrow(
            f"""
            select (select count(*) from brochures) as brochures,
                   (select count(*) from brochure_versions) as versions,
                   (select count(*) from brochure_images) as images,
                   (select count(*) from brochure_renditions) as renditions,
                   (select count(*) from products) as products,
                   (select count(*) from customers) as customers,
                   (select count(*) from brochure_versions v where {_LIVE_SQL}) as live,
                   (select avg(cardinality(pages))::float from brochure_versions v
                     where {_LIVE_SQL}) as pages_per_live_version,
                   (select count(*) from brochure_versions v join brochures b
                       on b.id = v.brochure_id
                     where {_LIVE_SQL} and b.owner_unit_id = any($1::uuid[])) as live_for_rm,
                   (select count(*) from sync_log) as sync_log,
                   pg_total_relation_size('brochure_versions') as versions_bytes,
                   pg_total_relation_size('brochure_renditions') as renditions_bytes
            """,
            path_units,
        )
    )
    counts["by_status"] = {
        r["status"]: r["n"]
        for r in await conn.fetch(
            "select status, count(*) as n from brochure_versions group by status order by status"
        )
    }
    counts["pages_per_live_version"] = round(counts["pages_per_live_version"] or 0, 2)
    return BrochureData(
        rm_id=rm["id"],
        rm_unit_id=rm["org_unit_id"],
        path_units=path_units,
        customers=customers,
        counts=counts,
        seconds=round(time.perf_counter() - started, 2),
    )


# Written here, not taken from workbench.brochures.queries: the truth the answers are checked with.
_LIVE_SQL = (
    "v.status = 'published' and coalesce(v.live_from, v.published_at) <= now()"
    " and (v.live_until is null or v.live_until > now())"
)


async def _expected_page(
    conn: asyncpg.Connection, data: BrochureData, max_risk: int | None
) -> tuple[list[str], int]:
    """The first page's brochure ids and how many match in all, by the benchmark's own SQL."""
    rows = await conn.fetch(
        f"""
        select v.brochure_id, count(*) over () as total
          from brochure_versions v
          join brochures b on b.id = v.brochure_id
          join products p on p.code = v.product_code
         where {_LIVE_SQL} and b.owner_unit_id = any($1::uuid[])
           and ($2::int is null or p.risk_level <= $2)
         order by v.published_at desc, v.brochure_id desc
         limit {PAGE}
        """,
        data.path_units,
        max_risk,
    )
    return [str(r["brochure_id"]) for r in rows], (rows[0]["total"] if rows else 0)


# ---- the load ----------------------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    label: str
    path: str
    route: tuple[str, str]
    check: Callable[[bytes], str | None]
    expected: list[str] | None = None  # a catalogue's first page
    matches: int | None = None


def _catalogue_check(expected: list[str]) -> Callable[[bytes], str | None]:
    """Every answer must be a page; every 20th is decoded and compared with the database."""
    counter = iter(range(1 << 62))

    def check(body: bytes) -> str | None:
        if not body.startswith(b'{"items":['):
            return "not a page"
        if next(counter) % 20:
            return None
        page = msgspec.json.decode(body)
        if [item["id"] for item in page["items"]] != expected:
            return "first page differs from the database"
        return None

    return check


def _me_check(login: str) -> Callable[[bytes], str | None]:
    counter = iter(range(1 << 62))

    def check(body: bytes) -> str | None:
        if not body.startswith(b'{"id":'):
            return "not a user"
        if next(counter) % 20:
            return None
        if msgspec.json.decode(body).get("login") != login:
            return "another user"
        return None

    return check


async def _answer_sizes(
    client: httpx.AsyncClient, token: str, variants: list[Variant]
) -> dict[str, dict[str, Any]]:
    """One answer of each variant, before the load: its size and what it holds."""
    out = {}
    for v in variants:
        response = await client.get(v.path, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            raise RuntimeError(f"{v.path}: {response.status_code} {response.text[:300]}")
        body = response.content
        entry: dict[str, Any] = {"bytes": len(body)}
        if v.route == CATALOGUE_ROUTE:
            items = response.json()["items"]
            pages = [p for item in items for p in item["pages"]]
            entry |= {
                "items": len(items),
                "pages": len(pages),
                "signed_urls": sum(
                    2 for p in pages for s in ("phone", "tablet", "thumb") if s in p
                ),
                "next_cursor": response.json()["next_cursor"] is not None,
            }
            if [item["id"] for item in items] != v.expected:
                raise RuntimeError(f"{v.path}: the first page differs from the database")
        out[v.name] = entry
    return out


def _add(total: Histogram, delta: Histogram) -> Histogram:
    buckets = dict(total.buckets)
    for le, n in delta.buckets.items():
        buckets[le] = buckets.get(le, 0.0) + n
    return Histogram(total.seconds + delta.seconds, total.count + delta.count, buckets)


async def _load(
    *,
    client: httpx.AsyncClient,
    port: int,
    variants: list[Variant],
    token: str,
    rate: float,
    seconds: float,
    slice_seconds: float,
    warmup: float,
    connections: list[RawConnection],
    cpu: CpuClock,
    single_worker: bool,
) -> list[dict[str, Any]]:
    """Each variant for `seconds` at `rate`, in slices that take turns (the first variant of each
    round rotates); the slices of a variant are merged into one phase."""
    host = f"{API_HOST}:{port}"
    requests = {v.name: _get(v.path, host, token) for v in variants}
    if warmup > 0:
        print(f"warm-up: {warmup:g} s of each at {rate:g}/s ...", flush=True)
        for v in variants:
            await _open_loop(
                name=f"{v.name} warm-up", port=port, request=requests[v.name], rate=rate,
                seconds=warmup, connections=connections, check=v.check, cpu=cpu,
            )  # fmt: skip
    rounds = max(1, math.ceil(seconds / slice_seconds - 1e-9))
    per_slice = seconds / rounds
    print(
        f"load: {len(variants)} x {seconds:g} s at {rate:g}/s (open loop), {rounds} slices of"
        f" {per_slice:g} s each, taking turns ...",
        flush=True,
    )
    parts: dict[str, list[Phase]] = {v.name: [] for v in variants}
    server: dict[str, Histogram] = {v.name: Histogram() for v in variants}
    order = list(variants)
    for r in range(rounds):
        for v in order[r % len(order) :] + order[: r % len(order)]:
            before = await _histogram(client, v.route) if single_worker else None
            phase = await _open_loop(
                name=v.name, port=port, request=requests[v.name], rate=rate, seconds=per_slice,
                connections=connections, check=v.check, cpu=cpu,
            )  # fmt: skip
            phase.notes["round"] = r
            parts[v.name].append(phase)
            if before is not None:
                after = await _settled(client, v.route, before, len(phase.latencies_ms))
                server[v.name] = _add(server[v.name], after.minus(before))
    return [_merge(v, parts[v.name], server[v.name] if single_worker else None) for v in variants]


async def _one_client(
    *, port: int, variants: list[Variant], token: str, per_variant: int
) -> list[dict[str, Any]]:
    """One client on one keep-alive connection, one request at a time, the variants in turn:
    each request's latency on an otherwise idle API (send to full answer)."""
    host = f"{API_HOST}:{port}"
    requests = {v.name: _get(v.path, host, token) for v in variants}
    phases = {v.name: Phase(v.name, 1) for v in variants}
    conn = await RawConnection.open(API_HOST, port)
    started = time.perf_counter()
    try:
        for i in range(per_variant * len(variants)):
            _Stop.check()
            v = variants[i % len(variants)]
            t0 = time.perf_counter()
            status, body = await conn.request(requests[v.name])
            phases[v.name].record(t0, f"{status}" if status != 200 else v.check(body))
    finally:
        conn.close()
    wall = time.perf_counter() - started
    out = []
    for v in variants:
        phases[v.name].wall_seconds = wall
        summary = phases[v.name].summary()
        out.append(
            {k: summary[k] for k in ("name", "ok", "errors", "error_kinds", "p50_ms", "p95_ms",
                                     "p99_ms", "max_ms", "mean_ms")} | {"label": v.label}
        )  # fmt: skip
    return out


def _merge(variant: Variant, parts: list[Phase], server: Histogram | None) -> dict[str, Any]:
    """One phase of a variant's slices: exact percentiles of every latency; the slices' own
    start-lag and send-to-answer figures as their worst (or median) slice."""
    merged = Phase(variant.name, parts[0].concurrency)
    for p in parts:
        merged.latencies_ms += p.latencies_ms
        merged.errors.update(p.errors)
        merged.wall_seconds += p.wall_seconds
        merged.client_cpu_seconds += p.client_cpu_seconds
    if all(p.server_cpu_seconds is not None for p in parts):
        merged.server_cpu_seconds = sum(p.server_cpu_seconds or 0.0 for p in parts)
    if all(p.machine_busy is not None for p in parts):
        merged.machine_busy = (
            sum((p.machine_busy or 0.0) * p.wall_seconds for p in parts) / merged.wall_seconds
        )
    summary = merged.summary()
    answered = summary["ok"]
    per_second: list[list[float]] = []
    offset = 0
    for p in parts:
        rows = p.notes["per_second_ms"]
        per_second += [[offset + row[0], *row[1:]] for row in rows]
        offset += int(p.notes["scheduled"] / p.notes["offered_rate"] + 0.5)
    notes = [p.notes for p in parts]
    summary |= {
        "label": variant.label,
        "path": variant.path,
        "slices": len(parts),
        "offered_rate": notes[0]["offered_rate"],
        "scheduled": sum(n["scheduled"] for n in notes),
        "late_starts": sum(n["late_starts"] for n in notes),
        "late_starts_over_10ms": sum(n["late_starts_over_10ms"] for n in notes),
        "start_lag_p99_ms_worst_slice": max(n["start_lag_p99_ms"] for n in notes),
        "start_lag_max_ms": max(n["start_lag_max_ms"] or 0.0 for n in notes),
        "service_p50_ms_median_slice": round(
            statistics.median(n["service_p50_ms"] for n in notes), 2
        ),
        "service_p99_ms_worst_slice": max(n["service_p99_ms"] for n in notes),
        "peak_in_flight": max(n["peak_in_flight"] for n in notes),
        "p99_ms_per_slice": [round(percentile(sorted(p.latencies_ms), 99) or 0, 2) for p in parts],
        "per_second_ms": per_second,
        "load_average_per_slice": [n["load_average"] for n in notes],
        "api_cpu_ms_per_request": round(1000 * merged.server_cpu_seconds / answered, 2)
        if merged.server_cpu_seconds is not None and answered
        else None,
    }
    if variant.expected is not None:
        summary["matches"] = variant.matches
    if server is not None:
        summary |= server.summary()
    return summary


# ---- in-process: where a catalogue request's server time goes -------------------------------


class _Timed:
    """A connection whose statements are timed by kind (and captured, for EXPLAIN)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.times: dict[str, float] = {}
        self.statements: list[tuple[str, str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def _timed(self, method: str, sql: str, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await getattr(self._conn, method)(sql, *args)
        finally:
            label = _label(sql)
            self.times[label] = self.times.get(label, 0.0) + (time.perf_counter() - t0) * 1000
            self.statements.append((label, sql, args))

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetch", sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchrow", sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._timed("fetchval", sql, *args)


def _label(sql: str) -> str:
    flat = " ".join(sql.split())
    if "order by v.published_at desc" in flat:
        return "catalogue"
    if "from brochure_images" in flat:
        return "images"
    if "from brochure_renditions" in flat:
        return "renditions"
    if "from customers" in flat:
        return "customer risk"
    if "from users u join org_units" in flat:
        return "me"
    return flat[:40]


def _caller(data: BrochureData) -> Caller:
    return Caller(
        user_id=data.rm_id, role=Role.RM, org_unit_id=data.rm_unit_id, session_id=uuid7(),
        device_id="bench",
    )  # fmt: skip


async def _in_process(
    database_url: str, data: BrochureData, settings: Settings, calls: int
) -> list[dict[str, Any]]:
    """The handlers' work without HTTP: views.catalogue / service.me on one pooled connection
    (the API's codecs), each call in a transaction as the API's `db` dependency runs it."""
    caller = _caller(data)
    signer = MediaSigner(os.urandom(32))
    ttl = settings.media_url_ttl_seconds

    def signed(key: str) -> str:
        return signer.url(key, ttl)

    def unsigned(key: str) -> str:
        return key

    cases: list[tuple[str, Any]] = [
        ("catalogue", (views.CatalogueFilters(), signed)),
        ("catalogue, URLs not signed", (views.CatalogueFilters(), unsigned)),
        ("catalogue risk_level=R2", (views.CatalogueFilters(risk_level=_risk("R2")), signed)),
        ("catalogue customer_id (C3)", (_customer_filters(data), signed)),
        ("me", None),
    ]
    encoder = msgspec.json.Encoder()
    pool = await create_pool(database_url, max_size=1)
    out = []
    try:
        async with pool.acquire() as conn:
            for name, case in cases:
                _Stop.check()
                totals: list[float] = []
                encodes: list[float] = []
                sql: dict[str, list[float]] = {}
                transaction: list[float] = []
                size = 0
                for i in range(calls + 10):  # the first 10 (statement preparation) not counted
                    timed = _Timed(conn)
                    t0 = time.perf_counter()
                    tx = conn.transaction()
                    await tx.start()
                    t1 = time.perf_counter()
                    if case is None:
                        answer: Any = await identity_service.me(timed, caller=caller)  # type: ignore[arg-type]
                    else:
                        filters, sign = case
                        answer = await views.catalogue(
                            timed, caller=caller, filters=filters, sign=sign, cursor=None,  # type: ignore[arg-type]
                            limit=PAGE,
                        )  # fmt: skip
                    t2 = time.perf_counter()
                    await tx.commit()
                    t3 = time.perf_counter()
                    body = encoder.encode(answer)
                    t4 = time.perf_counter()
                    if i < 10:
                        continue
                    size = len(body)
                    totals.append((t4 - t0) * 1000)
                    encodes.append((t4 - t3) * 1000)
                    transaction.append((t1 - t0 + t3 - t2) * 1000)
                    for label, ms in timed.times.items():
                        sql.setdefault(label, []).append(ms)
                    sql.setdefault("python", []).append(
                        (t2 - t1) * 1000 - sum(timed.times.values())
                    )
                out.append(
                    {
                        "case": name,
                        "calls": calls,
                        "bytes": size,
                        "total_p50_ms": _p(totals, 50),
                        "total_p99_ms": _p(totals, 99),
                        "begin_commit_p50_ms": _p(transaction, 50),
                        "encode_p50_ms": _p(encodes, 50),
                        "parts_p50_ms": {k: _p(v, 50) for k, v in sql.items()},
                    }
                )
    finally:
        await pool.close()
    return out


def _p(values: list[float], p: float) -> float | None:
    value = percentile(sorted(values), p)
    return None if value is None else round(value, 3)


def _risk(level: str) -> ProductRisk:
    return ProductRisk(level)


def _customer(data: BrochureData) -> tuple[uuid.UUID, int]:
    return next(c for c in data.customers if c[1] == 3)


def _customer_filters(data: BrochureData) -> views.CatalogueFilters:
    return views.CatalogueFilters(customer_id=_customer(data)[0])


# ---- EXPLAIN -----------------------------------------------------------------------------------


def _sql_literal(value: Any) -> str:
    if isinstance(value, bytes):
        return f"'\\x{value.hex()}'::bytea"
    if isinstance(value, list) and value and all(isinstance(v, bytes) for v in value):
        return "array[" + ", ".join(_sql_literal(v) for v in value) + "]::bytea[]"
    return _literal(value)


_EXEC_TIME = re.compile(r"Execution Time: ([\d.]+) ms")
_PLAN_TIME = re.compile(r"Planning Time: ([\d.]+) ms")


async def _explain_one(
    conn: asyncpg.Connection, sql: str, args: tuple[Any, ...], *, generic: bool
) -> str:
    """Warm once, then EXPLAIN; generic = the plan of a prepared statement PostgreSQL caches."""
    if not generic:
        await conn.fetch(sql, *args)
        rows = await conn.fetch("explain (analyze, buffers) " + sql, *args)
        return "\n".join(r[0] for r in rows)
    name = f"bench_catalogue_{secrets.token_hex(4)}"
    await conn.execute(f"prepare {name} as {sql}")
    try:
        await conn.execute("set plan_cache_mode = force_generic_plan")
        call = f"execute {name}({', '.join(_sql_literal(a) for a in args)})"
        await conn.execute(call)
        rows = await conn.fetch(f"explain (analyze, buffers) {call}")
        return "\n".join(r[0] for r in rows)
    finally:
        await conn.execute("reset plan_cache_mode")
        await conn.execute(f"deallocate {name}")


def _scans(plan: str) -> str:
    """The plan's node names, in order, once each."""
    nodes = [
        line.split("  (cost=")[0].strip().removeprefix("->").strip()
        for line in plan.splitlines()
        if "  (cost=" in line
    ]
    return "; ".join(dict.fromkeys(nodes))


def _condensed(plan: str) -> list[str]:
    """The plan's nodes with their actual time and rows, and the rows their filters removed."""
    out = []
    for line in plan.splitlines():
        if "(cost=" in line:
            head = line.split("  (cost=")[0].rstrip()
            m = re.search(r"actual time=([\d.]+)\.\.([\d.]+) rows=(\d+) loops=(\d+)", line)
            tail = f"  [{m.group(2)} ms, {m.group(3)} rows x {m.group(4)}]" if m else ""
            out.append(head + tail)
        elif "Rows Removed by" in line or re.search(r"^\s+(Index Cond|Filter|Sort Key):", line):
            out.append(line.rstrip()[:160])
    return out


async def _explain(database_url: str, data: BrochureData) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement of views.catalogue, captured as it runs."""
    caller = _caller(data)
    pool = await create_pool(database_url, max_size=1)
    out = []
    try:
        async with pool.acquire() as conn:
            cases = [
                ("first page", views.CatalogueFilters()),
                ("risk_level=R2", views.CatalogueFilters(risk_level=_risk("R2"))),
                ("customer_id (C3)", _customer_filters(data)),
            ]
            for case, filters in cases:
                timed = _Timed(conn)
                await views.catalogue(
                    timed, caller=caller, filters=filters, sign=lambda k: k, cursor=None,  # type: ignore[arg-type]
                    limit=PAGE,
                )  # fmt: skip
                for label, sql, args in timed.statements:
                    for mode in ("custom", "generic"):
                        text = await _explain_one(conn, sql, args, generic=mode == "generic")
                        exec_ms, plan_ms = _EXEC_TIME.search(text), _PLAN_TIME.search(text)
                        out.append(
                            {
                                "case": case,
                                "statement": label,
                                "plan": mode,
                                "execution_ms": float(exec_ms.group(1)) if exec_ms else None,
                                "planning_ms": float(plan_ms.group(1)) if plan_ms else None,
                                "scans": _scans(text),
                                "array_length": next(
                                    (len(a) for a in args if isinstance(a, list)), None
                                ),
                                "sql": " ".join(sql.split()),
                                "text": text,
                            }
                        )
    finally:
        await pool.close()
    return out


async def _plan_cache(database_url: str, data: BrochureData, calls: int = 30) -> dict[str, Any]:
    """views.catalogue `calls` times on one pooled connection (asyncpg reuses its prepared
    statements, as an API connection does), then which plans PostgreSQL ran for each."""
    caller = _caller(data)
    pool = await create_pool(database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            for _ in range(calls):
                await views.catalogue(
                    conn, caller=caller, filters=views.CatalogueFilters(), sign=lambda k: k,
                    cursor=None, limit=PAGE,
                )  # fmt: skip
            rows = await conn.fetch(
                "select statement, generic_plans, custom_plans from pg_prepared_statements"
            )
    finally:
        await pool.close()
    return {
        "calls": calls,
        "statements": [
            {"statement": _label(r["statement"]), "generic_plans": r["generic_plans"],
             "custom_plans": r["custom_plans"]}
            for r in rows
            if _label(r["statement"]) in ("catalogue", "images", "renditions")
        ],
    }  # fmt: skip


# ---- the run -----------------------------------------------------------------------------------


async def benchmark(
    target: Target, args: argparse.Namespace, server_pid: int, settings: Settings,
    data: BrochureData,
) -> dict[str, Any]:  # fmt: skip
    cpu = CpuClock(server_pid)
    run = secrets.token_hex(3)
    port = int(target.base_url.rsplit(":", 1)[1])
    customer_id, customer_risk = _customer(data)
    conn = await asyncpg.connect(target.database_url)
    try:
        all_page, all_total = await _expected_page(conn, data, None)
        r2_page, r2_total = await _expected_page(conn, data, 2)
        c3_page, c3_total = await _expected_page(conn, data, customer_risk)
    finally:
        await conn.close()
    base = "/api/v1/brochures"
    variants = [
        Variant("catalogue", f"GET /brochures (first page of {PAGE})", base, CATALOGUE_ROUTE,
                _catalogue_check(all_page), all_page, all_total),
        Variant("me", "GET /me (reference)", "/api/v1/me", ME_ROUTE, _me_check(BIG_RM)),
        Variant("catalogue_risk", "GET /brochures?risk_level=R2", f"{base}?risk_level=R2",
                CATALOGUE_ROUTE, _catalogue_check(r2_page), r2_page, r2_total),
        Variant("catalogue_customer", f"GET /brochures?customer_id= (C{customer_risk})",
                f"{base}?customer_id={customer_id}", CATALOGUE_ROUTE, _catalogue_check(c3_page),
                c3_page, c3_total),
    ]  # fmt: skip
    result: dict[str, Any] = {}
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(_client(target.base_url))
        token = await _login(client, BIG_RM, f"bench-{run}-rm")
        result["answers"] = await _answer_sizes(client, token, variants)
        result["machine_busy_before_percent"] = await _quiet_machine(args.wait_idle)
        result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
        connections = [await RawConnection.open(API_HOST, port) for _ in range(args.connections)]
        stack.callback(lambda: [c.close() for c in connections])
        result["phases"] = await _load(
            client=client, port=port, variants=variants, token=token, rate=args.rate,
            seconds=args.seconds, slice_seconds=args.slice, warmup=args.warmup,
            connections=connections, cpu=cpu, single_worker=args.workers == 1,
        )  # fmt: skip
        result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        if args.one_client > 0:
            print(f"one client: {args.one_client} requests of each, in turn ...", flush=True)
            result["one_client"] = await _one_client(
                port=port, variants=variants, token=token, per_variant=args.one_client
            )
    by_name = {p["name"]: p for p in result["phases"]}
    cat, me = by_name["catalogue"], by_name["me"]
    result["ratio"] = {
        "p99": _ratio(cat["p99_ms"], me["p99_ms"]),
        "p50": _ratio(cat["p50_ms"], me["p50_ms"]),
        "server_mean": _ratio(cat.get("server_mean_ms"), me.get("server_mean_ms")),
        "api_cpu_per_request": _ratio(
            cat.get("api_cpu_ms_per_request"), me.get("api_cpu_ms_per_request")
        ),
    }
    if "one_client" in result:
        one = {p["name"]: p for p in result["one_client"]}
        result["ratio"]["one_client_p99"] = _ratio(one["catalogue"]["p99_ms"], one["me"]["p99_ms"])
        result["ratio"]["one_client_p50"] = _ratio(one["catalogue"]["p50_ms"], one["me"]["p50_ms"])
    print("in-process: views.catalogue and service.me on one connection ...", flush=True)
    result["in_process"] = await _in_process(
        target.database_url, data, settings, args.in_process_calls
    )
    print("EXPLAIN of the catalogue's statements ...", flush=True)
    result["explain"] = await _explain(target.database_url, data)
    result["plan_cache"] = await _plan_cache(target.database_url, data)
    return result


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


# ---- report ------------------------------------------------------------------------------------


def render(document: dict[str, Any]) -> str:
    config, data = document["config"], document["data"]
    c = data["counts"]
    users = data["users"]["totals"]
    answers = document["answers"]
    cat = answers["catalogue"]
    lines = [
        f"brochures benchmark  {c['live']} live brochures ({c['brochures']:,} in all)  rate"
        f" {config['rate']:g}/s  {config['seconds']:g} s per endpoint in slices of"
        f" {config['slice']:g} s  {config['servers']}  {config['cpus']} CPUs",
        f"data: {users['org_units']:,} org units, {users['rms']:,} RMs; {c['brochures']:,}"
        f" brochures, {c['versions']:,} versions ({_statuses(c['by_status'])}),"
        f" {c['images']:,} page images, {c['renditions']:,} renditions, {c['products']}"
        f" products; {c['pages_per_live_version']} pages per live version (generated in"
        f" {data['seconds']} s)",
        f"catalogue of {BIG_RM}: {c['live_for_rm']} live for it; first page {cat['items']} items,"
        f" {cat['pages']} pages, {cat['signed_urls']:,} signed URLs,"
        f" {cat['bytes'] / 1024:,.0f} KiB;"
        f" risk_level=R2 {answers['catalogue_risk']['items']} items"
        f" ({answers['catalogue_risk']['bytes'] / 1024:,.0f} KiB), customer C3"
        f" {answers['catalogue_customer']['items']} items"
        f" ({answers['catalogue_customer']['bytes'] / 1024:,.0f} KiB); /me"
        f" {answers['me']['bytes']} B",
        f"server: {config['api_workers']} uvicorn worker(s), db pool {config['db_pool_max']}/"
        f"process; open loop over {config['connections']} keep-alive connections; machine busy"
        f" before measuring {document.get('machine_busy_before_percent')} %, load average"
        f" {document['load_average_before']} before, {document['load_average_after']} after",
        "",
        f"{'phase':<36}{'ok':>6}{'err':>5}{'per s':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'srv mean':>9}{'api ms/req':>11}{'api cpu':>8}{'bench':>7}{'machine':>8}",
    ]
    for p in document["phases"]:
        lines.append(
            f"{p['label']:<36}{p['ok']:>6}{p['errors']:>5}{_fmt(p['per_second'], 7)}"
            f"{_ms(p['p50_ms'], 9)}{_ms(p['p95_ms'], 9)}{_ms(p['p99_ms'], 9)}"
            f"{_ms(p['max_ms'], 9)}{_ms(p.get('server_mean_ms'), 9)}"
            f"{_fmt(p['api_cpu_ms_per_request'], 11, 2)}"
            f"{_fmt(p['server_cpu_percent'], 7, 0)}%{_fmt(p['client_cpu_percent'], 6, 0)}%"
            f"{_fmt(p['machine_busy_percent'], 7, 0)}%"
        )
    r = document["ratio"]
    lines += [
        "open loop: latency from the scheduled send time; srv mean = the API's own mean (/metrics);"
        " api ms/req = API process CPU per answer",
        f"catalogue / me:  p99 x{r['p99']}   p50 x{r['p50']}   API's own mean x{r['server_mean']}"
        f"   API CPU per request x{r['api_cpu_per_request']}",
    ]
    for p in document["phases"]:
        p99s = sorted(row[3] for row in p["per_second_ms"]) or [None]
        lines.append(
            f"  {p['name']}: p99 per slice {p['p99_ms_per_slice']}; p99 of each second best"
            f" {p99s[0]} median {p99s[len(p99s) // 2]} worst {p99s[-1]} ms; late starts"
            f" (>{LATE_MS:g} ms) {p['late_starts']} of {p['scheduled']}; send->answer p50"
            f" {p['service_p50_ms_median_slice']} ms; peak in flight {p['peak_in_flight']}"
            + (
                f"; API ≤5 ms {p.get('server_le_5ms_percent')} %, ≤10 ms"
                f" {p.get('server_le_10ms_percent')} %, ≤20 ms {p.get('server_le_20ms_percent')} %"
                if "server_mean_ms" in p
                else ""
            )
            + (f"; errors {p['error_kinds']}" if p["error_kinds"] else "")
        )
    if document.get("one_client"):
        one = document["one_client"]
        lines += [
            "",
            f"one client, one request at a time, the four in turn ({one[0]['ok']} of each):",
            f"  {'':<34}{'ok':>6}{'err':>5}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}",
        ]
        for p in one:
            lines.append(
                f"  {p['label']:<34}{p['ok']:>6}{p['errors']:>5}{_fmt(p['p50_ms'], 8, 2)}"
                f"{_fmt(p['p95_ms'], 8, 2)}{_fmt(p['p99_ms'], 8, 2)}{_fmt(p['max_ms'], 8, 1)}"
            )
        lines.append(
            f"  catalogue / me, one client:  p99 x{r.get('one_client_p99')}"
            f"   p50 x{r.get('one_client_p50')}"
        )
    lines += [
        "",
        f"in-process, one pooled connection, {document['in_process'][0]['calls']} calls each,"
        " p50 ms (handler's work: SQL incl. decoding, the Python around it, begin+commit,"
        " JSON encoding):",
        f"  {'case':<30}{'total':>8}{'p99':>8}{'SQL':>8}{'python':>8}{'tx':>7}{'encode':>8}"
        f"{'KiB':>6}  SQL by statement",
    ]
    for e in document["in_process"]:
        parts = dict(e["parts_p50_ms"])
        python = parts.pop("python", None)
        sql = sum(v for v in parts.values() if v is not None)
        lines.append(
            f"  {e['case']:<30}{_fmt(e['total_p50_ms'], 8, 2)}{_fmt(e['total_p99_ms'], 8, 2)}"
            f"{_fmt(sql, 8, 2)}{_fmt(python, 8, 2)}{_fmt(e['begin_commit_p50_ms'], 7, 2)}"
            f"{_fmt(e['encode_p50_ms'], 8, 2)}{_fmt(e['bytes'] / 1024, 6, 0)}  "
            + ", ".join(f"{k} {v}" for k, v in parts.items())
        )
    lines += ["", "EXPLAIN (ANALYZE, BUFFERS) of the catalogue's statements, execution ms:"]
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for e in document["explain"]:
        by_key.setdefault((e["case"], e["statement"]), {})[e["plan"]] = e
    for (case, statement), plans in by_key.items():
        cu, ge = plans.get("custom", {}), plans.get("generic", {})
        n = cu.get("array_length")
        lines.append(
            f"  {case:<18}{statement + (f' ({n})' if n else ''):<18}"
            f" custom {_fmt(cu.get('execution_ms'), 6, 3)} (plan {cu.get('planning_ms')})"
            f"  generic {_fmt(ge.get('execution_ms'), 6, 3)}   {cu.get('scans')}"
        )
    first = by_key.get(("first page", "catalogue"), {}).get("custom")
    if first:
        lines.append("  the catalogue's first page, custom plan:")
        lines += ["    " + line for line in _condensed(first["text"])]
    pc = document["plan_cache"]
    lines.append(
        f"  one connection, {pc['calls']} catalogue calls: "
        + "; ".join(
            f"{s['statement']} {s['custom_plans']} custom / {s['generic_plans']} generic"
            for s in pc["statements"]
        )
    )
    return "\n".join(lines)


def _ms(value: float | None, width: int) -> str:
    """Milliseconds: two decimals, none from a second up (a queue, not a service time)."""
    if value is not None and value >= 1000:
        return f"{value:,.0f}".rjust(width)
    return _fmt(value, width, 2)


def _statuses(by_status: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in by_status.items())


# ---- command line ------------------------------------------------------------------------------


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
            f"generating users (fraction {args.fraction}), {args.live} live and {args.other}"
            " other brochures ...",
            flush=True,
        )
        conn = await asyncpg.connect(
            target.database_url, server_settings={"synchronous_commit": "off"}
        )
        try:
            users = await generate.generate(conn, fraction=args.fraction)
            data = await generate_brochures(conn, live=args.live, other=args.other)
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
        results = await benchmark(target, args, process.pid, settings, data)
        return {
            "benchmark": "brochures",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                "live": args.live,
                "other": args.other,
                "fraction": args.fraction,
                "rate": args.rate,
                "seconds": args.seconds,
                "slice": args.slice,
                "warmup": args.warmup,
                "connections": args.connections,
                "in_process_calls": args.in_process_calls,
                "one_client": args.one_client,
                "api_workers": args.workers,
                "wait_idle_minutes": args.wait_idle,
                "servers": "embedded" if target.embedded else "external",
                "db_pool_max": settings.db_pool_max,
                "media_url_ttl_seconds": settings.media_url_ttl_seconds,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "data": {
                "users": users.as_dict(),
                "counts": data.counts,
                "seconds": data.seconds,
                "rm": BIG_RM,
                "rm_unit_depth": len(data.path_units) - 1,
            },
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
        prog="python -m bench.brochures",
        description="Measure the RMs' brochure catalogue (open loop) next to GET /me.",
    )
    parser.add_argument("--live", type=int, default=200, help="live brochures")
    parser.add_argument("--other", type=int, default=1000, help="brochures in other states")
    parser.add_argument("--fraction", type=float, default=1.0, help="of the scale model's users")
    parser.add_argument("--rate", type=float, default=200, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20, help="of each endpoint under load")
    parser.add_argument("--slice", type=float, default=5, help="seconds per turn of an endpoint")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of each, not counted")
    parser.add_argument("--connections", type=int, default=32, help="open-loop connections")
    parser.add_argument(
        "--in-process-calls", type=int, default=200, help="calls per in-process case"
    )
    parser.add_argument(
        "--one-client", type=int, default=100, help="requests of each, one at a time (0: none)"
    )
    parser.add_argument("--workers", type=int, default=1, help="API processes (uvicorn workers)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="MINUTES",
        help="before the load, wait up to this long for the machine to be under 15 %% busy",
    )
    parser.add_argument("--database-url", help="PostgreSQL server to create a fresh database on")
    parser.add_argument("--redis-url", help="Redis server (keys get a unique prefix)")
    args = parser.parse_args(argv)
    if bool(args.database_url) != bool(args.redis_url):
        parser.error("give both --database-url and --redis-url, or neither (embedded)")
    if args.live < 1 or args.other < 0:
        parser.error("--live must be at least 1 and --other at least 0")
    if min(args.rate, args.seconds, args.slice, args.connections, args.fraction) <= 0:
        parser.error("--rate, --seconds, --slice, --connections and --fraction must be positive")
    if args.in_process_calls < 1 or args.one_client < 0:
        parser.error("--in-process-calls must be at least 1, --one-client at least 0")
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
    out = RESULTS_DIR / f"brochures-{stamp}.json"
    out.write_text(
        json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

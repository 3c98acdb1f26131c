"""Share funnels for a branch of 200 RMs over 90 days, in-process, on a realistically full bank.

    python -m bench.funnels [--branch-rms 200] [--other-rms 800] [--days 90]
                            [--shares-per-rm-day 4] [--raw-events N] [--calls 20]
                            [--database-url URL]

It creates a fresh database `wbbench_<random>` on the server of --database-url (default: the
DATABASE_URL environment variable), migrates it, and generates by COPY: a head office, the
measured branch (--branch-rms RMs in teams of 20, one branch head) and other branches holding
--other-rms RMs (so the branch is a realistic part of the shares tables, not all of them), 200
products with one live brochure each, 20 customers per RM, --shares-per-rm-day shares per RM per
day (Poisson) over --days days, each with a per-visitor rollup row (`share_visitors`, as the
tracking worker keeps it) per visitor: none for ~30 % of shares, one for ~40 %, a few for most
others and 10-40 for a viral 3 %; ~90 % of visitors open, dwell is log-normal around 15 s, ~15 %
of openers click; ~12 % of clicked shares to a customer get a conversion, plus unattributed ones.
The raw hits those rollups stand for (an open, page views, a heartbeat per 5 s of dwell, a CTA)
are counted and reported, not written: the funnel never reads them.

With --raw-events N (default 0), N raw hits are also written to the partitioned `share_hits`
after the rollups, server-side, so that the funnel is measured beside a full hits table: the
monthly partitions of the period are created (`workbench.tracking.partitions.ensure_month`; the
migration makes only this month's and the next two), the table's indexes are dropped, the hits
go in by INSERT ... SELECT over generate_series in chunks of --raw-chunk (3,000,000) rows with
progress printed, the indexes are rebuilt from their own definitions (a bulk load's usual order;
the table ends with exactly the migration's indexes), then VACUUM ANALYZE. Each hit belongs to a
random generated visitor row (so to its share, which is in the period) and is received within
40 minutes after that visitor was seen (never after now); types are ~11 % open, 36 % page_view,
51.5 % heartbeat (ms 5000), 1.5 % cta; ~2 % come from a link-preview bot (verdict 'bot', as
`tracking.bots` labels Slackbot), the others from phone browsers (verdict 'human'); event ids are
random (gen_random_uuid), addresses one per visitor. The rollups are not changed by them.

Then, on one pooled connection in a transaction as the handler runs it, it times
`workbench.funnels.views.funnel` (the one statement plus the Python around it) and the JSON
encoding of the answer, --calls times after 3 warm-up calls, for: the branch head over 90 days
grouped by RM, org unit and brochure; marketing over the whole bank for 30 days by brochure; one
RM over 90 days. EXPLAIN (ANALYZE, BUFFERS) of the branch head's RM funnel is printed. The
database is dropped at the end. Figures are printed and written to
bench/results/funnels-<timestamp>.json. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import platform
import random
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from bench.identity import RESULTS_DIR, _admin_sql, with_database
from mobile_contracts.v1.funnels import FunnelGroupBy
from mobile_contracts.v1.identity import Role
from workbench import migrate
from workbench.access import Caller
from workbench.db import create_pool
from workbench.funnels import views
from workbench.ids import uuid7
from workbench.tracking import partitions

TEAM_SIZE = 20
PRODUCTS = 200
CUSTOMERS_PER_RM = 20
OTHER_BRANCH_RMS = 40


def _uuid_at(moment: datetime, rng: random.Random) -> uuid.UUID:
    """A v7 id of that moment (ids of a history are time-ordered like the app's)."""
    millis = int(moment.timestamp() * 1000)
    value = (millis << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62)
    return uuid.UUID(int=value | rng.getrandbits(62))


class Bank:
    """Ids of what was generated, for the measured calls."""

    def __init__(self) -> None:
        self.root = uuid7()
        self.branch = uuid7()
        self.branch_head = uuid7()
        self.marketing = uuid7()
        self.rm = uuid.UUID(int=0)
        self.counts: dict[str, int] = {}


async def generate(conn: asyncpg.Connection, args: argparse.Namespace, bank: Bank) -> None:
    rng = random.Random(20261203)
    now = datetime.now(UTC)
    units: list[tuple[Any, ...]] = []
    users: list[tuple[Any, ...]] = []

    def unit(unit_id: uuid.UUID, name: str, parent: tuple[uuid.UUID, str, int] | None) -> Any:
        path = f"{parent[1] if parent else '/'}{unit_id}/"
        depth = parent[2] + 1 if parent else 0
        units.append((unit_id, parent[0] if parent else None, name, path, depth))
        return (unit_id, path, depth)

    def user(role: str, unit_id: uuid.UUID, user_id: uuid.UUID | None = None) -> uuid.UUID:
        user_id = user_id or uuid7()
        users.append((user_id, f"u{len(users):06d}", f"用户{len(users)}", role, unit_id, "x"))
        return user_id

    root = unit(bank.root, "总行", None)
    user("marketing", bank.root, bank.marketing)
    branch = unit(bank.branch, "测量支行", root)
    user("branch_head", bank.branch, bank.branch_head)
    rms: list[tuple[uuid.UUID, uuid.UUID]] = []  # (rm, unit)

    def staff_branch(parent: Any, rm_count: int) -> None:
        for t in range(math.ceil(rm_count / TEAM_SIZE)):
            team = unit(uuid7(), f"{t + 1}组", parent)
            for _ in range(min(TEAM_SIZE, rm_count - t * TEAM_SIZE)):
                rms.append((user("rm", team[0]), team[0]))

    staff_branch(branch, args.branch_rms)
    branch_rms = len(rms)
    bank.rm = rms[0][0]
    for b in range(math.ceil(args.other_rms / OTHER_BRANCH_RMS)):
        other = unit(uuid7(), f"其他支行{b}", root)
        user("branch_head", other[0])
        staff_branch(other, min(OTHER_BRANCH_RMS, args.other_rms - b * OTHER_BRANCH_RMS))

    products = [(f"P{n:04d}", f"产品{n}", "fund", 1 + n % 5) for n in range(PRODUCTS)]
    brochures, versions = [], []
    for n, (code, *_rest) in enumerate(products):
        brochure_id = uuid7()
        digest = hashlib.sha256(brochure_id.bytes).digest()
        brochures.append((brochure_id, bank.root, bank.marketing))
        versions.append(
            (
                brochure_id,
                1,
                f"宣传册{n}",
                code,
                [b"\x01"],
                digest,
                "published",
                digest,
                bank.marketing,
                now - timedelta(days=args.days + 1),
            )
        )
    customers = []
    customers_of: dict[uuid.UUID, list[uuid.UUID]] = {}
    for rm, _ in rms:
        mine = customers_of[rm] = []
        for _ in range(CUSTOMERS_PER_RM):
            customer_id = uuid7()
            mine.append(customer_id)
            key = customer_id.bytes
            customers.append(
                (customer_id, f"E{customer_id.hex}", rm, key, key, key, key, key, key, key, 3)
            )

    shares: list[tuple[Any, ...]] = []
    visitors: list[tuple[Any, ...]] = []
    conversions: list[tuple[Any, ...]] = []
    events = 0
    start = now - timedelta(days=args.days)
    for index, (rm, team) in enumerate(rms):
        for day in range(args.days):
            for _ in range(_poisson(rng, args.shares_per_rm_day)):
                at = start + timedelta(days=day, seconds=rng.uniform(8 * 3600, 20 * 3600))
                if at > now:
                    continue
                share_id = _uuid_at(at, rng)
                brochure = rng.randrange(PRODUCTS)
                customer = rng.choice(customers_of[rm]) if rng.random() < 0.6 else None
                shares.append(
                    (
                        share_id,
                        f"b{len(shares):010d}",
                        brochures[brochure][0],
                        1,
                        products[brochure][0],
                        customer,
                        rm,
                        team,
                        "wechat",
                        at,
                    )
                )
                clicked_share = False
                for v in range(_visitor_count(rng)):
                    opened = rng.random() < 0.9
                    dwell = int(rng.lognormvariate(math.log(15_000), 1.0)) if opened else 0
                    clicked = opened and rng.random() < 0.15
                    clicked_share |= clicked
                    pages = rng.randint(1, 6) if opened else 0
                    seen = at + timedelta(minutes=rng.uniform(1, 600))
                    visitors.append(
                        (
                            share_id,
                            f"v{index}-{v}-{rng.getrandbits(40):x}",
                            seen if opened else None,
                            seen,
                            dwell,
                            pages,
                            seen if clicked else None,
                        )
                    )
                    events += opened + pages + dwell // 5000 + clicked + 1
                if clicked_share and customer and rng.random() < 0.12:
                    conversions.append(
                        (
                            uuid7(),
                            f"X{len(conversions):012d}",
                            customer,
                            products[brochure][0],
                            "purchase",
                            10_000,
                            at + timedelta(days=1),
                            share_id,
                        )
                    )
        if index == branch_rms - 1:
            bank.counts["branch_shares"] = len(shares)
            bank.counts["branch_visitor_rows"] = len(visitors)
            bank.counts["branch_events_represented"] = events
    for n in range(len(conversions) // 3):  # bought without a share in the window
        rm, _ = rms[n % len(rms)]
        conversions.append(
            (
                uuid7(),
                f"N{n:012d}",
                customers_of[rm][0],
                products[0][0],
                "consult",
                None,
                now - timedelta(days=n % args.days),
                None,
            )
        )

    async with conn.transaction():
        copy = conn.copy_records_to_table
        await copy("org_units", records=units, columns=["id", "parent_id", "name", "path", "depth"])
        await copy(
            "users",
            records=users,
            columns=["id", "login", "name", "role", "org_unit_id", "password_hash"],
        )
        await copy("products", records=products, columns=["code", "name", "category", "risk_level"])
        await copy("brochures", records=brochures, columns=["id", "owner_unit_id", "created_by"])
        await copy(
            "brochure_versions",
            records=versions,
            columns=[
                "brochure_id",
                "version",
                "title",
                "product_code",
                "pages",
                "content_hash",
                "status",
                "approved_hash",
                "created_by",
                "published_at",
            ],
        )
        await copy(
            "customers",
            records=customers,
            columns=[
                "id",
                "external_id",
                "owner_id",
                "name_enc",
                "id_number_enc",
                "phone_enc",
                "name_bidx",
                "surname_bidx",
                "id_number_bidx",
                "phone_bidx",
                "risk_level",
            ],
        )
        await copy(
            "shares",
            records=shares,
            columns=[
                "id",
                "code",
                "brochure_id",
                "brochure_version",
                "product_code",
                "customer_id",
                "rm_id",
                "org_unit_id",
                "channel",
                "created_at",
            ],
        )
        await copy(
            "share_visitors",
            records=visitors,
            columns=[
                "share_id",
                "visitor_id",
                "first_open_at",
                "last_hit_at",
                "dwell_ms",
                "page_views",
                "clicked_at",
            ],
        )
        await copy(
            "conversions",
            records=conversions,
            columns=[
                "id",
                "external_id",
                "customer_id",
                "product_code",
                "kind",
                "amount",
                "occurred_at",
                "share_id",
            ],
        )
    await conn.execute("vacuum analyze")
    bank.counts.update(
        rms=len(rms),
        branch_rms=branch_rms,
        shares=len(shares),
        visitor_rows=len(visitors),
        conversions=len(conversions),
        events_represented=events,
    )


# ---- raw hits (--raw-events) -------------------------------------------------------------------

RAW_SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
RAW_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2c) NetType/WIFI Language/zh_CN",
    "Mozilla/5.0 (Linux; Android 12; V2055A Build/SP1A.210812.003; wv) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Version/4.0 Chrome/101.0.4951.74 Mobile Safari/537.36 AlipayClient/10.5.36.8000",
)

# $1, $2: the chunk's first and last number; $3: visitor rows; $4: now; $5: human agents;
# $6: the bot's agent. The inner subquery draws the random numbers once per hit (volatile, so it
# is not flattened into the join).
_RAW_INSERT = """
insert into share_hits (received_at, event_id, share_id, visitor_id, type, page, ms, ip,
                        user_agent, verdict, reason)
select least(v.seen + h.late * interval '40 minutes', $4::timestamptz),
       gen_random_uuid(),
       v.share_id,
       v.visitor_id,
       h.kind,
       case when h.kind = 'page_view' then 1 + (h.g % 6)::int end,
       case when h.kind = 'heartbeat' then 5000 end,
       '10.0.0.0'::inet + (hashtext(v.visitor_id) & 16777215),
       case when h.bot then $6 else ($5::text[])[1 + (hashtext(v.visitor_id) & 3) % 3] end,
       case when h.bot then 'bot' else 'human' end,
       case when h.bot then 'link preview: Slackbot' else '' end
  from (select g,
               1 + floor(random() * $3)::int as n,
               random() as late,
               case when x < 0.11 then 'open' when x < 0.47 then 'page_view'
                    when x < 0.985 then 'heartbeat' else 'cta' end as kind,
               random() < 0.02 as bot
          from (select g, random() as x from generate_series($1::bigint, $2::bigint) g) r
       ) h
  join bench_raw_visitors v on v.n = h.n
"""


async def write_raw_events(
    conn: asyncpg.Connection, count: int, chunk: int, bank: Bank
) -> dict[str, Any]:
    """`count` raw hits into share_hits (see the module's docstring); what was done, timed."""
    began = time.perf_counter()
    now = datetime.now(UTC)
    await conn.execute("set maintenance_work_mem = '1GB'")
    await conn.execute(
        """
        create temp table bench_raw_visitors as
        select (row_number() over ())::int as n, share_id, visitor_id,
               coalesce(first_open_at, last_hit_at) as seen
          from share_visitors
        """
    )
    await conn.execute("alter table bench_raw_visitors add primary key (n)")
    await conn.execute("analyze bench_raw_visitors")
    row = await conn.fetchrow("select count(*)::int, min(seen) from bench_raw_visitors")
    assert row is not None
    visitors, first = row
    if not visitors:
        raise RuntimeError("no visitor rows to write raw hits for")
    month, last = partitions.month_of(first), partitions.month_of(now)
    while month <= last:
        await partitions.ensure_month(conn, month)
        month = partitions.add_months(month, 1)
    # The parent's indexes (made on every partition), dropped now and rebuilt after the load.
    indexes = await conn.fetch(
        """
        select i.relname as name, pg_get_indexdef(x.indexrelid) as definition,
               c.conname, pg_get_constraintdef(c.oid) as constraint_definition
          from pg_index x
          join pg_class i on i.oid = x.indexrelid
          left join pg_constraint c on c.conindid = x.indexrelid and c.conrelid = x.indrelid
         where x.indrelid = 'share_hits'::regclass
        """
    )
    for index in indexes:
        if index["conname"]:
            await conn.execute(f'alter table share_hits drop constraint "{index["conname"]}"')
        else:
            await conn.execute(f'drop index "{index["name"]}"')
    print(
        f"raw hits: {count:,} over {visitors:,} visitor rows, partitions from {first:%Y-%m};"
        f" indexes dropped: {', '.join(i['name'] for i in indexes)}",
        flush=True,
    )
    inserting = time.perf_counter()
    written = 0
    for low in range(1, count + 1, chunk):
        high = min(count, low + chunk - 1)
        started = time.perf_counter()
        status = await conn.execute(
            _RAW_INSERT, low, high, visitors, now, list(RAW_AGENTS), RAW_SLACK
        )
        written += int(status.split()[-1])
        took = time.perf_counter() - started
        print(
            f"  {written:>12,} / {count:,} raw hits ({(high - low + 1) / took:,.0f}/s this chunk,"
            f" {time.perf_counter() - inserting:,.0f} s)",
            flush=True,
        )
    inserted = time.perf_counter() - inserting
    started = time.perf_counter()
    for index in indexes:
        if index["conname"]:
            await conn.execute(
                f'alter table share_hits add constraint "{index["conname"]}"'
                f" {index['constraint_definition']}"
            )
        else:  # a partitioned index's definition says ON ONLY: here it is made on every partition
            await conn.execute(index["definition"].replace(" ON ONLY ", " ON ", 1))
        print(f"  index {index['name']} rebuilt ({time.perf_counter() - started:,.0f} s)")
    indexed = time.perf_counter() - started
    started = time.perf_counter()
    await conn.execute("vacuum analyze")
    vacuumed = time.perf_counter() - started
    await conn.execute("drop table bench_raw_visitors")
    kinds = await conn.fetch(
        "select type, verdict, count(*)::bigint as n from share_hits group by 1, 2 order by 1, 2"
    )
    sizes: Any = await conn.fetchrow(
        """
        select count(*)::int as partitions,
               sum(pg_table_size(i.inhrelid))::bigint as heap,
               sum(pg_indexes_size(i.inhrelid))::bigint as indexes
          from pg_inherits i where i.inhparent = 'share_hits'::regclass
        """
    )
    summary = {
        "raw_events": written,
        "by_type_and_verdict": {f"{r['type']}/{r['verdict']}": r["n"] for r in kinds},
        "partitions": sizes["partitions"],
        "heap_gb": round(sizes["heap"] / 2**30, 2),
        "indexes_gb": round(sizes["indexes"] / 2**30, 2),
        "insert_s": round(inserted, 1),
        "index_s": round(indexed, 1),
        "vacuum_analyze_s": round(vacuumed, 1),
        "seconds": round(time.perf_counter() - began, 1),
    }
    print(f"raw hits written: {summary}", flush=True)
    return summary


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _visitor_count(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.30:
        return 0
    if roll < 0.70:
        return 1
    if roll < 0.97:
        return rng.randint(2, 5)
    return rng.randint(10, 40)


async def measure(database_url: str, bank: Bank, args: argparse.Namespace) -> dict[str, Any]:
    pool = await create_pool(database_url, max_size=1)
    now = datetime.now(UTC)
    head = Caller(
        user_id=bank.branch_head,
        role=Role.BRANCH_HEAD,
        org_unit_id=bank.branch,
        session_id=uuid7(),
        device_id="bench",
    )
    marketing = Caller(
        user_id=bank.marketing,
        role=Role.MARKETING,
        org_unit_id=bank.root,
        session_id=uuid7(),
        device_id="bench",
    )
    rm = Caller(
        user_id=bank.rm, role=Role.RM, org_unit_id=bank.root, session_id=uuid7(), device_id="bench"
    )
    days = timedelta(days=args.days)
    cases = [
        ("branch head, by rm, 90 days", head, FunnelGroupBy.RM, days),
        ("branch head, by org_unit, 90 days", head, FunnelGroupBy.ORG_UNIT, days),
        ("branch head, by sub_unit (its teams), 90 days", head, FunnelGroupBy.SUB_UNIT, days),
        ("branch head, by brochure, 90 days", head, FunnelGroupBy.BROCHURE, days),
        (
            "marketing, whole bank, by brochure, 30 days",
            marketing,
            FunnelGroupBy.BROCHURE,
            timedelta(days=30),
        ),
        (
            "marketing, whole bank, by sub_unit (its branches), 30 days",
            marketing,
            FunnelGroupBy.SUB_UNIT,
            timedelta(days=30),
        ),
        ("one rm, by brochure, 90 days", rm, FunnelGroupBy.BROCHURE, days),
    ]
    results: dict[str, Any] = {}
    try:
        async with pool.acquire() as conn:
            for name, caller, group_by, span in cases:
                timings, encodings = [], []
                for n in range(3 + args.calls):
                    async with conn.transaction():
                        started = time.perf_counter()
                        answer = await views.funnel(
                            conn,
                            caller=caller,
                            group_by=group_by,
                            start=now - span,
                            end=now,
                            org_unit_id=None,
                            limit=100,
                        )
                        took = time.perf_counter() - started
                    started = time.perf_counter()
                    body = msgspec.json.encode(answer)
                    encoded = time.perf_counter() - started
                    if n >= 3:
                        timings.append(took * 1000)
                        encodings.append(encoded * 1000)
                results[name] = {
                    "p50_ms": round(statistics.median(timings), 1),
                    "p95_ms": round(_percentile(timings, 0.95), 1),
                    "max_ms": round(max(timings), 1),
                    "encode_p50_ms": round(statistics.median(encodings), 2),
                    "rows": len(answer.rows),
                    "shares": answer.total.shared,
                    "bytes": len(body),
                }
                print(
                    f"  {name:<46} p50 {results[name]['p50_ms']:>7} ms  "
                    f"p95 {results[name]['p95_ms']:>7} ms  ({answer.total.shared} shares, "
                    f"{len(answer.rows)} rows)",
                    flush=True,
                )
            results["explain_branch_head_by_rm"] = await _explain(conn, bank, now - days, now)
    finally:
        await pool.close()
    return results


async def _explain(conn: Any, bank: Bank, start: datetime, end: datetime) -> list[str]:
    """The plan of the branch head's funnel by RM, captured from the statement the view runs."""
    from workbench.funnels import queries

    captured: list[tuple[str, Sequence[Any]]] = []

    class Recorder:
        async def fetch(self, sql: str, *args: Any) -> list[Any]:
            captured.append((sql, args))
            return [{"ok": True, "total_groups": 0}]

    scope = queries.FunnelScope(
        start=start,
        end=end,
        unit_root=bank.branch,
        rm_id=None,
        org_unit_id=None,
        visible_root=bank.branch,
    )
    await queries.funnel(Recorder(), scope=scope, group_by=FunnelGroupBy.RM, limit=100)  # type: ignore[arg-type]
    sql, params = captured[0]
    rows = await conn.fetch(f"explain (analyze, buffers) {sql}", *params)
    return [r[0] for r in rows]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    name = f"wbbench_{secrets.token_hex(5)}"
    await _admin_sql(args.database_url, f'create database "{name}"')
    try:
        url = with_database(args.database_url, name)
        await migrate.migrate(url)
        bank = Bank()
        started = time.perf_counter()
        conn = await asyncpg.connect(url, server_settings={"synchronous_commit": "off"})
        try:
            print("generating ...", flush=True)
            await generate(conn, args, bank)
        finally:
            await conn.close()
        generated = round(time.perf_counter() - started, 1)
        print(f"generated in {generated} s: {bank.counts}", flush=True)
        raw: dict[str, Any] = {}
        if args.raw_events:
            conn = await asyncpg.connect(url, server_settings={"synchronous_commit": "off"})
            try:
                raw = await write_raw_events(conn, args.raw_events, args.raw_chunk, bank)
            finally:
                await conn.close()
        load = os.getloadavg()
        print(f"measuring (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}) ...", flush=True)
        results = await measure(url, bank, args)
        results["load_average"] = {"before": load, "after": os.getloadavg()}
        return {
            "benchmark": "funnels",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                **vars(args),
                "database_url": None,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "data": {**bank.counts, "seconds": generated, "raw_hits": raw or None},
            "results": results,
        }
    finally:
        if args.keep:
            print(f"kept: database {name}", flush=True)
        else:
            with contextlib.suppress(Exception):
                await _admin_sql(
                    args.database_url, f'drop database if exists "{name}" with (force)'
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.funnels", description=__doc__)
    parser.add_argument("--branch-rms", type=int, default=200, help="RMs of the measured branch")
    parser.add_argument("--other-rms", type=int, default=800, help="RMs of the other branches")
    parser.add_argument("--days", type=int, default=90, help="of share history")
    parser.add_argument("--shares-per-rm-day", type=float, default=4.0)
    parser.add_argument(
        "--raw-events", type=int, default=0, help="raw hits to write to share_hits (0: none)"
    )
    parser.add_argument("--raw-chunk", type=int, default=3_000_000, help="raw hits per INSERT")
    parser.add_argument("--calls", type=int, default=20, help="timed calls per case")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the database (to explore)")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url (or set DATABASE_URL)")
    if min(args.branch_rms, args.days, args.calls, args.raw_chunk) < 1 or args.other_rms < 0:
        parser.error("--branch-rms, --days, --calls and --raw-chunk must be positive")
    if args.raw_events < 0:
        parser.error("--raw-events must not be negative")
    try:
        document = asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("interrupted; database dropped, nothing written", file=sys.stderr)
        return 130
    print("\n".join(document["results"]["explain_branch_head_by_rm"]))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"funnels-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

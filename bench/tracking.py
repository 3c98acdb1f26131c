"""Share tracking: beacon ingestion against raw XADD, and open -> radar push latency.

    python -m bench.tracking [--events 60000] [--shares 200] [--radar-shares 200]
                             [--radar-spread 60] [--consumers 1,2] [--http-seconds 10]
                             [--paced-seconds 15] [--database-url URL] [--redis-url URL]

It creates a fresh database `wbbench_<random>` on the server of --database-url (default: the
DATABASE_URL environment variable; Redis: --redis-url or REDIS_URL, keys under a unique prefix,
deleted at the end), migrates it, and inserts directly (as the tracking tests do): one org unit,
--rms RMs with one registered push device each, a product with a live brochure, --shares shares
for the ingestion and --radar-shares others for the radar (shared to no customer). Push goes to
the loopback fake of APNs/FCM/HMS (`python -m push.fakes`, answering after 20 ms), which notes
when each push arrived.

The beacons are a realistic mix, precomputed: visitors of the shares (a distinct IP each, phone
Safari / WeChat / Alipay user agents, 2 % link-preview bots) send an open, 1-6 page views, a
heartbeat per 5 s of a log-normal dwell around 15 s (`ms` = 5000) and, for 15 %, a CTA; ~9 events
per visitor, interleaved in time order, all under the per-visitor and per-IP limits. A mix is
live traffic at its rate (`beacon_mix`): the visitors reading during its seconds, so a worker's
batch holds about one beacon per visitor, as live.

Measured, in this order:
  1. raw      pipelined XADD (1,000 per round trip, MAXLEN ~ as the door) of --events entries
              carrying what the door's entries carry (one field holding the beacon packed by
              `beacons.pack`, packed in the loop as the door packs per call) to a scratch
              stream: the ceiling of one Redis client for the same entries. (Also, for
              reference to earlier runs only, XADD of the first entries: nine field pairs and
              `limited`.)
  2. door     what the door sends (one XADD of the packed beacon, field `u`: the worker
              screens it), pipelined 1,000 per round trip; and `beacons.Door.append` itself,
              awaited by 64 concurrent callers (those waiting at once share a round trip). For
              raw XADD and the door: the client's CPU per beacon (this process) and Redis's time
              per call (INFO commandstats deltas; other clients of the server count too).
  3. ingest   for each --consumers count c, on a stream of its own: --events beacons appended
              (the door, pipelined) before c `python -m workbench worker` processes start (each
              runs WORKBENCH_TRACKING_LOOPS consumer loops, plus push delivery of the radar's
              notifications): the backlog's drain rate from the first batch stored, and the
              workers' CPU per event. Then, live:
              - burst: another --events beacons through the door as fast as one client goes
                (pipelined) while the workers consume: events / (time from the first append
                until all are in share_hits). The producer takes a whole CPU while it runs.
              - sustained (paced): the door at a steady rate for --paced-seconds while the
                workers consume, from 10 % of raw XADD up by 5 % steps, until the workers fall
                behind (they stored under 97 % of the rate appended) or the producer cannot
                keep the pace (the CPUs are saturated). Stored/s is the least-squares slope of
                what the consumer group acknowledged, read every 0.25 s from the second
                second on: the rate held, not the latency of the last batch. Before each rate,
                raw XADD is measured again (step 1's way). Meanwhile `python -m
                bench.door_probe` times one `Door.append` every 20 ms from a process of its
                own (p50, p99, max): how long `POST /t` waits on Redis while workers run.
              Ratios are to the median of all raw XADD runs: this machine's pace drifts by
              tens of percent within minutes. Also Redis's time per beacon in the workers'
              screening script (duplicates, limits), in its steady state (its first day also
              reads the earlier door's keys). Progress is watched in Redis (the consumer group
              acknowledges a batch after its commit: nothing pending, the last entry
              delivered), not by counting share_hits while the workers write it; share_hits is
              counted once after each phase and must hold every beacon.
  4. http     the API (`python -m workbench serve`, --api-workers processes) and one worker:
              64 closed-loop clients (one keep-alive connection each, made before the clock
              starts) POST /t for --http-seconds; answered/s, stored/s, and CPU per request of
              the API and of the load client. On 2 CPUs the client competes with the API.
  5. radar    the same API and worker: the first open of each of --radar-shares shares, spread
              evenly over --radar-spread seconds; open (POST /t answered, client clock) -> the
              fake provider received the push (same machine, same clock): p50/p95/max.

Figures are printed and written to bench/results/tracking-<timestamp>.json. Nothing passes or
fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import platform
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from redis.asyncio import Redis

from bench import push as push_bench
from bench.identity import (
    RESULTS_DIR,
    _admin_sql,
    _drop_redis_keys,
    _tail,
    percentile,
    start_api,
    stop_api,
    wait_ready,
    with_database,
)
from mobile_contracts.v1.tracking import Beacon, BeaconType
from workbench import migrate
from workbench.embedded import free_port
from workbench.ids import uuid7
from workbench.security.vault import Vault
from workbench.settings import DataKey
from workbench.tracking import beacons
from workbench.tracking.beacons import stream_key

ROUND = 1000  # entries per pipelined round trip
TICK = 0.05  # the paced producer sends what is due at least this often (seconds)
CONCURRENT = 64  # awaiting callers of beacons.Door.append, and HTTP clients
KEPT_UP = 0.97  # paced: the workers kept up if they stored at this share of the appended rate
WATCH_EVERY = 0.25  # paced: seconds between two readings of what the consumer group stored
# paced: offered rates from, up to and by these shares of raw XADD
PACED_FROM, PACED_TO, PACED_STEP = 0.1, 0.9, 0.05
# The mixes' traffic: beacons a second of the live traffic a backlog or a burst is made of (a
# paced step's mix is traffic of its own rate), and the longest a visitor reads (s).
LIVE_RATE, SESSION_LIMIT = 20_000.0, 300.0
PHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2c) NetType/WIFI Language/zh_CN"
)
ALIPAY = (
    "Mozilla/5.0 (Linux; Android 12; V2055A Build/SP1A.210812.003; wv) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Version/4.0 Chrome/101.0.4951.74 Mobile Safari/537.36 AlipayClient/10.5.36.8000"
)
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
AGENTS = ((PHONE_SAFARI, 40), (WECHAT, 45), (ALIPAY, 13), (SLACK, 2))


# ---- data ------------------------------------------------------------------------------------


def _code(rng: random.Random) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(rng.choice(alphabet) for _ in range(10))


async def setup(conn: asyncpg.Connection, args: argparse.Namespace, vault: Vault) -> dict[str, Any]:
    """RMs with a push device each (bench.push's setup), a live brochure, the shares."""
    await push_bench._setup(conn, argparse.Namespace(rms=args.rms), vault)
    root = await conn.fetchval("select id from org_units")
    admin = await conn.fetchval("select id from users where role = 'admin'")
    rms = [r["id"] for r in await conn.fetch("select id from users where role = 'rm' order by 1")]
    await conn.execute(
        "insert into products (code, name, category, risk_level) values ('P0001', '稳健理财一号',"
        " 'fund', 2)"
    )
    brochure = uuid7()
    digest = os.urandom(32)
    await conn.execute(
        "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
        brochure,
        root,
        admin,
    )
    await conn.execute(
        "insert into brochure_versions (brochure_id, version, title, product_code, pages,"
        " content_hash, status, approved_hash, created_by, published_at)"
        " values ($1, 1, '稳健理财一号', 'P0001', $2, $3, 'published', $3, $4, $5)",
        brochure,
        [b"\x01"],
        digest,
        admin,
        datetime.now(UTC) - timedelta(days=1),
    )
    rng = random.Random(14)
    codes = sorted({_code(rng) for _ in range(args.shares + args.radar_shares)})
    while len(codes) < args.shares + args.radar_shares:
        codes = sorted({*codes, _code(rng)})
    rng.shuffle(codes)
    shares = [
        (uuid7(), code, brochure, 1, "P0001", rms[i % len(rms)], root, "wechat")
        for i, code in enumerate(codes)
    ]
    await conn.copy_records_to_table(
        "shares",
        records=shares,
        columns=["id", "code", "brochure_id", "brochure_version", "product_code", "rm_id",
                 "org_unit_id", "channel"],
    )  # fmt: skip
    await conn.execute("analyze")
    return {
        "ingest_codes": codes[: args.shares],
        "radar": {code: share_id for share_id, code, *_ in shares[args.shares :]},
    }


def beacon_mix(
    codes: list[str], count: int, seed: int, per_second: float = LIVE_RATE
) -> list[dict[str, str]]:
    """`count` beacons of visitors of `codes` (fields as the door writes them), in time order,
    as live traffic of `per_second` beacons a second brings them: the `count / per_second`
    seconds of the mix hold every visitor reading meanwhile, those who came before it too (a
    steady state, not a start), so a visitor's beacons spread over their reading time and a
    batch of the workers holds about one beacon of each visitor, as it would live."""
    rng = random.Random(seed)
    agents, weights = [a for a, _ in AGENTS], [w for _, w in AGENTS]
    span = count / per_second
    timed: list[tuple[float, int, dict[str, str]]] = []
    n = 0
    while len(timed) < count:
        pages = rng.randint(1, 6)
        dwell = min(rng.lognormvariate(math.log(15.0), 1.0), SESSION_LIMIT)
        clicks = rng.random() < 0.15
        length = max(pages * 3.0, dwell)
        # Visitors come at a steady rate whatever they then do, so one who reads for `length`
        # seconds overlaps the mix's span with odds in proportion to `length + span`.
        if rng.random() * (SESSION_LIMIT + span) > length + span:
            continue
        at = rng.uniform(-length, span)
        visitor = f"v{seed}-{n}-{rng.getrandbits(48):x}"
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        agent = rng.choices(agents, weights)[0]
        code = rng.choice(codes)
        steps: list[tuple[str, float, int | None, int | None]] = [("open", 0.0, None, None)]
        steps += [("page_view", p * 3.0, p, None) for p in range(1, pages + 1)]
        steps += [("heartbeat", b * 5.0, None, 5000) for b in range(1, int(dwell // 5) + 1)]
        if clicks:
            steps.append(("cta", dwell, None, None))
        for kind, offset, page, ms in steps:
            if not 0 <= at + offset < span:
                continue
            fields = {
                "code": code,
                "visitor_id": visitor,
                "type": kind,
                "page": "" if page is None else str(page),
                "ms": "" if ms is None else str(ms),
                "event_id": str(uuid.uuid4()),
                "ip": ip,
                "user_agent": agent,
            }
            timed.append((at + offset, n, fields))
            n += 1
    timed.sort(key=lambda t: (t[0], t[1]))
    return [fields for _, _, fields in timed[:count]]


# ---- Redis: raw XADD, the door -----------------------------------------------------------------


def _packed(fields: dict[str, str]) -> bytes:
    """The stream field's value the door makes of this beacon."""
    return beacons.pack(
        code=fields["code"],
        visitor_id=fields["visitor_id"],
        type=fields["type"],
        page=int(fields["page"]) if fields["page"] else None,
        ms=int(fields["ms"]) if fields["ms"] else None,
        event_id=fields["event_id"],
        ip=fields["ip"],
        user_agent=fields["user_agent"],
    )


async def raw_xadd(redis: Redis, key: str, mix: list[dict[str, str]]) -> float:
    """Events/s of pipelined XADD of the door's entries (its one packed field, MAXLEN ~)."""
    return await _xadd_pipelined(redis, key, beacons.FIELD, mix)


async def _xadd_pipelined(redis: Redis, key: str, field: bytes, mix: list[dict[str, str]]) -> float:
    """Events/s of XADD of the packed beacons in `field`, ROUND per round trip."""
    started = time.perf_counter()
    for start in range(0, len(mix), ROUND):
        await _xadd_round(redis, key, field, mix[start : start + ROUND])
    return len(mix) / (time.perf_counter() - started)


async def _xadd_round(redis: Redis, key: str, field: bytes, mix: list[dict[str, str]]) -> None:
    """One pipelined round trip: XADD of each beacon packed in `field` (MAXLEN ~ as the door)."""
    pipe = redis.pipeline(transaction=False)
    for fields in mix:
        pipe.xadd(key, {field: _packed(fields)}, maxlen=beacons.STREAM_CAP, approximate=True)
    await pipe.execute()


async def raw_xadd_earlier(redis: Redis, key: str, mix: list[dict[str, str]]) -> float:
    """The same, with the entries of the door before it packed beacons (nine field pairs): not
    the comparison (the door no longer writes them), the earlier runs' reference."""
    started = time.perf_counter()
    for start in range(0, len(mix), ROUND):
        pipe = redis.pipeline(transaction=False)
        for fields in mix[start : start + ROUND]:
            entry: dict[Any, Any] = {**fields, "limited": "0"}
            pipe.xadd(key, entry, maxlen=beacons.STREAM_CAP, approximate=True)
        await pipe.execute()
    return len(mix) / (time.perf_counter() - started)


async def _command_usec(redis: Redis, command: str) -> tuple[int, int]:
    """(calls, microseconds) Redis spent in this command so far (INFO commandstats; a script's
    time includes the commands it calls; other clients of the server count too)."""
    stats = (await redis.info("commandstats")).get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


async def door_pipelined(
    redis: Redis, prefix: str, mix: list[dict[str, str]]
) -> tuple[float, float]:
    """What the door sends (XADD of the packed beacon, unscreened), pipelined;
    (events/s, the moment of the first append)."""
    first = time.time()
    rate = await _xadd_pipelined(redis, stream_key(prefix), beacons.FIELD_UNSCREENED, mix)
    return rate, first


async def door_paced(redis: Redis, prefix: str, mix: list[dict[str, str]], rate: float) -> float:
    """What the door sends, at `rate` beacons/s: pipelined ROUND at a time as soon as
    that many are due, or what is due once TICK passed since the last round (as raw XADD
    pipelines: a round of a few beacons costs the client several times more per beacon); the
    moment of the first append."""
    stream, first, started = stream_key(prefix), time.time(), time.perf_counter()
    sent, last = 0, started
    while sent < len(mix):
        now = time.perf_counter()
        due = min(len(mix), int(rate * (now - started)) + 1)
        if due - sent < ROUND and (due == sent or now - last < TICK):
            wait = min((sent + ROUND - due) / rate, last + TICK - now)
            await asyncio.sleep(max(wait, 0.001))
            continue
        await _xadd_round(
            redis, stream, beacons.FIELD_UNSCREENED, mix[sent : min(due, sent + ROUND)]
        )
        sent, last = min(due, sent + ROUND), now
    return first


async def door_concurrent(redis: Redis, prefix: str, mix: list[dict[str, str]]) -> float:
    """`beacons.Door.append` (what POST /t awaits: the beacons of callers waiting at once share
    a round trip), by CONCURRENT callers."""
    queue = iter(mix)
    door = beacons.Door(redis, prefix)

    async def caller() -> None:
        for fields in queue:
            beacon = Beacon(
                code=fields["code"],
                visitor_id=fields["visitor_id"],
                type=BeaconType(fields["type"]),
                page=int(fields["page"]) if fields["page"] else None,
                ms=int(fields["ms"]) if fields["ms"] else None,
                event_id=uuid.UUID(fields["event_id"]),
            )
            await door.append(beacon=beacon, ip=fields["ip"], user_agent=fields["user_agent"])

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CONCURRENT)))
    return len(mix) / (time.perf_counter() - started)


# ---- processes ---------------------------------------------------------------------------------


class Env:
    """What the API and worker processes of a run share."""

    def __init__(
        self, database_url: str, redis_url: str, fake: dict[str, Any], keys: dict[str, str]
    ):
        self.database_url, self.redis_url, self.fake, self.keys = (
            database_url,
            redis_url,
            fake,
            keys,
        )

    def for_prefix(self, prefix: str) -> dict[str, str]:
        env = push_bench._worker_env(
            self.database_url, self.redis_url, prefix, self.keys, self.fake
        )
        # beacons from many addresses; logs unbuffered, so that a failure can be shown
        env.update(WORKBENCH_TRUSTED_PROXIES="127.0.0.1/32", PYTHONUNBUFFERED="1")
        return env


async def _joined(
    redis: Redis, prefix: str, count: int, workers: list[Any], logs: list[Path]
) -> None:
    """Wait until the workers' consumer loops run: the group exists (the first loop creates it;
    Redis lists a consumer only once it read something), then 3 s for the others' start."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(w.poll() is not None for w in workers):
            raise RuntimeError(f"a worker exited:\n{_tails(logs)}")
        with contextlib.suppress(Exception):
            if await redis.xinfo_groups(stream_key(prefix)):
                await asyncio.sleep(3)
                return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the workers did not start consuming in 60 s:\n{_tails(logs)}")


def _tails(logs: list[Path]) -> str:
    return "\n".join(f"{log}:\n{_tail(log)}" for log in logs)


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        with contextlib.suppress(ProcessLookupError):
            w.send_signal(signal.SIGTERM)
    for w in workers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            w.wait(20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(w.pid, signal.SIGKILL)


async def _stored_by(conn: asyncpg.Connection, target: int, within: float) -> float | None:
    """The moment share_hits holds `target` rows (polled every 50 ms); None on timeout."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await conn.fetchval("select count(*) from share_hits") >= target:
            return time.time()
        await asyncio.sleep(0.05)
    return None


async def _acknowledged(redis: Redis, stream: str) -> tuple[int, bool]:
    """(entries the consumer group acknowledged, whether it acknowledged every entry of the
    stream). A worker acknowledges a batch after its commit, so this is what is stored (the
    mix has no entry a worker drops), read from Redis in O(1) instead of counting share_hits
    (a count(*) over the growing table every 50 ms took PostgreSQL CPU from the workers)."""
    info = await redis.xinfo_stream(stream)
    groups = await redis.xinfo_groups(stream)
    if not groups:
        return 0, False
    group = groups[0]
    acknowledged = int(group["entries-read"] or 0) - int(group["pending"])
    return acknowledged, (
        int(group["pending"]) == 0 and group["last-delivered-id"] == info["last-generated-id"]
    )


async def _watch(redis: Redis, stream: str, samples: list[tuple[float, int]]) -> None:
    """Note (moment, entries acknowledged) every WATCH_EVERY seconds until cancelled."""
    with contextlib.suppress(Exception):  # the group exists once a worker made it
        while True:
            samples.append((time.time(), (await _acknowledged(redis, stream))[0]))
            await asyncio.sleep(WATCH_EVERY)


def _slope(samples: list[tuple[float, int]]) -> float:
    """Entries acknowledged per second: the least-squares slope of the samples (0 if too few).
    Batches are acknowledged whole, so the count rises in steps; the slope is their rate."""
    if len(samples) < 3:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_n = sum(n for _, n in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    return sum((t - mean_t) * (n - mean_n) for t, n in samples) / spread if spread else 0.0


async def _start_probe(redis_url: str, prefix: str, code: str) -> asyncio.subprocess.Process:
    """`python -m bench.door_probe`: the door's latency from a process of its own."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.door_probe", redis_url, prefix, code,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _probed(process: asyncio.subprocess.Process) -> list[float]:
    """The probe's latencies (ms), once told to stop (its standard input closed)."""
    out, _ = await process.communicate(b"")  # no input: stdin closed
    return [float(ms) for ms in json.loads(out or b"[]")]


def _ms(latencies: list[float]) -> dict[str, float | None]:
    """p50, p99 and max of these milliseconds."""
    ordered = sorted(latencies)
    return {
        name: None if (value := percentile(ordered, p)) is None else round(value, 2)
        for name, p in (("p50", 50), ("p99", 99), ("max", 100))
    }


async def _acknowledged_by(redis: Redis, stream: str, within: float) -> float | None:
    """The moment every entry of the stream is stored (polled every 20 ms); None on timeout."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (await _acknowledged(redis, stream))[1]:
            return time.time()
        await asyncio.sleep(0.02)
    return None


async def sustained(
    conn: asyncpg.Connection, redis: Redis, env: Env, prefix: str, consumers: int,
    mix: list[dict[str, str]], backlog: list[dict[str, str]], workdir: Path, *,
    codes: list[str], paced_rates: list[float], paced_seconds: float,
    raw_sample: Callable[[], Awaitable[float]],
) -> dict[str, Any]:  # fmt: skip
    """A backlog drained (appended before the workers start), live ingestion of a burst, then
    paced: the door at each of `paced_rates` for `paced_seconds` until the workers fall
    behind. Progress is the consumer group's (`_acknowledged`); share_hits is counted once after
    each phase."""
    before = await conn.fetchval("select count(*) from share_hits")
    stream = stream_key(prefix)
    # Steady state: screening has run for days, so it no longer reads what earlier screenings
    # left (the first door's per-event-id keys for a day, the hashes per visitor and day for
    # two: one pipelined read per chunk meanwhile; see screening.earlier_until).
    await redis.set(f"{prefix}beacon-screening-since", str(time.time() - 3 * 86_400))
    await redis.set(f"{prefix}beacon-screening-by-day-since", str(time.time() - 3 * 86_400))
    await door_pipelined(redis, prefix, backlog)
    logs = [workdir / f"worker-{prefix[-3:-1]}-{i}.log" for i in range(consumers)]
    workers = [push_bench._start_worker(env.for_prefix(prefix), log) for log in logs]
    try:
        deadline = time.monotonic() + 60
        seen = 0
        while seen == 0:  # from the first batch stored (not the workers' start)
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise RuntimeError(f"the workers stored nothing in 60 s:\n{_tails(logs)}")
            await asyncio.sleep(0.02)
            with contextlib.suppress(Exception):  # the group exists once a worker made it
                seen = (await _acknowledged(redis, stream))[0]
        cpu_at = _cpu(workers)
        drain_from = time.time()
        drained = await _acknowledged_by(redis, stream, within=600)
        if drained is None:
            raise RuntimeError(f"the backlog was not stored in 600 s:\n{_tails(logs)}")
        drain_cpu, rest = _cpu(workers) - cpu_at, len(backlog) - seen
        before += len(backlog)
        if (stored := await conn.fetchval("select count(*) from share_hits")) != before:
            raise RuntimeError(f"the backlog left {stored} hits, not {before}")
        screened_before = await _command_usec(redis, "evalsha")
        appended_rate, first = await door_pipelined(redis, prefix, mix)
        appended_at = time.time()
        done = await _acknowledged_by(redis, stream, within=600)
        screening_usec = (await _command_usec(redis, "evalsha"))[1] - screened_before[1]
        if done is None:
            return {"consumers": consumers, "error": "not all stored within 600 s"}
        if (stored := await conn.fetchval("select count(*) from share_hits")) != before + len(mix):
            raise RuntimeError(f"live ingestion left {stored} hits, not {before + len(mix)}")
        before += len(mix)
        trials = []
        for rate in paced_rates:
            offered = beacon_mix(
                codes, int(rate * paced_seconds), 1000 * consumers + len(trials), per_second=rate
            )
            raw_before = await raw_sample()  # raw XADD again, seconds before: the machine's pace
            samples: list[tuple[float, int]] = []
            probe = await _start_probe(env.redis_url, f"{prefix}probe:", codes[0])
            watching = asyncio.create_task(_watch(redis, stream, samples))
            started = await door_paced(redis, prefix, offered, rate)
            appended_at = time.time()
            watching.cancel()
            latencies = await _probed(probe)
            finished = await _acknowledged_by(redis, stream, within=600)
            if finished is None:
                raise RuntimeError(f"paced at {rate:.0f}/s: not all stored in 600 s")
            before += len(offered)
            # the steady part: from a second after the first append to the last
            steady = [(t, n) for t, n in samples if t >= started + 1]
            trials.append({
                "offered_per_s": round(rate),
                "appended_per_s": round(len(offered) / (appended_at - started)),
                "stored_per_s": round(_slope(steady)),
                "events": len(offered),
                "tail_s": round(finished - appended_at, 2),
                "raw_xadd_just_before_per_s": round(raw_before),
                "door_ms": _ms(latencies),
            })  # fmt: skip
            if trials[-1]["stored_per_s"] < KEPT_UP * trials[-1]["appended_per_s"]:
                break  # the workers fell behind: a higher rate would too
            if trials[-1]["appended_per_s"] < KEPT_UP * rate:
                break  # the producer could not keep the pace: the CPUs are saturated
        if (stored := await conn.fetchval("select count(*) from share_hits")) != before:
            raise RuntimeError(f"paced ingestion left {stored} hits, not {before}")
        return {
            "paced": trials,
            "paced_stored_per_s": max((t["stored_per_s"] for t in trials), default=None),
            "consumers": consumers,
            "events": len(mix),
            "events_per_s": round(len(mix) / (done - first)),
            "appending_s": round(appended_at - first, 2),
            "until_stored_s": round(done - first, 2),
            "door_rate_meanwhile": round(appended_rate),
            "screening_redis_us_per_beacon": round(screening_usec / len(mix), 2),
            "backlog": len(backlog),
            # None: the first batch held the whole backlog (--events <= a batch)
            "backlog_drain_per_s": round(rest / (drained - drain_from)) if rest else None,
            "worker_cpu_ms_per_event": round(1000 * drain_cpu / rest, 3) if rest else None,
        }
    finally:
        _stop_workers(workers)


def _cpu(processes: list[Any]) -> float:
    """CPU seconds so far of these processes and their children."""
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(process.pid)
            for one in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = one.cpu_times()
                    total += times.user + times.system
    return total


async def http_load(
    base_url: str, mix: list[dict[str, str]], seconds: float, api: Any, worker: Any
) -> dict[str, Any]:
    """CONCURRENT closed-loop clients POST /t with beacons of the mix, for `seconds` (the
    clients are made before the clock starts); CPU seconds of the API, worker and client."""
    queue = iter(mix)
    answered: dict[int, int] = {}
    clients = [
        httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=10) for _ in range(CONCURRENT)
    ]

    async def client(http: httpx.AsyncClient, deadline: float) -> None:
        for fields in queue:
            if time.monotonic() > deadline:
                return
            body: dict[str, Any] = {
                k: fields[k] for k in ("code", "visitor_id", "type", "event_id")
            }
            if fields["page"]:
                body["page"] = int(fields["page"])
            if fields["ms"]:
                body["ms"] = int(fields["ms"])
            response = await http.post(
                "/t", json=body,
                headers={"User-Agent": fields["user_agent"], "X-Forwarded-For": fields["ip"]},
            )  # fmt: skip
            answered[response.status_code] = answered.get(response.status_code, 0) + 1

    try:
        cpu = (_cpu([api]), _cpu([worker]), time.process_time())
        started = time.time()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(client(http, deadline) for http in clients))
        took = time.time() - started
        used = (_cpu([api]) - cpu[0], _cpu([worker]) - cpu[1], time.process_time() - cpu[2])
    finally:
        for http in clients:
            await http.aclose()
    return {"started": started, "took": took, "statuses": answered, "cpu": used}


async def radar(
    conn: asyncpg.Connection, base_url: str, fake_url: str, shares: dict[str, uuid.UUID],
    spread: float,
) -> dict[str, Any]:  # fmt: skip
    """First opens of the shares spread over `spread` s; open answered -> push at the provider."""
    opened: dict[uuid.UUID, float] = {}
    codes = sorted(shares)
    rng = random.Random(5)
    start = time.monotonic()

    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=10) as http:

        async def open_one(i: int, code: str) -> None:
            await asyncio.sleep(max(0.0, start + spread * i / len(codes) - time.monotonic()))
            ip = f"10.200.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            response = await http.post(
                "/t",
                json={"code": code, "visitor_id": f"radar-{i}", "type": "open",
                      "event_id": str(uuid.uuid4())},
                headers={"User-Agent": WECHAT, "X-Forwarded-For": ip},
            )  # fmt: skip
            if response.status_code == 204:
                opened[shares[code]] = time.time()

        await asyncio.gather(*(open_one(i, c) for i, c in enumerate(codes)))
    deadline = time.monotonic() + 60
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = await conn.fetch(
            "select id::text, subject_id, push_status from notifications"
            " where category = 'brochure.opened' and subject_id = any($1::uuid[])",
            list(opened),
        )
        if len(rows) >= len(opened) and all(r["push_status"] != "pending" for r in rows):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)
    arrivals = await push_bench._arrivals(fake_url)
    first = push_bench._first_arrival(arrivals)
    by_nid = {r["id"]: r["subject_id"] for r in rows}
    delays = sorted(first[nid] - opened[share] for nid, share in by_nid.items() if nid in first)
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["push_status"]] = statuses.get(r["push_status"], 0) + 1
    return {
        "opens": len(opened),
        "notifications": len(rows),
        "pushed": len(delays),
        "push_statuses": statuses,
        "p50_s": round(percentile(delays, 50) or 0, 3) if delays else None,
        "p95_s": round(percentile(delays, 95) or 0, 3) if delays else None,
        "max_s": round(delays[-1], 3) if delays else None,
        "min_s": round(delays[0], 3) if delays else None,
    }


# ---- the run ---------------------------------------------------------------------------------


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rand = secrets.token_hex(4)
    db_name, base_prefix = f"wbbench_{rand}", f"wbbench-{rand}:"
    await _admin_sql(args.database_url, f'create database "{db_name}"')
    database_url = with_database(args.database_url, db_name)
    fake_process, fake = push_bench._start_fake(workdir, 0.02)
    redis = Redis.from_url(args.redis_url)
    api = None
    workers: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {}
    try:
        await migrate.migrate(database_url)
        data_key = os.urandom(32)
        keys = {
            "WORKBENCH_JWT_KEYS": f"bench:{base64.b64encode(os.urandom(32)).decode()}",
            "WORKBENCH_DATA_KEYS": f"bench:{base64.b64encode(data_key).decode()}",
            "WORKBENCH_BLIND_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
        }
        vault = Vault.from_settings(
            (DataKey("bench", data_key),), base64.b64decode(keys["WORKBENCH_BLIND_INDEX_KEY"])
        )
        conn = await asyncpg.connect(database_url)
        data = await setup(conn, args, vault)
        env = Env(database_url, args.redis_url, fake, keys)
        codes = data["ingest_codes"]

        print(f"raw XADD and the door, {args.events} beacons each ...", flush=True)
        costs: dict[str, Any] = {}

        async def costed(name: str, command: str, step: Any) -> Any:
            """The step's answer; its client CPU per beacon and Redis time per call noted."""
            before = (time.process_time(), await _command_usec(redis, command))
            answer = await step
            calls, usec = await _command_usec(redis, command)
            costs[name] = {
                "client_cpu_us_per_beacon": round(
                    1e6 * (time.process_time() - before[0]) / args.events, 1
                ),
                "redis_us_per_call": round((usec - before[1][1]) / max(calls - before[1][0], 1), 2),
            }
            return answer

        raw = await costed(
            "raw_xadd",
            "xadd",
            raw_xadd(redis, f"{base_prefix}scratch:raw", beacon_mix(codes, args.events, 1)),
        )
        raw_earlier = await costed(
            "raw_xadd_earlier_fields",
            "xadd",
            raw_xadd_earlier(
                redis, f"{base_prefix}scratch:raw-earlier", beacon_mix(codes, args.events, 1)
            ),
        )
        door, _ = await costed(
            "door",
            "xadd",
            door_pipelined(redis, f"{base_prefix}door:", beacon_mix(codes, args.events, 2)),
        )
        append = await door_concurrent(
            redis, f"{base_prefix}append:", beacon_mix(codes, args.events, 3)
        )
        results["redis"] = {
            "raw_xadd_per_s": round(raw),
            "raw_xadd_earlier_fields_per_s": round(raw_earlier),
            "door_pipelined_per_s": round(door),
            "beacons_append_concurrent_per_s": round(append),
            "costs": costs,
        }
        print(f"  {results['redis']}", flush=True)
        await redis.delete(f"{base_prefix}scratch:raw", f"{base_prefix}scratch:raw-earlier")

        raw_samples = [raw]
        raw_mix = beacon_mix(codes, args.events, 1)

        async def raw_sample() -> float:
            key = f"{base_prefix}scratch:raw"
            raw_samples.append(await raw_xadd(redis, key, raw_mix))
            await redis.delete(key)
            return raw_samples[-1]

        rates = [
            raw * (PACED_FROM + PACED_STEP * k)
            for k in range(round((PACED_TO - PACED_FROM) / PACED_STEP) + 1)
        ]
        results["ingest"] = []
        for n, consumers in enumerate(args.consumers):
            print(f"ingestion with {consumers} worker(s) ...", flush=True)
            mix = beacon_mix(codes, args.events, 10 + n)
            backlog = beacon_mix(codes, args.events, 30 + n)
            one = await sustained(
                conn, redis, env, f"{base_prefix}i{n}:", consumers, mix, backlog, workdir,
                codes=codes, paced_rates=rates if args.paced_seconds > 0 else [],
                paced_seconds=args.paced_seconds, raw_sample=raw_sample,
            )  # fmt: skip
            results["ingest"].append(one)
            print(f"  {one}", flush=True)
        # This machine's pace drifts by tens of percent within minutes (shared CPUs): the
        # ratios are to the median of every raw XADD measured in the run.
        raw_median = statistics.median(raw_samples)
        results["redis"]["raw_xadd_samples_per_s"] = [round(r) for r in raw_samples]
        results["redis"]["raw_xadd_median_per_s"] = round(raw_median)
        for one in results["ingest"]:
            if one.get("paced_stored_per_s"):
                one["paced_ratio_to_raw_xadd"] = round(one["paced_stored_per_s"] / raw_median, 3)
            if "events_per_s" in one:
                one["ratio_to_raw_xadd"] = round(one["events_per_s"] / raw_median, 3)
                one["ratio_to_raw_xadd_earlier_fields"] = round(
                    one["events_per_s"] / raw_earlier, 3
                )

        prefix = f"{base_prefix}api:"
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        api_env = env.for_prefix(prefix)
        api = start_api(api_env, port, args.api_workers, workdir / "api.log")
        await wait_ready(base_url, api, workdir / "api.log")
        workers = [push_bench._start_worker(api_env, workdir / "worker-api.log")]
        await _joined(redis, prefix, 1, workers, [workdir / "worker-api.log"])
        if args.http_seconds > 0:
            print(f"POST /t, {CONCURRENT} clients, {args.http_seconds} s ...", flush=True)
            before = await conn.fetchval("select count(*) from share_hits")
            load = await http_load(
                base_url, beacon_mix(codes, 200_000, 20), args.http_seconds, api, workers[0]
            )
            cpu_api, cpu_worker, cpu_client = load["cpu"]
            answered = sum(load["statuses"].values())
            done = await _stored_by(conn, before + load["statuses"].get(204, 0), within=300)
            results["http"] = {
                "api_workers": args.api_workers,
                "clients": CONCURRENT,
                "statuses": load["statuses"],
                "answered_per_s": round(answered / load["took"]),
                "stored_per_s": round(answered / (done - load["started"])) if done else None,
                "api_cpu_ms_per_request": round(1000 * cpu_api / max(answered, 1), 3),
                "client_cpu_ms_per_request": round(1000 * cpu_client / max(answered, 1), 3),
                "worker_cpu_ms_per_event": round(1000 * cpu_worker / max(answered, 1), 3),
            }
            print(f"  {results['http']}", flush=True)
            await asyncio.sleep(3)
        print(
            f"radar: first opens of {len(data['radar'])} shares over {args.radar_spread} s ...",
            flush=True,
        )
        results["radar"] = await radar(
            conn, base_url, fake["base_url"], data["radar"], args.radar_spread
        )
        print(f"  {results['radar']}", flush=True)
        results["counts"] = {
            "share_hits": await conn.fetchval("select count(*) from share_hits"),
            "by_verdict": {
                r["verdict"]: r["count"]
                for r in await conn.fetch("select verdict, count(*) from share_hits group by 1")
            },
            "share_visitors": await conn.fetchval("select count(*) from share_visitors"),
            "notifications": await conn.fetchval("select count(*) from notifications"),
        }
        await conn.close()
        return {
            "benchmark": "tracking",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                **vars(args),
                "database_url": None,
                "redis_url": None,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_before": os.getloadavg(),
            },
            "results": results,
        }
    finally:
        _stop_workers(workers)
        if api is not None:
            stop_api(api)
        fake_process.terminate()
        fake_process.wait(10)
        with contextlib.suppress(Exception):
            await redis.aclose()
        with contextlib.suppress(Exception):
            await _drop_redis_keys(args.redis_url, base_prefix)
        with contextlib.suppress(Exception):
            await _admin_sql(args.database_url, f'drop database if exists "{db_name}" with (force)')


def render(document: dict[str, Any]) -> str:
    r = document["results"]
    lines = [
        "",
        f"{'what':<58} {'events/s':>10}  note",
        f"{'raw XADD of the door entries, pipelined 1,000 per round trip':<58} "
        f"{r['redis']['raw_xadd_per_s']:>10}",
        f"{'  median of all raw XADD runs of this run':<58} "
        f"{r['redis']['raw_xadd_median_per_s']:>10}  "
        f"(runs: {', '.join(map(str, r['redis']['raw_xadd_samples_per_s']))})",
        f"{'  (raw XADD of the earlier nine field pairs)':<58} "
        f"{r['redis']['raw_xadd_earlier_fields_per_s']:>10}",
        f"{'the door (one XADD per beacon), pipelined':<58} "
        f"{r['redis']['door_pipelined_per_s']:>10}",
        f"{'beacons.Door.append, 64 concurrent callers':<58} "
        f"{r['redis']['beacons_append_concurrent_per_s']:>10}",
    ]
    for name, cost in r["redis"]["costs"].items():
        lines.append(
            f"  {name}: client CPU {cost['client_cpu_us_per_beacon']} us/beacon,"
            f" Redis {cost['redis_us_per_call']} us/call"
        )
    for one in r["ingest"]:
        if "events_per_s" in one:
            label = f"burst: door -> {one['consumers']} worker(s) -> share_hits"
            lines.append(
                f"{label:<58} "
                f"{one['events_per_s']:>10}  {100 * one['ratio_to_raw_xadd']:.0f} % of raw XADD"
                f" ({100 * one['ratio_to_raw_xadd_earlier_fields']:.0f} % of the earlier one),"
                f" screening in Redis {one['screening_redis_us_per_beacon']} us/beacon"
            )
            if one.get("paced_stored_per_s"):
                label = f"sustained, paced: door -> {one['consumers']} worker(s) -> share_hits"
                lines.append(
                    f"{label:<58} {one['paced_stored_per_s']:>10}  "
                    f"{100 * one['paced_ratio_to_raw_xadd']:.0f} % of raw XADD (the best of "
                    + ", ".join(
                        f"{t['appended_per_s']} -> {t['stored_per_s']}" for t in one["paced"]
                    )
                    + " appended -> stored/s)"
                )
                door = " / ".join(
                    f"{t['door_ms']['p50']}, {t['door_ms']['p99']}, {t['door_ms']['max']}"
                    for t in one["paced"]
                )
                lines.append(f"    the door meanwhile, p50, p99, max ms at each rate: {door}")
            label = f"  backlog of {one['backlog']} drained by {one['consumers']} worker(s)"
            lines.append(
                f"{label:<58} {one['backlog_drain_per_s']:>10}  worker CPU "
                f"{one['worker_cpu_ms_per_event']} ms/event"
            )
        else:
            lines.append(f"sustained, {one['consumers']} worker(s): {one['error']}")
    if "http" in r:
        h = r["http"]
        lines.append(
            f"{'POST /t over HTTP (' + str(h['api_workers']) + ' API processes, 64 clients)':<58} "
            f"{h['answered_per_s']:>10}  stored/s {h['stored_per_s']}, {h['statuses']}"
        )
        lines.append(
            f"  CPU per POST /t: API {h['api_cpu_ms_per_request']} ms, load client "
            f"{h['client_cpu_ms_per_request']} ms"
        )
    rd = r["radar"]
    lines.append(
        f"radar, open answered -> push at the provider ({rd['pushed']}/{rd['opens']} shares): "
        f"p50 {rd['p50_s']} s, p95 {rd['p95_s']} s, max {rd['max_s']} s"
    )
    return "\n".join(lines)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tracking",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=60_000, help="beacons per measured step")
    parser.add_argument("--shares", type=int, default=200, help="shares the beacons are for")
    parser.add_argument("--radar-shares", type=int, default=200)
    parser.add_argument("--radar-spread", type=float, default=60.0, help="seconds")
    parser.add_argument("--rms", type=int, default=100, help="RMs sharing (one device each)")
    parser.add_argument("--consumers", default="1,2", help="worker processes, per ingestion run")
    parser.add_argument("--api-workers", type=int, default=2, help="uvicorn processes")
    parser.add_argument("--http-seconds", type=float, default=10.0, help="0: skip POST /t load")
    parser.add_argument(
        "--paced-seconds", type=float, default=15.0, help="per paced rate; 0: skip pacing"
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    args = parser.parse_args(argv)
    if not args.database_url or not args.redis_url:
        parser.error("give --database-url and --redis-url (or set DATABASE_URL and REDIS_URL)")
    args.consumers = [int(c) for c in str(args.consumers).split(",") if c.strip()]
    if min([args.events, args.shares, args.radar_shares, args.rms, *args.consumers]) < 1:
        parser.error("counts must be positive")
    signal.signal(signal.SIGTERM, _interrupt)  # like Ctrl-C: processes, database, keys removed
    with tempfile.TemporaryDirectory(prefix="wbbench-tracking-") as folder:
        try:
            document = asyncio.run(_run(args, Path(folder)))
        except KeyboardInterrupt:
            print("interrupted; database dropped, nothing written", file=sys.stderr)
            return 130
    print(render(document))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"tracking-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

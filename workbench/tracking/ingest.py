"""The beacon consumer: the worker moves beacons from the Redis stream into PostgreSQL.

A consumer group reads the stream in batches (up to 5,000, 1,000 a read, waiting up to 1 s;
after a batch that was not full, a loop reads again no sooner than CADENCE after its last read);
each batch is resolved (codes -> shares, one query), screened (`screening`: duplicate event ids
refused, beacons over the per-visitor and per-IP limits flagged; a Redis script per 200), labelled
(`bots.verdict`) and stored in ONE transaction (COPY into share_hits, or for entries delivered
before, insert what is not stored yet; add what was new to the per-visitor rollup, and tell the
RMs and timelines what visitors newly reached: `radar`), then acknowledged. A worker killed
mid-batch loses nothing: its entries stay pending and are claimed by a live consumer once idle
for 30 s (at start and every 10 s). A redelivered entry counts nothing twice: screening knows
it again by its entry id, a hit's key is its event id with the entry's own time, and only hits
newly stored reach the rollup (and the radar).

A consumer that finds the group gone (Redis restarted empty or was flushed, the stream was
deleted: NOGROUP, or UNBLOCKED for a read waiting when it went) forgets what it knew of Redis,
creates the group again from the stream's start (the beacons appended since are read) and reads
once more. An entry it had read before is then delivered again and counts nothing twice, as above.

Beacons of unknown codes (the door checks only the code's shape) are acknowledged and dropped:
there is no share to count them on, and they tell an admin nothing a log count does not.

An entry is read in the door's format (one field `u`, the packed `beacons.Entry`, unscreened)
or in an earlier door's, already screened there: `b` (within the limits) or `l` (over one), or
a field per value and `limited`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from workbench.redis import call_packed
from workbench.security.vault import Vault
from workbench.settings import Settings
from workbench.tracking import bots, partitions, queries, radar, screening
from workbench.tracking.beacons import (
    FIELD,
    FIELD_LIMITED,
    FIELD_UNSCREENED,
    MAX_USER_AGENT,
    Entry,
    stream_key,
)

log = logging.getLogger("workbench.tracking")

GROUP = "ingest"
BATCH = 5000
# Entries per XREADGROUP (a batch takes up to BATCH in several) and per XAUTOCLAIM: Redis
# answers no one else while it builds an answer, and 5,000 entries held it 12-24 ms (SLOWLOG),
# which the door's XADD waited out.
READ = 1000
BLOCK_MS = 1000
CLAIM_IDLE_MS = 30_000
CLAIM_EVERY_SECONDS = 10.0
# A loop that read less than a full batch reads again no sooner than this after its last read:
# under a steady flow each read then takes what came in meanwhile instead of a few entries, so
# a visitor's beacons are screened together and a batch's fixed costs (round trips, the radar's
# queries, the commit) are shared by more beacons. At 15,000 beacons/s and one worker, the
# consumers' CPU per beacon (worker, PostgreSQL, Redis) was ~76 us reading at once, ~58 at
# 0.2 s, ~55 at 0.5 s, ~53 at 1 s. A beacon waits at most this much longer (the radar's goal is
# 2 s); an idle stream is still read at once (the read blocks until an entry arrives).
CADENCE = 0.5
_TYPES = frozenset({"open", "page_view", "heartbeat", "cta"})
_VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # the contract's VisitorId
_EVENT_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
)  # str(UUID)
_decode_entry = msgspec.json.Decoder(Entry).decode
# Redis's answers to a command of the group when the group is not there any more: no stream or
# no group (a restart with an empty Redis, a flush, the key deleted), or the stream deleted while
# a read waited for entries.
_GROUP_GONE = frozenset({"NOGROUP", "UNBLOCKED"})
_ERROR_CODE = re.compile(r"[A-Z][A-Z_]{1,31}\Z")  # a Redis error answer's first word
_T = TypeVar("_T")


@dataclass
class Consumer:
    """One consumer of the group (its name is unique per worker process), and the months whose
    partition it knows to exist."""

    name: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )
    months: set[date] = field(default_factory=set)
    group_ready: bool = False
    earlier_until: tuple[float, float] | None = None  # see screening.earlier_until
    vault: Vault | None = None
    reader: Redis | None = None

    def reader_for(self, redis: Redis) -> Redis:
        """A client on `redis`'s connections that leaves the answers of XREADGROUP and
        XAUTOCLAIM as Redis sent them (an entry is its id and a flat list of fields and values):
        redis-py would make a dict of every entry."""
        if self.reader is None or self.reader.connection_pool is not redis.connection_pool:
            self.reader = Redis(connection_pool=redis.connection_pool)
            for command in ("XREADGROUP", "XAUTOCLAIM"):
                self.reader.set_response_callback(command, _as_sent)
        return self.reader

    def vault_for(self, settings: Settings) -> Vault:
        """The keys that read customers' names for the radar (made once per consumer)."""
        if self.vault is None:
            self.vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
        return self.vault

    def forget_redis(self) -> None:
        """Forget what this consumer knows of Redis's state (that the group exists, when the
        earlier screenings' marks run out): the group is gone, so Redis lost its data or some
        of it. Both are read again, as a worker starting now would."""
        self.group_ready = False
        self.earlier_until = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one batch did: entries read, hits newly stored, entries dropped (unknown code or
    malformed), and of those read, retries of a beacon already received (refused)."""

    read: int = 0
    stored: int = 0
    dropped: int = 0
    duplicates: int = 0


async def ensure_group(redis: Redis, settings: Settings) -> None:
    """Create the consumer group (and the stream) unless they exist; from the stream's start,
    so beacons appended before the first worker ever ran are read too."""
    try:
        await redis.xgroup_create(stream_key(settings.redis_prefix), GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def _with_group(
    redis: Redis, settings: Settings, consumer: Consumer, command: Callable[[], Awaitable[_T]]
) -> _T:
    """Run a command of the group (XREADGROUP, XAUTOCLAIM, XACK), the group made first if this
    consumer has not made sure of it yet. Should Redis answer that the group is gone, the
    consumer forgets what it knew of Redis, makes the group again (from the stream's start) and
    runs the command once more."""
    if not consumer.group_ready:
        await ensure_group(redis, settings)
        consumer.group_ready = True
    try:
        return await command()
    except ResponseError as exc:
        if _error_code(exc) not in _GROUP_GONE:
            raise
    log.info("beacon consumer group made again", extra={"consumer": consumer.name})
    consumer.forget_redis()
    await ensure_group(redis, settings)
    consumer.group_ready = True
    return await command()


def _error_code(exc: BaseException) -> str | None:
    """The code of a Redis error answer (its first word: NOGROUP, WRONGTYPE, OOM...; redis-py
    takes off ERR and the codes it has a class for), or None. Never the rest of the message,
    which may name keys."""
    if not isinstance(exc, ResponseError):
        return None
    word = str(exc).partition(" ")[0]
    return word if _ERROR_CODE.match(word) else None


async def consume_once(
    pool: Any,
    redis: Redis,
    settings: Settings,
    *,
    consumer: Consumer | None = None,
    block_ms: int | None = None,
    ack: bool = True,
) -> Outcome:
    """Read one batch of new entries for this consumer and store it (`block_ms`: wait that long
    for entries; None: do not wait). `ack=False` leaves them pending (tests of redelivery)."""
    consumer = consumer or Consumer()
    reader = consumer.reader_for(redis)
    wait: tuple[Any, ...] = () if block_ms is None else ("BLOCK", block_ms)
    entries: list[Any] = []
    while True:  # READ at a time: only the first read waits for entries
        count = min(READ, BATCH - len(entries))
        command = functools.partial(
            reader.execute_command,
            "XREADGROUP", "GROUP", GROUP, consumer.name, "COUNT", count, *wait,
            "STREAMS", stream_key(settings.redis_prefix), ">",
        )  # fmt: skip
        answer = await _with_group(redis, settings, consumer, command)
        read = [entry for _, batch in answer or [] for entry in batch]
        entries += read
        if len(read) < count or len(entries) >= BATCH:
            break
        wait = ()
    return await _store(pool, redis, settings, consumer, entries, ack=ack, first_delivery=True)


async def reclaim(
    pool: Any,
    redis: Redis,
    settings: Settings,
    *,
    consumer: Consumer,
    min_idle_ms: int = CLAIM_IDLE_MS,
) -> Outcome:
    """Take over entries left pending by a consumer that stopped (idle > `min_idle_ms`) and store
    them; every page of the pending list, READ at a time."""
    reader = consumer.reader_for(redis)
    stream = stream_key(settings.redis_prefix)
    start: Any = "0-0"
    read = stored = dropped = duplicates = 0
    while True:
        command = functools.partial(
            reader.execute_command,
            "XAUTOCLAIM", stream, GROUP, consumer.name, min_idle_ms, start, "COUNT", READ,
        )  # fmt: skip
        answer = await _with_group(redis, settings, consumer, command)
        start, entries = answer[0], [e for e in answer[1] if e[1]]  # no fields: deleted
        outcome = await _store(pool, redis, settings, consumer, entries)
        read, stored = read + outcome.read, stored + outcome.stored
        dropped, duplicates = dropped + outcome.dropped, duplicates + outcome.duplicates
        if start in (b"0-0", "0-0"):
            return Outcome(read, stored, dropped, duplicates)


async def _store(
    pool: Any,
    redis: Redis,
    settings: Settings,
    consumer: Consumer,
    entries: list[Any],
    *,
    ack: bool = True,
    first_delivery: bool = False,
) -> Outcome:
    if not entries:
        return Outcome()
    ids = [entry_id for entry_id, _ in entries]
    parsed = [(_text(entry_id), _entry(values)) for entry_id, values in entries]
    codes = sorted({e[0].code for _, e in parsed if e is not None and e[0].code})
    async with pool.acquire() as conn:
        shares = await queries.share_ids(conn, codes) if codes else {}
    valid = []  # (entry id, beacon, limited or None: to screen, row)
    for entry_id, e in parsed:
        if e is not None and (row := _row(entry_id, e[0], shares)) is not None:
            valid.append((entry_id, e[0], e[1], row))
    unscreened = [(entry_id, beacon) for entry_id, beacon, limited, _ in valid if limited is None]
    if consumer.earlier_until is None:
        consumer.earlier_until = await screening.earlier_until(redis, settings.redis_prefix)
    door_marks_until, visitor_days_until = consumer.earlier_until
    judged = iter(
        await screening.screen(
            redis,
            settings.redis_prefix,
            unscreened,
            door_marks=time.time() < door_marks_until,
            visitor_days=time.time() < visitor_days_until,
        )
    )
    hits, duplicates = [], 0
    for _, _, limited, row in valid:
        if limited is None:
            verdict = next(judged)
            if verdict is screening.Judged.DUPLICATE:
                duplicates += 1
                continue
            limited = verdict is screening.Judged.OVER_LIMIT
        label = bots.verdict(row[-1], limited)
        hits.append((*row, label.verdict, label.reason))
    stored = 0
    if hits:
        async with pool.acquire() as conn:
            spanned = partitions.months_spanned(min(h[0] for h in hits), max(h[0] for h in hits))
            for month in [m for m in spanned if m not in consumer.months]:
                await partitions.ensure_month(conn, month)
                consumer.months.add(month)
            async with conn.transaction():
                batch = await queries.store_hits(conn, hits, first_delivery=first_delivery)
                await radar.follow_up(conn, batch.milestones, vault=consumer.vault_for(settings))
                stored = batch.count
    if ack:  # thousands of ids: packed by hiredis. Of a group gone Redis acknowledges nothing
        # (it answers 0): a group made again delivers the entries still in the stream again, and
        # they count nothing twice
        acknowledge = functools.partial(
            call_packed, redis, "XACK", stream_key(settings.redis_prefix), GROUP, *ids
        )
        await _with_group(redis, settings, consumer, acknowledge)
    return Outcome(
        read=len(entries),
        stored=stored,
        dropped=len(entries) - len(valid),
        duplicates=duplicates,
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _as_sent(response: Any, **options: Any) -> Any:
    return response


# The one field of an entry, by door: its name (as redis-py may give it) and whether the
# beacon was over a limit (None: not screened yet).
_FIELDS = tuple(
    (name, name.decode(), limited)
    for name, limited in ((FIELD_UNSCREENED, None), (FIELD, False), (FIELD_LIMITED, True))
)


def _entry(fields: list[Any]) -> tuple[Entry, bool | None] | None:
    """The beacon of a stream entry (its fields and values, flat) and whether it was over a
    limit (None: not screened yet, the door's entries; an earlier door screened its own); None
    if malformed."""
    if len(fields) == 2:
        for name, text, limited in _FIELDS:
            if fields[0] == name or fields[0] == text:
                try:
                    return _decode_entry(fields[1]), limited
                except msgspec.MsgspecError:
                    return None
    return _earlier_entry(_fields(fields))


def _earlier_entry(f: dict[str, str]) -> tuple[Entry, bool] | None:
    """An entry of the earlier format: one field per value, `page` and `ms` as text ('' for
    none), and `limited` ('1': over a limit)."""
    try:
        page = int(f["page"]) if f.get("page") else None
        ms = int(f["ms"]) if f.get("ms") else None
    except ValueError:
        return None
    entry = Entry(
        code=f.get("code", ""),
        visitor_id=f.get("visitor_id", ""),
        type=f.get("type", ""),
        page=page,
        ms=ms,
        event_id=f.get("event_id", ""),
        ip=f.get("ip", ""),
        user_agent=f.get("user_agent", ""),
    )
    return entry, f.get("limited") == "1"


def _fields(flat: list[Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        )
        for k, v in zip(flat[::2], flat[1::2], strict=False)
    }


def _address(text: str) -> bytes | None:
    """A client address packed (4 or 16 bytes: asyncpg's inet codec makes its address object of
    these without parsing text); '' and malformed: None. By the C library's inet_pton (~0.13
    us), not `ipaddress` (~2.5 us: most addresses of a batch are new, a visitor's, so a cache
    seldom helped)."""
    if not text:
        return None
    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
    except OSError:
        pass
    try:  # what inet_pton refuses and ipaddress takes: an IPv6 address with a scope
        return ipaddress.ip_address(text).packed
    except ValueError:
        return None


def _received_at(entry_id: str) -> datetime | None:
    """When a stream entry was received: its id's milliseconds, and its sequence number within
    that millisecond as microseconds (up to 999), so that hits of one visitor received in the
    same millisecond keep the stream's order wherever they are sorted by time (an open and the
    heartbeat after it: reading counts from the open). None: not an entry id."""
    ms, _, seq = entry_id.partition("-")
    moment = _moment(ms)
    if moment is None or not seq.isdigit():
        return None
    return moment + timedelta(microseconds=min(int(seq), 999))


@functools.lru_cache(maxsize=4096)
def _moment(ms: str) -> datetime | None:
    """The moment of a stream entry id's milliseconds (None: not a number). Cached: dozens of
    entries share a millisecond."""
    try:
        return datetime.fromtimestamp(int(ms) / 1000, UTC)
    except ValueError:
        return None


def _row(entry_id: str, e: Entry, shares: dict[str, uuid.UUID]) -> tuple[Any, ...] | None:
    """One share_hits row without its label (HIT_COLUMNS order up to the user agent) of a stream
    entry; None if it has no share or is malformed (the door wrote it, so only an old or
    foreign entry can be)."""
    share_id = shares.get(e.code)
    if share_id is None or e.type not in _TYPES:
        return None
    if not (_VISITOR_ID.match(e.visitor_id) and _EVENT_ID.match(e.event_id)):
        return None
    if (received_at := _received_at(entry_id)) is None:
        return None
    ip = _address(e.ip)
    if e.ip and ip is None:
        return None
    page, ms = e.page, e.ms
    if (page is not None and not 1 <= page <= 30) or (ms is not None and not 0 <= ms <= 60_000):
        return None
    return (
        received_at, e.event_id, share_id, e.visitor_id, e.type, page, ms, ip,
        e.user_agent[:MAX_USER_AGENT],
    )  # fmt: skip


# ---- the loop in the worker ------------------------------------------------------------------


async def run(
    pool: Any, redis: Redis, settings: Settings, stop: asyncio.Event, consumer: Consumer
) -> None:
    """Consume until `stop` is set; reclaim abandoned entries at start and every 10 s. A failure
    (PostgreSQL or Redis away) leaves the batch pending and is retried a second later; its
    warning names the exception's type and, when there is one, its cause: a Redis error answer's
    code or PostgreSQL's SQLSTATE (never a message, which may carry keys or data)."""
    claimed_at = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - claimed_at >= CLAIM_EVERY_SECONDS:
                claimed_at = time.monotonic()
                await reclaim(pool, redis, settings, consumer=consumer)
            read_at = time.monotonic()
            outcome = await consume_once(
                pool, redis, settings, consumer=consumer, block_ms=BLOCK_MS
            )
            if outcome.dropped:
                log.info("beacons dropped", extra={"count": outcome.dropped})
            if 0 < outcome.read < BATCH and (rest := read_at + CADENCE - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=rest)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep consuming once the servers are back
            extra = {"error": type(exc).__name__}
            if cause := _error_code(exc) or _sqlstate(exc):
                extra["cause"] = cause
            log.warning("beacon ingestion failed", extra=extra)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1)


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error (asyncpg's), or None."""
    sqlstate = getattr(exc, "sqlstate", None)
    return sqlstate if isinstance(sqlstate, str) else None


async def start(ctx: dict[str, Any]) -> None:
    """Worker start: `tracking_loops` consumer loops (each its own consumer of the group) on the
    worker's pool and Redis client."""
    stop = asyncio.Event()
    settings: Settings = ctx["settings"]
    ctx["tracking_stop"] = stop
    ctx["tracking_loops"] = [
        asyncio.create_task(
            run(ctx["pool"], ctx["redis"], settings, stop, Consumer()), name=f"tracking-ingest-{n}"
        )
        for n in range(settings.tracking_loops)
    ]


async def stop(ctx: dict[str, Any]) -> None:
    """Worker stop: finish the batches at hand (each is acknowledged after its commit)."""
    if event := ctx.get("tracking_stop"):
        event.set()
        _, late = await asyncio.wait(ctx["tracking_loops"], timeout=15)
        for pending in late:
            pending.cancel()

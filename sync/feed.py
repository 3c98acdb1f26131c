"""The sync feed: one worker at a time tails the change log and tells apps to pull.

For each batch of finished changes it records in Redis every affected user's newest change (so
that "nothing changed" pulls never reach PostgreSQL), publishes a poke to their open
GET /sync/events streams, and queues a silent push (`sync.poke`, at most one a minute per user)
to wake apps in the background. A branch head is affected by the tasks of their subtree.

It also keeps in Redis the window edges of published brochures around now (the last one passed
and the next one due), with every tail: read again from PostgreSQL when a batch holds a brochure
change, when the next edge has passed, and when this worker starts leading. Pulls of apps that
hold brochures answer "nothing changed" only while no edge lies between their cursor and now.
When the next edge passes, every open GET /sync/events stream is poked (nothing was written for
it to be noticed otherwise).

Leadership is a PostgreSQL advisory lock held by the loop's own connection: when that worker
dies, its connection closes, the lock is released and another worker's loop takes over from the
position saved in `sync_feed`. Replaying a batch is harmless (Redis keys only grow; pokes and
silent pushes are idempotent by their position).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError

from sync import queries
from sync.cursor import MAX_SEQ, Position, micros
from sync.signals import Signals
from workbench.db import Pool
from workbench.notifications import categories
from workbench.notifications import service as notifications

log = logging.getLogger("sync.feed")
BATCH = 5_000
IDLE_SECONDS = 0.1
FOLLOWER_RETRY_SECONDS = 5.0
SILENT_PUSH_EVERY_SECONDS = 60


def _system_clock() -> datetime:
    return datetime.now(UTC)


class Feed:
    def __init__(
        self,
        pool: Pool,
        signals: Signals,
        redis: Any,
        *,
        prefix: str,
        clock: Callable[[], datetime] = _system_clock,
    ) -> None:
        self._pool = pool
        self._signals = signals
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        # (prev, next) window edges in µs, as of the brochures of every change up to the tail
        # recorded; None: to be read (this feed has not led yet).
        self._edges: tuple[int | None, int | None] | None = None
        self._redis_down = False  # the outage was said (one warning an outage)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with self._pool.acquire() as conn:
                    if await queries.take_lead(conn):
                        try:
                            await self._lead(conn, stop)
                        finally:
                            await queries.give_up_lead(conn)
            except Exception:
                log.exception("sync feed round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=FOLLOWER_RETRY_SECONDS)

    async def _lead(self, conn: Any, stop: asyncio.Event) -> None:
        self._edges = None  # another feed may have led meanwhile: read them again
        while not stop.is_set():
            busy = await self.step(conn)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=IDLE_SECONDS)

    async def step(self, conn: Any) -> bool:
        """One batch; True when there may be more waiting."""
        start = Position(*await queries.feed_position(conn))
        below = await queries.horizon(conn)
        rows = await queries.feed_changes(
            conn, txid=start.txid, seq=start.seq, below_txid=below, limit=BATCH
        )
        more = len(rows) == BATCH
        tail = (
            Position(rows[-1]["txid"], rows[-1]["seq"])
            if more
            else max(start, Position(below - 1, MAX_SEQ))
        )
        newest: dict[uuid.UUID, Position] = {}
        assignees: set[uuid.UUID] = set()
        for r in rows:
            position = Position(r["txid"], r["seq"])
            newest[r["user_id"]] = position
            if r["entity"] == "task" and r["user_id"] != queries.EVERYONE:
                assignees.add(r["user_id"])
        if assignees:
            heads = await queries.branch_heads_above(conn, sorted(assignees))
            for h in heads:
                position = newest[h["user_id"]]
                if newest.get(h["head_id"], Position(0, 0)) < position:
                    newest[h["head_id"]] = position
        edges, edge_passed = await self._window_edges(conn, rows)
        try:
            await self._signals.record(start=start, tail=tail, newest=newest, edges=edges)
        except (RedisError, OSError):
            # Not recorded, so not passed: the batch is tried again (pulls meanwhile ask
            # PostgreSQL, as the tail in Redis goes stale). Said once an outage, not each try.
            if not self._redis_down:
                log.warning("sync feed cannot reach Redis; pulls are answered by PostgreSQL")
            self._redis_down = True
            return False
        if self._redis_down:
            log.info("sync feed reaches Redis again")
            self._redis_down = False
        if tail != start:
            await queries.save_feed_position(conn, tail.txid, tail.seq)
        if newest or edge_passed:
            users = {u if u != queries.EVERYONE else None for u in newest}
            if edge_passed:
                users.add(None)  # a brochure went live or expired: everyone's apps pull
            await self._signals.poke(users)
            await self._silent_push(conn, users, tail)
        return more

    async def _window_edges(
        self, conn: Any, rows: list[Any]
    ) -> tuple[tuple[int | None, int | None], bool]:
        """The window edges around now, read again when a brochure changed in this batch or the
        next edge has passed (it was read after every change below the batch's horizon); and
        whether the next edge has passed since the last step."""
        now = self._clock()
        edges = self._edges
        passed = edges is not None and edges[1] is not None and micros(now) >= edges[1]
        if edges is None or passed or any(r["entity"] == "brochure" for r in rows):
            prev, following = await queries.window_edges_around(conn, now)
            edges = (
                micros(prev) if prev is not None else None,
                micros(following) if following is not None else None,
            )
            self._edges = edges
        return edges, passed

    async def _silent_push(self, conn: Any, users: set[uuid.UUID | None], tail: Position) -> None:
        """A silent `sync.poke` push, at most one a minute per user (changes everyone holds,
        such as products, wait for the user's next pull or poke)."""
        targets = [u for u in users if u is not None]
        if not targets:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in targets:
                    pipe.set(f"{self._prefix}sync:pushed:{user_id}", "1", nx=True,
                             ex=SILENT_PUSH_EVERY_SECONDS)  # fmt: skip
                fresh = [u for u, ok in zip(targets, await pipe.execute(), strict=True) if ok]
        except (RedisError, OSError):
            return
        if not fresh:
            return
        minute = int(time.time()) // SILENT_PUSH_EVERY_SECONDS
        await notifications.notify_registered(
            conn,
            user_ids=fresh,
            category=categories.SYNC_POKE,
            dedupe_key=f"sync.poke:{minute}",
            collapse_key="sync.poke",
            expires_at=datetime.now(UTC) + timedelta(minutes=10),
        )


async def start(ctx: dict[str, Any]) -> None:
    """Worker start: the feed loop (it leads only while no other worker does)."""
    settings = ctx["settings"]
    signals = Signals(ctx["redis"], prefix=settings.redis_prefix)
    feed = Feed(ctx["pool"], signals, ctx["redis"], prefix=settings.redis_prefix)
    stop = asyncio.Event()
    ctx["sync_feed_stop"] = stop
    ctx["sync_feed_task"] = asyncio.create_task(feed.run_forever(stop), name="sync-feed")


async def stop(ctx: dict[str, Any]) -> None:
    if event := ctx.get("sync_feed_stop"):
        event.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ctx["sync_feed_task"], timeout=10)

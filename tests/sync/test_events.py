"""Telling apps to pull: GET /sync/events (server-sent events, served by a real HTTP server so
that the stream is read as it is written) says `hello` and then `pull` when the user's partition
changed, and nothing for other users' changes; the sync feed queues at most one silent
`sync.poke` push a minute for users with a push device; only one feed leads at a time, and
another takes over when it stops."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

import sync.feed
from sync.cursor import Position
from sync.feed import Feed
from sync.signals import Signals
from tests.customers_data import customer_row, feed, headers_of
from tests.push_data import register
from tests.serving import WAIT, serving
from tests.sync.sync_data import EVENTS, FeedWorker, feed_worker, pull_all, settled
from tests.tasks_data import user
from workbench.db import create_pool
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")


class Stream:
    """An open GET /sync/events, its events collected as they arrive."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def read(self, response: httpx.Response) -> None:
        event: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line == "":
                if event:
                    await self.events.put(event)
                event = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                event[name] = value.removeprefix(" ")

    async def next(self) -> dict[str, str]:
        return await asyncio.wait_for(self.events.get(), timeout=WAIT)


@contextlib.asynccontextmanager
async def listening(base: str, headers: dict[str, str]) -> AsyncIterator[Stream]:
    stream = Stream()
    async with (
        httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(WAIT, read=None)) as http,
        http.stream("GET", EVENTS, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = asyncio.create_task(stream.read(response))
        try:
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader


async def subscribed(redis: Redis, settings: Settings) -> None:
    """Wait until the server's hub listens to the feed's pokes (a poke on a channel nobody's
    stream watches reaches the hub and nobody else)."""
    channel = f"{settings.redis_prefix}sync:poke:{uuid.uuid4()}"
    ends = time.monotonic() + WAIT
    while await redis.publish(channel, "probe") < 1:
        assert time.monotonic() < ends, "the event hub never subscribed"
        await asyncio.sleep(0.02)


async def new_customer(client: Any, admin: dict[str, str], owner: str, seq: int) -> None:
    await feed(client, admin, "customers",
               [customer_row(f"E-{seq}", name="周杰", owner=owner, seq=seq)])  # fmt: skip


async def test_my_event_stream_says_hello_then_pull_when_my_partition_changes_only(
    client, db, settings
):
    admin = await headers_of(client, "admin")
    rm01, rm02 = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    async with (
        feed_worker(settings, db) as worker,
        serving(settings) as base,
        listening(base, rm01) as mine,
        listening(base, rm02) as theirs,
    ):
        hello = await mine.next()
        assert (hello["event"], hello["data"]) == ("hello", "pull")
        assert (await theirs.next())["event"] == "hello"
        await subscribed(worker.redis, settings)

        # A change of rm02's partition pokes rm02's stream, not rm01's.
        await new_customer(client, admin, "rm02", 1)
        await worker.step(db)
        assert (await theirs.next())["event"] == "pull"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(mine.events.get(), timeout=1.0)

        # A change of rm01's partition pokes rm01's stream; the pull brings it.
        await new_customer(client, admin, "rm01", 2)
        await worker.step(db)
        assert (await mine.next())["event"] == "pull"
        changes, _ = await pull_all(client, rm01, db=db)
        assert [c["entity"] for c in changes] == ["customer"]


async def test_the_feed_queues_one_silent_poke_a_minute_for_users_with_a_push_device(
    client, db, settings
):
    admin = await headers_of(client, "admin")
    await register(client, "rm01", platform="ios", provider="apns", token="a" * 64)

    async def pokes(login: str) -> list[Any]:
        return await db.fetch(
            "select silent, in_app from notifications where user_id = $1 and category = $2",
            user(login),
            "sync.poke",
        )

    async with feed_worker(settings, db) as worker:
        await new_customer(client, admin, "rm01", 1)
        await new_customer(client, admin, "rm02", 2)
        await worker.step(db)
        assert [tuple(r) for r in await pokes("rm01")] == [(True, False)]
        assert await pokes("rm02") == []  # no device to push to

        await new_customer(client, admin, "rm01", 3)
        await worker.step(db)
        assert len(await pokes("rm01")) == 1  # at most one a minute

    # The poke wakes the app; it is nothing to show in the notification centre or to sync.
    rm01 = await headers_of(client, "rm01")
    listed = await client.get("/api/v1/notifications", headers=rm01)
    assert listed.json()["items"] == []
    changes, _ = await pull_all(client, rm01, db=db)
    assert not [c for c in changes if c["entity"] == "notification"]


class Worker:
    """One worker process's feed loop: its own pool, connections recorded by server pid."""

    def __init__(self, pool: Any, redis: Redis, settings: Settings) -> None:
        self.pool = pool
        self.pids: set[int] = set()
        self.stop = asyncio.Event()
        prefix = settings.redis_prefix
        loop = Feed(self, Signals(redis, prefix=prefix), redis, prefix=prefix)  # type: ignore[arg-type]
        self.task = asyncio.create_task(loop.run_forever(self.stop))

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        async with self.pool.acquire() as conn:
            self.pids.add(conn.get_server_pid())
            yield conn

    async def halt(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=WAIT)

    async def kill(self) -> None:
        """However the test ended: stop the loop and drop its connection."""
        self.stop.set()
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task
        self.pool.terminate()


async def test_only_one_feed_leads_and_another_takes_over_when_it_stops(
    client, db, settings, monkeypatch
):
    monkeypatch.setattr(sync.feed, "FOLLOWER_RETRY_SECONDS", 0.1)
    admin = await headers_of(client, "admin")

    workers: list[Worker] = []

    async def leader() -> int | None:
        """The feed connection holding the lead (an advisory lock of this database)."""
        pids: list[int] = [pid for worker in workers for pid in worker.pids]
        holders = await db.fetch(
            "select pid from pg_locks where locktype = 'advisory' and granted"
            " and database = (select oid from pg_database where datname = current_database())"
            " and pid = any($1::int[])",
            pids,
        )
        assert len(holders) <= 1
        return holders[0]["pid"] if holders else None

    async def wait_until(check: Any, what: str) -> None:
        ends = time.monotonic() + WAIT
        while not await check():
            assert time.monotonic() < ends, what
            await asyncio.sleep(0.05)

    async def recorded(worker: FeedWorker, owner: str, seq: int) -> None:
        """A change for `owner`, then wait until a feed has recorded it in Redis."""
        await new_customer(client, admin, owner, seq)
        await settled(db)
        row = await db.fetchrow(
            "select txid::text::bigint as txid, seq from sync_log l"
            " join customers c on c.id::text = l.entity_key where c.external_id = $1",
            f"E-{seq}",
        )
        change = Position(row["txid"], row["seq"])

        async def seen() -> bool:
            """Recorded in Redis for the owner, and the feed's saved position passed it."""
            newest = await worker.newest(user(owner))
            saved = await db.fetchrow("select txid::text::bigint as txid, seq from sync_feed")
            passed = Position(saved["txid"], saved["seq"]) >= change
            return newest is not None and newest >= change and passed

        await wait_until(seen, "no feed recorded the change")

    try:
        async with feed_worker(settings, db) as redis_side:
            for _ in range(2):
                pool = await create_pool(settings.database_url, max_size=1)
                workers.append(Worker(pool, redis_side.redis, settings))
            first, second = workers

            async def one_leads() -> bool:
                return await leader() is not None

            await wait_until(one_leads, "no feed took the lead")
            holder = await leader()
            leading, following = (first, second) if holder in first.pids else (second, first)
            assert holder in leading.pids
            assert holder not in following.pids
            await recorded(redis_side, "rm01", 1)
            assert await leader() == holder  # the follower did not take over meanwhile

            await leading.halt()

            async def taken_over() -> bool:
                return await leader() in following.pids

            await wait_until(taken_over, "the other feed did not take over")
            await recorded(redis_side, "rm02", 2)
            await following.halt()
            assert await leader() is None
    finally:
        for worker in workers:
            await worker.kill()

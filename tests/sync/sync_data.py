"""Helpers shared by the offline-sync tests: pulling a whole partition the way the app does,
replaying changes into a local store, waiting for commits to become pullable, and running the
sync feed one step at a time."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from sync.cursor import Position
from sync.feed import Feed
from sync.signals import Signals, decode
from workbench.db import Pool, create_pool, use_json_codecs
from workbench.notifications.service import notify
from workbench.settings import Settings

PULL = "/api/v1/sync/pull"
PUSH = "/api/v1/sync/push"
EVENTS = "/api/v1/sync/events"
SCHEMA = 2
NIL = uuid.UUID(int=0)

Key = tuple[str, str]  # (entity, id)
Local = dict[Key, Any]  # what an app holds: (entity, id) -> row as it was sent


# ---- pulling -----------------------------------------------------------------------------------


async def settled(db: Any, within: float = 60.0) -> None:
    """Wait until every recorded change is older than every running transaction (of the whole
    server, which other test runs share): only then can a pull or the feed read it."""
    ends = time.monotonic() + within
    while await db.fetchval(
        "select exists (select from sync_log where txid >= pg_snapshot_xmin(pg_current_snapshot()))"
    ):
        assert time.monotonic() < ends, "a transaction stays open; changes cannot be pulled"
        await asyncio.sleep(0.02)


async def pull(
    client: Any,
    headers: dict[str, str],
    cursor: str | None = None,
    *,
    schema: int = SCHEMA,
    limit: int | None = None,
) -> dict[str, Any]:
    """One POST /sync/pull, asserting 200; the answer."""
    body: dict[str, Any] = {"schema_version": schema}
    if cursor is not None:
        body["cursor"] = cursor
    if limit is not None:
        body["limit"] = limit
    response = await client.post(PULL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def pull_all(
    client: Any,
    headers: dict[str, str],
    cursor: str | None = None,
    *,
    schema: int = SCHEMA,
    limit: int = 1_000,
    db: Any = None,
) -> tuple[list[dict[str, Any]], str]:
    """Pull until `has_more` is false, as the app does: every change in order, and the last
    cursor. With `db`, first wait until what was just written can be pulled."""
    if db is not None:
        await settled(db)
    changes: list[dict[str, Any]] = []
    for _ in range(500):
        answer = await pull(client, headers, cursor, schema=schema, limit=limit)
        assert answer["wipe"] is False
        changes.extend(answer["changes"])
        cursor = answer["cursor"]
        assert cursor
        if not answer["has_more"]:
            return changes, cursor
    raise AssertionError("the pull never stops answering has_more")


async def pages(
    client: Any,
    headers: dict[str, str],
    cursor: str | None = None,
    *,
    limit: int,
    schema: int = SCHEMA,
) -> list[dict[str, Any]]:
    """Every answer of a pull that is followed to its end (to look at the pages)."""
    answers = []
    for _ in range(500):
        answer = await pull(client, headers, cursor, limit=limit, schema=schema)
        answers.append(answer)
        cursor = answer["cursor"]
        if not answer["has_more"]:
            return answers
    raise AssertionError("the pull never stops answering has_more")


def replay(changes: list[dict[str, Any]], local: Local | None = None) -> Local:
    """Apply changes in order to an app's local store; a deleted customer takes its holdings
    and notes with it (as the server's cascade does)."""
    store: Local = {} if local is None else local
    for change in changes:
        key = (change["entity"], change["id"])
        if change["op"] == "upsert":
            store[key] = change["data"]
            continue
        assert change["op"] == "delete", change
        store.pop(key, None)
        if change["entity"] == "customer":
            for gone in [
                k
                for k, row in store.items()
                if k[0] in ("holding", "note") and row.get("customer_id") == change["id"]
            ]:
                del store[gone]
    return store


def of(local: Local, entity: str) -> dict[str, Any]:
    """The rows of one entity: id -> row."""
    return {key[1]: row for key, row in local.items() if key[0] == entity}


def ops(changes: list[dict[str, Any]], entity: str | None = None) -> list[tuple[str, str, str]]:
    """(entity, op, id) of each change, of one entity if given."""
    return [
        (c["entity"], c["op"], c["id"]) for c in changes if entity is None or c["entity"] == entity
    ]


async def fresh_state(
    client: Any, headers: dict[str, str], *, db: Any = None, schema: int = SCHEMA
) -> Local:
    """What a newly installed app would hold now: a full initial sync, replayed."""
    changes, _ = await pull_all(client, headers, db=db, schema=schema)
    return replay(changes)


class App:
    """One installed app of a user: its local store and cursor."""

    def __init__(
        self, client: Any, headers: dict[str, str], db: Any, *, schema: int = SCHEMA
    ) -> None:
        self.client, self.headers, self.db = client, headers, db
        self.schema = schema
        self.cursor: str | None = None
        self.local: Local = {}

    async def sync(self, *, limit: int = 1_000) -> list[dict[str, Any]]:
        """Pull everything new (an initial sync the first time); the changes received."""
        changes, self.cursor = await pull_all(
            self.client, self.headers, self.cursor, limit=limit, db=self.db, schema=self.schema
        )
        replay(changes, self.local)
        return changes

    def rows(self, entity: str) -> dict[str, Any]:
        return of(self.local, entity)


# ---- the API's own views, to compare with -----------------------------------------------------


async def api_items(client: Any, headers: dict[str, str], path: str) -> list[dict[str, Any]]:
    """Every item of a paged GET list."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        url = f"{path}?limit=100" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return items
    raise AssertionError("the list never ends")


async def api_get(client: Any, headers: dict[str, str], path: str) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# ---- notifications -------------------------------------------------------------------------------


async def json_codecs(db: Any) -> Any:
    """The test connection, decoding JSON like the app's pool does."""
    await use_json_codecs(db)
    return db


async def tell(db: Any, user_id: uuid.UUID, n: int) -> uuid.UUID:
    """A notification in the user's notification centre now; its id."""
    await json_codecs(db)
    created = await notify(
        db,
        user_id=user_id,
        category="customer.verified",
        title=f"客户已实名 {n}",
        body=f"第 {n} 条",
        dedupe_key=f"sync-test:{n}",
        data={"n": n},
    )
    assert created is not None
    return created


# ---- the sync feed -------------------------------------------------------------------------------


class FeedWorker:
    """A sync feed as a worker runs it, stepped by the test (`clock`: its "now", if not the
    system's)."""

    def __init__(
        self,
        pool: Pool,
        redis: Redis,
        settings: Settings,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.pool, self.redis, self.settings = pool, redis, settings
        self.signals = Signals(redis, prefix=settings.redis_prefix)
        clocked = {"clock": clock} if clock is not None else {}
        self.feed = Feed(pool, self.signals, redis, prefix=settings.redis_prefix, **clocked)

    async def step(self, db: Any = None) -> None:
        """Process every change recorded so far (waiting until they can be read)."""
        if db is not None:
            await settled(db)
        async with self.pool.acquire() as conn:
            while await self.feed.step(conn):
                pass

    async def newest(self, user_id: uuid.UUID) -> Position | None:
        """The newest change of that user's partition the feed recorded in Redis."""
        raw = await self.redis.get(self.signals.user_key(user_id))
        return decode(raw) if raw is not None else None

    async def forget_everything(self) -> None:
        """Redis lost what the feed recorded (restart, flush): drop the run's sync keys."""
        keys = [k async for k in self.redis.scan_iter(match=f"{self.settings.redis_prefix}sync:*")]
        if keys:
            await self.redis.delete(*keys)


@contextlib.asynccontextmanager
async def feed_worker(
    settings: Settings, db: Any, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[FeedWorker]:
    pool = await create_pool(settings.database_url, max_size=2)
    redis = Redis.from_url(settings.redis_url)
    try:
        yield FeedWorker(pool, redis, settings, clock)
    finally:
        await redis.aclose()
        await pool.close()

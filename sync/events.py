"""GET /sync/events: a server-sent-event stream that says "pull now" when the caller's partition
changed.

Each API process holds one Redis pattern subscription to the feed's pokes and relays them to
the streams open on that process (local fan-out only: another instance has its own). A stream
starts with `hello` (so the app pulls once after connecting), then sends `pull` (coalesced: many
pokes while the app is busy are one event) and a comment line every 15 s to keep proxies from
closing it (a comment alone: no event reaches the app). It ends after five minutes; EventSource
reconnects by itself, with a fresh access token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator

from litestar.response.sse import ServerSentEventMessage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from sync.signals import Signals

log = logging.getLogger("sync.events")
KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0
RECONNECT_MS = 3_000


class Comment(ServerSentEventMessage):
    """A comment line and nothing else (`: keepalive`). Litestar's message writes an empty
    `data:` line and a blank line after its comment, which an EventSource dispatches as a
    `message` event with empty data: the app would wake every 15 s for nothing."""

    def encode(self) -> bytes:
        return "".join(f": {line}{self.sep}" for line in str(self.comment).splitlines()).encode()


class Hub:
    """One Redis subscription per process, fanned out to the open streams."""

    def __init__(self, redis_url: str, signals: Signals) -> None:
        # Its own client: a subscription waits for messages far longer than the request
        # client's 2 s socket timeout, and must not hold one of its pooled connections.
        self._redis = Redis.from_url(
            redis_url, socket_connect_timeout=2.0, health_check_interval=30
        )
        self._signals = signals
        self._streams: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None

    def _ensure_listening(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="sync-events-hub")

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                async with pubsub:
                    await pubsub.psubscribe(self._signals.channel_pattern)
                    async for message in pubsub.listen():
                        channel = message.get("channel")
                        name = channel.decode() if isinstance(channel, bytes) else str(channel)
                        for event in self._streams.get(name, ()):
                            event.set()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                log.warning("sync events: Redis subscription lost; reconnecting")
                # Streams pull once when the subscription is back (a poke may have been missed).
                for events in self._streams.values():
                    for event in events:
                        event.set()
                await asyncio.sleep(1.0)

    async def stream(self, user_id: uuid.UUID) -> AsyncIterator[ServerSentEventMessage]:
        self._ensure_listening()
        poked = asyncio.Event()
        channels = [self._signals.channel(user_id), self._signals.channel(None)]
        for channel in channels:
            self._streams.setdefault(channel, set()).add(poked)
        try:
            yield ServerSentEventMessage(event="hello", data="pull", retry=RECONNECT_MS)
            ends = time.monotonic() + STREAM_SECONDS
            while (left := ends - time.monotonic()) > 0:
                try:
                    await asyncio.wait_for(poked.wait(), timeout=min(KEEPALIVE_SECONDS, left))
                except TimeoutError:
                    yield Comment(comment="keepalive")
                    continue
                poked.clear()
                yield ServerSentEventMessage(event="pull", data="pull")
        finally:
            for channel in channels:
                streams = self._streams.get(channel)
                if streams is not None:
                    streams.discard(poked)
                    if not streams:
                        del self._streams[channel]

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._redis.aclose()

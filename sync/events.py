"""GET /sync/events: a server-sent-event stream that says "pull now" when the caller's partition
changed.

Each API process holds one Redis pattern subscription to the feed's pokes and relays them to
the streams open on that process (local fan-out only: another instance has its own). A stream
starts with `hello` (so the app pulls once after connecting), then sends `pull` (coalesced: many
pokes while the app is busy are one event) and a comment line every 15 s to keep proxies from
closing it (a comment alone: no event reaches the app). It ends after five minutes; EventSource
reconnects by itself, with a fresh access token.

A stream is held open for a session, whose tokens stop at once when it ends (signed out, its
device revoked, its user disabled or changed): before each `pull` and each keep-alive the
session is checked against the revocation cache, and the process also listens to the
announcements of ended sessions (`identity.revocations`), so a stream whose session ended, on
any instance, closes at once. An app whose stream closed reconnects, and is answered as any
request with that token (401, or 403 with `wipe: true`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Protocol

from litestar.response.sse import ServerSentEventMessage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from sync.signals import Signals

log = logging.getLogger("sync.events")
KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0
RECONNECT_MS = 3_000
# Session checks a process makes at once (a poke of everyone's partition wakes every stream):
# they queue rather than each taking a connection. While Redis's revocation cache is being
# rebuilt (after a restart or flush) a check reads PostgreSQL, so they must never hold more
# than a few of the pool's connections, which requests need.
CHECKS_AT_ONCE = 4


class Comment(ServerSentEventMessage):
    """A comment line and nothing else (`: keepalive`). Litestar's message writes an empty
    `data:` line and a blank line after its comment, which an EventSource dispatches as a
    `message` event with empty data: the app would wake every 15 s for nothing."""

    def encode(self) -> bytes:
        return "".join(f": {line}{self.sep}" for line in str(self.comment).splitlines()).encode()


class Session(Protocol):
    """The signed-in session a stream serves (`identity.revocations.SessionWatch`)."""

    @property
    def session_id(self) -> str: ...

    @property
    def channel(self) -> str:
        """The Redis channel announcing ended sessions: their ids, separated by spaces."""
        ...

    async def ended(self) -> bool:
        """Whether the session ended or its device was revoked since the stream began."""
        ...


class _Listener:
    """One open stream, as the hub wakes it: `poked` when its partition changed; `woken` for a
    poke or an announced end of its session (both checked against the session first)."""

    __slots__ = ("poked", "woken")

    def __init__(self) -> None:
        self.woken = asyncio.Event()
        self.poked = False

    def poke(self) -> None:
        self.poked = True
        self.woken.set()


class Hub:
    """One Redis subscription per process, fanned out to the open streams."""

    def __init__(self, redis_url: str, signals: Signals) -> None:
        # Its own client: a subscription waits for messages far longer than the request
        # client's 2 s socket timeout, and must not hold one of its pooled connections.
        self._redis = Redis.from_url(
            redis_url, socket_connect_timeout=2.0, health_check_interval=30
        )
        self._signals = signals
        self._streams: dict[str, set[_Listener]] = {}  # by poke channel
        self._sessions: dict[str, set[_Listener]] = {}  # by session id
        self._ends: set[str] = set()  # the channels announcing ended sessions listened to
        self._checks = asyncio.Semaphore(CHECKS_AT_ONCE)
        self._task: asyncio.Task[None] | None = None

    def _ensure_listening(self, ends: str | None) -> None:
        if ends is not None and ends not in self._ends:
            self._ends.add(ends)
            if self._task is not None:  # subscribe again, to that channel too
                self._task.cancel()
                self._task = None
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="sync-events-hub")

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                async with pubsub:
                    await pubsub.psubscribe(self._signals.channel_pattern)
                    if self._ends:
                        await pubsub.subscribe(*self._ends)
                    async for message in pubsub.listen():
                        channel = message.get("channel")
                        name = channel.decode() if isinstance(channel, bytes) else str(channel)
                        if name in self._ends:
                            self._session_ended(message.get("data"))
                            continue
                        for listener in self._streams.get(name, ()):
                            listener.poke()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                log.warning("sync events: Redis subscription lost; reconnecting")
                # Streams pull once when the subscription is back (a poke may have been missed),
                # their sessions checked first (so may the end of one).
                for listeners in self._streams.values():
                    for listener in listeners:
                        listener.poke()
                await asyncio.sleep(1.0)

    def _session_ended(self, data: object) -> None:
        text = data.decode() if isinstance(data, bytes) else str(data)
        for session_id in text.split():
            for listener in self._sessions.get(session_id, ()):
                listener.woken.set()

    async def _still_open(self, session: Session | None) -> bool:
        """Whether the stream's session still holds; a check that fails ends the stream too
        (never assume "not revoked"): the app reconnects and is answered as any request."""
        if session is None:
            return True
        try:
            async with self._checks:
                return not await session.ended()
        except Exception:
            log.warning("sync events: cannot check the session; ending the stream")
            return False

    async def stream(
        self, user_id: uuid.UUID, session: Session | None = None
    ) -> AsyncIterator[ServerSentEventMessage]:
        """The events of `user_id`'s stream. With `session` (the token's), it ends as soon as
        the session ends (signed out, device revoked, user disabled or changed), on whichever
        instance that happened: nothing is sent to an ended session, not even a keep-alive."""
        self._ensure_listening(session.channel if session is not None else None)
        listener = _Listener()
        channels = [self._signals.channel(user_id), self._signals.channel(None)]
        for channel in channels:
            self._streams.setdefault(channel, set()).add(listener)
        if session is not None:
            self._sessions.setdefault(session.session_id, set()).add(listener)
        try:
            yield ServerSentEventMessage(event="hello", data="pull", retry=RECONNECT_MS)
            ends = time.monotonic() + STREAM_SECONDS
            while (left := ends - time.monotonic()) > 0:
                try:
                    await asyncio.wait_for(
                        listener.woken.wait(), timeout=min(KEEPALIVE_SECONDS, left)
                    )
                except TimeoutError:
                    if not await self._still_open(session):
                        return
                    yield Comment(comment="keepalive")
                    continue
                listener.woken.clear()
                if not await self._still_open(session):
                    return
                if listener.poked:
                    listener.poked = False
                    yield ServerSentEventMessage(event="pull", data="pull")
        finally:
            _discard(self._streams, channels, listener)
            if session is not None:
                _discard(self._sessions, [session.session_id], listener)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._redis.aclose()


def _discard(index: dict[str, set[_Listener]], keys: list[str], listener: _Listener) -> None:
    for key in keys:
        listeners = index.get(key)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del index[key]

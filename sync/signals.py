"""What Redis knows about the change log, kept by the sync feed, read by every pull.

Keys (under the deployment's prefix):
- `sync:since`  position from which the keys below are complete (set when Redis starts empty);
- `sync:tail`   position up to which the feed has recorded every change, and when it did;
- `sync:u:<id>` the newest change position of that user's partition (`u:<nil uuid>`: changes
  every partition holds);
- `sync:edges`  `<prev>:<next>@<tail>`, microseconds since the epoch (empty: none): the last
  window edge of a published brochure at or before the time the feed looked, and the first
  after it. No edge lies strictly between them, as of the brochures of every change up to the
  tail: the feed reads them again whenever a brochure changes and whenever `next` has passed,
  and writes the pair with every tail, atomically; a pair written with another tail than the
  current one (a feed that does not keep it) is not trusted.

A pull at position p may answer "nothing changed, you are now at tail" without PostgreSQL when
since <= p <= tail, the tail is fresh, and neither the user's nor everyone's newest change is
after p, and the user's own latest write is behind the tail (`sync:wrote:<id>`, the newest
transaction id of their write requests, kept 10 s: an app pulls right after its own write is
answered, and that pull must carry it). A client that holds brochures (schema 3) also needs no
window edge in (its cursor's `edges_at`, now]: prev <= edges_at and now < next. Anything
missing or stale (Redis restarted, the feed stopped, an edge due) falls back to PostgreSQL, so a
lost Redis costs speed, never a change. A user's key only ever grows (a Lua max), so a
feed that takes over and replays a batch cannot move it back.

Pokes: the feed publishes `pull` on `sync:poke:<id>` (`sync:poke:all` for changes everyone
holds); GET /sync/events relays them as server-sent events.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sync.cursor import Position

log = logging.getLogger("sync.signals")
FRESH_SECONDS = 5.0  # a tail older than this is not trusted (the feed may have stopped)
WROTE_SECONDS = 10  # a write the feed has not summed up after this long: its tail is stale
_WIDTH = 20

_MAX_SET = """
local current = redis.call('GET', KEYS[1])
if not current or ARGV[1] > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
"""
# The same with an expiry (ARGV[2] seconds) renewed on every call.
_MAX_SET_EX = """
local current = redis.call('GET', KEYS[1])
if not current or ARGV[1] > current then current = ARGV[1] end
redis.call('SET', KEYS[1], current, 'EX', ARGV[2])
return 0
"""


def encode(position: Position) -> str:
    """Positions as strings that sort like the positions (for Redis' string comparison)."""
    return f"{position.txid:0{_WIDTH}d}:{position.seq:0{_WIDTH}d}"


def decode(raw: bytes | str) -> Position:
    text = raw.decode() if isinstance(raw, bytes) else raw
    txid, seq = text.split(":")[:2]
    return Position(int(txid), int(seq))


def _no_edge_between(edges: bytes | None, tail: bytes | None, after: int, now: int) -> bool:
    """Whether the feed's `prev:next`, written with the current tail, shows no window edge in
    (after, now]."""
    if edges is None or tail is None:
        return False
    pair, _, written_with = edges.decode().partition("@")
    if written_with != tail.decode():
        return False
    prev, _, following = pair.partition(":")
    return (not prev or int(prev) <= after) and (not following or now < int(following))


class Signals:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}sync:"
        self._max_set_ex = redis.register_script(_MAX_SET_EX)

    def user_key(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}u:{user_id}"

    def channel(self, user_id: uuid.UUID | None) -> str:
        return f"{self._prefix}poke:{user_id if user_id else 'all'}"

    @property
    def channel_pattern(self) -> str:
        return f"{self._prefix}poke:*"

    def state_keys(self, user_id: uuid.UUID) -> list[str]:
        """What a pull reads: since, tail, the user's and everyone's newest change, wrote, and
        the window edges around the feed's last look."""
        return [
            f"{self._prefix}since",
            f"{self._prefix}tail",
            self.user_key(user_id),
            self.user_key(uuid.UUID(int=0)),
            self._wrote_key(user_id),
            self._edges_key,
        ]

    @property
    def _edges_key(self) -> str:
        return f"{self._prefix}edges"

    async def unchanged_to(
        self,
        user_id: uuid.UUID,
        position: Position,
        known: Sequence[bytes | None] | None = None,
        *,
        edges_at: int | None = None,
        now: int = 0,
    ) -> Position | None:
        """The feed's tail if nothing in the user's partition changed after `position` up to
        it; None when Redis cannot tell (then PostgreSQL answers). `known`: the values of
        `state_keys(user_id)`, when the request already read them (with its revocation check).
        `edges_at` (a client that holds brochures): its window edges are on the device up to
        that time; then no edge may lie in (edges_at, `now`] (both in µs since the epoch)."""
        if known is None:
            try:
                known = await self._redis.mget(*self.state_keys(user_id))
            except (RedisError, OSError):
                return None
        since, tail, mine, everyone, wrote, edges = known
        if edges_at is not None and not _no_edge_between(edges, tail, edges_at, now):
            return None
        if since is None or tail is None:
            return None
        tail_text = tail.decode()
        tail_at = float(tail_text.rsplit(":", 1)[1])
        if time.time() - tail_at > FRESH_SECONDS:
            return None
        tail_position, since_position = decode(tail_text), decode(since)
        if not since_position <= position <= tail_position:
            return None
        if wrote is not None and int(wrote) > tail_position.txid:
            return None  # the user's own write is not in the feed's summary yet
        for newest in (mine, everyone):
            if newest is not None and decode(newest) > position:
                return None
        return tail_position

    def _wrote_key(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}wrote:{user_id}"

    async def wrote(self, user_id: uuid.UUID, txid: int) -> None:
        """The user's write (transaction `txid`) just committed: their pulls ask PostgreSQL
        until the feed's tail has passed it (an app pulls right after its write is answered)."""
        try:
            await self._max_set_ex(
                keys=[self._wrote_key(user_id)], args=[f"{txid:0{_WIDTH}d}", WROTE_SECONDS]
            )
        except (RedisError, OSError):
            log.warning(
                "sync: Redis unavailable; the feed's tail goes stale and pulls ask PostgreSQL"
            )

    async def record(
        self,
        *,
        start: Position,
        tail: Position,
        newest: dict[uuid.UUID, Position],
        edges: tuple[int | None, int | None] | None = None,
    ) -> None:
        """One feed batch, atomically: completeness from `start` (if Redis had lost it), each
        user's newest change, the window edges around now (prev, next in µs; None: none), then
        the tail."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{self._prefix}since", encode(start), nx=True)
            for user_id, position in newest.items():
                pipe.eval(_MAX_SET, 1, self.user_key(user_id), encode(position))
            tail_value = f"{encode(tail)}:{time.time():.3f}"
            if edges is not None:
                prev, following = ("" if e is None else str(e) for e in edges)
                pipe.set(self._edges_key, f"{prev}:{following}@{tail_value}")
            pipe.set(f"{self._prefix}tail", tail_value)
            await pipe.execute()

    async def poke(self, user_ids: set[uuid.UUID | None]) -> None:
        """Tell connected apps to pull (best effort: a missed poke is caught by the next pull)."""
        if not user_ids:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in user_ids:
                    pipe.publish(self.channel(user_id), "pull")
                await pipe.execute()
        except (RedisError, OSError):
            log.warning("sync pokes not published: Redis unavailable")

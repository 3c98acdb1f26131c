"""The door of `POST /t`: a beacon goes into a Redis stream, never to PostgreSQL.

The door does one thing per beacon: `XADD` to the stream `{prefix}tracking:beacons` (atomic: the
entry is there or not); the XADDs of the requests waiting at once share a round trip (`Door`).
The entry's id is the moment of receipt (`received_at`, milliseconds).
Everything that needs state (refusing an event id seen in the last 24 hours, the per-visitor
and per-IP limits) is the worker's screening (`screening`), done for hundreds of beacons at once
by one Redis script: the same rules, at a fraction of the cost per beacon.

An entry is ONE field: `u` (unscreened), its value the beacon packed as a JSON array (`Entry`:
code, visitor id, type, page, ms, event id, client address, user agent). Entries of earlier
doors are still read by the consumer, as screened: `b` (within the limits) or `l` (over one),
written by the door when it screened each beacon itself, and the first format (one field per
value and `limited`).
"""

from __future__ import annotations

import asyncio
import uuid

import msgspec
from redis.asyncio import Redis

from mobile_contracts.v1.tracking import Beacon
from workbench.redis import call_packed_many

STREAM_CAP = 2_000_000  # entries, approximately (MAXLEN ~): days of traffic, bounded memory
MAX_USER_AGENT = 1000
FIELD_UNSCREENED = b"u"  # the stream entry's one field: a beacon as the door received it
FIELD = b"b"  # ... of an earlier door: a beacon it found within the limits
FIELD_LIMITED = b"l"  # ... of an earlier door: a beacon over the per-visitor or per-IP limit


class Entry(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A beacon as the stream carries it (a JSON array, in this order)."""

    code: str
    visitor_id: str
    type: str
    page: int | None
    ms: int | None
    event_id: str
    ip: str
    user_agent: str


_encode = msgspec.json.Encoder().encode


def stream_key(prefix: str) -> str:
    return f"{prefix}tracking:beacons"


def pack(
    *,
    code: str,
    visitor_id: str,
    type: str,
    page: int | None,
    ms: int | None,
    event_id: str,
    ip: str,
    user_agent: str,
) -> bytes:
    """The stream field's value of one beacon (`Entry`'s array)."""
    return _encode((code, visitor_id, type, page, ms, event_id, ip, user_agent[:MAX_USER_AGENT]))


def _packed_beacon(beacon: Beacon, ip: str, user_agent: str) -> bytes:
    """The stream entry's value of a beacon as `POST /t` received it (an event id the client
    left out is made here)."""
    return pack(
        code=beacon.code,
        visitor_id=beacon.visitor_id,
        type=beacon.type.value,
        page=beacon.page,
        ms=beacon.ms,
        event_id=str(beacon.event_id or uuid.uuid4()),
        ip=ip,
        user_agent=user_agent,
    )


class Door:
    """`POST /t`'s way into the stream, one per API process: the beacons of the requests that
    arrive while a round trip is under way go together in the next one, packed by hiredis. Each
    is still its own XADD (its entry is there or not); a request is answered once its own XADD
    was, and when the round trip fails, each of its requests gets the failure as a request of
    its own would have (503 for Redis away): none is answered 204 for a beacon that may not be
    stored. A round trip per request cost the API process ~170-200 us of CPU a beacon in
    redis-py (its pool, timeouts and reply handling per command): most of what `POST /t` cost.
    Nothing here outlives a round trip: another process has its own door."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = stream_key(prefix)
        self._waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def append(self, *, beacon: Beacon, ip: str, user_agent: str) -> None:
        """Append one beacon; returns once it is in the stream, raises what stopped it."""
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((_packed_beacon(beacon, ip, user_agent), answered))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send())
        await answered

    async def _send(self) -> None:
        """Round trips until no beacon waits; each answers the requests it carried."""
        try:
            while self._waiting:
                carried, self._waiting = self._waiting, []
                commands = [
                    ("XADD", self._key, "MAXLEN", "~", STREAM_CAP, "*", FIELD_UNSCREENED, packed)
                    for packed, _ in carried
                ]
                try:
                    answers = await call_packed_many(self._redis, commands)
                except Exception as exc:  # the round trip failed: each request raises it
                    answers = [exc] * len(carried)
                for (_, answered), answer in zip(carried, answers, strict=True):
                    if answered.done():  # the request went away meanwhile
                        continue
                    if isinstance(answer, BaseException):
                        answered.set_exception(_own(answer))
                    else:
                        answered.set_result(None)
        finally:
            self._sending = None


def _own(exc: BaseException) -> BaseException:
    """A failure of its own for each request a round trip carried (one exception object raised
    in many requests would collect all their tracebacks)."""
    try:
        return type(exc)(*exc.args)
    except Exception:
        return exc

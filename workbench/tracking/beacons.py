"""The door of `POST /t`: a beacon goes into a Redis stream, never to PostgreSQL.

The door does one thing per beacon: `XADD` to the stream `{prefix}tracking:beacons` (atomic: the
entry is there or not). The entry's id is the moment of receipt (`received_at`, milliseconds).
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

import uuid

import msgspec
from redis.asyncio import Redis

from mobile_contracts.v1.tracking import Beacon

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


async def append(redis: Redis, *, prefix: str, beacon: Beacon, ip: str, user_agent: str) -> None:
    """Append one beacon to the stream (an event id the client left out is made here)."""
    packed = pack(
        code=beacon.code,
        visitor_id=beacon.visitor_id,
        type=beacon.type.value,
        page=beacon.page,
        ms=beacon.ms,
        event_id=str(beacon.event_id or uuid.uuid4()),
        ip=ip,
        user_agent=user_agent,
    )
    await redis.xadd(
        stream_key(prefix), {FIELD_UNSCREENED: packed}, maxlen=STREAM_CAP, approximate=True
    )

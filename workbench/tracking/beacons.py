"""The door of `POST /t`: a beacon goes into a Redis stream, never to PostgreSQL.

One Lua script (atomic: all of it or nothing) refuses a beacon whose event id was seen in the
last 24 hours, counts it against the per-visitor and per-IP limits, and appends it to the stream
`{prefix}tracking:beacons`. A beacon over a limit is still appended, flagged: the worker labels
it a bot with the reason 'rate', so a flood can be audited and never counts.
The stream entry's id is the moment of receipt (`received_at`, milliseconds).

An entry is ONE field: its name says whether the beacon was within the limits (`b`) or over one
(`l`), its value is the beacon packed as a JSON array (`Entry`: code, visitor id, type, page,
ms, event id, client address, user agent). The script is called by its SHA1 (`EVALSHA`; on
`NOSCRIPT`, after a Redis restart, once by its text, which loads it again). Entries of the
earlier format (one field per value and `limited`) are still read by the consumer.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import msgspec
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from mobile_contracts.v1.tracking import Beacon

DEDUP_SECONDS = 86_400
PER_VISITOR_PER_MINUTE = 120
PER_IP_PER_MINUTE = 600
WINDOW_SECONDS = 60
STREAM_CAP = 2_000_000  # entries, approximately (MAXLEN ~): days of traffic, bounded memory
MAX_USER_AGENT = 1000
FIELD = b"b"  # the stream entry's one field: a beacon within the limits
FIELD_LIMITED = b"l"  # ... a beacon over the per-visitor or per-IP limit

# KEYS: dedup, visitor counter, ip counter, stream. ARGV: the packed beacon.
# The limits are part of the script's text (so of its SHA1): a changed limit is a new script.
APPEND = f"""
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', {DEDUP_SECONDS}) then
    return 0
end
local per_visitor = redis.call('INCR', KEYS[2])
if per_visitor == 1 then redis.call('EXPIRE', KEYS[2], {WINDOW_SECONDS}) end
local per_ip = redis.call('INCR', KEYS[3])
if per_ip == 1 then redis.call('EXPIRE', KEYS[3], {WINDOW_SECONDS}) end
if per_visitor > {PER_VISITOR_PER_MINUTE} or per_ip > {PER_IP_PER_MINUTE} then
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', {STREAM_CAP}, '*', 'l', ARGV[1])
    return 2
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', {STREAM_CAP}, '*', 'b', ARGV[1])
return 1
"""
APPEND_SHA = hashlib.sha1(APPEND.encode(), usedforsecurity=False).hexdigest()


class Entry(msgspec.Struct, array_like=True, frozen=True):
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


def script_keys(prefix: str, *, event_id: str, visitor_id: str, ip: str) -> tuple[str, ...]:
    """The script's KEYS: the dedup key, the two rate counters and the stream."""
    return (
        f"{prefix}beacon:{event_id}",
        f"{prefix}beacon-rate:v:{visitor_id}",
        f"{prefix}beacon-rate:ip:{ip}",
        f"{prefix}tracking:beacons",
    )


@dataclass(frozen=True, slots=True)
class Received:
    """What the door did with a beacon."""

    stored: bool  # False: a duplicate event id, refused
    limited: bool = False


_REFUSED, _STORED, _LIMITED = Received(False), Received(True), Received(True, limited=True)


async def append(
    redis: Redis, *, prefix: str, beacon: Beacon, ip: str, user_agent: str
) -> Received:
    """Append one beacon to the stream unless its event id was seen (one atomic script)."""
    event_id = str(beacon.event_id or uuid.uuid4())
    keys_and_value = (
        *script_keys(prefix, event_id=event_id, visitor_id=beacon.visitor_id, ip=ip),
        pack(
            code=beacon.code,
            visitor_id=beacon.visitor_id,
            type=beacon.type.value,
            page=beacon.page,
            ms=beacon.ms,
            event_id=event_id,
            ip=ip,
            user_agent=user_agent,
        ),
    )
    try:
        answer = await redis.evalsha(APPEND_SHA, 4, *keys_and_value)  # type: ignore[arg-type, misc]
    except NoScriptError:  # Redis lost its script cache (restart): EVAL runs and caches it
        answer = await redis.eval(APPEND, 4, *keys_and_value)  # type: ignore[arg-type, misc]
    return _LIMITED if int(answer) == 2 else _STORED if int(answer) == 1 else _REFUSED

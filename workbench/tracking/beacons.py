"""The door of `POST /t`: a beacon goes into a Redis stream, never to PostgreSQL.

One Lua script (atomic: all of it or nothing) refuses a beacon whose event id was seen in the
last 24 hours, counts it against the per-visitor and per-IP limits, and appends it to the stream
`{prefix}tracking:beacons`. A beacon over a limit is still appended, flagged `limited=1`: the
worker labels it a bot with the reason 'rate', so a flood can be audited and never counts.
The stream entry's id is the moment of receipt (`received_at`, milliseconds).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from mobile_contracts.v1.tracking import Beacon

DEDUP_SECONDS = 86_400
PER_VISITOR_PER_MINUTE = 120
PER_IP_PER_MINUTE = 600
WINDOW_SECONDS = 60
STREAM_CAP = 2_000_000  # entries, approximately (MAXLEN ~): days of traffic, bounded memory
MAX_USER_AGENT = 1000

# KEYS: dedup, visitor counter, ip counter, stream.
# ARGV: dedup seconds, visitor limit, ip limit, window seconds, stream cap, field, value, ...
_APPEND = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
    return 0
end
local per_visitor = redis.call('INCR', KEYS[2])
if per_visitor == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
local per_ip = redis.call('INCR', KEYS[3])
if per_ip == 1 then redis.call('EXPIRE', KEYS[3], ARGV[4]) end
local limited = '0'
if per_visitor > tonumber(ARGV[2]) or per_ip > tonumber(ARGV[3]) then limited = '1' end
local entry = {}
for i = 6, #ARGV do entry[#entry + 1] = ARGV[i] end
entry[#entry + 1] = 'limited'
entry[#entry + 1] = limited
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', unpack(entry))
if limited == '1' then return 2 end
return 1
"""


def stream_key(prefix: str) -> str:
    return f"{prefix}tracking:beacons"


@dataclass(frozen=True, slots=True)
class Received:
    """What the door did with a beacon."""

    stored: bool  # False: a duplicate event id, refused
    limited: bool = False


async def append(
    redis: Redis, *, prefix: str, beacon: Beacon, ip: str, user_agent: str
) -> Received:
    """Append one beacon to the stream unless its event id was seen (one atomic script)."""
    event_id = str(beacon.event_id or uuid.uuid4())
    script: AsyncScript = redis.register_script(_APPEND)
    answer = await script(
        keys=[
            f"{prefix}beacon:{event_id}",
            f"{prefix}beacon-rate:v:{beacon.visitor_id}",
            f"{prefix}beacon-rate:ip:{ip}",
            stream_key(prefix),
        ],
        args=[
            DEDUP_SECONDS,
            PER_VISITOR_PER_MINUTE,
            PER_IP_PER_MINUTE,
            WINDOW_SECONDS,
            STREAM_CAP,
            *("code", beacon.code),
            *("visitor_id", beacon.visitor_id),
            *("type", beacon.type.value),
            *("page", "" if beacon.page is None else str(beacon.page)),
            *("ms", "" if beacon.ms is None else str(beacon.ms)),
            *("event_id", event_id),
            *("ip", ip),
            *("user_agent", user_agent[:MAX_USER_AGENT]),
        ],
    )
    return Received(stored=int(answer) > 0, limited=int(answer) == 2)

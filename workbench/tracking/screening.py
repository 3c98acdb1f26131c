"""Screening: the worker's judgement of a batch of beacons the door appended unscreened.

For every beacon of a batch, by a Redis script (atomic, one round trip, one argument) run per
CHUNK beacons in the stream's order:

- **Duplicates**: an event id a visitor's beacons carried in the last 24 hours (up to 48: the
  visitor's day of arrival and the day before, UTC) is refused, so a client's retry counts
  once. A visitor's day is a hash, event id -> the stream entry that first carried it; the
  same entry seen again (a batch redelivered after a worker died before its commit) is not a
  duplicate of itself, so nothing is lost, and the database keeps a hit once. The earlier door
  kept a key per event id for 24 hours instead: for a day after screening first ran
  (`{prefix}beacon-screening-since`), those are read too, one MGET a batch (nothing writes
  them any more, so reading them outside the script is safe).
- **Limits**: at most 120 beacons per visitor and 600 per client address in any 60 seconds of
  arrival (the entries' ids). A sorted set per visitor and per address holds the recent
  entries scored by arrival (entries of one millisecond in the stream's order: the members are
  the ids with the sequence zero-padded; the ids themselves sort "-10" before "-9"); a beacon
  is over a limit when more than the limit arrived within the 60 seconds up to it. Beacons
  over a limit are kept, flagged: the worker labels them bots with the reason `rate`. Adding
  an entry twice changes nothing, so a redelivered batch is judged as before. When several
  workers screen neighbouring batches at once, a flood's beacons that another worker has not
  added yet are not seen: a few more than the limit may pass, never fewer.

Judging a batch at once instead of each beacon at the door (one `XADD` there) made ingestion
far cheaper: one call for hundreds of beacons (CHUNK: Redis serves no one else meanwhile), and
a visitor's beacons share their hash's and sorted set's upkeep (`bench/tracking.py` measures
it). The script builds its keys from the prefix it is given, which a single Redis (not a
cluster) allows.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from enum import Enum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from workbench.tracking.beacons import Entry

DEDUP_SECONDS = 86_400  # at least; a visitor's day and the day before
PER_VISITOR_PER_MINUTE = 120
PER_IP_PER_MINUTE = 600
WINDOW_MS = 60_000
KEEP_SECONDS = 600  # a limit's sorted set lives this long from its first beacon or its last trim
# Beacons judged by one run of the script: Redis answers no one else while a script runs, and
# the door's XADD waits behind it. Live traffic brings about one beacon per visitor to a run,
# which then costs Redis 34-41 us a beacon under load (no other beacon of the run shares its
# keys): 500 a run put the door's p99 at 35-64 ms while workers ran, 200 at 12-31 ms, with no
# loss of throughput (bench/README).
CHUNK = 200


class Judged(Enum):
    DUPLICATE = "0"
    WITHIN = "1"
    OVER_LIMIT = "2"


# ARGV[1]: the key prefix. ARGV[2]: the batch, grouped by visitor and day of arrival: a line
# "visitor id TAB day TAB count", then `count` lines "entry id TAB event id TAB arrival TAB
# client address ('-': none)", the arrival being "ms-sequence" with the sequence zero-padded to
# six digits (entries of one millisecond sort as the stream orders them; no field can hold a
# tab or a newline). Lines are cut with plain finds: Lua patterns cost more than all the
# commands. Answers one character per beacon (Judged), in the batch's order.
def script(per_visitor: int = PER_VISITOR_PER_MINUTE, per_ip: int = PER_IP_PER_MINUTE) -> str:
    """The screening script with these limits (beacons in any 60 s)."""
    return f"""
local seen, window = ARGV[1] .. 'beacon-seen:', ARGV[1] .. 'beacon-window:'
local text, at = ARGV[2], 1
local function field(sep)
    local stop = string.find(text, sep, at, true)
    local value = string.sub(text, at, stop - 1)
    at = stop + 1
    return value
end
local function each(command, key, list, fn)
    for s = 1, #list, 1000 do
        local answer = redis.call(command, key, unpack(list, s, math.min(s + 999, #list)))
        if fn then fn(s, answer) end
    end
end
local judged, first, windows, addresses, n = {{}}, {{}}, {{}}, {{}}, 0
local function arrived(key, limit, score, member, i)
    local w = windows[key]
    if not w then
        w = {{limit = limit, members = {{}}, owners = {{}}, oldest = score}}
        windows[key] = w
    end
    local members = w.members
    members[#members + 1] = score
    members[#members + 1] = member
    w.owners[#w.owners + 1] = i
    if score < w.oldest then w.oldest = score end
end
while at <= #text do
    local visitor, day, count = field('\\t'), tonumber(field('\\t')), tonumber(field('\\n'))
    local entries, events, arrivals, scores, ips = {{}}, {{}}, {{}}, {{}}, {{}}
    for j = 1, count do
        entries[j], events[j], arrivals[j] = field('\\t'), field('\\t'), field('\\t')
        scores[j] = tonumber(string.sub(arrivals[j], 1, string.find(arrivals[j], '-', 1, true) - 1))
        ips[j] = field('\\n')
    end
    local today, known = seen .. visitor .. ':' .. day, {{}}
    for _, key in ipairs({{today, seen .. visitor .. ':' .. (day - 1)}}) do
        each('HMGET', key, events, function(s, answer)
            for j = 1, #answer do
                if answer[j] and not known[s + j - 1] then known[s + j - 1] = answer[j] end
            end
        end)
    end
    local new, mine = {{}}, window .. 'v:' .. visitor
    for j = 1, count do
        n = n + 1
        local entry, event = entries[j], events[j]
        local by = known[j] or first[event]
        if by and by ~= entry then
            judged[n] = '0'
        else
            judged[n] = '1'
            if not by then
                first[event] = entry
                new[#new + 1] = event
                new[#new + 1] = entry
            end
            arrived(mine, {per_visitor}, scores[j], arrivals[j], n)
            local ip = ips[j]
            if ip ~= '-' then
                local key = addresses[ip]
                if not key then
                    key = window .. 'ip:' .. ip
                    addresses[ip] = key
                end
                arrived(key, {per_ip}, scores[j], arrivals[j], n)
            end
        end
    end
    if #new > 0 then
        each('HSET', today, new)
        redis.call('EXPIRE', today, {2 * DEDUP_SECONDS})
    end
end
for key, w in pairs(windows) do
    local list, added = w.members, 0
    each('ZADD', key, list, function(_, answer) added = added + answer end)
    local size = redis.call('ZCARD', key)
    if size == added then redis.call('EXPIRE', key, {KEEP_SECONDS}) end  -- a new set
    if size > w.limit then  -- what can no longer count goes first
        redis.call('ZREMRANGEBYSCORE', key, '-inf', w.oldest - {WINDOW_MS})
        redis.call('EXPIRE', key, {KEEP_SECONDS})
        size = redis.call('ZCARD', key)
    end
    if size > w.limit then
        for s = 1, #list, 2 do
            local position = redis.call('ZRANK', key, list[s + 1])
                - redis.call('ZCOUNT', key, '-inf', list[s] - {WINDOW_MS})
            if position >= w.limit then judged[w.owners[(s + 1) / 2]] = '2' end
        end
    end
end
return table.concat(judged)
"""


SCREEN = script()
SCREEN_SHA = hashlib.sha1(SCREEN.encode(), usedforsecurity=False).hexdigest()
_DAY_MS = 86_400_000


async def earlier_marks_until(redis: Redis, prefix: str) -> float:
    """Until when (epoch seconds) the earlier door's per-event-id keys may still exist: a day
    after screening first ran with this prefix (noted once, kept)."""
    key = f"{prefix}beacon-screening-since"
    await redis.set(key, str(time.time()), nx=True)
    since = await redis.get(key)
    return float(since or 0) + DEDUP_SECONDS


async def screen(
    redis: Redis, prefix: str, beacons: Sequence[tuple[str, Entry]], *, earlier_marks: bool = False
) -> list[Judged]:
    """Judge these beacons (their stream entry id and the beacon; ids, visitor ids and addresses
    as the door writes them, checked by the worker), in order. `earlier_marks`: also refuse
    event ids the earlier door took (see `earlier_marks_until`)."""
    judged: list[Judged] = [Judged.WITHIN] * len(beacons)
    if not beacons:
        return judged
    taken: list[Any] = [None] * len(beacons)
    if earlier_marks:
        taken = await redis.mget([f"{prefix}beacon:{beacon.event_id}" for _, beacon in beacons])
    for start in range(0, len(beacons), CHUNK):
        await _judge(redis, prefix, beacons, range(start, min(start + CHUNK, len(beacons))),
                     taken, judged)  # fmt: skip
    return judged


async def _judge(
    redis: Redis,
    prefix: str,
    beacons: Sequence[tuple[str, Entry]],
    chunk: range,
    taken: list[Any],
    judged: list[Judged],
) -> None:
    """One run of the script over these beacons of the batch (grouped by visitor and day); its
    verdicts into `judged`. Chunks go in the stream's order, so a chunk's beacons see every
    earlier one (refused or counted) and no later one, as in one run over the batch."""
    days: dict[tuple[str, int], list[int]] = {}
    arrival: dict[int, str] = {}  # "ms-sequence", the sequence padded: sorts as the stream
    for i in chunk:
        entry_id, beacon = beacons[i]
        ms, _, sequence = entry_id.partition("-")
        arrival[i] = f"{ms}-{sequence:0>6}"
        if taken[i] is not None:
            judged[i] = Judged.DUPLICATE
            continue
        days.setdefault((beacon.visitor_id, int(ms) // _DAY_MS), []).append(i)
    if not days:
        return
    lines: list[str] = []
    order: list[int] = []
    for (visitor, day), members in days.items():
        lines.append(f"{visitor}\t{day}\t{len(members)}\n")
        for i in members:
            entry_id, beacon = beacons[i]
            lines.append(f"{entry_id}\t{beacon.event_id}\t{arrival[i]}\t{beacon.ip or '-'}\n")
        order += members
    batch = "".join(lines)
    try:
        answer = await redis.evalsha(SCREEN_SHA, 0, prefix, batch)  # type: ignore[misc]
    except NoScriptError:  # Redis lost its script cache (restart): EVAL runs and caches it
        answer = await redis.eval(SCREEN, 0, prefix, batch)  # type: ignore[misc]
    text = answer.decode() if isinstance(answer, bytes) else str(answer)
    if len(text) != len(order):
        raise RuntimeError(f"screening judged {len(text)} of {len(order)} beacons")
    for i, c in zip(order, text, strict=True):
        judged[i] = _JUDGED[c]


_JUDGED = {j.value: j for j in Judged}

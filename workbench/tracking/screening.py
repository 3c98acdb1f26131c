"""Screening: the worker's judgement of a batch of beacons the door appended unscreened.

For every beacon of a batch, by a Redis script (atomic, one round trip, one argument) run per
CHUNK beacons in the stream's order:

- **Duplicates**: an event id a visitor's beacons carried in the last 24 hours (up to 48: the
  beacon's day of arrival and the day before, UTC) is refused, so a client's retry counts once.
  A day is one hash, "visitor TAB event id" -> the stream entry that first carried it; the same
  entry seen again (a batch redelivered after a worker died before its commit) is not a
  duplicate of itself, so nothing is lost, and the database keeps a hit once.
- **Limits**: at most 120 beacons per visitor and 600 per client address in any 60 seconds of
  arrival (the entries' ids); a beacon is over a limit when more than the limit arrived within
  the 60 seconds up to it. Beacons over a limit are kept, flagged: the worker labels them bots
  with the reason `rate`. Each minute of arrival has one hash: per key ("v:visitor",
  "a:address"), its arrivals in that minute as one string, sorted, each "ms-sequence" of fixed
  width (WIDTH, zero-padded: as text they sort as the stream orders them). A beacon's arrivals
  within 60 s are those of its minute up to it and those of the minute before after its time
  less 60 s: its position in one list, a binary search in the other; when the two lists hold
  no more than the limit together (nearly always) nothing needs searching. A flood's list keeps
  its first and its last limit + 1 arrivals only, which decide as much as all of them: a beacon
  after the first limit + 1 of its minute is over, and the minute after sees the last ones.
  Adding an arrival twice changes nothing (a redelivered batch is judged as before). When
  several workers screen neighbouring batches at once, a flood's beacons that another worker
  has not added yet are not seen: a few more than the limit may pass, never fewer.

Every key a run touches is shared by all beacons of its day or minute, so a run costs Redis a
few calls plus a few field operations per beacon, ~9 us a beacon of live traffic. Keys per
visitor (the design until 4 December: a hash per visitor and day, a sorted set per visitor and
per address) cost it ten calls a beacon, ~20-30 us: live traffic brings about one beacon per
visitor to a run, so no beacon shared their upkeep (bench/README). The minutes and days behind
are removed by UNLINK (freed off Redis's main thread) as the stream's time passes them
(`beacon-swept:*`), their TTLs only a fallback. The script builds its keys from the prefix it is
given, which a single Redis (not a cluster) allows.

What earlier screenings left is read for as long as it can refuse a retry: the first door's key
per event id (`beacon:{event id}`, a day after screening first ran, `beacon-screening-since`)
and the hashes per visitor and day (two days after this screening first ran,
`beacon-screening-by-day-since`, when an earlier one had run); one pipelined read a chunk,
outside the script (nothing writes them any more). The earlier per-visitor sets of the limits
are not read: the first minute after the switch counts from nothing.
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

DEDUP_SECONDS = 86_400  # at least; a beacon's day and the day before
PER_VISITOR_PER_MINUTE = 120
PER_IP_PER_MINUTE = 600
WINDOW_MS = 60_000
# The stream's time (its newest entry screened) removes the lists of minutes this far behind it:
# beacons screened late (a batch reclaimed from a worker that died, a neighbouring batch of
# another worker) still find the two minutes they count over.
KEEP_MINUTES = 4
KEEP_DAYS = 3
WIDTH = 20  # an arrival: 13 digits of ms, '-', 6 of the entry's sequence
# Beacons judged by one run of the script: Redis answers no one else while a script runs, and
# the door's XADD waits behind it (500 a run put the door's p99 at 35-64 ms while workers ran
# the per-visitor design, 200 at 12-31 ms, bench/README).
CHUNK = 200


class Judged(Enum):
    DUPLICATE = "0"
    WITHIN = "1"
    OVER_LIMIT = "2"


# ARGV[1]: the key prefix. ARGV[2]: the chunk, a line per beacon in the stream's order: "entry id
# TAB visitor id TAB event id TAB arrival TAB client address ('-': none)", the arrival being
# "ms-sequence" with the sequence zero-padded to six digits (no field can hold a tab or a
# newline). Lines are cut with plain finds: Lua patterns cost more than all the commands.
# Answers one character per beacon (Judged), in the chunk's order.
def script(per_visitor: int = PER_VISITOR_PER_MINUTE, per_ip: int = PER_IP_PER_MINUTE) -> str:
    """The screening script with these limits (beacons in any 60 s)."""
    return f"""
local prefix, text, at, W = ARGV[1], ARGV[2], 1, {WIDTH}
local events, arrivals = prefix .. 'beacon-events:', prefix .. 'beacon-arrivals:'
local function field(sep)
    local stop = string.find(text, sep, at, true)
    local value = string.sub(text, at, stop - 1)
    at = stop + 1
    return value
end
local function each(command, key, list, fn)  -- a long list in calls of 1,000 arguments
    for s = 1, #list, 1000 do
        local answer = redis.call(command, key, unpack(list, s, math.min(s + 999, #list)))
        if fn then fn(s, answer) end
    end
end
local function group(t, k)
    local g = t[k]
    if not g then
        g = {{}}
        t[k] = g
    end
    return g
end
local function before(list, a, upto)  -- arrivals of a sorted list before a (or up to it)
    local lo, hi = 0, #list / W
    while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        local e = string.sub(list, mid * W + 1, mid * W + W)
        if e < a or (upto and e == a) then lo = mid + 1 else hi = mid end
    end
    return lo
end
local function sweep(name, upto, base)  -- UNLINK what the stream's time left behind
    local marker = prefix .. 'beacon-swept:' .. name
    local last = tonumber(redis.call('GET', marker)) or upto - 10
    if upto > last then
        upto = math.min(upto, last + 60)  -- after a long pause, the rest in the next runs
        for k = last + 1, upto do redis.call('UNLINK', base .. k) end
        redis.call('SET', marker, upto)
    end
end
local entry, pair, arrival, ms, day, keys, ofday, n = {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, 0
while at <= #text do
    n = n + 1
    entry[n] = field('\\t')
    local visitor = field('\\t')
    pair[n] = visitor .. '\\t' .. field('\\t')
    arrival[n] = field('\\t')
    local ip = field('\\n')
    ms[n] = tonumber(string.sub(arrival[n], 1, string.find(arrival[n], '-', 1, true) - 1))
    day[n] = math.floor(ms[n] / 86400000)
    keys[n] = ip == '-' and {{'v:' .. visitor}} or {{'v:' .. visitor, 'a:' .. ip}}
    local g = group(ofday, day[n])
    g[#g + 1] = n
end
-- duplicates: who first carried the visitor's event id, on the beacon's day or the day before
local known = {{}}
for d, members in pairs(ofday) do
    local fields = {{}}
    for j, i in ipairs(members) do fields[j] = pair[i] end
    for _, key in ipairs({{events .. d, events .. (d - 1)}}) do
        each('HMGET', key, fields, function(s, answer)
            for j = 1, #answer do
                local i = members[s + j - 1]
                if answer[j] and not known[i] then known[i] = answer[j] end
            end
        end)
    end
end
local judged, first, new = {{}}, {{}}, {{}}
for i = 1, n do
    local by, earlier = known[i], first[pair[i]]
    if not by and earlier and day[i] - earlier[2] <= 1 then by = earlier[1] end
    if by and by ~= entry[i] then
        judged[i] = '0'
    else
        judged[i] = '1'
        if not by then
            first[pair[i]] = {{entry[i], day[i]}}
            local g = group(new, day[i])
            g[#g + 1] = pair[i]
            g[#g + 1] = entry[i]
        end
    end
end
-- limits: each kept beacon's arrival into its keys' lists, counted in the stream's order
local minute, wanted = {{}}, {{}}
for i = 1, n do
    if judged[i] == '1' then
        local m = math.floor(ms[i] / {WINDOW_MS})
        minute[i] = m
        for _, k in ipairs(keys[i]) do
            group(wanted, m)[k] = true
            group(wanted, m - 1)[k] = true
        end
    end
end
local lists = {{}}
for m, set in pairs(wanted) do
    local names, l = {{}}, group(lists, m)
    for k in pairs(set) do names[#names + 1] = k end
    each('HMGET', arrivals .. m, names, function(s, answer)
        for j = 1, #answer do l[names[s + j - 1]] = answer[j] or '' end
    end)
end
local changed, newest_minute, newest_day = {{}}, nil, nil
for i = 1, n do
    local m, a = minute[i], arrival[i]
    if m then
        if not newest_minute or m > newest_minute then newest_minute = m end
        for _, k in ipairs(keys[i]) do
            local list, p = lists[m][k], nil
            if list == '' or string.sub(list, -W) < a then  -- nearly always: at the end
                list, p = list .. a, #list / W + 1
            else  -- screened late, or again
                p = before(list, a)
                if string.sub(list, p * W + 1, p * W + W) ~= a then
                    list = string.sub(list, 1, p * W) .. a .. string.sub(list, p * W + 1)
                end
                p = p + 1
            end
            local earlier = lists[m - 1][k]
            local limit = string.byte(k) == 118 and {per_visitor} or {per_ip}  -- 'v'
            if #list > 2 * (limit + 1) * W then  -- a flood: its first and last limit + 1
                list = string.sub(list, 1, (limit + 1) * W) .. string.sub(list, -(limit + 1) * W)
            end
            lists[m][k] = list
            group(changed, m)[k] = true
            if p + #earlier / W > limit then  -- else it cannot be over: nearly always
                local gone = before(earlier, string.format('%013d-999999', ms[i] - {WINDOW_MS}),
                                    true)  -- what arrived 60 s or more before a
                if p + #earlier / W - gone > limit then judged[i] = '2' end
            end
        end
    end
end
for m, set in pairs(changed) do
    local fields = {{}}
    for k in pairs(set) do
        fields[#fields + 1] = k
        fields[#fields + 1] = lists[m][k]
    end
    each('HSET', arrivals .. m, fields)
    redis.call('EXPIRE', arrivals .. m, {(KEEP_MINUTES + 2) * 60})
end
for d, list in pairs(new) do
    each('HSET', events .. d, list)
    redis.call('EXPIRE', events .. d, {(KEEP_DAYS + 1) * DEDUP_SECONDS})
    if not newest_day or d > newest_day then newest_day = d end
end
if newest_minute then
    sweep('minutes', newest_minute - {KEEP_MINUTES}, arrivals)
end
if newest_day then sweep('days', newest_day - {KEEP_DAYS}, events) end
return table.concat(judged)
"""


SCREEN = script()
SCREEN_SHA = hashlib.sha1(SCREEN.encode(), usedforsecurity=False).hexdigest()
_DAY_MS = 86_400_000


async def earlier_until(redis: Redis, prefix: str) -> tuple[float, float]:
    """Until when (epoch seconds) what earlier screenings left may still refuse a retry: the
    first door's keys per event id (a day after screening first ran), the hashes per visitor
    and day (two days after this screening first ran, if an earlier one had; else never).
    Each moment is noted once, kept."""
    door, days = f"{prefix}beacon-screening-since", f"{prefix}beacon-screening-by-day-since"
    now = time.time()
    earlier = await redis.exists(door)  # noted by the screening per visitor and day, if it ran
    await redis.set(door, str(now), nx=True)
    await redis.set(days, str(now if earlier else 0.0), nx=True)
    since_door, since_days = (float(since or 0) for since in await redis.mget(door, days))
    return since_door + DEDUP_SECONDS, since_days + 2 * DEDUP_SECONDS if since_days else 0.0


async def screen(
    redis: Redis,
    prefix: str,
    beacons: Sequence[tuple[str, Entry]],
    *,
    door_marks: bool = False,
    visitor_days: bool = False,
) -> list[Judged]:
    """Judge these beacons (their stream entry id and the beacon; ids, visitor ids and addresses
    as the door writes them, checked by the worker), in order. `door_marks`, `visitor_days`:
    also refuse event ids the earlier screenings took (see `earlier_until`)."""
    judged: list[Judged] = [Judged.WITHIN] * len(beacons)
    for start in range(0, len(beacons), CHUNK):
        chunk = range(start, min(start + CHUNK, len(beacons)))
        taken = await _taken_earlier(redis, prefix, beacons, chunk, door_marks, visitor_days)
        await _judge(redis, prefix, beacons, chunk, taken, judged)
    return judged


async def _taken_earlier(
    redis: Redis,
    prefix: str,
    beacons: Sequence[tuple[str, Entry]],
    chunk: range,
    door_marks: bool,
    visitor_days: bool,
) -> list[Any]:
    """Per beacon of the chunk, what an earlier screening noted of its event id: the first
    door's '1', the entry that first carried it (per visitor and day), or None."""
    taken: list[Any] = [None] * len(chunk)
    if not (door_marks or visitor_days):
        return taken
    async with redis.pipeline(transaction=False) as pipe:
        if door_marks:
            pipe.mget([f"{prefix}beacon:{beacons[i][1].event_id}" for i in chunk])
        if visitor_days:
            for i in chunk:
                entry_id, beacon = beacons[i]
                day = int(entry_id.partition("-")[0]) // _DAY_MS
                for d in (day, day - 1):
                    pipe.hget(f"{prefix}beacon-seen:{beacon.visitor_id}:{d}", beacon.event_id)
        answers = iter(await pipe.execute())
    if door_marks:
        taken = next(answers)
    if visitor_days:
        for j in range(len(chunk)):
            today, day_before = next(answers), next(answers)
            if taken[j] is None:
                taken[j] = today if today is not None else day_before
    return taken


async def _judge(
    redis: Redis,
    prefix: str,
    beacons: Sequence[tuple[str, Entry]],
    chunk: range,
    taken: list[Any],
    judged: list[Judged],
) -> None:
    """One run of the script over these beacons of the batch; its verdicts into `judged`.
    Chunks go in the stream's order, so a chunk's beacons see every earlier one (refused or
    counted) and no later one, as in one run over the batch. A beacon an earlier screening
    took under another entry is a duplicate without the script."""
    lines: list[str] = []
    order: list[int] = []
    for i, noted in zip(chunk, taken, strict=True):
        entry_id, beacon = beacons[i]
        if noted is not None and _text(noted) != entry_id:
            judged[i] = Judged.DUPLICATE
            continue
        ms, _, sequence = entry_id.partition("-")
        arrival = f"{ms:0>13}-{min(int(sequence), 999_999):06d}"  # WIDTH: sorts as the stream
        lines.append(f"{entry_id}\t{beacon.visitor_id}\t{beacon.event_id}\t{arrival}"
                     f"\t{beacon.ip or '-'}\n")  # fmt: skip
        order.append(i)
    if not order:
        return
    batch = "".join(lines)
    try:
        answer = await redis.evalsha(SCREEN_SHA, 0, prefix, batch)  # type: ignore[misc]
    except NoScriptError:  # Redis lost its script cache (restart): EVAL runs and caches it
        answer = await redis.eval(SCREEN, 0, prefix, batch)  # type: ignore[misc]
    text = _text(answer)
    if len(text) != len(order):
        raise RuntimeError(f"screening judged {len(text)} of {len(order)} beacons")
    for i, c in zip(order, text, strict=True):
        judged[i] = _JUDGED[c]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_JUDGED = {j.value: j for j in Judged}

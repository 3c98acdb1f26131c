"""Screening against a plain model: on random beacon histories (visitors sharing addresses,
retries of earlier beacons, bursts and pauses, across batches of random size, a batch perhaps
stored by a worker that died before acknowledging it), what the worker stores is what a
by-hand reading of the rules gives: a retry of the visitor's event id within a day counts once,
and a beacon with the limit or more of its visitor's (or its address's) kept beacons in the 60
seconds before it is flagged `rate`. Small limits, so that a few dozen beacons reach them; small
chunks too, so that a batch is judged by several runs of the script."""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from redis.asyncio import Redis

from tests.workbench.tracking.conftest import WECHAT
from workbench.db import create_pool
from workbench.tracking import beacons, ingest, screening

PER_VISITOR, PER_IP = 6, 8
DAY_MS, WINDOW_MS = 86_400_000, 60_000


@dataclass(frozen=True)
class Sent:
    visitor: int
    gap_ms: int  # after the beacon before it
    retry: int | None  # repeats the event id (and visitor) of an earlier beacon, by index
    ip: int


sent_st = st.lists(
    st.builds(
        Sent,
        visitor=st.integers(0, 2),
        gap_ms=st.sampled_from(
            [1, 1, 7, 7, 120, 120, 900, 900, 4_000, 30_000, 59_999, 61_000, 3_600_000]
        ),
        retry=st.none() | st.integers(0, 60),
        ip=st.sampled_from([0, 0, 0, 1]),
    ),
    min_size=20,
    max_size=70,
)


def by_hand(history: list[tuple[int, str, str, str]]) -> dict[int, str | None]:
    """Per arrival ms: None (a retry, not stored), '' or 'rate'."""
    first_day: dict[tuple[str, str], int] = {}
    kept: dict[str, list[int]] = defaultdict(list)
    answer: dict[int, str | None] = {}
    for ms, visitor, event, ip in history:
        day = ms // DAY_MS
        seen = first_day.get((visitor, event))
        if seen is not None and day - seen <= 1:
            answer[ms] = None
            continue
        first_day[(visitor, event)] = day
        over = False
        for key, limit in ((f"v:{visitor}", PER_VISITOR), (f"ip:{ip}", PER_IP)):
            over |= sum(1 for t in kept[key] if t > ms - WINDOW_MS) >= limit
            kept[key].append(ms)
        answer[ms] = "rate" if over else ""
    return answer


@hypothesis.settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sent=sent_st, batch=st.integers(3, 40), chunk=st.sampled_from([1000, 2, 5]), dies=st.booleans()
)
async def test_screening_stores_what_the_rules_say(
    shared: Any, db: Any, monkeypatch: Any, sent: list[Sent], batch: int, chunk: int, dies: bool
) -> None:
    ms = int(time.time() * 1000) - 3 * DAY_MS  # this month's partitions or last month's: made
    history: list[tuple[int, str, str, str]] = []
    for n, one in enumerate(sent):
        ms += one.gap_ms
        if one.retry is not None and n:
            _, visitor, event, _ = history[one.retry % n]
        else:
            visitor, event = f"visitor-{one.visitor}", str(uuid.uuid4())
        history.append((ms, visitor, event, f"198.51.100.{one.ip}"))
    stored = await screened(shared, db, monkeypatch, history, batch=batch, chunk=chunk, dies=dies)
    judged = by_hand(history)
    expected = {(at, e): judged[at] for at, _, e, _ in history if judged[at] is not None}
    assert stored == expected


async def screened(
    shared: Any,
    db: Any,
    monkeypatch: Any,
    history: list[tuple[int, str, str, str]],
    *,
    batch: int,
    chunk: int,
    dies: bool = False,
) -> dict[tuple[int, str], str]:
    """Append these beacons (arrival ms, visitor, event id, address) unscreened, in this order
    (beacons of one ms get entry ids ms-0, ms-1, ...), let a worker store them all (`dies`: one
    dies first with a batch screened and stored, unacknowledged); (arrival ms, event id) -> the
    stored hit's reason ('' or 'rate')."""
    monkeypatch.setattr(screening, "SCREEN", screening.script(PER_VISITOR, PER_IP))
    monkeypatch.setattr(screening, "SCREEN_SHA", "0" * 40)  # loaded by EVAL on first use
    monkeypatch.setattr(ingest, "BATCH", batch)
    monkeypatch.setattr(screening, "CHUNK", chunk)  # a batch judged by several runs
    settings = replace(shared.studio.settings, redis_prefix=f"{uuid.uuid4().hex[:8]}:")
    await db.execute("delete from share_hits; delete from share_visitors")
    pool = await create_pool(settings.database_url, max_size=2)
    redis = Redis.from_url(settings.redis_url)
    try:
        sequences: Counter[int] = Counter()
        for at, visitor, event, ip in history:
            packed = beacons.pack(code=shared.code, visitor_id=visitor, type="page_view", page=1,
                                  ms=None, event_id=event, ip=ip, user_agent=WECHAT)  # fmt: skip
            await redis.xadd(
                beacons.stream_key(settings.redis_prefix),
                {beacons.FIELD_UNSCREENED: packed},
                id=f"{at}-{sequences[at]}",
            )
            sequences[at] += 1
        if dies:  # a worker screens and stores a batch, then dies before acknowledging it
            dying = ingest.Consumer(name="dies")
            await ingest.consume_once(pool, redis, settings, consumer=dying, ack=False)
            await ingest.reclaim(pool, redis, settings, consumer=ingest.Consumer(), min_idle_ms=0)
        worker = ingest.Consumer()
        while (await ingest.consume_once(pool, redis, settings, consumer=worker)).read:
            pass
    finally:
        await redis.aclose()
        await pool.close()
    rows = await db.fetch("select received_at, event_id, reason from share_hits")
    return {
        (round(r["received_at"].timestamp() * 1000), str(r["event_id"])): r["reason"] for r in rows
    }


def _minute_start_days_ago() -> int:
    """The first ms of a minute three days ago (partitions exist for it)."""
    ms = int(time.time() * 1000) - 3 * DAY_MS
    return ms - ms % WINDOW_MS


@pytest.mark.parametrize("chunk", [1, 2, 1000])
async def test_a_visitors_limit_counts_the_minute_before(
    shared: Any, db: Any, monkeypatch: Any, chunk: int
) -> None:
    """Six beacons in the last 600 ms of a minute, the seventh 400 ms into the next: over the
    visitor's limit of six in 60 s, whichever runs of the script judged them."""
    boundary = _minute_start_days_ago()
    times = [boundary - 600 + 100 * k for k in range(6)] + [boundary + 400]
    history = [(t, "visitor-a", str(uuid.uuid4()), f"198.51.100.{k}") for k, t in enumerate(times)]
    stored = await screened(shared, db, monkeypatch, history, batch=40, chunk=chunk)
    assert [stored[t, e] for t, _, e, _ in history] == [""] * 6 + ["rate"]


@pytest.mark.parametrize("chunk", [1, 1000])
async def test_the_window_is_the_60_seconds_before_a_beacon(
    shared: Any, db: Any, monkeypatch: Any, chunk: int
) -> None:
    """Six beacons a second apart; one exactly 60 s after the first counts the five others only
    (within); one a millisecond later counts six (over), the one just flagged among them."""
    start = _minute_start_days_ago() + 30_000
    times = [start + 1000 * k for k in range(6)] + [start + 60_000, start + 60_001]
    history = [(t, "visitor-b", str(uuid.uuid4()), f"198.51.100.{k}") for k, t in enumerate(times)]
    stored = await screened(shared, db, monkeypatch, history, batch=40, chunk=chunk)
    assert [stored[t, e] for t, _, e, _ in history] == [""] * 7 + ["rate"]


@pytest.mark.parametrize("chunk", [3, 1000])
async def test_an_address_counts_every_visitor_behind_it(
    shared: Any, db: Any, monkeypatch: Any, chunk: int
) -> None:
    """Two visitors behind one address, interleaved: the address's ninth beacon in 60 s is over
    its limit of eight, though each visitor sent five at most."""
    start = _minute_start_days_ago() + 10_000
    history = [
        (start + 10 * k, f"visitor-{'ab'[k % 2]}", str(uuid.uuid4()), "203.0.113.9")
        for k in range(10)
    ]
    stored = await screened(shared, db, monkeypatch, history, batch=40, chunk=chunk)
    assert [stored[t, e] for t, _, e, _ in history] == [""] * 8 + ["rate", "rate"]


@pytest.mark.parametrize("chunk", [1, 1000])
async def test_beacons_of_one_millisecond_count_in_the_streams_order(
    shared: Any, db: Any, monkeypatch: Any, chunk: int
) -> None:
    """Twelve beacons from one address in one millisecond (entry ids ms-0 ... ms-11): the ninth
    to the twelfth are over the address's limit of eight, as the stream orders them (their ids
    as text would put ms-10 and ms-11 before ms-2)."""
    at = _minute_start_days_ago() + 5_000
    history = [(at, f"visitor-{k}", str(uuid.uuid4()), "203.0.113.7") for k in range(12)]
    stored = await screened(shared, db, monkeypatch, history, batch=40, chunk=chunk)
    assert [stored[t, e] for t, _, e, _ in history] == [""] * 8 + ["rate"] * 4


@pytest.mark.parametrize("chunk", [1, 1000])
async def test_a_flood_over_a_minute_still_counts_once_the_minute_turned(
    shared: Any, db: Any, monkeypatch: Any, chunk: int
) -> None:
    """Thirty beacons from one address (each its own visitor), two seconds apart over a whole
    minute: more than a minute's list keeps (its first and last nine, the limit being eight).
    A beacon 30 s into the next minute has the flood's last fifteen within its 60 s: over."""
    boundary = _minute_start_days_ago()
    flood = [(boundary - 59_000 + 2_000 * k, f"visitor-{k}", str(uuid.uuid4()), "203.0.113.5")
             for k in range(30)]  # fmt: skip
    after = (boundary + 30_000, "visitor-late", str(uuid.uuid4()), "203.0.113.5")
    stored = await screened(shared, db, monkeypatch, [*flood, after], batch=40, chunk=chunk)
    assert [stored[t, e] for t, _, e, _ in flood] == [""] * 8 + ["rate"] * 22
    assert stored[after[0], after[2]] == "rate"


async def test_the_minutes_and_days_the_stream_left_behind_are_removed(shared: Any) -> None:
    """A beacon every 50 minutes for five days, each screened when it came: what stays in Redis
    is the last minute's arrivals and the last three days' event ids, not five days of each."""
    prefix, start = f"{uuid.uuid4().hex[:8]}:", _minute_start_days_ago() - 2 * DAY_MS
    redis = Redis.from_url(shared.studio.settings.redis_url)
    try:
        at = start
        for _ in range(5 * 24 * 60 // 50):
            at += 50 * 60_000
            beacon = beacons.Entry(code=shared.code, visitor_id="visitor-a", type="open", page=None,
                                   ms=None, event_id=str(uuid.uuid4()), ip="198.51.100.1",
                                   user_agent=WECHAT)  # fmt: skip
            assert await screening.screen(redis, prefix, [(f"{at}-0", beacon)]) == [
                screening.Judged.WITHIN
            ]
        kept = {key.decode() async for key in redis.scan_iter(match=f"{prefix}beacon-*")}
    finally:
        await redis.aclose()
    day, minute = at // DAY_MS, at // WINDOW_MS
    assert {k for k in kept if "swept" not in k} == {
        f"{prefix}beacon-arrivals:{minute}",
        *(f"{prefix}beacon-events:{d}" for d in (day - 2, day - 1, day)),
    }

"""Reading time (dwell) is the time the server saw pass, not what heartbeats claim: a heartbeat
counts at most the time since the visitor's beacon before plus 2 s, and a visitor's dwell is never
more than the time from their open to their last beacon plus one heartbeat interval (5 s). A page
read as the page sends its beacons (a heartbeat every 5 s while visible) counts in full."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from redis.asyncio import Redis

from tests.customers_data import headers_of
from tests.workbench.tracking.conftest import (
    WECHAT,
    append_at,
    dwell_by_hand,
    seen_ms,
    to_customer,
    visitors,
)
from workbench.tracking import beacons, partitions, queries

MS = timedelta(milliseconds=1)


async def timeline_kinds(shared: Any, customer: uuid.UUID) -> dict[str, Any]:
    rm01 = await headers_of(shared.client, "rm01")
    page = await shared.client.get(f"/api/v1/customers/{customer}/timeline", headers=rm01)
    assert page.status_code == 200, page.text
    return {e["kind"]: e["data"] for e in page.json()["items"]}


async def listed_dwell(shared: Any) -> int:
    """The share's `dwell_seconds` in rm01's share list."""
    rm01 = await headers_of(shared.client, "rm01")
    answer = await shared.client.get("/api/v1/shares?mine=1", headers=rm01)
    assert answer.status_code == 200, answer.text
    [listed] = answer.json()["items"]
    seconds: int = listed["dwell_seconds"]
    return seconds


def soon() -> int:
    """A moment (ms since 1970) just ahead of now: the beacons' own clock in these tests."""
    return int(time.time() * 1000) + 1000


async def test_a_hundred_heartbeats_posted_at_once_do_not_make_hours_of_reading(shared, db):
    """QA's case: an open, then 100 heartbeats claiming 60 s each posted in parallel from a
    WeChat browser, all answered 204. They count the time the server saw pass, not 100 min."""
    body = {"code": shared.code, "visitor_id": "v-x", "type": "open"}
    assert (await shared.client.post("/t", json=body, headers={"User-Agent": WECHAT})).is_success
    beat = body | {"type": "heartbeat", "ms": 60_000}
    answers = await asyncio.gather(*[
        shared.client.post("/t", json=beat, headers={"User-Agent": WECHAT}) for _ in range(100)
    ])  # fmt: skip
    assert {a.status_code for a in answers} == {204}
    await shared.consume()
    [visitor] = await visitors(db, shared.share_id)
    assert {h["verdict"] for h in await db.fetch("select verdict from share_hits")} == {"human"}
    assert visitor["dwell_ms"] <= seen_ms(visitor) + 5000
    assert await listed_dwell(shared) < 100  # the claims made 6,000


async def test_heartbeats_faster_than_time_passes_count_the_time_seen_and_engage_no_one(shared, db):
    customer = await to_customer(shared, db)
    start = soon()
    burst = [(start + 5 * n, "heartbeat", {"ms": 60_000}) for n in range(1, 101)]
    await append_at(shared.studio.settings, shared.code, [(start, "open", {}), *burst[:40]])
    await shared.consume()
    await append_at(shared.studio.settings, shared.code, burst[40:])
    await shared.consume()
    [visitor] = await visitors(db, shared.share_id)
    # 0.5 s seen after the open, and the 5 s of a heartbeat's interval
    assert visitor["dwell_ms"] == 5500
    assert await listed_dwell(shared) == 5
    assert set(await timeline_kinds(shared, customer)) == {"share.opened"}


async def test_a_page_read_for_12_seconds_counts_12_seconds_and_was_read(shared, db):
    """Beacons as the page sends them, received with the network's jitter: the open late by
    0.8 s, a heartbeat every 5 s (one 0.3 s early), the last when the page was hidden."""
    customer = await to_customer(shared, db)
    start = soon()
    await append_at(shared.studio.settings, shared.code, [
        (start + 800, "open", {}), (start + 1500, "page_view", {"page": 1}),
        (start + 5000, "heartbeat", {"ms": 5000}), (start + 9700, "heartbeat", {"ms": 5000}),
    ])  # fmt: skip
    await shared.consume()
    await append_at(shared.studio.settings, shared.code, [
        (start + 12_000, "heartbeat", {"ms": 2000}),
    ])  # fmt: skip
    await shared.consume()
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["dwell_ms"] == 12_000
    assert await listed_dwell(shared) == 12
    kinds = await timeline_kinds(shared, customer)
    assert kinds["share.engaged"]["dwell_seconds"] >= 10


async def test_a_burst_after_a_pause_counts_each_heartbeat_the_time_since_the_one_before(
    shared, db
):
    """Ten minutes without a beacon, then ten heartbeats claiming 60 s in 90 ms, each stored in
    a batch of its own: the first counts its 60 s, each other 10 ms and the 2 s allowance."""
    start = soon()
    settings = shared.studio.settings
    await append_at(settings, shared.code, [(start, "open", {})])
    await shared.consume()
    await append_at(settings, shared.code, [(start + 5000, "heartbeat", {"ms": 5000})])
    await shared.consume()
    for n in range(10):
        await append_at(settings, shared.code, [(start + 600_000 + 10 * n, "heartbeat",
                                                 {"ms": 60_000})])  # fmt: skip
        await shared.consume()
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["dwell_ms"] == 5000 + 60_000 + 9 * 2010
    # what a re-classification rebuilds from the stored hits
    await queries.rebuild_visitors(db, [shared.share_id])
    [rebuilt] = await visitors(db, shared.share_id)
    assert rebuilt["dwell_ms"] == visitor["dwell_ms"]


BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
GAPS = [0, 1, 300, 1900, 2000, 4700, 5000, 5300, 12_000, 70_000]
CLAIMS = [None, 0, 1000, 2000, 5000, 9999, 60_000]

visits_st = st.lists(
    st.tuples(
        st.integers(0, 2),  # visitor
        st.sampled_from(GAPS),  # after the beacon before it (any visitor's)
        st.sampled_from(["open", "page_view", "heartbeat", "heartbeat", "heartbeat", "cta"]),
        st.sampled_from(CLAIMS),
    ),
    max_size=50,
)


@hypothesis.settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sent=visits_st,
    cuts=st.lists(st.integers(0, 50), max_size=5),
    again=st.booleans(),
    late=st.booleans(),
)
async def test_the_rollup_is_the_rules_read_plainly_in_any_batches(
    shared, db, sent, cuts, again, late
):
    """Random visits stored by the worker's own statements in random batches (some stored again:
    a redelivery): each visitor's dwell is the rules read plainly (`dwell_by_hand`) and what the
    re-classification rebuilds. Batches stored out of order (the first one last: a worker died
    and its entries were taken over later) never count more than the time seen."""
    await db.execute("delete from share_hits; delete from share_visitors")
    at, hits = BASE, []
    for n, (visitor, gap, kind, claimed) in enumerate(sent):
        at += gap * MS
        hits.append((
            at, uuid.UUID(int=(1 << 100) + n), shared.share_id, f"v{visitor}", kind,
            1 if kind == "page_view" else None, claimed if kind == "heartbeat" else None,
            None, WECHAT, "human", "",
        ))  # fmt: skip
    if hits:
        for month in partitions.months_spanned(hits[0][0], hits[-1][0]):
            await partitions.ensure_month(db, month)
    bounds = sorted({0, len(hits), *(c for c in cuts if c < len(hits))})
    batches = [hits[a:b] for a, b in itertools.pairwise(bounds)]
    if late and len(batches) > 1:
        batches = [*batches[1:], batches[0]]
    for batch in batches:
        async with db.transaction():
            await queries.store_hits(db, batch, first_delivery=True)
        if again:
            async with db.transaction():
                assert (await queries.store_hits(db, batch)).count == 0

    counted = {v["visitor_id"]: v for v in await visitors(db, shared.share_id)}
    for row in counted.values():
        assert row["dwell_ms"] >= 0
        if row["first_open_at"] is not None:
            assert row["dwell_ms"] <= seen_ms(row) + 5000
    if late and len(batches) > 1:
        return
    expected = {
        f"v{visitor}": dwell_by_hand([
            ((h[0] - BASE) // MS, h[4], h[6]) for h in hits if h[3] == f"v{visitor}"
        ])
        for visitor in range(3)
        if any(h[3] == f"v{visitor}" for h in hits)
    }  # fmt: skip
    assert {v: row["dwell_ms"] for v, row in counted.items()} == expected
    await queries.rebuild_visitors(db, [shared.share_id])
    assert {v["visitor_id"]: v for v in await visitors(db, shared.share_id)} == counted


async def test_an_open_and_a_heartbeat_received_in_one_millisecond_keep_the_streams_order(
    shared, db
):
    """The open came first (the stream's sequence says so): its heartbeat counts, whatever the
    two event ids. Ordered by event id instead, half such visits read as a heartbeat before any
    open, and counted no reading at all."""
    settings, at = shared.studio.settings, soon()
    redis = Redis.from_url(settings.redis_url)
    try:
        for seq, (kind, ms, event_id) in enumerate((
            ("open", None, "ffffffff-ffff-4fff-bfff-ffffffffffff"),
            ("heartbeat", 2000, "00000000-0000-4000-8000-000000000000"),
        )):  # fmt: skip
            packed = beacons.pack(
                code=shared.code, visitor_id="v-same-ms", type=kind, page=None, ms=ms,
                event_id=event_id, ip="198.51.100.9", user_agent=WECHAT,
            )  # fmt: skip
            await redis.xadd(
                beacons.stream_key(settings.redis_prefix),
                {beacons.FIELD_UNSCREENED: packed},
                id=f"{at}-{seq}",
            )
    finally:
        await redis.aclose()
    await shared.consume()
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["dwell_ms"] == 2000
    rebuilt = await db.fetchval(
        "select count(*) from share_hits where visitor_id = 'v-same-ms'"
        " and received_at > date_trunc('milliseconds', received_at)"
    )
    assert rebuilt == 1  # the heartbeat, one microsecond after the open

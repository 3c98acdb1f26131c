"""Beacons `POST /t` into the Redis stream, and the worker's consumer storing them: opens, dwell
from heartbeats and clicks per visitor, each beacon counted once, bots labelled not counted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from mobile_contracts.v1.tracking import Beacon, BeaconType
from tests.outage import Outage
from tests.workbench.tracking.conftest import (
    ALIPAY,
    GOOGLE,
    SLACK,
    WECHAT,
    consume_reclaimed,
    hits,
    stream_length,
    visitors,
)
from workbench.db import create_pool
from workbench.logs import JsonFormatter
from workbench.tracking import beacons, ingest, queries, screening
from workbench.tracking.screening import PER_IP_PER_MINUTE, PER_VISITOR_PER_MINUTE


async def test_a_visit_becomes_one_open_dwell_from_heartbeats_and_one_click(shared, db):
    for type_, fields in (
        ("open", {}),
        ("page_view", {"page": 1}),
        ("heartbeat", {"ms": 1500}),
        ("page_view", {"page": 2}),
        ("heartbeat", {"ms": 1500}),
        ("heartbeat", {"ms": 1000}),
        ("cta", {}),
    ):
        response = await shared.beacon(type_, **fields)
        assert response.status_code == 204, response.text
        assert response.content == b""
    # Nothing reaches PostgreSQL until the worker stores the batch.
    assert await hits(db) == []
    outcome = await shared.consume()
    assert (outcome.read, outcome.stored) == (7, 7)
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["visitor_id"] == "visitor-1"
    assert visitor["first_open_at"] is not None
    # Sent at once, each heartbeat is within the slack of the one before and all of them within
    # a heartbeat's interval of the open (test_dwell_seen.py: beacons paced as the page sends)
    assert visitor["dwell_ms"] == 4000
    assert visitor["page_views"] == 2
    assert visitor["clicked_at"] is not None
    assert visitor["clicked_at"] >= visitor["first_open_at"]
    stored = await hits(db)
    assert {h["verdict"] for h in stored} == {"human"}
    assert len(stored) == 7


async def test_a_beacon_sent_twice_counts_once(shared, db):
    assert (await shared.beacon("open")).status_code == 204
    event_id = str(uuid.uuid4())
    for _ in range(3):
        response = await shared.beacon("heartbeat", ms=2000, event_id=event_id)
        assert response.status_code == 204
    outcome = await shared.consume()
    assert (outcome.read, outcome.stored, outcome.duplicates) == (4, 2, 2)
    # a retry that comes after its first was stored (a later batch) is refused too
    assert (await shared.beacon("heartbeat", ms=2000, event_id=event_id)).status_code == 204
    assert (await shared.consume()).duplicates == 1
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["dwell_ms"] == 2000
    assert len(await hits(db)) == 2


async def test_a_retry_of_a_beacon_the_earlier_door_screened_is_refused(shared, db):
    """The earlier door marked an event id seen with '1' (not an entry id): a retry of it,
    arriving after the deploy, is still a duplicate."""
    settings = shared.studio.settings
    event_id = str(uuid.uuid4())
    redis = Redis.from_url(settings.redis_url)
    try:
        await redis.set(f"{settings.redis_prefix}beacon:{event_id}", "1", ex=60)
    finally:
        await redis.aclose()
    assert (await shared.beacon("open", event_id=event_id)).status_code == 204
    outcome = await shared.consume()
    assert (outcome.read, outcome.stored, outcome.duplicates) == (1, 0, 1)
    assert await hits(db) == []


async def test_what_the_screening_per_visitor_and_day_took_still_counts_after_the_switch(
    shared, db
):
    """The screening before kept a hash per visitor and day (event id -> the entry that carried
    it first) and noted when it first ran. For two days after the switch, a retry of an event
    id it took is still a duplicate; an entry it took, delivered again (its worker died before
    acknowledging), is not a duplicate of itself."""
    settings = shared.studio.settings
    prefix, day = settings.redis_prefix, int(time.time() * 1000) // 86_400_000
    retried, redelivered = str(uuid.uuid4()), str(uuid.uuid4())
    redis = Redis.from_url(settings.redis_url)
    try:
        await redis.set(f"{prefix}beacon-screening-since", str(time.time() - 3600))
        await redis.hset(f"{prefix}beacon-seen:visitor-1:{day - 1}", retried, "1-0")
        assert (await shared.beacon("open", event_id=retried)).status_code == 204
        assert (await shared.beacon("cta", event_id=redelivered)).status_code == 204
        [_, (entry_id, _)] = await redis.xrange(beacons.stream_key(prefix))
        await redis.hset(f"{prefix}beacon-seen:visitor-1:{day}", redelivered, entry_id)
    finally:
        await redis.aclose()
    outcome = await shared.consume()
    assert (outcome.read, outcome.stored, outcome.duplicates) == (2, 1, 1)
    assert [(h["event_id"], h["type"]) for h in await hits(db)] == [(uuid.UUID(redelivered), "cta")]


async def test_a_worker_that_died_after_screening_loses_nothing(shared, db, monkeypatch):
    """Screened (event ids marked seen), then the worker died before its commit: another
    worker stores the batch, and the marks of its own entries do not make them duplicates."""
    await shared.beacon("open")
    await shared.beacon("heartbeat", ms=2000)
    await shared.beacon("cta")
    real = queries.store_hits

    async def dies(*args, **kwargs):
        raise ConnectionResetError("the worker's process ended here")

    monkeypatch.setattr(queries, "store_hits", dies)
    with pytest.raises(ConnectionResetError):
        await shared.consume(consumer=ingest.Consumer(name="dying-worker"))
    monkeypatch.setattr(queries, "store_hits", real)
    again = await consume_reclaimed(shared.studio.settings)
    assert (again.read, again.stored, again.duplicates) == (3, 3, 0)
    [visitor] = await visitors(db, shared.share_id)
    assert (visitor["dwell_ms"], visitor["clicked_at"] is not None) == (2000, True)


async def test_a_beacon_without_event_id_gets_one_from_the_server(shared, db):
    body = {"code": shared.code, "visitor_id": "v-2", "type": "open"}
    assert (await shared.client.post("/t", json=body)).status_code == 204
    await shared.consume()
    [hit] = await hits(db)
    assert isinstance(hit["event_id"], uuid.UUID)


async def test_a_redelivered_batch_counts_once(shared, db):
    await shared.beacon("open")
    await shared.beacon("heartbeat", ms=2000)
    consumer = ingest.Consumer(name="killed-worker")
    # The first worker stores the batch but dies before acknowledging it.
    first = await shared.consume(consumer=consumer, ack=False)
    assert first.stored == 2
    # Another worker takes the abandoned entries over and stores them again: nothing changes.
    again = await consume_reclaimed(shared.studio.settings)
    assert (again.read, again.stored) == (2, 0)
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["dwell_ms"] == 2000
    assert len(await hits(db)) == 2
    # Acknowledged now: a third reclaim finds nothing pending.
    assert (await consume_reclaimed(shared.studio.settings)).read == 0


async def test_bots_are_labelled_with_reasons_while_in_app_browsers_count(shared, db):
    await shared.beacon("open", ua=WECHAT, visitor_id="wechat")
    await shared.beacon("open", ua=ALIPAY, visitor_id="alipay")
    await shared.beacon("open", ua=SLACK, visitor_id="slack")
    await shared.beacon("open", ua=GOOGLE, visitor_id="google")
    await shared.beacon("open", ua="", visitor_id="nobody")
    await shared.consume()
    labels = {h["visitor_id"]: (h["verdict"], h["reason"]) for h in await hits(db)}
    assert labels == {
        "wechat": ("human", ""),
        "alipay": ("human", ""),
        "slack": ("bot", "link preview: Slackbot"),
        "google": ("bot", "crawler list: Googlebot"),
        "nobody": ("bot", "no user agent"),
    }
    counted = [v["visitor_id"] for v in await visitors(db, shared.share_id)]
    assert counted == ["alipay", "wechat"]


async def test_a_flood_from_one_visitor_is_flagged_and_not_counted(shared, db):
    assert (await shared.beacon("open")).status_code == 204
    for _ in range(PER_VISITOR_PER_MINUTE + 4):
        assert (await shared.beacon("page_view", page=1)).status_code == 204
    await shared.consume()
    reasons = [h["reason"] for h in await hits(db)]
    assert reasons.count("rate") == 5
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["page_views"] == PER_VISITOR_PER_MINUTE - 1


async def test_beacons_of_unknown_codes_are_dropped_by_the_worker(shared, db):
    body = {"code": "Unknown0001", "visitor_id": "v", "type": "open"}
    assert (await shared.client.post("/t", json=body)).status_code == 204
    outcome = await shared.consume()
    assert (outcome.read, outcome.dropped) == (1, 1)
    assert await hits(db) == []


@pytest.mark.parametrize(
    "body",
    [
        {"code": "bad code!", "visitor_id": "v", "type": "open"},
        {"code": "Ab3dE5gH9k", "visitor_id": "v" * 65, "type": "open"},
        {"code": "Ab3dE5gH9k", "visitor_id": "a b", "type": "open"},
        {"code": "Ab3dE5gH9k", "visitor_id": "v", "type": "close"},
        {"code": "Ab3dE5gH9k", "visitor_id": "v", "type": "page_view", "page": 31},
        {"code": "Ab3dE5gH9k", "visitor_id": "v", "type": "heartbeat", "ms": 10**30},
        {"code": "Ab3dE5gH9k", "visitor_id": "v", "type": "open", "event_id": "nope"},
        {"code": "Ab3dE5gH9k\u0000", "visitor_id": "v", "type": "open"},
    ],
)
async def test_bad_beacons_are_refused_and_nothing_is_stored(client, settings, body):
    response = await client.post("/t", json=body)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await stream_length(settings) == 0


async def test_a_beacon_sent_as_text_plain_by_send_beacon_is_accepted(shared, db):
    body = f'{{"code":"{shared.code}","visitor_id":"sb","type":"open"}}'
    response = await shared.client.post(
        "/t", content=body, headers={"Content-Type": "text/plain;charset=UTF-8"}
    )
    assert response.status_code == 204, response.text
    assert await stream_length(shared.studio.settings) == 1


@contextlib.contextmanager
def cut_redis(url: str) -> Iterator[Outage]:
    outage = Outage(url, 6379)
    outage.start()
    try:
        yield outage
    finally:
        outage.stop()


async def test_with_redis_unreachable_beacons_get_503_and_nothing_is_stored(
    make_client, settings, db
):
    with cut_redis(settings.redis_url) as outage:
        client = await make_client(redis_url=outage.url)
        outage.cut()
        body = {"code": "Ab3dE5gH9k", "visitor_id": "v", "type": "open"}
        response = await client.post("/t", json=body)
        assert response.status_code == 503
        assert response.json()["code"] == "service.unavailable"
        assert int(response.headers["retry-after"]) > 0
        outage.restore()
        assert (await client.post("/t", json=body)).status_code == 204
    assert await stream_length(settings) == 1


async def test_redis_lost_between_commit_and_acknowledgement_loses_and_doubles_nothing(
    shared, db, monkeypatch
):
    """The batch is committed, then Redis goes away before the XACK: the entries stay pending,
    the worker's connection is dropped rather than reused half-read, and once Redis is back the
    same client works and the batch, claimed again, stores nothing twice."""
    settings = shared.studio.settings
    for kind in ("open", "page_view", "cta"):
        assert (
            await shared.beacon(kind, page=1 if kind == "page_view" else None)
        ).status_code == 204
    acknowledge = ingest.call_packed
    with cut_redis(settings.redis_url) as outage:

        async def cut_then_acknowledge(redis: Redis, *args: Any) -> Any:
            outage.cut()
            return await acknowledge(redis, *args)

        monkeypatch.setattr(ingest, "call_packed", cut_then_acknowledge)
        pool = await create_pool(settings.database_url, max_size=2)
        redis = Redis.from_url(outage.url)
        try:
            with pytest.raises((ConnectionError, OSError, RedisConnectionError)):
                await ingest.consume_once(pool, redis, settings, consumer=ingest.Consumer())
            assert len(await hits(db)) == 3  # committed before the acknowledgement failed
            outage.restore()
            monkeypatch.setattr(ingest, "call_packed", acknowledge)
            assert (await shared.beacon("heartbeat", ms=2000)).status_code == 204
            after = await ingest.consume_once(pool, redis, settings, consumer=ingest.Consumer())
            assert (after.read, after.stored) == (1, 1)  # the same client, a sound connection
        finally:
            await redis.aclose()
            await pool.close()
    reclaimed = await consume_reclaimed(settings)
    assert (reclaimed.read, reclaimed.stored) == (3, 0)
    assert len(await hits(db)) == 4
    [visitor] = await visitors(db, shared.share_id)
    assert (visitor["page_views"], visitor["dwell_ms"]) == (1, 2000)


async def test_the_worker_loop_stores_beacons_as_they_come_and_stops_cleanly(shared, db):
    settings = shared.studio.settings
    pool = await create_pool(settings.database_url, max_size=2)
    redis = Redis.from_url(settings.redis_url)
    stop = asyncio.Event()
    loop = asyncio.create_task(ingest.run(pool, redis, settings, stop, ingest.Consumer()))
    try:
        await shared.beacon("open")
        await shared.beacon("cta")
        for _ in range(100):
            if (rows := await visitors(db, shared.share_id)) and rows[0]["clicked_at"]:
                break
            await asyncio.sleep(0.05)
        [visitor] = await visitors(db, shared.share_id)
        assert visitor["first_open_at"] is not None
        assert visitor["clicked_at"] is not None
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=5)
        await redis.aclose()
        await pool.close()
    assert loop.exception() is None


async def test_the_visitor_limit_counts_any_60_seconds_of_arrival(shared, db):
    """120 beacons a minute per visitor, counted over the 60 seconds up to each beacon (by its
    arrival, the stream entry's time): a steady reader is never flagged, a burst is."""
    settings = shared.studio.settings
    stream = beacons.stream_key(settings.redis_prefix)
    start = int(time.time() * 1000) - 600_000  # ten minutes ago, in this month's partition
    sent = [  # (ms after start, visitor): 'steady' sends 100 in 50 s, then 100 more 61 s later;
        # 'burst' sends 125 within 2 s
        *((i * 500, "steady") for i in range(100)),
        *((111_000 + i * 500, "steady") for i in range(100)),
        *((200_000 + i * 16, "burst") for i in range(125)),
    ]
    redis = Redis.from_url(settings.redis_url)
    try:
        for n, (ms, visitor) in enumerate(sorted(sent)):
            packed = beacons.pack(code=shared.code, visitor_id=visitor, type="heartbeat", page=None,
                                  ms=500, event_id=str(uuid.uuid4()), ip=f"198.51.100.{n % 200}",
                                  user_agent=WECHAT)  # fmt: skip
            await redis.xadd(stream, {beacons.FIELD_UNSCREENED: packed}, id=f"{start + ms}-0")
    finally:
        await redis.aclose()
    while (await shared.consume()).read:
        pass
    flagged = await db.fetch(
        "select visitor_id, count(*) from share_hits where reason = 'rate' group by 1"
    )
    assert {r["visitor_id"]: r["count"] for r in flagged} == {"burst": 5}


async def test_a_flood_from_one_address_is_flagged_across_visitors(shared, db):
    settings = shared.studio.settings
    redis = Redis.from_url(settings.redis_url)
    door = beacons.Door(redis, settings.redis_prefix)
    try:
        for n in range(PER_IP_PER_MINUTE + 3):
            beacon = Beacon(code=shared.code, visitor_id=f"script-{n}", type=BeaconType.OPEN,
                            event_id=uuid.uuid4())  # fmt: skip
            await door.append(beacon=beacon, ip="203.0.113.9", user_agent=WECHAT)
    finally:
        await redis.aclose()
    while (await shared.consume()).read:
        pass
    reasons = [h["reason"] for h in await hits(db)]
    assert reasons.count("rate") == 3
    opened = await db.fetchval("select count(first_open_at) from share_visitors")
    assert opened == PER_IP_PER_MINUTE


async def test_the_door_appends_one_packed_field_per_beacon(shared):
    settings = shared.studio.settings
    event_id = str(uuid.uuid4())
    assert (await shared.beacon("page_view", page=3, event_id=event_id)).status_code == 204
    redis = Redis.from_url(settings.redis_url)
    try:
        [(_, values)] = await redis.xrange(beacons.stream_key(settings.redis_prefix))
    finally:
        await redis.aclose()
    assert list(values) == [b"u"]
    entry = msgspec.json.decode(values[b"u"], type=beacons.Entry)
    assert (entry.code, entry.visitor_id, entry.type, entry.page, entry.ms, entry.event_id) == (
        shared.code, "visitor-1", "page_view", 3, None, event_id,
    )  # fmt: skip


async def test_entries_of_the_earlier_format_are_still_stored(shared, db):
    """Entries appended by the door before it packed beacons (a deploy with a backlog)."""
    settings = shared.studio.settings
    redis = Redis.from_url(settings.redis_url)
    try:
        for visitor, kind, page, ms, limited, ua in (
            ("old-1", "open", "", "", "0", WECHAT),
            ("old-1", "page_view", "2", "", "0", WECHAT),
            ("old-1", "heartbeat", "", "2000", "0", WECHAT),
            ("old-2", "open", "", "", "1", WECHAT),
            ("old-3", "open", "", "", "0", SLACK),
        ):
            await redis.xadd(
                beacons.stream_key(settings.redis_prefix),
                {"code": shared.code, "visitor_id": visitor, "type": kind, "page": page,
                 "ms": ms, "event_id": str(uuid.uuid4()), "ip": "198.51.100.7",
                 "user_agent": ua, "limited": limited},
            )  # fmt: skip
    finally:
        await redis.aclose()
    # and one of the new format in the same batch
    assert (await shared.beacon("cta", visitor_id="old-1", ua=WECHAT)).status_code == 204
    outcome = await shared.consume()
    assert (outcome.read, outcome.stored, outcome.dropped) == (6, 6, 0)
    labels = {(h["visitor_id"], h["type"]): (h["verdict"], h["reason"]) for h in await hits(db)}
    assert labels[("old-2", "open")] == ("bot", "rate")
    assert labels[("old-3", "open")] == ("bot", "link preview: Slackbot")
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["visitor_id"] == "old-1"
    assert (visitor["page_views"], visitor["dwell_ms"]) == (1, 2000)
    assert visitor["first_open_at"] is not None
    assert visitor["clicked_at"] is not None
    [ip] = await db.fetch("select distinct ip from share_hits where visitor_id = 'old-2'")
    assert str(ip["ip"]) == "198.51.100.7"


async def test_malformed_entries_of_either_format_are_dropped(shared, db):
    settings = shared.studio.settings
    stream = beacons.stream_key(settings.redis_prefix)
    redis = Redis.from_url(settings.redis_url)
    try:
        await redis.xadd(stream, {"b": b"not json"})
        await redis.xadd(stream, {"l": b'["Ab3dE5gH9k","v",1,null,null,"x","",""]'})
        await redis.xadd(stream, {"code": shared.code, "visitor_id": "v", "type": "heartbeat",
                                  "ms": "lots", "event_id": str(uuid.uuid4())})  # fmt: skip
        await redis.xadd(stream, {"code": shared.code, "visitor_id": "v", "type": "open",
                                  "event_id": "not-a-uuid"})  # fmt: skip
    finally:
        await redis.aclose()
    outcome = await shared.consume()
    assert (outcome.read, outcome.stored, outcome.dropped) == (4, 0, 4)
    assert await hits(db) == []


async def test_client_addresses_are_stored_as_sent_and_a_malformed_one_drops_its_beacon(shared, db):
    """IPv4, IPv6 (a scoped one without its scope) and none are stored as the door wrote them; an
    address no parser takes makes the entry malformed (dropped, as a foreign entry would be)."""
    settings = shared.studio.settings
    sent = {"v-four": "198.51.100.7", "v-six": "2001:db8::7", "v-scoped": "fe80::1%eth0",
            "v-none": "", "v-bad": "198.51.100.300", "v-words": "localhost"}  # fmt: skip
    redis = Redis.from_url(settings.redis_url)
    try:
        for visitor, ip in sent.items():
            packed = beacons.pack(code=shared.code, visitor_id=visitor, type="open", page=None,
                                  ms=None, event_id=str(uuid.uuid4()), ip=ip,
                                  user_agent=WECHAT)  # fmt: skip
            await redis.xadd(
                beacons.stream_key(settings.redis_prefix), {beacons.FIELD_UNSCREENED: packed}
            )
    finally:
        await redis.aclose()
    outcome = await shared.consume()
    assert (outcome.read, outcome.stored, outcome.dropped) == (6, 4, 2)
    stored = {h["visitor_id"]: h["ip"] for h in await db.fetch("select * from share_hits")}
    assert {v: None if ip is None else str(ip) for v, ip in stored.items()} == {
        "v-four": "198.51.100.7", "v-six": "2001:db8::7", "v-scoped": "fe80::1", "v-none": None,
    }  # fmt: skip


async def test_a_batch_is_read_in_several_reads_up_to_its_size(shared, db, monkeypatch):
    """The worker reads READ entries at a time (Redis answers no one else while it builds an
    answer) until a read comes back short or the batch is full; the rest waits for the next."""
    monkeypatch.setattr(ingest, "READ", 3)
    monkeypatch.setattr(ingest, "BATCH", 7)
    for n in range(10):
        assert (await shared.beacon("page_view", page=1, visitor_id=f"v-{n}")).status_code == 204
    first = await shared.consume()
    assert (first.read, first.stored) == (7, 7)
    second = await shared.consume()
    assert (second.read, second.stored) == (3, 3)
    assert len(await hits(db)) == 10


async def test_screening_loads_its_script_again_when_redis_lost_it(shared, db, monkeypatch):
    """EVALSHA of a script Redis does not hold (a restart emptied its cache) falls back to EVAL
    once: each beacon is judged once, nothing is lost or doubled."""
    monkeypatch.setattr(screening, "SCREEN_SHA", "0" * 40)
    event_id = str(uuid.uuid4())
    for _ in range(2):
        assert (
            await shared.beacon("open", visitor_id="v-noscript", event_id=event_id)
        ).status_code == 204
    outcome = await shared.consume()
    assert (outcome.stored, outcome.duplicates) == (1, 1)
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["visitor_id"] == "v-noscript"


async def lose_redis_data(settings: Any, *, keep_stream: bool = False) -> None:
    """What Redis restarting empty or a FLUSHDB does to this run (its own keys only: the
    database is shared); `keep_stream`: all but the stream (its consumer group goes with it)."""
    redis = Redis.from_url(settings.redis_url)
    stream = beacons.stream_key(settings.redis_prefix)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}*", count=1000)]
        if keep_stream:
            keys = [k for k in keys if k != stream.encode()]
            await redis.xgroup_destroy(stream, ingest.GROUP)
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def until_stored(db: Any, count: int) -> list[Any]:
    """The hits once `count` are stored by a running loop (at most about 10 s)."""
    for _ in range(200):
        if len(stored := await hits(db)) >= count:
            return stored
        await asyncio.sleep(0.05)
    return await hits(db)


async def test_the_worker_loop_counts_beacons_again_after_redis_lost_its_data(shared, db, caplog):
    """Redis flushed (or restarted empty) while the loop waits for beacons: the loop makes its
    consumer group again at once, without a failure, and stores the beacons that came since;
    what it stored before stays stored once."""
    settings = shared.studio.settings
    pool = await create_pool(settings.database_url, max_size=2)
    redis = Redis.from_url(settings.redis_url)
    stop = asyncio.Event()
    loop = asyncio.create_task(ingest.run(pool, redis, settings, stop, ingest.Consumer()))
    try:
        with caplog.at_level(logging.INFO, logger="workbench.tracking"):
            assert (await shared.beacon("open")).status_code == 204
            assert len(await until_stored(db, 1)) == 1
            await lose_redis_data(settings)
            assert (await shared.beacon("heartbeat", ms=2000)).status_code == 204
            assert (await shared.beacon("cta")).status_code == 204
            stored = await until_stored(db, 3)
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=5)
        await redis.aclose()
        await pool.close()
    assert loop.exception() is None
    assert sorted(h["type"] for h in stored) == ["cta", "heartbeat", "open"]
    [visitor] = await visitors(db, shared.share_id)
    assert (visitor["dwell_ms"], visitor["clicked_at"] is not None) == (2000, True)
    assert [r for r in caplog.records if r.getMessage() == "beacon ingestion failed"] == []
    assert [r for r in caplog.records if r.getMessage() == "beacon consumer group made again"]


async def test_a_consumer_that_finds_its_group_gone_makes_it_again_and_counts_nothing_twice(
    shared, db
):
    """The same consumer after its group went: reclaiming and reading make it again (from the
    stream's start). With the stream kept (screening's marks gone), every entry is read again
    and only the new ones are stored; with the stream gone, the beacons appended since are
    stored, and a retry of one is still refused."""
    settings = shared.studio.settings
    pool = await create_pool(settings.database_url, max_size=2)
    redis = Redis.from_url(settings.redis_url)
    consumer = ingest.Consumer()
    try:
        assert (await shared.beacon("open")).status_code == 204
        assert (await shared.beacon("heartbeat", ms=2000)).status_code == 204
        first = await ingest.consume_once(pool, redis, settings, consumer=consumer)
        assert (first.read, first.stored) == (2, 2)
        await lose_redis_data(settings, keep_stream=True)
        assert (await shared.beacon("heartbeat", ms=1500)).status_code == 204
        assert (await shared.beacon("cta")).status_code == 204
        reclaimed = await ingest.reclaim(pool, redis, settings, consumer=consumer, min_idle_ms=0)
        assert reclaimed == ingest.Outcome()  # nothing pending in a group made anew
        await lose_redis_data(settings, keep_stream=True)
        again = await ingest.consume_once(pool, redis, settings, consumer=consumer)
        assert (again.read, again.stored, again.duplicates) == (4, 2, 0)
        [visitor] = await visitors(db, shared.share_id)
        assert (visitor["dwell_ms"], visitor["clicked_at"] is not None) == (3500, True)

        await lose_redis_data(settings)
        event_id = str(uuid.uuid4())
        assert (await shared.beacon("page_view", page=1, event_id=event_id)).status_code == 204
        after = await ingest.consume_once(pool, redis, settings, consumer=consumer)
        assert (after.read, after.stored) == (1, 1)
        assert (await shared.beacon("page_view", page=1, event_id=event_id)).status_code == 204
        retried = await ingest.consume_once(pool, redis, settings, consumer=consumer)
        assert (retried.read, retried.stored, retried.duplicates) == (1, 0, 1)
    finally:
        await redis.aclose()
        await pool.close()
    assert len(await hits(db)) == 5
    [visitor] = await visitors(db, shared.share_id)
    assert (visitor["dwell_ms"], visitor["page_views"]) == (3500, 1)


async def test_the_loop_warns_with_the_code_of_a_redis_error_and_goes_on(shared, db, caplog):
    """A Redis error the loop cannot mend (here the stream's key taken by a string) is warned
    of with its code, not its message (which names keys); once it is gone the loop goes on."""
    settings = shared.studio.settings
    stream = beacons.stream_key(settings.redis_prefix)
    pool = await create_pool(settings.database_url, max_size=2)
    redis = Redis.from_url(settings.redis_url)
    stop = asyncio.Event()
    loop = asyncio.create_task(ingest.run(pool, redis, settings, stop, ingest.Consumer()))
    try:
        with caplog.at_level(logging.WARNING, logger="workbench.tracking"):
            async with redis.pipeline(transaction=True) as pipe:
                await pipe.delete(stream).set(stream, "not a stream").execute()
            for _ in range(200):
                if failed := [
                    r for r in caplog.records if r.getMessage() == "beacon ingestion failed"
                ]:
                    break
                await asyncio.sleep(0.05)
            await redis.delete(stream)
            assert (await shared.beacon("open")).status_code == 204
            stored = await until_stored(db, 1)
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=5)
        await redis.aclose()
        await pool.close()
    assert len(stored) == 1
    line = json.loads(JsonFormatter().format(failed[0]))
    assert (line["error"], line["cause"]) == ("ResponseError", "WRONGTYPE")
    assert stream not in JsonFormatter().format(failed[0])

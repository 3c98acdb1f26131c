"""A worker killed (SIGKILL) in the middle of ingestion loses nothing and counts nothing twice:
its entries stay pending in the consumer group and the next worker claims them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid

from redis.asyncio import Redis

from mobile_contracts.v1.tracking import Beacon, BeaconType
from tests.workbench.tracking.conftest import PHONE_SAFARI, consume, consume_reclaimed, seen_ms
from workbench.tracking import beacons, queries

VISITORS, PER_VISITOR = 100, 50  # under the per-visitor limit; each from its own address

_WORKER = """
import asyncio, sys
from redis.asyncio import Redis
from tests.conftest import Servers, make_settings
from workbench.db import create_pool
from workbench.tracking import ingest

async def main():
    pool = await create_pool(sys.argv[1], max_size=2)
    redis = Redis.from_url(sys.argv[2])
    settings = make_settings(Servers(sys.argv[1], sys.argv[1], sys.argv[2], sys.argv[3]))
    ingest.BATCH = 500  # ten batches of the test's beacons, so that one is cut in the middle
    await ingest.run(pool, redis, settings, asyncio.Event(), ingest.Consumer(name="doomed"))

asyncio.run(main())
"""


async def test_a_worker_killed_mid_ingestion_loses_and_duplicates_nothing(shared, db):
    settings = shared.studio.settings
    redis = Redis.from_url(settings.redis_url)
    door = beacons.Door(redis, settings.redis_prefix)
    try:
        for v in range(VISITORS):
            for i in range(PER_VISITOR):
                kind = BeaconType.OPEN if i == 0 else BeaconType.HEARTBEAT
                beacon = Beacon(code=shared.code, visitor_id=f"v{v}", type=kind,
                                ms=None if i == 0 else 1000, event_id=uuid.uuid4())  # fmt: skip
                await door.append(beacon=beacon, ip=f"10.0.0.{v}", user_agent=PHONE_SAFARI)
    finally:
        await redis.aclose()
    total = VISITORS * PER_VISITOR
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _WORKER, settings.database_url, settings.redis_url,
        settings.redis_prefix, env=os.environ | {"PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    try:
        for _ in range(3000):  # up to 30 s on a busy machine
            if await db.fetchval("select count(*) from share_hits") > 0:
                break
            await asyncio.sleep(0.01)
    finally:
        worker.send_signal(signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), timeout=10)
    stored_before = await db.fetchval("select count(*) from share_hits")
    assert 0 < stored_before < total, "the worker was not killed in the middle"
    # The next worker claims what the dead one held (and what it never read).
    await consume_reclaimed(settings)
    while (await consume(settings)).read:
        pass
    assert await db.fetchval("select count(*) from share_hits") == total
    rollup = await db.fetchrow(
        "select count(*) as visitors, count(first_open_at) as opened from share_visitors"
        " where share_id = $1",
        shared.share_id,
    )
    assert dict(rollup) == {"visitors": VISITORS, "opened": VISITORS}
    # Each visitor's dwell (their heartbeats came at once: what the server saw pass, at most)
    # is what the stored hits give, none counted twice nor lost.
    counted = await db.fetch("select * from share_visitors order by visitor_id")
    await queries.rebuild_visitors(db, [shared.share_id])
    assert await db.fetch("select * from share_visitors order by visitor_id") == counted
    assert all(1000 <= v["dwell_ms"] <= 5000 + seen_ms(v) for v in counted)

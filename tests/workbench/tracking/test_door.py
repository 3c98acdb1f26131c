"""The door of `POST /t` shares round trips to Redis between the requests waiting at once: each
beacon still goes in once, each request is answered for its own beacon, and a round trip that
fails fails every request it carried (503), none answered 204 for a beacon not stored."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
from redis.asyncio import Redis

import workbench.tracking.beacons as beacons_module
from mobile_contracts.v1.tracking import Beacon, BeaconType
from tests.workbench.tracking.conftest import WECHAT, stream_length
from tests.workbench.tracking.test_beacons import cut_redis
from workbench.tracking import beacons


def _beacon(n: int) -> Beacon:
    return Beacon(code="Ab3dE5gH9k", visitor_id=f"door-{n}", type=BeaconType.OPEN,
                  event_id=uuid.uuid4())  # fmt: skip


async def test_requests_waiting_at_once_share_round_trips_and_each_beacon_goes_in_once(
    settings: Any, monkeypatch: Any
) -> None:
    trips: list[int] = []
    real = beacons_module.call_packed_many

    async def counted(redis: Redis, commands: Any) -> Any:
        trips.append(len(commands))
        return await real(redis, commands)

    monkeypatch.setattr(beacons_module, "call_packed_many", counted)
    redis = Redis.from_url(settings.redis_url)
    try:
        door = beacons.Door(redis, settings.redis_prefix)
        sent = [_beacon(n) for n in range(200)]
        await asyncio.gather(
            *(door.append(beacon=b, ip="198.51.100.7", user_agent=WECHAT) for b in sent)
        )
        entries = await redis.xrange(beacons.stream_key(settings.redis_prefix))
    finally:
        await redis.aclose()
    stored = [
        msgspec.json.decode(fields[beacons.FIELD_UNSCREENED], type=beacons.Entry)
        for _, fields in entries
    ]
    assert sorted(e.event_id for e in stored) == sorted(str(b.event_id) for b in sent)
    assert trips == [200]  # all were waiting when the first round trip left


async def test_a_request_that_went_away_leaves_the_others_answered(settings: Any) -> None:
    redis = Redis.from_url(settings.redis_url)
    try:
        door = beacons.Door(redis, settings.redis_prefix)
        waiting = [
            asyncio.create_task(door.append(beacon=_beacon(n), ip="", user_agent=WECHAT))
            for n in range(5)
        ]
        await asyncio.sleep(0)
        waiting[2].cancel()
        done = await asyncio.gather(*waiting, return_exceptions=True)
    finally:
        await redis.aclose()
    assert [d is None for d in done] == [True, True, False, True, True]
    assert 4 <= await stream_length(settings) <= 5  # the one that went away may be in


async def test_with_redis_away_every_waiting_request_gets_503_and_nothing_is_stored(
    make_client: Any, settings: Any
) -> None:
    with cut_redis(settings.redis_url) as outage:
        client = await make_client(redis_url=outage.url)
        outage.cut()
        bodies = [{"code": "Ab3dE5gH9k", "visitor_id": f"v-{n}", "type": "open"} for n in range(20)]
        answers = await asyncio.gather(*(client.post("/t", json=body) for body in bodies))
        assert {a.status_code for a in answers} == {503}
        assert {a.json()["code"] for a in answers} == {"service.unavailable"}
        outage.restore()
        again = await asyncio.gather(*(client.post("/t", json=body) for body in bodies))
        assert {a.status_code for a in again} == {204}
    assert await stream_length(settings) == 20

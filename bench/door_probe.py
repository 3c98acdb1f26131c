"""The door's latency, probed from a process of its own: `beacons.Door.append` (what `POST /t`
awaits) every PROBE_EVERY seconds, on its own connection and to a stream of its own (nothing for the
workers), until its standard input closes; then one JSON line of the latencies in milliseconds.

    python -m bench.door_probe REDIS_URL PREFIX CODE

`bench.tracking` runs it while the paced producer and the workers run: a probe in the producer's
own event loop would wait for the producer's rounds (~8 ms of CPU each), not for Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid

from redis.asyncio import Redis

from mobile_contracts.v1.tracking import Beacon, BeaconType
from workbench.tracking import beacons
from workbench.tracking.beacons import stream_key

PROBE_EVERY = 0.02
USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.42"


async def probe(redis_url: str, prefix: str, code: str) -> list[float]:
    client = Redis.from_url(redis_url)
    loop = asyncio.get_running_loop()
    closed = loop.run_in_executor(None, sys.stdin.read)  # returns when stdin closes
    latencies: list[float] = []
    door = beacons.Door(client, prefix)
    try:
        while not closed.done():
            beacon = Beacon(code=code, visitor_id="probe", type=BeaconType.HEARTBEAT, ms=5000,
                            event_id=uuid.uuid4())  # fmt: skip
            started = time.perf_counter()
            await door.append(beacon=beacon, ip="10.9.9.9", user_agent=USER_AGENT)
            latencies.append(round(1000 * (time.perf_counter() - started), 3))
            await asyncio.sleep(PROBE_EVERY)
    finally:
        with contextlib.suppress(Exception):
            await client.delete(stream_key(prefix))
        await client.aclose()
    return latencies


def main() -> int:
    redis_url, prefix, code = sys.argv[1:4]
    print(json.dumps(asyncio.run(probe(redis_url, prefix, code))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

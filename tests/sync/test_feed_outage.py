"""The sync feed says a Redis outage once, not at every try (it tried again every fraction of a
second and logged each), and says when Redis answers again."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from tests.sync.sync_data import feed_worker

FEED_LOG = "sync.feed"


async def test_an_outage_is_said_once_and_its_end_too(settings, db, monkeypatch, caplog):
    async with feed_worker(settings, db) as worker:
        record = worker.signals.record

        async def refused(**_: Any) -> None:
            raise RedisConnectionError("Connection refused")

        monkeypatch.setattr(worker.signals, "record", refused)
        with caplog.at_level(logging.INFO, logger=FEED_LOG):
            async with worker.pool.acquire() as conn:
                for _ in range(4):
                    assert await worker.feed.step(conn) is False
            said = [r.getMessage() for r in caplog.records if r.name == FEED_LOG]
            assert said == ["sync feed cannot reach Redis; pulls are answered by PostgreSQL"]

            monkeypatch.setattr(worker.signals, "record", record)
            caplog.clear()
            async with worker.pool.acquire() as conn:
                await worker.feed.step(conn)
            said = [r.getMessage() for r in caplog.records if r.name == FEED_LOG]
            assert said == ["sync feed reaches Redis again"]

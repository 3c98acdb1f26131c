"""Tracking tests: a live brochure shared by rm01 (a share row inserted directly), beacons sent
to `POST /t` and stored by one in-process run of the consumer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.customers_data import customer_ids, customer_row, feed
from tests.workbench.brochures.conftest import Studio, page_image, studio  # noqa: F401
from workbench.db import create_pool
from workbench.tracking import beacons, ingest
from workbench.tracking.beacons import stream_key

PHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2c) NetType/WIFI Language/zh_CN"
)
ALIPAY = (
    "Mozilla/5.0 (Linux; Android 12; V2055A Build/SP1A.210812.003; wv) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Version/4.0 Chrome/101.0.4951.74 Mobile Safari/537.36 AlipayClient/10.5.36.8000"
)
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
GOOGLE = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@dataclass
class Shared:
    """A live brochure shared by rm01, and what a customer's phone does with it."""

    studio: Studio
    brochure_id: str
    share_id: uuid.UUID
    code: str

    @property
    def client(self) -> Any:
        return self.studio.client

    async def beacon(self, type_: str, *, ua: str = PHONE_SAFARI, **fields: Any) -> Any:
        body = {"code": self.code, "visitor_id": "visitor-1", "type": type_,
                "event_id": str(uuid.uuid4())} | fields  # fmt: skip
        return await self.client.post("/t", json=body, headers={"User-Agent": ua})

    async def consume(self, **options: Any) -> ingest.Outcome:
        return await consume(self.studio.settings, **options)


async def consume(settings: Any, **options: Any) -> ingest.Outcome:
    """One batch of the consumer, in this process (what the worker's loop does)."""
    pool = await create_pool(settings.database_url, max_size=2)
    redis = Redis.from_url(settings.redis_url)
    try:
        return await ingest.consume_once(pool, redis, settings, **options)
    finally:
        await redis.aclose()
        await pool.close()


async def stream_length(settings: Any) -> int:
    """How many beacons the door appended to the stream."""
    redis = Redis.from_url(settings.redis_url)
    try:
        length: int = await redis.xlen(stream_key(settings.redis_prefix))
        return length
    finally:
        await redis.aclose()


async def insert_share(db: Any, brochure_id: str, *, code: str) -> uuid.UUID:
    share_id = uuid.uuid4()
    await db.execute(
        """
        insert into shares (id, code, brochure_id, brochure_version, product_code, rm_id,
                            org_unit_id, channel)
        select $1, $2, v.brochure_id, v.version, v.product_code, u.id, u.org_unit_id, 'wechat'
          from brochure_versions v, users u
         where v.brochure_id = $3 and v.status = 'published' and u.login = 'rm01'
        """,
        share_id,
        code,
        uuid.UUID(brochure_id),
    )
    return share_id


@pytest.fixture
async def shared(studio: Studio, db: Any) -> Shared:  # noqa: F811
    made = await studio.live(page_image(), page_image((200, 40, 40)))
    await studio.build_renditions()
    share_id = await insert_share(db, made["id"], code="Ab3dE5gH9k")
    return Shared(studio=studio, brochure_id=made["id"], share_id=share_id, code="Ab3dE5gH9k")


async def visitors(db: Any, share_id: uuid.UUID) -> list[Any]:
    return await db.fetch(
        "select * from share_visitors where share_id = $1 order by visitor_id", share_id
    )


async def hits(db: Any) -> list[Any]:
    return await db.fetch("select * from share_hits order by received_at, type")


async def consume_reclaimed(settings: Any) -> ingest.Outcome:
    """Another worker's start: it claims entries left pending (idle for any time, in a test)."""
    pool = await create_pool(settings.database_url, max_size=2)
    redis = Redis.from_url(settings.redis_url)
    try:
        return await ingest.reclaim(
            pool, redis, settings, consumer=ingest.Consumer(name="next-worker"), min_idle_ms=0
        )
    finally:
        await redis.aclose()
        await pool.close()


async def append_at(
    settings: Any,
    code: str,
    beacons_: list[tuple[int, str, dict[str, Any]]],
    *,
    visitor_id: str = "visitor-1",
    ua: str = WECHAT,
) -> None:
    """Append beacons as the door does, each received at a moment of the test's choosing
    ((ms since 1970, type, fields), in order): the stream's entry time is the server's clock."""
    redis = Redis.from_url(settings.redis_url)
    try:
        # Whole ids: Redis before 7.0 (the embedded one) knows no "<ms>-*".
        before, seq = None, 0
        for at, kind, fields in beacons_:
            seq = seq + 1 if at == before else 0
            before = at
            packed = beacons.pack(
                code=code, visitor_id=visitor_id, type=kind, page=fields.get("page"),
                ms=fields.get("ms"), event_id=str(uuid.uuid4()), ip="198.51.100.9",
                user_agent=ua,
            )  # fmt: skip
            await redis.xadd(
                stream_key(settings.redis_prefix),
                {beacons.FIELD_UNSCREENED: packed},
                id=f"{at}-{seq}",
            )
    finally:
        await redis.aclose()


def seen_ms(visitor: Any) -> int:
    """The time from a visitor's open to their last hit, in whole ms of the stream's clock (each
    moment floored to its millisecond, as dwell is counted: the microseconds are only the order
    of hits received within one)."""
    ms, epoch = timedelta(milliseconds=1), datetime(1970, 1, 1, tzinfo=UTC)
    return (visitor["last_hit_at"] - epoch) // ms - (visitor["first_open_at"] - epoch) // ms


def dwell_by_hand(visit: list[tuple[int, str, int | None]]) -> int:
    """A visitor's dwell by the rules, read plainly: (received ms, type, ms claimed) in the order
    received; from the first open on, a heartbeat counts its claim but at most the time since
    the beacon before plus 2 s, and the sum never more than the time since the open plus 5 s."""
    dwell, opened_at, before = 0, None, None
    for at, kind, claimed in visit:
        if kind == "open" and opened_at is None:
            opened_at = at
        elif kind == "heartbeat" and opened_at is not None and before is not None:
            dwell = min(dwell + min(claimed or 0, at - before + 2000), at - opened_at + 5000)
        before = at
    return dwell


async def to_customer(shared: Any, db: Any) -> uuid.UUID:
    """The share names rm01's customer 张小三 (so reading shows on their timeline)."""
    client, admin = shared.client, shared.studio.admin
    await feed(
        client, admin, "customers", [customer_row("R-1", name="张小三", owner="rm01", seq=1)]
    )
    customer: uuid.UUID = (await customer_ids(db))["R-1"]
    await db.execute("update shares set customer_id = $1 where id = $2", customer, shared.share_id)
    return customer

"""Push fixtures: the loopback fake of APNs, FCM and HMS, settings pointing at it, and a
Deliverer wired like the worker's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from push import providers
from push.delivery import Deliverer
from push.fakes import FakeCredentials, FakePushServer
from push.jobs import options
from push.metrics import PushMetrics
from workbench.db import create_pool
from workbench.security.vault import Vault
from workbench.settings import Settings


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakePushServer]:
    server = FakePushServer(FakeCredentials.generate(tmp_path / "push-credentials"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def settings_for(settings: Settings, fake: FakePushServer, **overrides: Any) -> Settings:
    """The run's settings with every provider configured against the fake."""
    creds = fake.credentials
    return replace(
        settings,
        apns_key_file=str(creds.apns_key_file),
        apns_key_id=creds.apns_key_id,
        apns_team_id=creds.apns_team_id,
        apns_topic=creds.apns_topic,
        apns_base_url=fake.base_url,
        fcm_service_account_file=str(creds.fcm_service_account_file),
        fcm_base_url=fake.base_url,
        hms_app_id=creds.hms_app_id,
        hms_client_secret=creds.hms_client_secret,
        hms_base_url=fake.base_url,
        hms_token_url=fake.hms_token_url,
        **overrides,
    )


@pytest.fixture
def push_settings(settings: Settings, fake: FakePushServer) -> Settings:
    return settings_for(settings, fake)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[Any]:
    created = await create_pool(settings.database_url, max_size=6)
    try:
        yield created
    finally:
        await created.close()


class Deliverers:
    """Builds Deliverers (one per simulated worker) and closes their providers afterwards."""

    def __init__(self, pool: Any, redis: Redis) -> None:
        self._pool, self._redis = pool, redis
        self._opened: list[dict[str, providers.Provider]] = []

    def __call__(self, settings: Settings) -> Deliverer:
        senders = providers.build(settings, self._redis)
        self._opened.append(senders)
        return Deliverer(
            self._pool,
            senders,
            Vault.from_settings(settings.data_keys, settings.blind_index_key),
            PushMetrics(),
            options(settings),
        )

    async def close(self) -> None:
        for senders in self._opened:
            for sender in senders.values():
                await sender.aclose()


@pytest.fixture
async def make_deliverer(pool: Any, redis: Redis) -> AsyncIterator[Deliverers]:
    deliverers = Deliverers(pool, redis)
    try:
        yield deliverers
    finally:
        await deliverers.close()


@pytest.fixture
def deliverer(make_deliverer: Deliverers, push_settings: Settings) -> Deliverer:
    return make_deliverer(push_settings)


@pytest.fixture
async def conn(pool: Any) -> AsyncIterator[Any]:
    """A connection like the app's (JSON codecs), for calling services directly."""
    async with pool.acquire() as connection:
        yield connection

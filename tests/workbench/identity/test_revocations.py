"""Revocations survive Redis losing its data: PostgreSQL is the record, Redis only a cache that
never turns "unknown" into "allowed"."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.helpers import bearer, device, login
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")

ME = "/api/v1/me"


async def forget_everything(settings: Settings) -> None:
    """What FLUSHALL (or a restart without persistence) does to this deployment's keys."""
    redis = Redis.from_url(settings.redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def redis_keys(settings: Settings, pattern: str) -> list[bytes]:
    redis = Redis.from_url(settings.redis_url)
    try:
        return [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}{pattern}")]
    finally:
        await redis.aclose()


def code_of(response: Any) -> tuple[int, str | None]:
    return response.status_code, response.json().get("code")


async def test_a_revoked_device_and_a_signed_out_session_stay_refused_after_redis_forgets(
    make_client, settings
):
    instance_a = await make_client()
    instance_b = await make_client()
    phone = await login(instance_a, "rm01", device_no=1)
    tablet = await login(instance_b, "rm01", device_no=2)
    colleague = await login(instance_b, "rm02", device_no=3)
    admin = await login(instance_a, "admin", device_no=90)

    revoked = await instance_a.post(
        f"/api/v1/admin/devices/{device(1)['device_id']}/revoke", headers=bearer(admin)
    )
    assert revoked.status_code == 200, revoked.text
    assert (await instance_b.post("/api/v1/auth/logout", headers=bearer(tablet))).status_code == 204

    await forget_everything(settings)

    for instance in (instance_b, instance_a, instance_b):
        refused = await instance.get(ME, headers=bearer(phone))
        assert code_of(refused) == (403, "auth.device_revoked")
        assert refused.json()["wipe"] is True
        assert code_of(await instance.get(ME, headers=bearer(tablet))) == (
            401,
            "auth.session_ended",
        )
        assert (await instance.get(ME, headers=bearer(colleague))).status_code == 200
        assert (await instance.get(ME, headers=bearer(admin))).status_code == 200
    # The revoked phone's app is still told to wipe its offline copy.
    pulled = await instance_b.post(
        "/api/v1/sync/pull", json={"schema_version": 2}, headers=bearer(phone)
    )
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["wipe"] is True
    # The cache was rebuilt from PostgreSQL, so later checks need no database again.
    assert await redis_keys(settings, "revoked:complete")
    assert await redis_keys(settings, f"revoked:device:{device(1)['device_id']}")
    assert len(await redis_keys(settings, "revoked:session:*")) == 2  # tablet, and the phone's


async def test_revocations_made_after_redis_forgot_are_cached_and_kept(make_client, settings):
    instance_a = await make_client()
    instance_b = await make_client()
    await forget_everything(settings)
    phone = await login(instance_a, "rm01", device_no=1)
    assert (await instance_b.get(ME, headers=bearer(phone))).status_code == 200
    assert (await instance_a.post("/api/v1/auth/logout", headers=bearer(phone))).status_code == 204
    assert code_of(await instance_b.get(ME, headers=bearer(phone))) == (401, "auth.session_ended")
    await forget_everything(settings)
    assert code_of(await instance_b.get(ME, headers=bearer(phone))) == (401, "auth.session_ended")
    assert code_of(await instance_a.get(ME, headers=bearer(phone))) == (401, "auth.session_ended")

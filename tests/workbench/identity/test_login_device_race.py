"""Two sign-ins on a device never seen before, at once (two API processes): they take turns on
the device, so one session ends open on it, as when they sign in one after the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import msgspec
import pytest

from mobile_contracts.v1 import identity as wire
from tests.helpers import DEMO_PASSWORD, bearer, device
from tests.workbench.identity.test_refresh_retries import Api, api  # noqa: F401  (the fixture)
from workbench.app import create_redis_client
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.identity import service
from workbench.identity.rate_limit import LoginLimiter

pytestmark = pytest.mark.usefixtures("demo_bank")

NEW_DEVICE = device("new", platform="android")


@pytest.fixture
async def limiter(settings) -> AsyncIterator[LoginLimiter]:
    """The sign-in limits of another API process (its own Redis client, on this test's loop)."""
    redis = create_redis_client(settings)
    try:
        yield LoginLimiter(
            redis,
            prefix=settings.redis_prefix,
            per_login=settings.login_limit_per_login,
            per_ip=settings.login_limit_per_ip,
            window_seconds=settings.login_window_seconds,
        )
    finally:
        await redis.aclose()


async def waits_for_a_lock(db: Any, pid: int) -> bool:
    return bool(
        await db.fetchval(
            "select exists (select from pg_locks where pid = $1 and not granted)", pid
        )
    )


async def sign_in(
    conn: Connection, auth: service.Auth, who: str, *, take_over: bool
) -> wire.TokenPair | DomainError:
    """`service.login` on the new device in the caller's transaction, as another API process
    runs it; a refusal is answered, not raised."""
    request = msgspec.convert(
        {"login": who, "password": DEMO_PASSWORD, "device": NEW_DEVICE}, wire.LoginRequest
    )
    try:
        return await service.login(
            conn, auth=auth, request=request, client_ip="127.0.0.1", take_over=take_over
        )
    except DomainError as refused:
        return refused


@pytest.mark.parametrize(
    ("second_user", "take_over", "refused", "first_ended"),
    [
        ("rm08", False, "auth.device_in_use", None),  # someone else: the device is in use
        ("rm07", False, None, "replaced"),  # the same user again: the new session replaces it
        ("rm08", True, None, "replaced"),  # a console browser (its own device id): taken over
    ],
)
async def test_a_second_sign_in_on_a_new_device_waits_for_the_first(
    client,
    db,
    api: Api,  # noqa: F811 (the fixture imported above)
    limiter,
    second_user,
    take_over,
    refused,
    first_ended,
):
    auth = replace(client.app.state.auth, revocations=api.revocations, limiter=limiter)
    async with api.pool.acquire() as first, api.pool.acquire() as second:
        async with first.transaction():
            # rm07 passed the device check and opened its session, not committed yet ...
            first_pair = await sign_in(first, auth, "rm07", take_over=take_over)
            assert isinstance(first_pair, wire.TokenPair), first_pair
            # ... when the second sign-in reaches the same device: it waits for rm07's commit
            # (or, without a lock on the device, goes on until it needs a row rm07 wrote).
            second_tx = second.transaction()
            await second_tx.start()
            answer = asyncio.ensure_future(sign_in(second, auth, second_user, take_over=take_over))
            for _ in range(1000):
                if answer.done() or await waits_for_a_lock(db, second.get_server_pid()):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the second sign-in neither waited nor ended")
        second_pair = await answer
        if isinstance(second_pair, DomainError) and not second_pair.commit_changes:
            await second_tx.rollback()
        else:
            await second_tx.commit()  # as the API does: a refusal keeps its audit row

    if refused is None:
        assert isinstance(second_pair, wire.TokenPair), second_pair
    else:
        assert isinstance(second_pair, DomainError), second_pair
        assert second_pair.code == refused
    sessions = await db.fetch(
        "select u.login, s.ended_at is null as open, s.end_reason"
        " from sessions s join users u on u.id = s.user_id"
        " where s.device_id = $1 order by s.created_at, s.id",
        NEW_DEVICE["device_id"],
    )
    holder = "rm07" if refused else second_user
    assert [r["login"] for r in sessions if r["open"]] == [holder]
    if first_ended:
        assert [(r["login"], r["end_reason"]) for r in sessions if not r["open"]] == [
            ("rm07", first_ended)
        ]
    owner = await db.fetchval(
        "select u.login from devices d join users u on u.id = d.user_id where d.device_id = $1",
        NEW_DEVICE["device_id"],
    )
    assert owner == holder
    # Only the open session's tokens work.
    held, lost = (first_pair, second_pair) if refused else (second_pair, first_pair)
    assert isinstance(held, wire.TokenPair)
    me = await client.get("/api/v1/me", headers=bearer({"access_token": held.access_token}))
    assert me.status_code == 200, me.text
    assert me.json()["login"] == holder
    if isinstance(lost, wire.TokenPair):
        gone = await client.get("/api/v1/me", headers=bearer({"access_token": lost.access_token}))
        assert gone.status_code == 401, gone.text

"""An event stream (GET /sync/events) is held open for its token's session, and that session's
tokens stop at once: when the device is revoked, the app signs out or the user is disabled, on
any instance, the stream closes within moments (not at its five-minute end), and no `pull` is
sent to an ended session even if the news of its end was missed. Other streams go on."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from sync import events
from tests.customers_data import headers_of
from tests.helpers import device
from tests.serving import WAIT, serving
from tests.sync.sync_data import EVENTS
from tests.workbench.identity.test_org_scope import user_id
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")

# Well within the keep-alive interval: a stream ended by its 15 s keep-alive check (or its five
# minutes) is not "at once".
PROMPT = 8.0


class Stream:
    """An open GET /sync/events: its events as they arrive, and whether the server closed it."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.closed = asyncio.Event()
        self.said_hello = asyncio.Event()

    async def read(self, response: httpx.Response) -> None:
        try:
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    self.events.append(line.partition(":")[2].strip())
                    self.said_hello.set()
        finally:
            self.closed.set()


@contextlib.asynccontextmanager
async def listening(base: str, headers: dict[str, str]) -> AsyncIterator[Stream]:
    stream = Stream()
    async with (
        httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(WAIT, read=None)) as http,
        http.stream("GET", EVENTS, headers=headers) as response,
    ):
        assert response.status_code == 200
        reader = asyncio.create_task(stream.read(response))
        try:
            await asyncio.wait_for(stream.said_hello.wait(), timeout=WAIT)
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader


async def ends_at_once(stream: Stream) -> None:
    await asyncio.wait_for(stream.closed.wait(), timeout=PROMPT)
    assert stream.events == ["hello"]  # no pull, nothing after the session's end


async def hub_listens(redis: Redis, settings: Settings) -> None:
    """Wait until the serving instance's hub hears the announcements of ended sessions."""
    channel = f"{settings.redis_prefix}revoked:ended"
    for _ in range(int(WAIT / 0.02)):
        if await redis.publish(channel, "nobody") >= 1:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the event hub never listened to ended sessions")


def session_of(headers: dict[str, str]) -> str:
    payload = headers["Authorization"].removeprefix("Bearer ").split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sid"])


async def test_a_stream_closes_at_once_when_its_session_ends_on_another_instance(
    client, settings, monkeypatch
):
    monkeypatch.setattr(events, "KEEPALIVE_SECONDS", 60.0)  # only the session's end closes it
    admin = await headers_of(client, "admin")
    rm01, rm02, rm03, rm04 = [await headers_of(client, f"rm0{n}") for n in (1, 2, 3, 4)]
    redis = Redis.from_url(settings.redis_url)
    try:
        async with (
            serving(settings) as base,  # another instance than `client`'s
            listening(base, rm01) as revoked,
            listening(base, rm02) as signed_out,
            listening(base, rm03) as disabled,
            listening(base, rm04) as still_signed_in,
        ):
            await hub_listens(redis, settings)
            path = f"/api/v1/admin/devices/{device('rm01')['device_id']}/revoke"
            assert (await client.post(path, headers=admin)).status_code == 200
            await ends_at_once(revoked)
            assert (await client.post("/api/v1/auth/logout", headers=rm02)).status_code == 204
            await ends_at_once(signed_out)
            path = f"/api/v1/admin/users/{user_id('rm03')}/disable"
            assert (await client.post(path, headers=admin)).status_code == 200
            await ends_at_once(disabled)

            # The others' streams go on, and still say when to pull.
            assert not still_signed_in.closed.is_set()
            await redis.publish(f"{settings.redis_prefix}sync:poke:{user_id('rm04')}", "pull")
            for _ in range(int(WAIT / 0.02)):
                if still_signed_in.events == ["hello", "pull"]:
                    break
                await asyncio.sleep(0.02)
            assert still_signed_in.events == ["hello", "pull"]
            assert not still_signed_in.closed.is_set()
    finally:
        await redis.aclose()


async def test_no_pull_reaches_a_stream_whose_session_ended_unannounced(
    client, settings, monkeypatch
):
    monkeypatch.setattr(events, "KEEPALIVE_SECONDS", 60.0)
    rm01 = await headers_of(client, "rm01")
    redis = Redis.from_url(settings.redis_url)
    try:
        async with serving(settings) as base, listening(base, rm01) as stream:
            await hub_listens(redis, settings)
            # The session's end reached the revocation cache, but the hub missed its news (a
            # subscription being re-established); then the user's partition changes.
            key = f"{settings.redis_prefix}revoked:session:{session_of(rm01)}"
            await redis.set(key, "1", ex=60)
            await redis.publish(f"{settings.redis_prefix}sync:poke:{user_id('rm01')}", "pull")
            await ends_at_once(stream)
    finally:
        await redis.aclose()

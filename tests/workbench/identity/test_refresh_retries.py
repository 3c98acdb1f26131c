"""Refresh retries: the token a retry retires stays dead, and retries racing each other (an app
firing several refreshes at once, on several API instances) never end the session."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from mobile_contracts.v1 import identity as wire
from tests.helpers import bearer, device, login
from tests.serving import serving
from tests.workbench.identity.test_sessions import ME, assert_problem, refresh
from workbench.app import create_redis_client
from workbench.db import Connection, Pool, create_pool
from workbench.errors import RefreshTokenReused
from workbench.identity import service
from workbench.identity.revocations import Revocations

pytestmark = pytest.mark.usefixtures("demo_bank")


async def waiting(db: Any) -> int:
    """How many of the run's connections wait for a lock now."""
    await db.execute("select pg_stat_clear_snapshot()")  # else the same answer all along
    count: int = await db.fetchval(
        "select count(*) from pg_stat_activity"
        " where datname = current_database() and wait_event_type = 'Lock'"
    )
    return count


async def test_the_answer_a_retry_replaced_is_refused_and_ends_the_session(client, db):
    first = await login(client, "rm02")
    lost = await refresh(client, first)  # its answer never reached the app
    assert lost.status_code == 200, lost.text
    retried = await refresh(client, first)  # the app retries with the token it has
    assert retried.status_code == 200, retried.text
    # The lost answer's token was retired by the retry: presenting it is a reuse, at once and
    # every time after (it was accepted as a fresh token, again and again).
    assert_problem(await refresh(client, lost.json()), 401, "auth.refresh_reused")
    assert_problem(await refresh(client, lost.json()), 401, "auth.session_ended")
    assert_problem(await refresh(client, retried.json()), 401, "auth.session_ended")
    assert_problem(await client.get(ME, headers=bearer(retried.json())), 401, "auth.session_ended")
    ended = await db.fetchval(
        "select end_reason from sessions where device_id = $1", device(1)["device_id"]
    )
    assert ended == "refresh_reuse"


async def test_a_thief_refreshing_a_stolen_token_first_cannot_keep_the_session(client):
    stolen = await login(client, "rm03")
    by_thief = await refresh(client, stolen)  # the thief is faster
    assert by_thief.status_code == 200, by_thief.text
    by_app = await refresh(client, stolen)  # the app, 2 s later: taken for a retry
    assert by_app.status_code == 200, by_app.text
    # The thief's next rotation is a reuse: the session ends for both of them, and the thief
    # cannot go on rotating.
    assert_problem(await refresh(client, by_thief.json()), 401, "auth.refresh_reused")
    assert_problem(await refresh(client, by_thief.json()), 401, "auth.session_ended")
    assert_problem(await client.get(ME, headers=bearer(by_thief.json())), 401, "auth.session_ended")
    assert_problem(await refresh(client, by_app.json()), 401, "auth.session_ended")


async def test_a_retry_after_the_line_moved_on_is_still_a_reuse(client):
    first = await login(client, "rm04")
    lost = await refresh(client, first)
    assert lost.status_code == 200, lost.text
    retried = (await refresh(client, first)).json()
    moved_on = await refresh(client, retried)
    assert moved_on.status_code == 200, moved_on.text
    assert_problem(await refresh(client, first), 401, "auth.refresh_reused")


async def test_parallel_refreshes_of_one_token_on_two_api_processes_keep_the_session(settings, db):
    # An app firing 8 refreshes of its token at once, answered by two API processes (real
    # servers: the test client answers one request at a time). Each is the first rotation or a
    # retry of it; one once ended the session as a reuse.
    async with (
        serving(settings) as one,
        serving(settings) as other,
        httpx.AsyncClient(base_url=one) as first,
        httpx.AsyncClient(base_url=other) as second,
    ):
        tokens = await login(first, "rm05")
        # All 8 in flight at once: they queue on the session, held here until they all wait.
        async with db.transaction():
            await db.execute(
                "select from sessions where device_id = $1 for update", device(1)["device_id"]
            )
            sent = asyncio.gather(*(refresh(first if n % 2 else second, tokens) for n in range(8)))
            for _ in range(1000):
                if sent.done() or await waiting(db) >= 8:
                    break
                await asyncio.sleep(0.01)
        answers = await sent
        assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
        pairs = [a.json() for a in answers]
        # Every answer is a valid pair; the last one issued is the session's only live token.
        for pair in pairs:
            assert (await first.get(ME, headers=bearer(pair))).status_code == 200
        live = await db.fetch(
            "select t.token_hash from refresh_tokens t join sessions s on s.id = t.session_id"
            " where s.device_id = $1 and s.ended_at is null and t.used_at is null"
            " and t.retired_at is null",
            device(1)["device_id"],
        )
        assert len(live) == 1
        hashes = [hashlib.sha256(p["refresh_token"].encode()).digest() for p in pairs]
        last = pairs[hashes.index(live[0]["token_hash"])]
        retired = next(p for p in pairs if p is not last)
        assert (await refresh(second, last)).status_code == 200
        assert_problem(await refresh(first, retired), 401, "auth.refresh_reused")


@pytest.fixture
async def api(settings) -> AsyncIterator[Api]:
    """Another API process's pool and services, run here to order its transactions by hand."""
    pool = await create_pool(settings.database_url, max_size=4)
    redis = create_redis_client(settings)
    revocations = Revocations(
        redis,
        pool,
        prefix=settings.redis_prefix,
        access_ttl_seconds=settings.access_token_ttl_seconds,
    )
    try:
        yield Api(pool, revocations)
    finally:
        await redis.aclose()
        await pool.close()


@dataclass
class Api:
    pool: Pool
    revocations: Revocations

    async def refresh(self, conn: Connection, client: Any, tokens: dict[str, Any]) -> None:
        """`service.refresh` in the caller's transaction, with the app's settings."""
        auth = replace(client.app.state.auth, revocations=self.revocations)
        request = wire.RefreshRequest(
            refresh_token=tokens["refresh_token"], device_id=device(1)["device_id"]
        )
        await service.refresh(conn, auth=auth, request=request, client_ip="127.0.0.1")


async def test_retries_taking_the_lock_in_another_order_than_they_began_stay_retries(client, api):
    # Transactions A, B and C begin in that order, but B rotates the token first, then C, then A
    # (an API process that took longer to reach the row lock): all three are the same app's
    # retries, and so is the app's next one.
    tokens = await login(client, "rm06")
    async with AsyncExitStack() as stack:
        began = []
        for _ in range(3):
            conn = await stack.enter_async_context(api.pool.acquire())
            transaction = conn.transaction()
            await transaction.start()
            began.append((conn, transaction))
        a, b, c = began
        for conn, transaction in (b, c, a):
            await api.refresh(conn, client, tokens)
            await transaction.commit()
    again = await refresh(client, tokens)
    assert again.status_code == 200, again.text
    assert (await refresh(client, again.json())).status_code == 200


async def test_without_a_retry_window_a_refresh_begun_before_the_rotation_is_a_reuse(
    make_client, api
):
    strict = await make_client(refresh_retry_seconds=0)
    tokens = await login(strict, "rm07")
    async with api.pool.acquire() as conn:
        late = conn.transaction()
        await late.start()  # began first, reaches the token second
        assert (await refresh(strict, tokens)).status_code == 200
        with pytest.raises(RefreshTokenReused):
            await api.refresh(conn, strict, tokens)
        await late.commit()  # as the API does: the ended session is kept
    assert_problem(await refresh(strict, tokens), 401, "auth.session_ended")

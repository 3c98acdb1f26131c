"""`workbench push test --user LOGIN`: send a test notification to every device of a user now,
through the same outbox, claim and providers as every other push, and report each answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import asyncpg
from redis.asyncio import Redis

from push import providers, queries
from push.delivery import Deliverer
from push.jobs import options
from push.metrics import PushMetrics
from workbench.identity import queries as identity_queries
from workbench.notifications import categories
from workbench.notifications import service as notifications
from workbench.security.vault import Vault
from workbench.settings import Settings

_POLL_SECONDS = 0.1


class UnknownUser(Exception):
    """No active user has that login."""


@dataclass(frozen=True, slots=True)
class Answer:
    device_id: str
    provider: str
    outcome: str
    reason: str | None


async def send_test(
    pool: asyncpg.Pool, redis: Redis, settings: Settings, *, login: str, title: str, body: str
) -> list[Answer]:
    """Queue a critical test notification for the user and deliver it at once. A user with no
    live device gets no answers and no notification: a test nobody could receive would only
    sit unread in their notification centre."""
    async with pool.acquire() as conn, conn.transaction():
        user = await identity_queries.user_for_login(conn, login)
        if user is None or not user["active"]:
            raise UnknownUser(login)
        if not await queries.lock_live_registrations(conn, [user["id"]]):
            return []
        notification_id = await notifications.notify(
            conn,
            user_id=user["id"],
            category=categories.PUSH_TEST,
            title=title,
            body=body,
            dedupe_key=f"push-test:{uuid.uuid4()}",
        )
    assert notification_id is not None
    senders = providers.build(settings, redis)
    try:
        deliverer = Deliverer(
            pool,
            senders,
            Vault.from_settings(settings.data_keys, settings.blind_index_key),
            PushMetrics(),
            options(settings),
        )
        # Bounded: past the lease a holder is taken for dead, and then we claim it ourselves.
        limit = settings.push_lease_seconds + settings.push_timeout_seconds
        await _delivered(pool, deliverer, notification_id, limit)
    finally:
        for sender in senders.values():
            await sender.aclose()
    async with pool.acquire() as conn:
        rows = await queries.attempts_of(conn, notification_id)
    last = {r["device_id"]: r for r in rows}  # per device, its latest attempt
    return [Answer(r["device_id"], r["provider"], r["outcome"], r["reason"]) for r in last.values()]


async def _delivered(
    pool: asyncpg.Pool, deliverer: Deliverer, notification_id: uuid.UUID, limit: float
) -> None:
    """Deliver the test notification, or, when a running worker claimed it first, wait (at
    most `limit` seconds) until that worker has recorded every provider's answer: what is
    printed is each device's final outcome, never `sending`."""
    deadline = time.monotonic() + limit
    while not await deliverer.deliver_now(notification_id):
        async with pool.acquire() as conn:
            if not await queries.delivery_in_flight(conn, notification_id):
                return  # settled by the worker (or waiting for a retry)
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(_POLL_SECONDS)

"""`workbench push test` while a worker runs: the worker may claim the test notification before
the command does. The command then waits for that worker's answers and reports each device's
final outcome (and exits by it), never the `sending` of a push still in flight."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from push import probe, providers
from push.delivery import Deliverer
from push.jobs import options
from push.metrics import PushMetrics
from push.providers import Outcome, Provider, Push
from tests.push.test_delivery import delivered, outcome
from tests.push_data import register
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")


class Held:
    """A provider whose pushes wait until released: a worker in the middle of sending."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, push: Push) -> Outcome:
        self.started.set()
        await self.release.wait()
        return await self.inner.send(push)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_push_test_reports_the_final_outcome_when_a_worker_claimed_it_first(
    client, db, pool, redis, push_settings, fake, monkeypatch
):
    device = await register(client, "rm01", platform="ios", provider="apns", token="e" * 64)
    senders = providers.build(push_settings, redis)
    held = Held(senders["apns"])
    vault = Vault.from_settings(push_settings.data_keys, push_settings.blind_index_key)
    worker = Deliverer(
        pool, {**senders, "apns": held}, vault, PushMetrics(), options(push_settings)
    )
    rounds: list[asyncio.Task[bool]] = []
    claims: list[bool] = []

    class ClaimedByTheWorkerFirst(Deliverer):
        async def deliver_now(self, notification_id: uuid.UUID) -> bool:
            if not rounds:  # the running worker claims it and is sending when the command tries
                rounds.append(asyncio.create_task(worker.deliver_now(notification_id)))
                await held.started.wait()
                claims.append(await super().deliver_now(notification_id))
                held.release.set()
                return claims[-1]
            return await super().deliver_now(notification_id)

    monkeypatch.setattr(probe, "Deliverer", ClaimedByTheWorkerFirst)
    try:
        answers = await probe.send_test(
            pool, redis, push_settings, login="rm01", title="测试推送", body="这是一条测试推送。"
        )
        assert await rounds[0] is True
    finally:
        for sender in senders.values():
            await sender.aclose()

    assert claims == [False]  # the worker held it: the command did not send it too
    assert [(a.device_id, a.provider, a.outcome, a.reason) for a in answers] == [
        (device, "apns", "sent", None)
    ]
    nid: Any = await db.fetchval("select id from notifications where category = 'push.test'")
    assert await outcome(db, nid) == ("sent", None)
    assert len(delivered(fake, nid)) == 1

"""A worker killed after the providers took its pushes, before it recorded their answers: once
its lease runs out another worker sends them again, and each repeat carries the same collapse id
as the first push (APNs `apns-collapse-id`, the FCM and HMS notification `tag`), so the phone
replaces the first notification instead of showing two. A notification with no collapse key of
its own collapses on its id."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from push import providers
from push.delivery import Deliverer
from push.jobs import options
from push.metrics import PushMetrics
from tests.push.test_delivery import outcome, requested
from tests.push_data import register
from workbench.ids import uuid5_for
from workbench.notifications.service import notify
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = uuid5_for("user:rm01")


class WorkerKilled(Exception):
    """Stands for the process dying."""


class KilledAfterSending(Deliverer):
    """A worker whose process dies after the providers answered and before it records anything:
    the notification keeps its lease and its attempts stay 'sending'."""

    async def _record(self, conn: Any, rows: Any, owner: uuid.UUID) -> None:
        raise WorkerKilled


@pytest.fixture
async def killed_worker(pool, redis, push_settings) -> AsyncIterator[Deliverer]:
    senders = providers.build(push_settings, redis)
    vault = Vault.from_settings(push_settings.data_keys, push_settings.blind_index_key)
    try:
        yield KilledAfterSending(pool, senders, vault, PushMetrics(), options(push_settings))
    finally:
        for sender in senders.values():
            await sender.aclose()


def collapse_id(request: Any) -> str | None:
    """What the phone collapses this push on."""
    if request.provider == "apns":
        return request.headers.get("apns-collapse-id")
    notification = request.body["message"]["android"].get("notification") or {}
    return notification.get("tag")


@pytest.mark.parametrize("own_key", [None, "task:resend-1"], ids=["no_key", "own_key"])
async def test_a_push_sent_again_after_a_killed_worker_carries_the_same_collapse_id(
    client, db, conn, fake, killed_worker, make_deliverer, push_settings, own_key
):
    await register(client, "rm01", platform="ios", provider="apns", token="c" * 64)
    await register(client, "rm01", platform="android", provider="fcm", token="fcm-resend-1")
    await register(client, "rm01", platform="harmony", provider="hms", token="hms-resend-1")
    nid = await notify(
        conn, user_id=RM01, category="task.confirmed", title="客户已确认拜访",
        body="您的拜访已确认。", dedupe_key="resend", collapse_key=own_key,
    )  # fmt: skip
    assert nid is not None

    with pytest.raises(WorkerKilled):
        await killed_worker.run_round()
    first = requested(fake, nid)
    assert sorted(r.provider for r in first) == ["apns", "fcm", "hms"]
    assert len(fake.sent) == 3  # the providers took them; we never heard
    assert await outcome(db, nid) == ("pending", None)

    # Its lease runs out and another worker claims the notification.
    await db.execute(
        "update notifications set lease_until = now() - interval '1 second' where id = $1", nid
    )
    assert await make_deliverer(push_settings).run_round() == 1
    assert await outcome(db, nid) == ("sent", None)

    pushes = requested(fake, nid)
    assert len(pushes) == 6
    expected = own_key or str(nid)
    for name in ("apns", "fcm", "hms"):
        sent = [r for r in pushes if r.provider == name]
        assert [collapse_id(r) for r in sent] == [expected, expected], name
    # A per-notification id never becomes an FCM/HMS offline collapse key (FCM keeps four).
    fcm_android = next(r for r in pushes if r.provider == "fcm").body["message"]["android"]
    assert ("collapse_key" in fcm_android) == (own_key is not None)

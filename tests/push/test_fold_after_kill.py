"""A worker killed (or paused past its lease) after a round settled some devices, before it settled
the notifications: the worker that takes them over sends to no device twice and ends each
notification by what its devices got. Alerts the dead round folded over the device cap end
folded, never `failed` / `no_live_device`, and their summary is scheduled once per device and
window, however many workers go through the round."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from push import providers, queries
from push.delivery import Deliverer
from push.jobs import options
from push.metrics import PushMetrics
from tests.push.conftest import settings_for
from tests.push.test_delivery import delivered, outcome, requested, tell
from tests.push.test_resend_after_kill import KilledAfterSending, WorkerKilled
from tests.push_data import register
from workbench.ids import uuid5_for
from workbench.security.vault import Vault
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = uuid5_for("user:rm01")
APNS_TOKEN = "f" * 64
CAP = 3


class WorkerPaused(Exception):
    """Stands for the process being stopped (kill -STOP) before it records its round."""


class PausedBeforeRecording(Deliverer):
    """A worker stopped after deciding and sending, before recording: `resume` records the round
    later, as the process would once continued (kill -CONT)."""

    held: tuple[Any, uuid.UUID] | None = None

    async def _record(self, conn: Any, rows: Any, owner: uuid.UUID) -> None:
        self.held = (rows, owner)
        raise WorkerPaused

    async def resume(self) -> None:
        assert self.held is not None
        rows, owner = self.held
        async with self._pool.acquire() as conn, conn.transaction():
            await Deliverer._record(self, conn, rows, owner)


@asynccontextmanager
async def worker_of(
    kind: Callable[..., Deliverer], pool: Any, redis: Any, settings: Settings
) -> AsyncIterator[Any]:
    senders = providers.build(settings, redis)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    try:
        yield kind(pool, senders, vault, PushMetrics(), options(settings))
    finally:
        for sender in senders.values():
            await sender.aclose()


@pytest.fixture
def capped(settings, fake) -> Settings:
    return settings_for(settings, fake, push_device_cap_per_hour=CAP)


async def fill_the_cap(conn: Any, worker: Deliverer) -> list[uuid.UUID]:
    """CAP alerts pushed to rm01's devices this hour: the next ones are folded."""
    nids = [await tell(conn, f"cap-{i}") for i in range(CAP)]
    assert await worker.run_round() == CAP
    return nids


async def leases_run_out(db: Any) -> None:
    await db.execute(
        "update notifications set lease_until = now() - interval '1 second'"
        " where lease_owner is not null"
    )


async def summaries(db: Any) -> list[Any]:
    return await db.fetch(
        "select id, user_id, device_id, push_status, send_at from notifications"
        " where category = 'push.summary' order by created_at"
    )


async def attempts(db: Any, nids: list[uuid.UUID]) -> Counter[tuple[str, int]]:
    rows = await db.fetch(
        "select outcome, attempt from push_attempts where notification_id = any($1)", nids
    )
    return Counter((r["outcome"], r["attempt"]) for r in rows)


async def test_alerts_folded_by_a_killed_worker_end_folded_and_their_summary_is_sent(
    client, db, conn, fake, pool, redis, capped, make_deliverer
):
    device = await register(client, "rm01", platform="ios", provider="apns", token=APNS_TOKEN)
    worker = make_deliverer(capped)
    await fill_the_cap(conn, worker)
    over = [await tell(conn, f"over-{i}") for i in range(5)]

    async with worker_of(KilledAfterSending, pool, redis, capped) as killed:
        with pytest.raises(WorkerKilled):
            await killed.run_round()
    # What the killed round leaves: its folds recorded, the notifications pending and leased.
    assert await attempts(db, over) == {("folded", 1): 5}
    leased = await db.fetch(
        "select push_status, lease_owner from notifications where id = any($1)", over
    )
    assert {(r["push_status"], r["lease_owner"] is not None) for r in leased} == {("pending", True)}

    await leases_run_out(db)
    assert await worker.run_round() == 5
    for nid in over:
        assert await outcome(db, nid) == ("folded", "device_cap")
    assert await attempts(db, over) == {("folded", 1): 5}  # no device was tried again
    assert len(fake.sent) == CAP

    [summary] = await summaries(db)
    assert (summary["user_id"], summary["device_id"]) == (RM01, device)
    assert summary["push_status"] == "pending"
    await db.execute(
        "update notifications set send_at = now() - interval '1 second' where id = $1",
        summary["id"],
    )
    assert await worker.run_round() == 1
    [told] = [d for d in fake.sent if d.body.get("category") == "push.summary"]
    assert re.findall(r"\d+", told.body["aps"]["alert"]["body"]) == ["5"]


async def test_a_fold_round_gone_through_again_by_another_worker_schedules_one_summary(
    client, db, conn, fake, pool, redis, capped, make_deliverer
):
    await register(client, "rm01", platform="ios", provider="apns", token=APNS_TOKEN)
    worker = make_deliverer(capped)
    await fill_the_cap(conn, worker)
    over = [await tell(conn, f"again-{i}") for i in range(4)]

    async with worker_of(PausedBeforeRecording, pool, redis, capped) as paused:
        with pytest.raises(WorkerPaused):
            await paused.run_round()
        await leases_run_out(db)
        assert await worker.run_round() == 4  # takes the round over
        [summary] = await summaries(db)

        # The hour moves on (the alerts that filled the cap are older now), then the paused
        # worker continues and records its round: it no longer holds the leases.
        await db.execute(
            "update push_attempts set at = at - interval '7 minutes' where outcome = 'sent'"
        )
        await paused.resume()

    for nid in over:
        assert await outcome(db, nid) == ("folded", "device_cap")
    assert [(s["id"], s["send_at"]) for s in await summaries(db)] == [
        (summary["id"], summary["send_at"])
    ]
    assert await attempts(db, over) == {("folded", 1): 4}


async def test_a_summary_waiting_for_its_time_is_not_scheduled_twice(client, db, conn):
    device = await register(client, "rm01", platform="ios", provider="apns", token=APNS_TOKEN)
    for i in range(CAP):
        nid = await tell(conn, f"sent-{i}")
        await db.execute(
            "insert into push_attempts (notification_id, device_id, provider, attempt, outcome,"
            " alert, at) values ($1, $2, 'apns', 1, 'sent', true, now() - interval '20 minutes')",
            nid,
            device,
        )
    await queries.schedule_summaries(conn, [(device, RM01)])
    [first] = await summaries(db)
    # Settled later (a worker that took a killed one's round over), when the window has moved.
    await db.execute("update push_attempts set at = at - interval '5 minutes'")
    await queries.schedule_summaries(conn, [(device, RM01)])
    assert [s["id"] for s in await summaries(db)] == [first["id"]]

    # Once it has gone out, the next fold gets a summary of its own.
    await db.execute(
        "update notifications set push_status = 'sent', send_at = now() - interval '1 minute'"
        " where id = $1",
        first["id"],
    )
    await queries.schedule_summaries(conn, [(device, RM01)])
    assert len(await summaries(db)) == 2


async def test_a_notification_folded_on_one_device_and_resent_to_another_is_sent_with_a_summary(
    client, db, conn, fake, pool, redis, capped, make_deliverer
):
    phone = await register(client, "rm01", platform="ios", provider="apns", token=APNS_TOKEN)
    worker = make_deliverer(capped)
    await fill_the_cap(conn, worker)
    # A second device, registered since: under its cap, so the dead round sends to it.
    tablet = await register(client, "rm01", platform="android", provider="fcm", token="fcm-fold-1")
    nid = await tell(conn, "split")

    async with worker_of(KilledAfterSending, pool, redis, capped) as killed:
        with pytest.raises(WorkerKilled):
            await killed.run_round()
    await leases_run_out(db)
    assert await worker.run_round() == 1

    assert await outcome(db, nid) == ("sent", None)
    rows = await db.fetch(
        "select device_id, outcome, attempt from push_attempts where notification_id = $1", nid
    )
    assert Counter((r["device_id"], r["outcome"], r["attempt"]) for r in rows) == {
        (phone, "folded", 1): 1, (tablet, "retry", 1): 1, (tablet, "sent", 2): 1
    }  # fmt: skip
    assert [d.provider for d in requested(fake, nid)] == ["fcm", "fcm"]  # sent once more
    assert [(s["user_id"], s["device_id"]) for s in await summaries(db)] == [(RM01, phone)]


@pytest.mark.parametrize(
    ("earlier", "expected"),
    [
        ("folded", ("folded", "device_cap")),
        ("sent", ("sent", None)),
        ("failed", ("failed", "provider_refused")),
    ],
)
async def test_a_notification_every_device_of_which_an_earlier_attempt_settled_ends_by_them(
    client, db, conn, fake, deliverer, earlier, expected
):
    # The takeover round itself has nothing left to send: its own outcomes are empty.
    device = await register(client, "rm01", platform="ios", provider="apns", token=APNS_TOKEN)
    nid = await tell(conn, f"earlier-{earlier}")
    dead_worker = uuid.uuid4()
    [claimed] = await queries.claim_due(conn, limit=10, lease_seconds=60, owner=dead_worker)
    assert claimed["id"] == nid
    await queries.record_attempts(
        conn, [(nid, device, "apns", 1, earlier, None, None, True)]
    )  # the dead worker settled the device, not the notification
    await leases_run_out(db)

    assert await deliverer.run_round() == 1
    assert await outcome(db, nid) == expected
    assert requested(fake, nid) == []  # not sent again
    assert delivered(fake, nid) == []
    scheduled = [(s["user_id"], s["device_id"]) for s in await summaries(db)]
    assert scheduled == ([(RM01, device)] if earlier == "folded" else [])

"""The hourly device cap after a worker was killed mid-send: the dead worker's attempts stay
'sending' and the worker taking over adds 'sent' ones, but the cap counts notifications, so
each alert counts once and the next real alerts reach the phone instead of being folded into
a summary an hour later."""

from __future__ import annotations

from collections import Counter

import pytest

from push import providers, queries
from push.jobs import options
from push.metrics import PushMetrics
from tests.push.conftest import settings_for
from tests.push.test_delivery import delivered, outcome, tell
from tests.push.test_resend_after_kill import KilledAfterSending, WorkerKilled
from tests.push_data import register
from workbench.ids import uuid5_for
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = uuid5_for("user:rm01")
APNS_TOKEN = "d" * 64


async def test_an_alert_resent_after_a_killed_worker_counts_once_towards_the_cap(
    client, db, conn, settings, fake, redis, pool, make_deliverer
):
    capped = settings_for(settings, fake, push_device_cap_per_hour=4)
    device = await register(client, "rm01", platform="ios", provider="apns", token=APNS_TOKEN)
    first = [await tell(conn, f"killed-{i}") for i in range(2)]

    senders = providers.build(capped, redis)
    vault = Vault.from_settings(capped.data_keys, capped.blind_index_key)
    killed = KilledAfterSending(pool, senders, vault, PushMetrics(), options(capped))
    try:
        with pytest.raises(WorkerKilled):
            await killed.run_round()
    finally:
        for sender in senders.values():
            await sender.aclose()
    await db.execute("update notifications set lease_until = now() - interval '1 second'")

    worker = make_deliverer(capped)
    assert await worker.run_round() == 2  # the lease ran out: sent again, same collapse id
    for nid in first:
        assert await outcome(db, nid) == ("sent", None)
    # Two alerts so far, cap four: the next two reach the phone, nothing is folded.
    more = [await tell(conn, f"after-{i}") for i in range(2)]
    assert await worker.run_round() == 2
    for nid in more:
        assert await outcome(db, nid) == ("sent", None)
        assert len(delivered(fake, nid)) == 1
    assert (
        await db.fetchval("select count(*) from notifications where category = 'push.summary'") == 0
    )

    # The dead worker's attempts no longer look in flight.
    attempts = await db.fetch(
        "select outcome, reason from push_attempts where notification_id = any($1)", first
    )
    assert Counter((a["outcome"], a["reason"]) for a in attempts) == {
        ("sent", None): 2, ("retry", "lease_expired"): 2
    }  # fmt: skip
    assert await queries.alerts_sent_last_hour(conn, [(RM01, device)]) == {(RM01, device): 4}


async def test_a_stale_sending_attempt_and_a_later_sent_one_count_as_one_alert(
    client, db, conn, fake
):
    device = await register(client, "rm01", platform="ios", provider="apns", token=APNS_TOKEN)
    nid = await tell(conn, "twice")
    other = await tell(conn, "once")
    await db.execute(
        """
        insert into push_attempts (notification_id, device_id, provider, attempt, outcome, alert,
                                   at)
        values ($1, $3, 'apns', 1, 'sending', true, now() - interval '20 minutes'),
               ($1, $3, 'apns', 2, 'sent', true, now() - interval '10 minutes'),
               ($2, $3, 'apns', 1, 'sent', true, now() - interval '5 minutes')
        """,
        nid,
        other,
        device,
    )
    assert await queries.alerts_sent_last_hour(conn, [(RM01, device)]) == {(RM01, device): 2}

    # A summary scheduled now goes out when the first alert leaves the count: `nid`'s last
    # attempt there turns an hour old (50 minutes from now), not its stale first one (40).
    await queries.schedule_summaries(conn, [(device, RM01)])
    wait = await db.fetchval(
        "select extract(epoch from send_at - now()) / 60 from notifications"
        " where category = 'push.summary' and user_id = $1",
        RM01,
    )
    assert 49 < wait <= 50

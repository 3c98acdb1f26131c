"""A push token that cannot be decrypted (its data key was dropped before `workbench rotate-keys`
finished, or the row is corrupt) never stalls delivery: that registration is answered like a dead
token without calling the provider (logged without the token, counted), it is deactivated, and
the notification goes to the user's other devices or is settled as failed. `workbench push test`
names the device and the reason instead of a traceback."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from push import queries
from push.metrics import PushMetrics
from tests.push.test_delivery import delivered, outcome, requested, tell
from tests.push.test_push_cli import push_test
from tests.push_data import register
from workbench.logs import JsonFormatter
from workbench.security.vault import FieldCipher
from workbench.settings import DataKey

pytestmark = pytest.mark.usefixtures("demo_bank")

NEW_KEY = DataKey("data-new", b"n" * 32)
COLUMN = "push_registrations.token_cipher"


def undecryptable_count(reason: str) -> float:
    """The worker's metric (what its Prometheus endpoint serves)."""
    labels = {"column": COLUMN, "reason": reason}
    value = PushMetrics().registry.get_sample_value("workbench_undecryptable_values_total", labels)
    return value or 0.0


async def break_token(db, device_id: str, how: str) -> str:
    """Make the device's stored token unreadable the way it happens in production; the reason
    the metric should count."""
    if how == "dropped_key":
        gone = FieldCipher((DataKey("data-gone", b"g" * 32),))
        sealed = gone.encrypt("any-token", aad=f"push_token:{device_id}")
        reason = "unknown_key"
    else:  # one byte of the stored value flipped
        stored = await db.fetchval(
            "select token_cipher from push_registrations where device_id = $1", device_id
        )
        sealed, reason = stored[:-1] + bytes([stored[-1] ^ 1]), "not_authentic"
    await db.execute(
        "update push_registrations set token_cipher = $2 where device_id = $1", device_id, sealed
    )
    return reason


@pytest.mark.parametrize("how", ["dropped_key", "corrupt_row"])
async def test_an_unreadable_token_disables_its_device_and_the_others_still_get_the_push(
    client, db, conn, deliverer, fake, caplog, how
):
    broken = await register(client, "rm01", platform="ios", provider="apns", token="d" * 64)
    await register(client, "rm01", platform="android", provider="fcm", token="fcm-fine-1")
    reason = await break_token(db, broken, how)
    before = undecryptable_count(reason)

    nid = await tell(conn, "unreadable")
    with caplog.at_level(logging.WARNING, logger="workbench.security.vault"):
        assert await deliverer.run_round() == 1

    assert [(d.provider, d.token) for d in delivered(fake, nid)] == [("fcm", "fcm-fine-1")]
    assert [r.provider for r in requested(fake, nid)] == ["fcm"]  # APNs was never called
    assert await outcome(db, nid) == ("sent", None)
    attempts = {r["device_id"]: (r["outcome"], r["reason"]) for r in
                await queries.attempts_of(conn, nid)}  # fmt: skip
    assert attempts[broken] == ("dead_token", "undecryptable_token")
    registration = await db.fetchrow(
        "select active, deactivated_reason from push_registrations where device_id = $1", broken
    )
    assert (registration["active"], registration["deactivated_reason"]) == (
        False, "dead:undecryptable_token",
    )  # fmt: skip
    assert undecryptable_count(reason) == before + 1
    [logged] = [r for r in caplog.records if r.name == "workbench.security.vault"]
    assert (logged.column, logged.row, logged.reason) == (COLUMN, broken, reason)
    written = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "d" * 64 not in written
    assert "any-token" not in written

    # The next notification goes to the live device alone, and nothing is left pending.
    later = await tell(conn, "later")
    assert await deliverer.run_round() == 1
    assert [d.token for d in delivered(fake, later)] == ["fcm-fine-1"]
    assert await deliverer.run_round() == 0
    pending = "select count(*) from notifications where push_status = 'pending'"
    assert await db.fetchval(pending) == 0


async def test_a_notification_whose_only_device_is_unreadable_fails_instead_of_staying_pending(
    client, db, conn, deliverer, fake
):
    broken = await register(client, "rm01", platform="ios", provider="apns", token="e" * 64)
    await break_token(db, broken, "dropped_key")
    nid = await tell(conn, "only-unreadable")

    assert await deliverer.run_round() == 1
    assert await outcome(db, nid) == ("failed", "no_live_device")
    assert fake.requests == []
    assert await deliverer.run_round() == 0


async def test_push_test_names_the_unreadable_device_instead_of_a_traceback(
    client, make_client, db, settings, fake
):
    # A device registered while only the old key existed; the old key is then dropped without
    # rotating. Another device registered under the new key.
    stale = await register(client, "rm01", platform="ios", provider="apns", token="f" * 64)
    new_client = await make_client(data_keys=(NEW_KEY,))
    fresh = await register(
        new_client, "rm01", platform="android", provider="fcm", token="fcm-token-2"
    )

    code, out, err = await push_test(replace(settings, data_keys=(NEW_KEY,)), fake, "rm01")

    assert "Traceback" not in err
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert set(lines) == {stale, fresh}
    assert lines[fresh].split() == [fresh, "fcm", "sent"]
    assert lines[stale].split()[1:4] == ["apns", "dead_token", "(undecryptable_token)"]
    assert "WORKBENCH_DATA_KEYS" in lines[stale]
    assert code == 0  # one device got it
    assert "f" * 64 not in out + err
    assert [s.token for s in fake.sent] == ["fcm-token-2"]
    assert not await db.fetchval(
        "select active from push_registrations where device_id = $1", stale
    )

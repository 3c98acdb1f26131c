"""What an RM notices of push on a phone that changed hands, and of a notification they already
read before its push went out.

- The hourly alert cap, the folded count of a summary and the summary's time are the user's own
  on that device: the next person to sign in on a colleague's phone gets their first alert, and
  their summary counts only their own notifications.
- A notification read in the app before its push goes out (held by quiet hours, say) is not
  pushed; a summary does not count the folded alerts read meanwhile, and is not sent when all of
  them were read; a read notification still makes an older one with its collapse key obsolete.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from push import policies
from tests.customers_data import headers_of
from tests.push.conftest import settings_for
from tests.push.test_delivery import (
    NOTIFICATIONS,
    delivered,
    make_due,
    outcome,
    quiet_window_around_now,
    requested,
    set_preferences,
    tell,
)
from workbench.ids import uuid5_for
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01, RM03 = uuid5_for("user:rm01"), uuid5_for("user:rm03")
PHONE = "qa-rm01-phone1"
RM01_TOKEN, RM03_TOKEN = "a" * 64, "b" * 64


async def sign_in_and_register(client: Any, who: str, device_id: str, token: str) -> dict[str, str]:
    """`who` signs in on the iPhone `device_id` and the app registers its push token."""
    response = await client.post(
        "/api/v1/auth/login",
        json={"login": who, "password": DEMO_PASSWORD,
              "device": {"device_id": device_id, "platform": "ios"}},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    registered = await client.post(
        "/api/v1/devices",
        json={"device_id": device_id, "platform": "ios", "provider": "apns",
              "push_token": token},
        headers=headers,
    )  # fmt: skip
    assert registered.status_code == 200, registered.text
    return headers


async def read(client: Any, headers: dict[str, str], nid: uuid.UUID) -> None:
    response = await client.post(f"{NOTIFICATIONS}/{nid}/read", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["read_at"] is not None


def summaries_to(fake: Any, token: str) -> list[Any]:
    return [d for d in fake.sent if d.token == token and d.body.get("category") == "push.summary"]


def summary_count(push: Any) -> list[str]:
    return re.findall(r"\d+", push.body["aps"]["alert"]["body"])


async def summary_of(db: Any, user_id: uuid.UUID) -> Any:
    [row] = await db.fetch(
        "select id, send_at from notifications where category = 'push.summary' and user_id = $1",
        user_id,
    )
    return row


# ---- a phone that changed hands ------------------------------------------------------------------


async def test_a_new_users_first_alert_on_a_handed_over_phone_is_delivered_and_their_summary_counts_only_theirs(  # noqa: E501
    client, db, conn, settings, fake, make_deliverer
):
    deliverer = make_deliverer(settings_for(settings, fake, push_device_cap_per_hour=4))
    rm01 = await sign_in_and_register(client, "rm01", PHONE, RM01_TOKEN)
    for i in range(10):
        await tell(conn, f"rm01-{i}")
    assert await deliverer.run_round() == 10
    assert len(fake.sent) == 4  # 6 folded into a summary for rm01
    # Those were half an hour ago: rm01's hour on this phone is not over yet.
    await db.execute("update push_attempts set at = at - interval '30 minutes'")

    logout = await client.post("/api/v1/auth/logout", headers=rm01)
    assert logout.status_code in (200, 204), logout.text
    await sign_in_and_register(client, "rm03", PHONE, RM03_TOKEN)

    # rm03's first ever notification on the phone reaches them.
    first = await tell(conn, "rm03-first", user_id=RM03)
    assert await deliverer.run_round() == 1
    assert await outcome(db, first) == ("sent", None)
    assert [d.token for d in delivered(fake, first)] == [RM03_TOKEN]
    first_pushed = await db.fetchval("select pushed_at from notifications where id = $1", first)

    # rm03's own cap: three more go out, the fifth of their hour is folded.
    rest = [await tell(conn, f"rm03-{i}", user_id=RM03) for i in range(4)]
    assert await deliverer.run_round() == 4
    statuses = await db.fetch("select push_status from notifications where id = any($1)", rest)
    assert Counter(r["push_status"] for r in statuses) == {"sent": 3, "folded": 1}

    # Their summary comes an hour after their own first alert, and counts their one folded alert.
    summary = await summary_of(db, RM03)
    assert abs((summary["send_at"] - first_pushed).total_seconds() - 3600) < 5
    await db.execute(
        "update notifications set send_at = now() - interval '1 second'"
        " where category = 'push.summary'"
    )
    assert await deliverer.run_round() == 2  # rm01's summary too: its phone is not theirs now
    [pushed] = summaries_to(fake, RM03_TOKEN)
    assert summary_count(pushed) == ["1"]
    assert summaries_to(fake, RM01_TOKEN) == []
    assert await outcome(db, (await summary_of(db, RM01))["id"]) == ("skipped", "no_device")


# ---- read before the push went out ---------------------------------------------------------------


async def test_a_notification_read_while_held_by_quiet_hours_is_never_pushed(
    client, db, conn, deliverer, fake, settings
):
    await sign_in_and_register(client, "rm01", PHONE, RM01_TOKEN)
    rm01 = await headers_of(client, "rm01")
    start, end, _ = quiet_window_around_now(ZoneInfo(settings.bank_timezone))
    await set_preferences(client, rm01, {"quiet_hours": {"start": start, "end": end}})
    nid = await tell(conn, "radar", category="brochure.opened")
    assert await deliverer.run_round() == 1
    assert await outcome(db, nid) == ("pending", "quiet_hours")

    await read(client, rm01, nid)  # in the app, before the window ends

    await set_preferences(client, rm01, {"quiet_hours": None})  # the window is over
    await db.execute(
        "update notifications set send_at = now() - interval '1 second' where id = $1", nid
    )
    assert await deliverer.run_round() == 1
    assert requested(fake, nid) == []
    assert await outcome(db, nid) == ("skipped", "read")
    assert await deliverer.run_round() == 0


async def test_a_notification_read_while_waiting_for_a_retry_is_not_pushed_again(
    client, db, conn, deliverer, fake
):
    await sign_in_and_register(client, "rm01", PHONE, RM01_TOKEN)
    rm01 = await headers_of(client, "rm01")
    fake.fail_next("apns", "unavailable", retry_after=120)
    nid = await tell(conn, "retried")
    assert await deliverer.run_round() == 1
    assert await outcome(db, nid) == ("pending", "retry")
    await read(client, rm01, nid)
    await make_due(db, nid)
    assert await deliverer.run_round() == 1
    assert delivered(fake, nid) == []
    assert await outcome(db, nid) == ("skipped", "read")


async def test_a_summary_counts_only_the_folded_alerts_not_read_meanwhile(
    client, db, conn, settings, fake, make_deliverer
):
    deliverer = make_deliverer(settings_for(settings, fake, push_device_cap_per_hour=2))
    rm01 = await sign_in_and_register(client, "rm01", PHONE, RM01_TOKEN)
    alerts = [await tell(conn, f"n-{i}") for i in range(5)]
    assert await deliverer.run_round() == 5
    folded = [r["id"] for r in await db.fetch(
        "select id from notifications where id = any($1) and push_status = 'folded'"
        " order by id", alerts
    )]  # fmt: skip
    assert len(folded) == 3
    await read(client, rm01, folded[0])

    summary = await summary_of(db, RM01)
    await make_due_at_once(db, summary["id"])
    assert await deliverer.run_round() == 1
    [pushed] = summaries_to(fake, RM01_TOKEN)
    assert summary_count(pushed) == ["2"]


async def test_no_summary_is_pushed_when_every_folded_alert_was_read(
    client, db, conn, settings, fake, make_deliverer
):
    deliverer = make_deliverer(settings_for(settings, fake, push_device_cap_per_hour=1))
    rm01 = await sign_in_and_register(client, "rm01", PHONE, RM01_TOKEN)
    alerts = [await tell(conn, f"n-{i}") for i in range(3)]
    assert await deliverer.run_round() == 3
    for nid in alerts:
        await read(client, rm01, nid)
    summary = await summary_of(db, RM01)
    await make_due_at_once(db, summary["id"])
    assert await deliverer.run_round() == 1
    assert summaries_to(fake, RM01_TOKEN) == []
    assert await outcome(db, summary["id"]) == ("skipped", "nothing_folded")


async def test_an_older_held_notification_is_not_pushed_after_a_newer_one_with_its_key_was_read(
    client, db, conn, deliverer, fake, settings
):
    await sign_in_and_register(client, "rm01", PHONE, RM01_TOKEN)
    rm01 = await headers_of(client, "rm01")
    start, end, _ = quiet_window_around_now(ZoneInfo(settings.bank_timezone))
    await set_preferences(client, rm01, {"quiet_hours": {"start": start, "end": end}})
    key = "task:read-collapse"
    older = await tell(conn, "older", collapse_key=key)
    assert await deliverer.run_round() == 1  # held
    newer = await tell(conn, "newer", collapse_key=key)
    assert await deliverer.run_round() == 1  # held too
    await read(client, rm01, newer)
    await set_preferences(client, rm01, {"quiet_hours": None})  # releases both at once
    # The older one comes due in a later round, after the newer one was settled.
    await db.execute(
        "update notifications set send_at = now() + interval '1 hour' where id = $1", older
    )

    assert await deliverer.run_round() == 1
    assert await outcome(db, newer) == ("skipped", "read")
    await make_due_at_once(db, older)
    assert await deliverer.run_round() == 1
    assert await outcome(db, older) == ("collapsed", "newer_with_same_key")
    assert fake.sent == []


def test_decide_skips_a_read_notification_even_a_critical_one():
    due = policies.Due(
        category="task.confirmed", critical=True, silent=False, expires_at=None,
        subject_open=None, device_id=None, read=True,
    )  # fmt: skip
    decision = policies.decide(
        due,
        preferences=policies.Preferences(),
        devices=[policies.Device("d1", sent_last_hour=0)],
        now=datetime.now(UTC),
        device_cap=10,
    )
    assert decision == policies.Drop("skipped", "read")


async def make_due_at_once(db: Any, nid: uuid.UUID) -> None:
    await db.execute(
        "update notifications set send_at = now() - interval '1 second' where id = $1", nid
    )

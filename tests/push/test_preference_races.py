"""Changing notification preferences while other changes, and deliveries, are under way.

Covers, with real PostgreSQL and Redis, the API and the fake APNs:
- changes to different preferences made at the same time (each in its own transaction, as
  overlapping requests are) all survive, whichever lands first, whether the user had
  preferences before or not (omitted fields keep their value);
- a notification held for quiet hours follows the new preferences at once: released when quiet
  hours are turned off, or the window or the time zone no longer covers now, moved to the new
  window's end when it still does, and skipped (still listed) when its category is muted;
  another user's held notifications stay held;
- a round that decided to hold a notification under the old preferences, while they changed,
  does not hold it until the old window's end.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from mobile_contracts.v1 import push as wire
from mobile_contracts.v1.identity import Role
from push import preferences
from tests.customers_data import headers_of
from tests.push_data import register
from workbench.access import Caller
from workbench.ids import uuid5_for
from workbench.notifications.service import notify

pytestmark = pytest.mark.usefixtures("demo_bank")

RM01 = uuid5_for("user:rm01")
RM02 = uuid5_for("user:rm02")
PREFERENCES = "/api/v1/me/notification-preferences"
NOTIFICATIONS = "/api/v1/notifications"
ROUNDS = 20
BANK_TZ = "Asia/Shanghai"


async def put(client: Any, headers: dict[str, str], change: dict[str, Any]) -> dict[str, Any]:
    response = await client.put(PREFERENCES, json=change, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def get(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(PREFERENCES, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def window(tz: ZoneInfo, *, starts: float, ends: float) -> tuple[dict[str, str], datetime]:
    """A quiet window from `starts` to `ends` hours from now (local HH:MM), and its end."""
    now = datetime.now(tz)
    start = (now + timedelta(hours=starts)).replace(second=0, microsecond=0)
    end = (now + timedelta(hours=ends)).replace(second=0, microsecond=0)
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}, end.astimezone(UTC)


async def held(conn: Any, key: str, *, user_id: uuid.UUID = RM01, **extra: Any) -> uuid.UUID:
    """A work order assigned to the user (a normal notification)."""
    nid = await notify(conn, user_id=user_id, category="work_order.assigned", title="新工单",
                       body="您有一个新工单。", dedupe_key=key, **extra)  # fmt: skip
    assert nid is not None
    return nid


async def state(db: Any, nid: uuid.UUID) -> tuple[str, str | None, datetime]:
    row = await db.fetchrow(
        "select push_status, push_reason, send_at from notifications where id = $1", nid
    )
    return row["push_status"], row["push_reason"], row["send_at"]


def pushed(fake: Any, nid: uuid.UUID) -> int:
    return sum(1 for d in fake.sent if d.body.get("nid") == str(nid))


# ---- concurrent changes -------------------------------------------------------------------------


async def change_as(pool: Any, caller: Caller, change: dict[str, Any]) -> None:
    """One PUT as the API runs it: its own connection and transaction (the test client runs
    requests one at a time, so this is how two of them overlap)."""
    update = msgspec.convert(change, wire.NotificationPreferencesUpdate)
    async with pool.acquire() as conn, conn.transaction():
        await preferences.update(conn, caller=caller, change=update, bank_timezone=BANK_TZ)


async def preferences_of(pool: Any, caller: Caller) -> tuple[Any, ...]:
    async with pool.acquire() as conn:
        prefs = await preferences.current(conn, caller=caller, bank_timezone=BANK_TZ)
    quiet = prefs.quiet_hours
    return (quiet and (quiet.start, quiet.end), prefs.muted_categories, prefs.time_zone)


@pytest.mark.parametrize("start_from", ["reset", "nothing"])
async def test_changes_to_different_preferences_at_the_same_time_all_survive(db, pool, start_from):
    user = await db.fetchrow("select id, role, org_unit_id from users where login = 'rm04'")
    rm04 = Caller(user_id=user["id"], role=Role(user["role"]), org_unit_id=user["org_unit_id"],
                  session_id=uuid.uuid4(), device_id="device-rm04")  # fmt: skip
    changes = [
        {"quiet_hours": {"start": "22:00", "end": "07:00"}},
        {"muted_categories": ["brochure.opened"]},
        {"time_zone": "Asia/Tokyo"},
    ]
    lost = []
    for i in range(ROUNDS):
        if start_from == "reset":
            await change_as(
                pool, rm04, {"quiet_hours": None, "muted_categories": [], "time_zone": None}
            )
        else:  # the user never set a preference: every change would create the row
            await db.execute(
                "delete from notification_preferences where user_id = $1", rm04.user_id
            )
        order = changes[i % 3 :] + changes[: i % 3]  # each change goes first in some rounds
        await asyncio.gather(*(change_as(pool, rm04, change) for change in order))
        kept = await preferences_of(pool, rm04)
        if kept != (("22:00", "07:00"), ["brochure.opened"], "Asia/Tokyo"):
            lost.append((i, kept))
    assert lost == []


# ---- notifications held for quiet hours ----------------------------------------------------------


async def hold_one(client, conn, db, deliverer, settings, *, key: str = "held", **extra: Any):
    """rm01's phone, quiet hours from an hour ago to an hour ahead, and a notification they
    hold until the window ends; the auth headers, the notification and the window's end."""
    await register(client, "rm01", platform="ios", provider="apns", token="a" * 64)
    rm01 = await headers_of(client, "rm01")
    quiet, ends = window(ZoneInfo(settings.bank_timezone), starts=-1, ends=1)
    await put(client, rm01, {"quiet_hours": quiet})
    nid = await held(conn, key, **extra)
    assert await deliverer.run_round() == 1
    assert await state(db, nid) == ("pending", "quiet_hours", ends)
    return rm01, nid, ends


async def test_turning_quiet_hours_off_releases_a_held_notification_at_once(
    client, db, conn, deliverer, fake, settings
):
    rm01, nid, _ = await hold_one(client, conn, db, deliverer, settings)
    # rm02 holds one under the same window and keeps it held.
    rm02 = await headers_of(client, "rm02")
    quiet, ends = window(ZoneInfo(settings.bank_timezone), starts=-1, ends=1)
    await put(client, rm02, {"quiet_hours": quiet})
    other = await held(conn, "other", user_id=RM02)
    assert await deliverer.run_round() == 1

    await put(client, rm01, {"quiet_hours": None})
    assert await deliverer.run_round() == 1
    assert (await state(db, nid))[:2] == ("sent", None)
    assert pushed(fake, nid) == 1
    assert await state(db, other) == ("pending", "quiet_hours", ends)


async def test_a_window_that_no_longer_covers_now_releases_a_held_notification(
    client, db, conn, deliverer, fake, settings
):
    rm01, nid, _ = await hold_one(client, conn, db, deliverer, settings)
    later, _ = window(ZoneInfo(settings.bank_timezone), starts=2, ends=3)
    await put(client, rm01, {"quiet_hours": later})
    assert await deliverer.run_round() == 1
    assert (await state(db, nid))[:2] == ("sent", None)
    assert pushed(fake, nid) == 1


async def test_a_time_zone_where_the_window_no_longer_covers_now_releases_it(
    client, db, conn, deliverer, fake, settings
):
    rm01, nid, _ = await hold_one(client, conn, db, deliverer, settings)
    # Eight hours from Shanghai: the two-hour window around Shanghai's now is far from UTC's now.
    assert settings.bank_timezone == "Asia/Shanghai"
    await put(client, rm01, {"time_zone": "UTC"})
    assert await deliverer.run_round() == 1
    assert (await state(db, nid))[:2] == ("sent", None)
    assert pushed(fake, nid) == 1


async def test_a_longer_window_moves_a_held_notification_to_its_new_end(
    client, db, conn, deliverer, fake, settings
):
    rm01, nid, _ = await hold_one(client, conn, db, deliverer, settings)
    longer, ends = window(ZoneInfo(settings.bank_timezone), starts=-1, ends=2)
    await put(client, rm01, {"quiet_hours": longer})
    assert await state(db, nid) == ("pending", "quiet_hours", ends)
    assert await deliverer.run_round() == 0
    shorter, ends = window(ZoneInfo(settings.bank_timezone), starts=-1, ends=0.5)
    await put(client, rm01, {"quiet_hours": shorter})
    assert await state(db, nid) == ("pending", "quiet_hours", ends)
    assert pushed(fake, nid) == 0


async def test_muting_the_category_of_a_held_notification_skips_it_at_once(
    client, db, conn, deliverer, fake, settings
):
    rm01, nid, _ = await hold_one(client, conn, db, deliverer, settings)
    await put(client, rm01, {"muted_categories": ["work_order.assigned"]})
    assert await deliverer.run_round() == 1
    assert (await state(db, nid))[:2] == ("skipped", "muted")
    assert pushed(fake, nid) == 0
    response = await client.get(NOTIFICATIONS, headers=rm01)
    assert str(nid) in [item["id"] for item in response.json()["items"]]


async def test_muting_another_category_leaves_a_held_notification_held(
    client, db, conn, deliverer, fake, settings
):
    rm01, nid, ends = await hold_one(client, conn, db, deliverer, settings)
    await put(client, rm01, {"muted_categories": ["brochure.opened"]})
    assert await state(db, nid) == ("pending", "quiet_hours", ends)
    assert await deliverer.run_round() == 0


async def test_a_round_holding_a_notification_while_quiet_hours_are_turned_off_lets_it_go(
    client, db, conn, deliverer, fake, settings
):
    await register(client, "rm01", platform="ios", provider="apns", token="a" * 64)
    rm01 = await headers_of(client, "rm01")
    quiet, _ = window(ZoneInfo(settings.bank_timezone), starts=-1, ends=1)
    await put(client, rm01, {"quiet_hours": quiet})
    nid = await held(conn, "held")
    # A critical one in the same round keeps the round sending while quiet hours are turned off.
    urgent = await held(conn, "urgent", priority="critical")
    fake.latency = 1.0
    round_ = asyncio.create_task(deliverer.run_round())
    for _ in range(250):  # until the round has decided: this one to be sent, the other held
        if await db.fetchval(
            "select count(*) from push_attempts where notification_id = $1", urgent
        ):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the round did not get to sending")
    await put(client, rm01, {"quiet_hours": None})
    assert await round_ == 2
    fake.latency = 0.0
    assert await deliverer.run_round() == 1
    assert (await state(db, nid))[:2] == ("sent", None)
    assert pushed(fake, nid) == 1

"""What the sharing RM's phone shows of the radar, through the push outbox and the fake APNs: a
customer's request to be contacted is a lead that a later open of the share never replaces
(on the lock screen, or among the pushes quiet hours held back), and an open's "正在浏览" is not
pushed long after the open as if someone were reading now (it stays in the notification
centre)."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from tests.customers_data import headers_of
from tests.push import conftest as push_fixtures
from tests.push.test_delivery import nid_of, quiet_window_around_now, set_preferences
from tests.push_data import register
from tests.workbench.tracking.test_radar import radar, to_customer, visit

# The push tests' fixtures: the fake APNs/FCM/HMS and a Deliverer wired like the worker's.
fake = push_fixtures.fake
make_deliverer = push_fixtures.make_deliverer
pool = push_fixtures.pool
push_settings = push_fixtures.push_settings
redis = push_fixtures.redis

TOKEN = "e" * 64


async def minutes_pass(db: Any, minutes: int) -> None:
    """The clock moved on for every notification already written (the radar's half hour, and
    each one's expiry)."""
    await db.execute(
        "update notifications set created_at = created_at - make_interval(mins => $1),"
        " expires_at = expires_at - make_interval(mins => $1)",
        minutes,
    )


async def quiet_hours_end(shared: Any, db: Any, rm01: dict[str, str]) -> None:
    """The RM's quiet window is over: what it held back is due now."""
    await set_preferences(shared.client, rm01, {"quiet_hours": None})
    await db.execute(
        "update notifications set send_at = now() - interval '1 second'"
        " where push_status = 'pending'"
    )


def pushed(phone: Any) -> dict[str, str]:
    """{notification id: apns-collapse-id} of the pushes the phone got."""
    return {str(nid_of("apns", s.body)): s.headers["apns-collapse-id"] for s in phone.sent}


def by_category(rows: list[Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for row in rows:
        found.setdefault(row["category"], []).append(row)
    return found


async def quiet_now(shared: Any, settings: Any) -> dict[str, str]:
    """rm01 with an iPhone registered and quiet hours around now; rm01's headers."""
    await register(shared.client, "rm01", platform="ios", provider="apns", token=TOKEN)
    rm01 = await headers_of(shared.client, "rm01")
    start, end, _ = quiet_window_around_now(ZoneInfo(settings.bank_timezone))
    await set_preferences(shared.client, rm01, {"quiet_hours": {"start": start, "end": end}})
    return rm01


async def test_a_lead_held_by_quiet_hours_is_pushed_although_the_share_is_opened_again(
    shared,
    db,
    fake,
    make_deliverer,
    push_settings,
):
    deliverer = make_deliverer(push_settings)
    await to_customer(shared, db)
    rm01 = await quiet_now(shared, push_settings)
    # A customer opens the share and taps "我有兴趣，请联系我" during the RM's quiet hours.
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    await visit(shared, "v-1", ("cta", {}))
    await shared.consume()
    await deliverer.run_round()
    assert fake.sent == []  # held
    # Half an hour on, someone else opens the share.
    await minutes_pass(db, 31)
    await visit(shared, "v-2", ("open", {}))
    await shared.consume()
    await deliverer.run_round()
    assert fake.sent == []

    await quiet_hours_end(shared, db, rm01)
    await deliverer.run_round()
    told = by_category(await radar(db))
    [lead] = told["brochure.contact_requested"]
    first_open, later_open = told["brochure.opened"]
    phone = pushed(fake)
    # The lead reaches the phone, and the later open does not take its place there.
    assert str(lead["id"]) in phone
    assert str(later_open["id"]) in phone
    assert phone[str(lead["id"])] != phone[str(later_open["id"])]
    # The first open, 31 minutes old, is no longer news.
    assert str(first_open["id"]) not in phone
    outcomes = await db.fetch(
        "select id, push_status from notifications where category like 'brochure.%'"
    )
    fates = {r["id"]: r["push_status"] for r in outcomes}
    assert (fates[lead["id"]], fates[later_open["id"]]) == ("sent", "sent")
    assert fates[first_open["id"]] in ("collapsed", "expired")


async def test_a_later_open_does_not_replace_the_lead_on_the_lock_screen(
    shared,
    db,
    fake,
    make_deliverer,
    push_settings,
):
    deliverer = make_deliverer(push_settings)
    await to_customer(shared, db)
    await register(shared.client, "rm01", platform="ios", provider="apns", token=TOKEN)
    await visit(shared, "v-1", ("open", {}), ("cta", {}))
    await shared.consume()
    await deliverer.run_round()
    await minutes_pass(db, 31)
    await visit(shared, "v-2", ("open", {}))
    await shared.consume()
    await deliverer.run_round()

    told = by_category(await radar(db))
    [lead], [opened] = told["brochure.contact_requested"], told["brochure.opened"]
    phone = pushed(fake)
    # iOS keeps the last push of a collapse id: the two must not share one.
    assert set(phone) == {str(lead["id"]), str(opened["id"])}
    assert phone[str(lead["id"])] != phone[str(opened["id"])]


async def test_an_open_held_past_its_half_hour_is_not_pushed_but_stays_in_the_centre(
    shared,
    db,
    fake,
    make_deliverer,
    push_settings,
):
    deliverer = make_deliverer(push_settings)
    await to_customer(shared, db)
    rm01 = await quiet_now(shared, push_settings)
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    await deliverer.run_round()
    # Hours later the quiet window ends: "正在浏览" would be a false "now".
    await minutes_pass(db, 180)
    await quiet_hours_end(shared, db, rm01)
    await deliverer.run_round()
    assert fake.sent == []
    [opened] = await radar(db)
    assert (opened["push_status"], opened["push_reason"]) == ("expired", "expired")
    listed = (await shared.client.get("/api/v1/notifications", headers=rm01)).json()["items"]
    assert [uuid.UUID(n["id"]) for n in listed] == [opened["id"]]


async def test_an_open_is_pushed_at_once_with_its_half_hour(
    shared,
    db,
    fake,
    make_deliverer,
    push_settings,
):
    deliverer = make_deliverer(push_settings)
    await register(shared.client, "rm01", platform="ios", provider="apns", token=TOKEN)
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    await deliverer.run_round()
    [opened] = await radar(db)
    assert list(pushed(fake)) == [str(opened["id"])]
    visitor = await db.fetchrow("select first_open_at from share_visitors")
    assert (opened["expires_at"] - visitor["first_open_at"]).total_seconds() == 30 * 60

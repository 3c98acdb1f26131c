"""The customer radar: the sharing RM hears of an open at once (at most once per share per 30
minutes), and the customer's timeline and intimacy score show opens, reading and clicks."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from push import policies
from tests.customers_data import customer_row, feed, headers_of
from tests.workbench.tracking.conftest import WECHAT, append_at, to_customer

SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


async def radar(db: Any) -> list[Any]:
    return await db.fetch(
        "select n.*, u.login from notifications n join users u on u.id = n.user_id"
        " where n.category in ('brochure.opened', 'brochure.contact_requested')"
        " order by n.created_at, n.id"
    )


async def visit(shared: Any, visitor: str, *steps: tuple[str, dict[str, Any]], ua: str = WECHAT):
    for type_, fields in steps:
        response = await shared.beacon(type_, visitor_id=visitor, ua=ua, **fields)
        assert response.status_code == 204, response.text


async def test_the_rm_hears_of_the_first_open_once_with_the_customer_masked(shared, db):
    await to_customer(shared, db)
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    [told] = await radar(db)
    assert told["login"] == "rm01"
    assert told["title"] == "客户正在浏览您分享的资料"
    assert told["body"].startswith("您的客户 张*三 正在浏览《")
    assert "张小三" not in told["body"]
    assert json.loads(told["data"])["share_id"] == str(shared.share_id)
    # rm01 sees it in their notification centre.
    rm01 = await headers_of(shared.client, "rm01")
    listed = (await shared.client.get("/api/v1/notifications", headers=rm01)).json()["items"]
    assert [n["category"] for n in listed] == ["brochure.opened"]

    # The same visitor again, and a second reader within 30 minutes: no second push.
    await visit(shared, "v-1", ("open", {}))
    await visit(shared, "v-2", ("open", {}))
    await shared.consume()
    assert len(await radar(db)) == 1

    # Half an hour later, a new reader tells the RM again.
    await db.execute("update notifications set created_at = created_at - interval '31 minutes'")
    await visit(shared, "v-3", ("open", {}))
    await shared.consume()
    assert len(await radar(db)) == 2


async def test_a_share_to_no_one_says_someone_is_reading(shared, db):
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    [told] = await radar(db)
    assert told["body"].startswith("有人正在浏览您分享的《")
    assert await db.fetchval("select count(*) from customer_timeline") == 0


async def test_a_customer_moved_to_another_rm_is_not_named_to_the_sharer(shared, db):
    customer = await to_customer(shared, db)
    # The bank's feed moves the customer to rm05, who is disabled since; rm01's old share is
    # opened afterwards: the sharer hears of it (rm05 cannot), without the customer's name.
    await feed(shared.client, shared.studio.admin, "customers",
               [customer_row("R-1", name="张小三", owner="rm05", seq=1)])  # fmt: skip
    await db.execute("update users set active = false where login = 'rm05'")
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    [told] = await radar(db)
    assert told["login"] == "rm01"
    assert told["body"].startswith("有人正在浏览您分享的《")
    assert "customer_id" not in json.loads(told["data"])
    # The customer's timeline (their new RM's to read) still shows the opening.
    kinds = await db.fetch("select kind from customer_timeline where customer_id = $1", customer)
    assert [k["kind"] for k in kinds if k["kind"].startswith("share.")] == ["share.opened"]


async def test_bots_and_previews_never_ring_the_rm(shared, db):
    await to_customer(shared, db)
    await visit(shared, "preview", ("open", {}), ua=SLACK)
    await shared.consume()
    assert await radar(db) == []
    assert await db.fetchval("select count(*) from customer_timeline") == 0


async def test_the_customers_timeline_shows_opening_reading_and_the_click_once(shared, db):
    customer = await to_customer(shared, db)
    rm01 = await headers_of(shared.client, "rm01")
    before = (await shared.client.get(f"/api/v1/customers/{customer}", headers=rm01)).json()
    settings, start = shared.studio.settings, int(time.time() * 1000) + 1000
    # The page's beacons as the server receives them: a heartbeat every 5 s while visible.
    await append_at(settings, shared.code, [
        (start, "open", {}), (start + 5000, "heartbeat", {"ms": 5000}),
    ], visitor_id="v-1")  # fmt: skip
    await shared.consume()
    # Reading past 10 s, the button, and a redelivered beacon of the same visitor.
    await append_at(settings, shared.code, [
        (start + 10_000, "heartbeat", {"ms": 5000}), (start + 15_000, "heartbeat", {"ms": 5000}),
        (start + 15_500, "cta", {}),
    ], visitor_id="v-1")  # fmt: skip
    await shared.consume()
    await append_at(settings, shared.code, [
        (start + 16_000, "open", {}), (start + 16_100, "heartbeat", {"ms": 5000}),
        (start + 16_200, "cta", {}),
    ], visitor_id="v-1")  # fmt: skip
    await shared.consume()

    page = await shared.client.get(f"/api/v1/customers/{customer}/timeline", headers=rm01)
    assert page.status_code == 200, page.text
    kinds = sorted(e["kind"] for e in page.json()["items"])
    assert kinds == ["share.clicked", "share.engaged", "share.opened"]
    engaged = next(e for e in page.json()["items"] if e["kind"] == "share.engaged")
    assert engaged["data"]["dwell_seconds"] >= 10
    after = (await shared.client.get(f"/api/v1/customers/{customer}", headers=rm01)).json()
    assert after["intimacy_score"] > before["intimacy_score"]


async def test_reading_and_clicking_without_a_visible_open_count_only_once_it_opens(shared, db):
    # A script sending heartbeats and the button's click, never the page's open: no step on
    # the timeline, no click in the RM's share list. When the page opens, the open and the
    # click count; reading counts from the open on.
    customer = await to_customer(shared, db)
    rm01 = await headers_of(shared.client, "rm01")
    settings, start = shared.studio.settings, int(time.time() * 1000) + 1000
    await append_at(settings, shared.code, [
        *[(start + 5000 * n, "heartbeat", {"ms": 5000}) for n in range(3)],
        (start + 11_000, "cta", {}),
    ], visitor_id="v-2")  # fmt: skip
    await shared.consume()
    timeline = f"/api/v1/customers/{customer}/timeline"
    page = await shared.client.get(timeline, headers=rm01)
    assert [e["kind"] for e in page.json()["items"]] == []
    [listed] = (await shared.client.get("/api/v1/shares?mine=1", headers=rm01)).json()["items"]
    assert (listed["opens"], listed["clicks"]) == (0, 0)

    await append_at(settings, shared.code, [(start + 12_000, "open", {})], visitor_id="v-2")
    await shared.consume()
    page = await shared.client.get(timeline, headers=rm01)
    kinds = sorted(e["kind"] for e in page.json()["items"])
    assert kinds == ["share.clicked", "share.opened"]
    [listed] = (await shared.client.get("/api/v1/shares?mine=1", headers=rm01)).json()["items"]
    assert (listed["opens"], listed["clicks"], listed["dwell_seconds"]) == (1, 1, 0)
    # Ten seconds read after the open: now it was read.
    await append_at(settings, shared.code, [
        (start + 17_000, "heartbeat", {"ms": 5000}), (start + 22_000, "heartbeat", {"ms": 5000}),
    ], visitor_id="v-2")  # fmt: skip
    await shared.consume()
    page = await shared.client.get(timeline, headers=rm01)
    kinds = sorted(e["kind"] for e in page.json()["items"])
    assert kinds == ["share.clicked", "share.engaged", "share.opened"]


async def contact_requests(db: Any) -> list[Any]:
    return [n for n in await radar(db) if n["category"] == "brochure.contact_requested"]


async def test_the_first_click_tells_the_rm_the_customer_wants_to_hear_from_them(shared, db):
    # "我有兴趣，请联系我" tells the customer the RM was told: the worker's batch does tell them,
    # once per visitor and at most once per share in half an hour, masked as the radar masks.
    await to_customer(shared, db)
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    [opened] = await radar(db)
    await visit(shared, "v-1", ("cta", {}))
    await shared.consume()
    [told] = await contact_requests(db)
    assert told["login"] == "rm01"
    assert told["body"].startswith("您的客户 张*三 想了解《")
    assert told["body"].endswith("》，请尽快联系")
    assert "张小三" not in told["body"]
    assert told["title"] == "客户请您联系"
    assert told["id"] != opened["id"]
    assert opened["category"] == "brochure.opened"
    data = json.loads(told["data"])
    assert data["action"] == "contact"
    assert data["share_id"] == str(shared.share_id)
    assert "customer_id" in data
    # In the notification centre, and in the push outbox (not held back by the radar's quiet
    # half hour: the open was told a moment ago).
    rm01 = await headers_of(shared.client, "rm01")
    listed = (await shared.client.get("/api/v1/notifications", headers=rm01)).json()["items"]
    assert [n["title"] for n in listed][:1] == ["客户请您联系"]
    assert told["push_status"] == "pending"

    # The same visitor again (another tap, a retry, a reload): nothing more.
    await visit(shared, "v-1", ("cta", {}), ("open", {}), ("cta", {}))
    await shared.consume()
    assert len(await contact_requests(db)) == 1
    # Another visitor of the same share asking within the half hour: counted in the share list,
    # but the RM's phone is not rung again (a share in a group chat, many tapping); later it is.
    await visit(shared, "v-2", ("open", {}), ("cta", {}))
    await shared.consume()
    assert len(await contact_requests(db)) == 1
    await db.execute("update notifications set created_at = created_at - interval '31 minutes'")
    await visit(shared, "v-3", ("open", {}), ("cta", {}))
    await shared.consume()
    assert len(await contact_requests(db)) == 2


async def test_a_click_on_a_share_to_no_one_says_someone_is_interested(shared, db):
    await visit(shared, "v-1", ("open", {}), ("cta", {}))
    await shared.consume()
    # One batch with the open and the click: the RM hears the click alone.
    [told] = await radar(db)
    assert told["category"] == "brochure.contact_requested"
    assert told["body"].startswith("有人对您分享的《")
    assert told["body"].endswith("》感兴趣，请留意")


async def test_a_bots_click_or_a_click_without_an_open_tells_no_one(shared, db):
    await to_customer(shared, db)
    await visit(shared, "preview", ("open", {}), ("cta", {}), ua=SLACK)
    await visit(shared, "script", ("cta", {}))  # a click never seen on a shown page
    await shared.consume()
    assert await radar(db) == []
    # The script's visitor opens the page after all: now the click counts, once.
    await visit(shared, "script", ("open", {}))
    await shared.consume()
    assert len(await contact_requests(db)) == 1


async def end_window(db: Any, shared: Any, *, just_now: bool = False) -> None:
    """The shared brochure's window ended a second ago (`just_now`: this very moment)."""
    await db.execute(
        "update brochure_versions"
        "   set live_until = case when $2 then clock_timestamp() else now() - interval '1 s' end"
        " where brochure_id = $1 and status = 'published'",
        uuid.UUID(shared.brochure_id),
        just_now,
    )


async def test_a_share_no_longer_live_tells_only_a_contact_request(shared, db):
    # A page left open past the brochure's window, or a script: the share page answers 410, so
    # the RM is not told someone is reading, nor does the customer's timeline say so; the hits
    # are stored and counted as ever. A customer asking to be contacted on the page still open
    # is a lead, not noise: the RM hears it, told the brochure is gone.
    customer = await to_customer(shared, db)
    await end_window(db, shared)
    assert (await shared.client.get(f"/s/{shared.code}")).status_code == 410
    await visit(shared, "v-1", ("open", {}), *[("heartbeat", {"ms": 5000})] * 3)
    await visit(shared, "v-2", ("open", {}), ("cta", {}))
    await shared.consume()

    [asked] = await radar(db)
    assert asked["category"] == "brochure.contact_requested"
    assert asked["body"].endswith("（该资料已下架或过期，客户已无法查看）")
    rm01 = await headers_of(shared.client, "rm01")
    timeline = f"/api/v1/customers/{customer}/timeline"
    page = await shared.client.get(timeline, headers=rm01)
    assert [e["kind"] for e in page.json()["items"] if e["kind"].startswith("share.")] == []
    assert await db.fetchval("select count(*) from share_hits") == 6
    [listed] = (await shared.client.get("/api/v1/shares?mine=1", headers=rm01)).json()["items"]
    assert (listed["opens"], listed["clicks"]) == (2, 1)


async def test_an_unpublished_brochures_share_tells_only_a_contact_request(shared, db):
    unpublished = await shared.studio.act(shared.brochure_id, "unpublish", "marketing")
    assert unpublished.status_code == 200, unpublished.text
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    assert await radar(db) == []  # a reader of a gone share rings no one
    await visit(shared, "v-1", ("cta", {}))
    await shared.consume()
    assert [n["category"] for n in await radar(db)] == ["brochure.contact_requested"]
    assert await db.fetchval("select count(*) from share_visitors") == 1


async def test_a_hit_while_live_is_told_even_if_stored_after_the_window_ends(shared, db):
    # Live at the moment of the hit is what counts, not when the worker gets to it.
    await visit(shared, "v-1", ("open", {}))
    await end_window(db, shared, just_now=True)
    assert (await shared.client.get(f"/s/{shared.code}")).status_code == 410
    await shared.consume()
    [told] = await radar(db)
    assert told["body"].startswith("有人正在浏览您分享的《")


async def test_an_rm_who_mutes_opens_still_hears_a_customer_asking_for_contact(shared, db):
    # Opens are the radar's noise, a request to be contacted is a lead: muting the first (the
    # app's settings) kept the second off the RM's phone while both were brochure.opened.
    await to_customer(shared, db)
    rm01 = await headers_of(shared.client, "rm01")
    muted = await shared.client.put(
        "/api/v1/me/notification-preferences",
        json={"muted_categories": ["brochure.opened"]},
        headers=rm01,
    )
    assert muted.status_code == 200, muted.text
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    await visit(shared, "v-1", ("cta", {}))
    await shared.consume()
    opened, asked = await radar(db)
    prefs = policies.Preferences(muted=frozenset(muted.json()["muted_categories"]))
    fate = {
        n["category"]: policies.decide(
            policies.Due(
                category=n["category"],
                critical=False,
                silent=False,
                expires_at=None,
                subject_open=None,
                device_id=None,
            ),
            preferences=prefs,
            devices=[],
            now=datetime.now(UTC),
            device_cap=5,
        )
        for n in (opened, asked)
    }
    assert fate["brochure.opened"] == policies.Drop("skipped", "muted")
    assert fate["brochure.contact_requested"] == policies.Drop("skipped", "no_device")

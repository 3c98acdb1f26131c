"""A customer the bank closes takes their links along, as their verification links: a brochure
shared with them answers the page of a brochure no longer available (410) and its beacons still
coming tell no one and write no timeline entry (the hits are kept); their survey links say they
expired, take no answer (no response, no work order) and are reminded no more, and the gateway
reads no message to them. Reopened, they get none of it back: the RM shares and sends again.
A share made for no one is untouched."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.brochures.conftest import studio  # noqa: F401 (fixture)
from tests.workbench.shares.conftest import Desk, desk  # noqa: F401 (fixture)
from tests.workbench.surveys.delivery_data import EVERY_TYPE, SURVEYS, age_invitations, publish
from tests.workbench.tracking.conftest import PHONE_SAFARI, consume
from workbench.db import use_json_codecs
from workbench.surveys import delivery

SHARED_WITH = customer_row("S-1", name="张小三", owner="rm01", seq=1)  # the desk's customer
ASKED = customer_row("F-1", name="测试甲", owner="rm01", seq=11)
STAYS = customer_row("F-2", name="测试乙", owner="rm01", seq=12)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
OUTBOX = "/api/v1/integration/survey-messages"
LOW = {"nps": 1, "why": "不满意", "visit": "branch", "rating": 1}


def closed(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "status": "closed"}


async def beacons(desk: Desk, code: str, visitor: str, *types: str) -> None:  # noqa: F811
    for type_ in types:
        body = {"code": code, "visitor_id": visitor, "type": type_, "event_id": str(uuid.uuid4())}
        if type_ == "heartbeat":
            body["ms"] = 5000
        sent = await desk.client.post("/t", json=body, headers={"User-Agent": PHONE_SAFARI})
        assert sent.status_code == 204, sent.text


async def test_a_brochure_shared_with_a_customer_the_bank_closed_is_no_longer_available(
    desk: Desk,  # noqa: F811
    db: Any,
) -> None:
    admin, settings = desk.studio.admin, desk.studio.settings
    made = await desk.made(customer_id=str(desk.customer))
    to_no_one = await desk.made()
    assert (await desk.client.get(f"/s/{made['code']}")).status_code == 200

    assert (await feed(desk.client, admin, "customers", [closed(SHARED_WITH)]))["updated"] == 1
    page = await desk.client.get(f"/s/{made['code']}")
    assert page.status_code == 410, page.text
    # The page of a brochure taken down, word for word: nothing says why.
    assert "该资料已无法查看" in page.text
    assert "该资料已下架或已过期" in page.text
    pages = await desk.client.get(f"/s/{made['code']}/pages")
    assert (pages.status_code, pages.json()["code"]) == (410, "share.gone")
    contact = await desk.client.post(f"/s/{made['code']}/contact", data={"v": "v-form"})
    assert contact.status_code == 410
    poster = await desk.get(made["poster_png_url"])
    assert (poster.status_code, poster.json()["code"]) == (404, "customer.not_found")
    # A share made for no one is as it was.
    assert (await desk.client.get(f"/s/{to_no_one['code']}")).status_code == 200

    # A page left open sends on: stored, but it rings no one, not even a request to be
    # contacted, and the customer's timeline says nothing; the share to no one still rings.
    await beacons(desk, made["code"], "v-1", "open", "heartbeat", "page_view", "cta")
    await beacons(desk, to_no_one["code"], "v-2", "open")
    await consume(settings)
    told = await db.fetch(
        "select category, body, subject_id from notifications"
        " where category like 'brochure.%' order by created_at"
    )
    assert [(n["category"], n["subject_id"]) for n in told] == [
        ("brochure.opened", uuid.UUID(to_no_one["id"]))
    ]
    assert told[0]["body"].startswith("有人正在浏览您分享的《")
    shares_seen = await db.fetchval(
        "select count(*) from customer_timeline where customer_id = $1 and kind like 'share.%'",
        desk.customer,
    )
    assert shares_seen == 0
    kept = await db.fetchval(
        "select count(*) from share_hits where share_id = $1", uuid.UUID(made["id"])
    )
    assert kept == 4

    # Reopened, the customer gets no old link back: the RM shares again.
    await feed(desk.client, admin, "customers", [SHARED_WITH])
    assert (await desk.client.get(f"/s/{made['code']}")).status_code == 410
    again = await desk.made(customer_id=str(desk.customer))
    assert (await desk.client.get(f"/s/{again['code']}")).status_code == 200


@pytest.mark.usefixtures("demo_bank")
async def test_the_survey_links_of_a_customer_the_bank_closed_end(
    client: Any, db: Any, settings: Any
) -> None:
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    await feed(client, admin, "customers", [ASKED, STAYS])
    ids = await customer_ids(db)
    asked, stays = ids["F-1"], ids["F-2"]
    survey = await publish(db, questions=EVERY_TYPE)
    other = await publish(db, questions=EVERY_TYPE, title="回访问卷")
    rule = {"survey_id": str(survey), "question_key": "nps", "op": "lte", "value": 6}
    assert (await client.post("/api/v1/alert-rules", json=rule, headers=admin)).status_code == 201
    sent = await client.post(
        f"{SURVEYS}/{survey}/deliveries",
        json={"customer_ids": [str(asked), str(stays)]},
        headers=rm01,
    )
    assert sent.status_code == 201, sent.text
    urls = {r["customer_id"]: r["url"] for r in sent.json()["recipients"]}
    link = urls[str(asked)].removeprefix(settings.public_base_url.rstrip("/"))
    shared = await client.post(
        "/api/v1/shares",
        json={"survey_id": str(other), "customer_id": str(asked), "channel": "wechat"},
        headers=rm01,
    )
    assert shared.status_code == 201, shared.text
    assert (await client.get(link)).status_code == 200

    assert (await feed(client, admin, "customers", [closed(ASKED)]))["updated"] == 1
    page = await client.get(link)
    assert page.status_code == 410, page.text
    assert "问卷已过期" in page.text
    answered = await client.post(link, json={"answers": LOW})
    assert (answered.status_code, answered.json()["code"]) == (410, "survey.link_expired")
    form = await client.post(link, content=urlencode(LOW), headers=FORM)
    assert form.status_code == 410
    assert "问卷已过期" in form.text
    assert await db.fetchval("select count(*) from survey_responses") == 0
    assert (await client.get("/api/v1/work-orders", headers=rm01)).json()["items"] == []
    responded = await db.fetchval(
        "select coalesce(sum(responded), 0) from survey_tallies where survey_id = $1", survey
    )
    assert responded == 0
    # The RM's share list reads the survey link shared with them as ended.
    listed = (await client.get("/api/v1/shares?mine=1", headers=rm01)).json()["items"]
    [link_shared] = [item for item in listed if item["survey_id"] == str(other)]
    assert datetime.fromisoformat(link_shared["expires_at"]) <= datetime.now(UTC)
    assert link_shared["answered"] is False

    # Reminded no more, and the gateway reads no message to them (the one sent before the
    # close was not read yet); the customer still with the bank is reminded as ever.
    await age_invitations(db, survey, datetime.now(UTC) - timedelta(days=4))
    await use_json_codecs(db)
    async with db.transaction():
        assert await delivery.send_reminders(db, rules=delivery.Rules.from_settings(settings)) == (
            1, 0,
        )  # fmt: skip
    reminded = await db.fetch("select customer_id from survey_messages where kind = 'reminder'")
    assert [r["customer_id"] for r in reminded] == [stays]
    outbox = (await client.get(OUTBOX, headers=admin)).json()["items"]
    assert {m["customer_external_id"] for m in outbox} == {"F-2"}

    # Reopened: the link they were told had expired stays so; the RM sends the survey again.
    await feed(client, admin, "customers", [ASKED])
    assert (await client.get(link)).status_code == 410
    again = await client.post(
        f"{SURVEYS}/{survey}/deliveries", json={"customer_ids": [str(asked)]}, headers=rm01
    )
    assert again.status_code == 201, again.text
    [recipient] = again.json()["recipients"]
    assert recipient["url"] != urls[str(asked)]

"""A delivery's sender never loses a customer's link: a retry with the same Idempotency-Key
answers the first answer, a send again without one answers the link the sender sent before, and
the delivery's progress lists its recipients with their links, for whoever sent it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish, user

pytestmark = pytest.mark.usefixtures("demo_bank")
SHARES = "/api/v1/shares"


async def send(
    client: Any, headers: dict[str, str], survey_id: uuid.UUID, key: str | None = None, **body: Any
) -> Any:
    payload = {k: [str(i) for i in v] for k, v in body.items()}
    extra = {"Idempotency-Key": key} if key is not None else {}
    return await client.post(f"{SURVEYS}/{survey_id}/deliveries", json=payload,
                             headers={**headers, **extra})  # fmt: skip


async def test_a_retried_delivery_answers_the_first_answer_with_the_link(client, db, settings):
    # A retry after a lost response answered `skipped`/`already_invited` with no url, and the
    # delivery's progress listed no recipients: the RM had no way left to get the link.
    survey = await publish(db)
    customer, other = await add_customers(db, 2)
    rm01 = await headers_of(client, "rm01")

    first = await send(client, rm01, survey, key="tap-1", customer_ids=[customer])
    assert first.status_code == 201, first.text
    made = first.json()
    url = made["recipients"][0]["url"]
    assert url.startswith(settings.public_base_url.rstrip("/") + "/f/")

    retried = await send(client, rm01, survey, key="tap-1", customer_ids=[customer])
    assert (retried.status_code, retried.json()) == (201, made)

    # Without the key: the customer already holds the link rm01 sent, and is answered with it.
    again = await send(client, rm01, survey, customer_ids=[customer])
    assert again.status_code == 201
    assert again.json()["id"] != made["id"]
    assert again.json()["recipients"] == [{
        "status": "skipped", "customer_id": str(customer),
        "invitation_id": made["recipients"][0]["invitation_id"], "url": url,
        "reason": "already_invited",
    }]  # fmt: skip

    # The progress of either lists its recipients with their links for rm01.
    path = f"{SURVEYS}/{survey}/deliveries"
    followed = await client.get(f"{path}/{made['id']}", headers=rm01)
    assert followed.status_code == 200
    assert followed.json()["recipients"] == made["recipients"]
    second = await client.get(f"{path}/{again.json()['id']}", headers=rm01)
    assert second.json()["recipients"] == again.json()["recipients"]
    # Their branch head follows the counts, not the customers' links.
    bh = await client.get(f"{path}/{made['id']}", headers=await headers_of(client, "bh.east"))
    assert (bh.status_code, bh.json()["done"], bh.json()["recipients"]) == (200, 1, [])

    # The key is rm01's for that request only.
    reused = await send(client, rm01, survey, key="tap-1", customer_ids=[other])
    assert (reused.status_code, reused.json()["code"]) == (409, "delivery.idempotency_key_reused")
    assert reused.headers["content-type"].startswith("application/problem+json")
    rm02_key = await send(client, await headers_of(client, "rm02"), survey, key="tap-1",
                          customer_ids=[customer])  # fmt: skip
    assert rm02_key.status_code == 404  # not rm02's customer: their key is theirs alone
    assert await db.fetchval("select count(*) from survey_invitations") == 1
    assert await db.fetchval("select count(*) from survey_messages") == 1


async def test_the_retry_answers_even_after_the_survey_was_archived(client, db):
    survey = await publish(db)
    (customer,) = await add_customers(db, 1)
    rm01 = await headers_of(client, "rm01")
    made = (await send(client, rm01, survey, key="k", customer_ids=[customer])).json()
    await db.execute("update surveys set status = 'archived' where id = $1", survey)
    retried = await send(client, rm01, survey, key="k", customer_ids=[customer])
    assert (retried.status_code, retried.json()) == (201, made)
    fresh = await send(client, rm01, survey, key="other", customer_ids=[customer])
    assert (fresh.status_code, fresh.json()["code"]) == (409, "survey.archived")


async def test_two_requests_with_one_key_at_once_make_one_delivery(make_client, db):
    survey = await publish(db)
    customers = await add_customers(db, 3)
    one, two = await make_client(), await make_client()
    rm01 = await headers_of(one, "rm01")
    both = await asyncio.gather(
        send(one, rm01, survey, key="double", customer_ids=customers),
        send(two, rm01, survey, key="double", customer_ids=customers),
    )
    assert [b.status_code for b in both] == [201, 201], [b.text for b in both]
    assert both[0].json() == both[1].json()
    assert [r["status"] for r in both[0].json()["recipients"]] == ["sent"] * 3
    assert await db.fetchval("select count(*) from survey_deliveries") == 1
    assert await db.fetchval("select count(*) from survey_invitations") == 3


async def test_a_link_someone_else_sent_is_not_handed_out(client, db):
    survey = await publish(db)
    (customer,) = await add_customers(db, 1, owner="rm02")
    bh = await headers_of(client, "bh.east")
    assert (await send(client, bh, survey, customer_ids=[customer])).json()["done"] == 1
    rm02 = await headers_of(client, "rm02")
    made = (await send(client, rm02, survey, key="k", customer_ids=[customer])).json()
    assert made["recipients"] == [
        {"status": "skipped", "customer_id": str(customer), "reason": "already_invited"}
    ]
    followed = await client.get(f"{SURVEYS}/{survey}/deliveries/{made['id']}", headers=rm02)
    assert followed.json()["recipients"] == made["recipients"]


async def test_a_link_the_rm_shared_is_the_link_a_delivery_answers(client, db):
    survey = await publish(db)
    (customer,) = await add_customers(db, 1)
    rm01 = await headers_of(client, "rm01")
    body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "wechat"}
    share = (await client.post(SHARES, json=body, headers=rm01)).json()
    made = (await send(client, rm01, survey, customer_ids=[customer])).json()
    assert (made["recipients"][0]["reason"], made["recipients"][0]["url"]) == (
        "already_invited", share["url"],
    )  # fmt: skip


async def test_progress_keeps_why_a_recipient_was_skipped(client, db, settings):
    first, second, third = await publish(db), await publish(db), await publish(db)
    capped, fresh = await add_customers(db, 2)
    rm01 = await headers_of(client, "rm01")
    for survey in (first, second):  # two messages this week: the cap of 2 is reached
        assert (await send(client, rm01, survey, customer_ids=[capped])).json()["done"] == 1
    made = (await send(client, rm01, third, customer_ids=[capped, fresh])).json()
    assert [r.get("reason") for r in made["recipients"]] == ["contact_cap", None]
    # A week later the cap no longer holds them back: what this delivery did stays as it was.
    await db.execute("update survey_messages set created_at = created_at - interval '8 days'")
    followed = await client.get(f"{SURVEYS}/{third}/deliveries/{made['id']}", headers=rm01)
    assert followed.json()["recipients"] == made["recipients"]


async def test_a_staff_delivery_lists_its_recipients_for_its_sender(client, db):
    rating = [{"key": "r", "type": "rating", "text": "满意度"}]
    survey = await publish(db, audience="staff", questions=rating)
    bh = await headers_of(client, "bh.east")
    rm01 = str(user("rm01"))
    made = await client.post(f"{SURVEYS}/{survey}/deliveries", json={"user_ids": [rm01]},
                             headers={**bh, "Idempotency-Key": "staff"})  # fmt: skip
    assert made.status_code == 201, made.text
    (recipient,) = made.json()["recipients"]
    assert (recipient["status"], recipient["user_id"]) == ("sent", rm01)
    assert "url" not in recipient
    again = await client.post(f"{SURVEYS}/{survey}/deliveries", json={"user_ids": [rm01]},
                              headers={**bh, "Idempotency-Key": "staff"})  # fmt: skip
    assert again.json() == made.json()
    followed = await client.get(f"{SURVEYS}/{survey}/deliveries/{made.json()['id']}", headers=bh)
    assert followed.json()["recipients"] == made.json()["recipients"]

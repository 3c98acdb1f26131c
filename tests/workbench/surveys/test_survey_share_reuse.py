"""Sharing a survey with a customer who holds the RM's own open link from a delivery answers that
link (200, as a share made before), without a second invitation: the RM just wants a link to send,
and their delivery hands it out too. Before, it was 409 `survey.already_invited`. A link someone
else sent (another RM, a branch head) is still not handed out; an answered or expired link is no
open link: a share makes a new one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish, user

pytestmark = pytest.mark.usefixtures("demo_bank")
SHARES = "/api/v1/shares"
RATING = [{"key": "r", "type": "rating", "text": "满意度"}]


async def _deliver(client: Any, headers: dict[str, str], survey: uuid.UUID,
                   customer: uuid.UUID) -> dict[str, Any]:  # fmt: skip
    sent = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(customer)]}, headers=headers)  # fmt: skip
    assert sent.status_code == 201, sent.text
    [recipient] = sent.json()["recipients"]
    assert recipient["status"] == "sent", recipient
    return recipient


async def _invitations(db: Any, survey: uuid.UUID) -> int:
    return await db.fetchval("select count(*) from survey_invitations where survey_id = $1", survey)


async def test_sharing_answers_the_rms_own_delivered_link(client, db):
    survey = await publish(db, questions=RATING)
    (customer,) = await add_customers(db, 1)
    rm01 = await headers_of(client, "rm01")
    delivered = await _deliver(client, rm01, survey, customer)

    ref = str(uuid.uuid4())
    body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "wechat",
            "client_ref": ref}  # fmt: skip
    shared = await client.post(SHARES, json=body, headers=rm01)
    assert shared.status_code == 200, shared.text
    share = shared.json()
    assert (share["id"], share["url"]) == (delivered["invitation_id"], delivered["url"])
    assert share["url"].endswith(f"/f/{share['code']}")
    assert share["poster_png_url"].endswith(f"/api/v1/shares/{share['id']}/poster.png")
    assert (share["customer_id"], share["client_ref"]) == (str(customer), ref)
    assert share["brochure_id"] is None
    # A resend of the request (a retry, a sync) is the same link again; nothing new is made.
    again = await client.post(SHARES, json=body, headers=rm01)
    assert (again.status_code, again.json()["id"]) == (200, share["id"])
    without_ref = await client.post(SHARES, json={**body, "client_ref": None}, headers=rm01)
    assert (without_ref.status_code, without_ref.json()["id"]) == (200, share["id"])
    assert await _invitations(db, survey) == 1


async def test_a_link_someone_else_delivered_is_not_handed_out(client, db):
    survey = await publish(db, questions=RATING)
    (moved,) = await add_customers(db, 1, owner="rm02", prefix="M")
    (headed,) = await add_customers(db, 1, prefix="H")
    rm01, rm02 = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    await _deliver(client, rm02, survey, moved)  # rm02's link; the customer then moves to rm01
    await db.execute("update customers set owner_id = $2 where id = $1", moved, user("rm01"))
    await _deliver(client, await headers_of(client, "bh.east"), survey, headed)

    for customer in (moved, headed):
        body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "wechat"}
        refused = await client.post(SHARES, json=body, headers=rm01)
        assert (refused.status_code, refused.json()["code"]) == (409, "survey.already_invited")
    assert await _invitations(db, survey) == 2


async def test_an_answered_or_expired_delivered_link_makes_a_new_share(client, db, settings):
    survey = await publish(db, questions=RATING)
    answered, expired = await add_customers(db, 2)
    rm01 = await headers_of(client, "rm01")
    link = await _deliver(client, rm01, survey, answered)
    path = link["url"].removeprefix(settings.public_base_url.rstrip("/"))
    assert (await client.post(path, json={"answers": {"r": 5}})).status_code == 201
    gone = await _deliver(client, rm01, survey, expired)
    await db.execute(
        "update survey_invitations set expires_at = now() - interval '1 minute' where id = $1",
        uuid.UUID(gone["invitation_id"]),
    )

    for customer, old in ((answered, link), (expired, gone)):
        body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "sms"}
        made = await client.post(SHARES, json=body, headers=rm01)
        assert made.status_code == 201, made.text
        assert made.json()["id"] != old["invitation_id"]
    assert await _invitations(db, survey) == 4

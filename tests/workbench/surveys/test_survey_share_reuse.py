"""Sharing a survey with a customer who holds the RM's own open link from a delivery answers that
link (200, as a share made before), without a second invitation: the RM just wants a link to send,
and their delivery hands it out too. Before, it was 409 `survey.already_invited`. A link someone
else sent (another RM, a branch head) is still not handed out; an answered or expired link is no
open link: a share makes a new one. A retried `client_ref` answers what its first answer said
(the link's own channel), and only while the customer is still the RM's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
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


async def _push_share(client: Any, headers: dict[str, str], mutation_id: int,
                      args: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    batch = {"client_id": "phone",
             "mutations": [{"id": mutation_id, "name": "share.create", "args": args}]}  # fmt: skip
    pushed = await client.post("/api/v1/sync/push", json=batch, headers=headers)
    assert pushed.status_code == 200, pushed.text
    [result] = pushed.json()["results"]
    answer: dict[str, Any] = result
    return answer


async def test_a_retried_client_ref_answers_what_the_first_answer_said(client, db):
    # A retry of a request answered with the RM's delivered link said "wechat" (the channel the
    # ref was sent with) where the first answer had said "link" (the link's own): the app saw the
    # same share change channel. Online and through sync's share.create alike.
    survey = await publish(db, questions=RATING)
    delivered_to, shared_to = await add_customers(db, 2)
    rm01 = await headers_of(client, "rm01")
    await _deliver(client, rm01, survey, delivered_to)

    body = {"survey_id": str(survey), "customer_id": str(delivered_to), "channel": "wechat",
            "client_ref": str(uuid.uuid4())}  # fmt: skip
    first = await client.post(SHARES, json=body, headers=rm01)
    retried = await client.post(SHARES, json=body, headers=rm01)
    assert (first.status_code, retried.status_code) == (200, 200), retried.text
    assert retried.json() == first.json()
    assert first.json()["channel"] == "link"  # the delivery's link, shared over no channel

    args = {**body, "channel": "qr", "client_ref": str(uuid.uuid4())}
    applied = await _push_share(client, rm01, 1, args)
    assert applied["status"] == "applied", applied
    duplicate = await _push_share(client, rm01, 1, args)
    assert duplicate == {"id": 1, "status": "duplicate", "result": applied["result"]}
    online = await client.post(SHARES, json=args, headers=rm01)
    assert (online.status_code, online.json()) == (200, applied["result"])

    # A link the RM shared over WeChat, shared again over SMS under a new ref: every answer, and
    # the RM's share list, say WeChat, the channel the link went out over.
    made = await client.post(
        SHARES, json={**body, "customer_id": str(shared_to), "client_ref": None}, headers=rm01
    )
    assert made.status_code == 201, made.text
    again = {**body, "customer_id": str(shared_to), "channel": "sms",
             "client_ref": str(uuid.uuid4())}  # fmt: skip
    answers = [await client.post(SHARES, json=again, headers=rm01) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert (answers[1].json()["id"], answers[1].json()["channel"]) == (made.json()["id"], "wechat")
    listed = await client.get(SHARES, params={"mine": 1}, headers=rm01)
    [row] = [r for r in listed.json()["items"] if r["id"] == made.json()["id"]]
    assert row["channel"] == "wechat"
    assert await _invitations(db, survey) == 2


async def test_a_client_ref_replayed_once_the_customer_moved_on_is_not_found(client, db):
    # A feed moved the customer to rm02; replaying rm01's client_ref still answered 200 with the
    # customer's open link (its code and url), online and through sync.
    survey = await publish(db, questions=RATING)
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    await feed(client, admin, "customers", [customer_row("MV-1", name="王芳", owner="rm01")])
    customer = (await customer_ids(db, ["MV-1"]))["MV-1"]
    body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "wechat",
            "client_ref": str(uuid.uuid4())}  # fmt: skip
    made = await client.post(SHARES, json=body, headers=rm01)
    assert made.status_code == 201, made.text
    offline = {**body, "client_ref": str(uuid.uuid4())}
    assert (await _push_share(client, rm01, 1, offline))["status"] == "applied"

    await feed(client, admin, "customers", [customer_row("MV-1", name="王芳", owner="rm02")])
    for ref in (body, offline):
        replayed = await client.post(SHARES, json=ref, headers=rm01)
        assert (replayed.status_code, replayed.json()["code"]) == (404, "customer.not_found")
        assert made.json()["code"] not in replayed.text
    rejected = await _push_share(client, rm01, 2, body)
    assert (rejected["status"], rejected["code"]) == ("rejected", "customer.not_found")
    assert "result" not in rejected
    # A retried batch of the share made offline: duplicate, without the link.
    assert await _push_share(client, rm01, 1, offline) == {"id": 1, "status": "duplicate"}
    assert await _invitations(db, survey) == 1

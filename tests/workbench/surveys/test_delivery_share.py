"""Sharing a survey: an RM's single-use link to one of their customers in the Share shape, with
a poster; the same client_ref gives the same share; a customer holding an open link to the
survey gets no second one; brochure shares are unchanged."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish
from workbench.ids import uuid5_for
from workbench.surveys.links import SurveyLinks

pytestmark = pytest.mark.usefixtures("demo_bank")
SHARES = "/api/v1/shares"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "surveys"


async def test_an_rm_shares_a_survey_with_their_customer(client, db, settings):
    survey = await publish(db, title="理财体验问卷")
    (customer,) = await add_customers(db, 1)
    (other,) = await add_customers(db, 1, owner="rm02", prefix="O")
    rm01 = await headers_of(client, "rm01")
    ref = str(uuid.uuid4())
    body: dict[str, Any] = {"survey_id": str(survey), "customer_id": str(customer),
                            "channel": "wechat", "client_ref": ref}  # fmt: skip

    made = await client.post(SHARES, json=body, headers=rm01)
    assert made.status_code == 201, made.text
    share = made.json()
    base = settings.public_base_url.rstrip("/")
    links = SurveyLinks(settings.jwt_keys)
    assert share["url"] == f"{base}/f/{share['code']}"
    assert links.invitation_id(share["code"]) == uuid.UUID(share["id"])
    assert share["brochure_id"] is None
    assert share["customer_id"] == str(customer)
    row = await db.fetchrow("select survey_id, customer_id, sent_by, delivery_id from"
                            " survey_invitations")  # fmt: skip
    assert (row["survey_id"], row["customer_id"], row["delivery_id"]) == (survey, customer, None)
    page = await client.get(share["url"].removeprefix(base))
    assert page.status_code == 200
    assert "理财体验问卷" in page.text

    again = await client.post(SHARES, json=body, headers=rm01)
    assert again.status_code == 200
    assert again.json()["id"] == share["id"]
    reused = await client.post(SHARES, json={**body, "customer_id": str(other)}, headers=rm01)
    assert reused.status_code == 409
    assert reused.json()["code"] == "share.client_ref_reused"
    theirs = await client.post(SHARES, json={**body, "customer_id": str(other),
                                             "client_ref": None}, headers=rm01)  # fmt: skip
    assert theirs.status_code == 404
    nobody = await client.post(SHARES, json={**body, "customer_id": None, "client_ref": None},
                               headers=rm01)  # fmt: skip
    assert nobody.status_code == 422
    assert nobody.json()["code"] == "share.customer_required"
    assert await db.fetchval("select count(*) from survey_invitations") == 1


async def test_a_survey_share_has_a_poster(make_client, db, tmp_path):
    client = await make_client(blob_dir=str(tmp_path))
    survey = await publish(db, title="理财体验问卷")
    (customer,) = await add_customers(db, 1)
    rm01 = await headers_of(client, "rm01")
    body = {"survey_id": str(survey), "channel": "qr", "customer_id": str(customer)}
    share = (await client.post(SHARES, json=body, headers=rm01)).json()
    path = "/" + share["poster_png_url"].split("/", 3)[3]
    poster = await client.get(path, headers=rm01)
    assert poster.status_code == 200
    assert poster.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(poster.content)) as image:
        assert image.size == (750, 1334)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "survey-share-poster.png").write_bytes(poster.content)
    assert (await client.get(path, headers=await headers_of(client, "rm02"))).status_code == 404
    assert (await client.get(path, headers=await headers_of(client, "bh.east"))).status_code == 200


async def test_a_survey_shared_offline_is_the_link_made_online(client, db):
    survey = await publish(db, title="理财体验问卷")
    (customer,) = await add_customers(db, 1)
    rm01 = await headers_of(client, "rm01")
    args = {"client_ref": str(uuid.uuid4()), "survey_id": str(survey), "channel": "wechat",
            "customer_id": str(customer)}  # fmt: skip
    batch = {"client_id": "phone", "mutations": [{"id": 1, "name": "share.create", "args": args}]}
    pushed = await client.post("/api/v1/sync/push", json=batch, headers=rm01)
    [result] = pushed.json()["results"]
    assert result["status"] == "applied", result
    assert "/f/" in result["result"]["url"]
    online = await client.post(SHARES, json=args, headers=rm01)
    assert (online.status_code, online.json()) == (200, result["result"])
    assert await db.fetchval("select count(*) from survey_invitations") == 1


async def test_sharing_again_while_the_link_is_open_makes_no_second_link(make_client, db, settings):
    # A double tap made two live links: the customer answered both, was counted twice and got two
    # work orders.
    survey = await publish(db, questions=[{"key": "r", "type": "rating", "text": "满意度"}])
    customer, other = await add_customers(db, 2)
    one, two = await make_client(), await make_client()
    rm01 = await headers_of(one, "rm01")
    body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "wechat"}
    tapped = await asyncio.gather(
        one.post(SHARES, json=body, headers=rm01), two.post(SHARES, json=body, headers=rm01)
    )
    assert sorted(t.status_code for t in tapped) == [200, 201], [t.text for t in tapped]
    share = tapped[0].json()
    assert tapped[1].json() == share
    # The customer lost the link: shared again (over SMS now), it is the same link as made.
    again = await one.post(SHARES, json={**body, "channel": "sms"}, headers=rm01)
    assert (again.status_code, again.json()) == (200, share)
    assert share["channel"] == "wechat"
    assert await db.fetchval("select count(*) from survey_invitations") == 1
    # A delivery skips the customer too.
    sent = await one.post(f"{SURVEYS}/{survey}/deliveries",
                          json={"customer_ids": [str(customer)]}, headers=rm01)  # fmt: skip
    assert sent.json()["recipients"][0]["reason"] == "already_invited"

    path = share["url"].removeprefix(settings.public_base_url.rstrip("/"))
    assert (await one.post(path, json={"answers": {"r": 4}})).status_code == 201
    # Answered: a new share is a new link, answered anew.
    after = await one.post(SHARES, json=body, headers=rm01)
    assert after.status_code == 201
    assert after.json()["id"] != share["id"]

    # A link the RM's delivery sent is the customer's open link: sharing answers that link, and
    # makes no second one while it is open.
    sent = await one.post(f"{SURVEYS}/{survey}/deliveries",
                          json={"customer_ids": [str(other)]}, headers=rm01)  # fmt: skip
    assert sent.json()["done"] == 1
    [delivered] = sent.json()["recipients"]
    handed = await one.post(SHARES, json={**body, "customer_id": str(other)}, headers=rm01)
    assert handed.status_code == 200, handed.text
    assert (handed.json()["id"], handed.json()["url"]) == (
        delivered["invitation_id"], delivered["url"],
    )  # fmt: skip
    assert await db.fetchval("select count(*) from survey_invitations") == 3
    assert await db.fetchval("select count(*) from survey_responses") == 1


async def test_a_client_ref_answered_with_the_open_link_names_it_for_good(client, db, settings):
    # The ref of a request answered with the customer's open link was kept nowhere: once the
    # link was answered, a retry of that request made a second link (counted twice), and the ref
    # could then name a brochure share too.
    survey = await publish(db, questions=[{"key": "r", "type": "rating", "text": "满意度"}])
    (customer,) = await add_customers(db, 1)
    rm01 = await headers_of(client, "rm01")
    body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "wechat"}
    first = (await client.post(SHARES, json=body, headers=rm01)).json()
    ref = str(uuid.uuid4())
    tapped = await client.post(SHARES, json={**body, "client_ref": ref}, headers=rm01)
    assert (tapped.status_code, tapped.json()["id"]) == (200, first["id"])
    path = first["url"].removeprefix(settings.public_base_url.rstrip("/"))
    assert (await client.post(path, json={"answers": {"r": 2}})).status_code == 201

    retried = await client.post(SHARES, json={**body, "client_ref": ref}, headers=rm01)
    assert (retried.status_code, retried.json()["id"]) == (200, first["id"])
    other = await client.post(
        SHARES, json={**body, "client_ref": ref, "channel": "sms"}, headers=rm01
    )
    assert (other.status_code, other.json()["code"]) == (409, "share.client_ref_reused")
    brochure = await client.post(
        SHARES, json={"brochure_id": str(uuid.uuid4()), "channel": "wechat", "client_ref": ref},
        headers=rm01,
    )  # fmt: skip
    assert (brochure.status_code, brochure.json()["code"]) == (409, "share.client_ref_reused")
    assert await db.fetchval("select count(*) from survey_invitations") == 1


async def test_a_share_made_before_refs_were_kept_is_still_named_by_its_client_ref(client, db):
    # Survey shares made before migration 0034 were named by uuid5 of their client_ref and kept
    # it nowhere: after the upgrade a resend made a second link.
    survey = await publish(db, questions=[{"key": "r", "type": "rating", "text": "满意度"}])
    (customer,) = await add_customers(db, 1)
    (another,) = await add_customers(db, 1, prefix="A")
    rm01 = await headers_of(client, "rm01")
    ref = uuid.uuid4()
    old = uuid5_for(f"survey-share:{ref}")
    await db.execute(
        """insert into survey_invitations (id, survey_id, version, customer_id, rm_id,
                                           org_unit_id, sent_by, sent_at, expires_at)
           select $1, $2, 1, c.id, c.owner_id, u.org_unit_id, c.owner_id, now(),
                  now() + interval '30 days'
             from customers c join users u on u.id = c.owner_id where c.id = $3""",
        old, survey, customer,
    )  # fmt: skip
    await db.execute("update survey_invitations set responded_at = now() where id = $1", old)
    body = {"survey_id": str(survey), "customer_id": str(customer), "channel": "sms",
            "client_ref": str(ref)}  # fmt: skip
    again = await client.post(SHARES, json=body, headers=rm01)
    assert (again.status_code, again.json()["id"]) == (200, str(old))
    elsewhere = await client.post(SHARES, json={**body, "customer_id": str(another)}, headers=rm01)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (409, "share.client_ref_reused")
    assert await db.fetchval("select count(*) from survey_invitations") == 1

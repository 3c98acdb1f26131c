"""POST /shares: an RM shares a brochure live for them, to nobody or one of their customers,
and gets an unguessable short link and a poster; resending the same `client_ref` (or
Idempotency-Key) gives the same share; anything else the RM may not share answers 404."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from tests.workbench.brochures.conftest import page_image
from tests.workbench.shares.conftest import SHARES, Desk
from tests.workbench.surveys.delivery_data import publish
from workbench.shares import codes

pytestmark = pytest.mark.usefixtures("demo_bank")
CODE = re.compile(r"[0-9A-Za-z]{10}")


async def test_an_rm_shares_a_live_brochure_with_a_customer_of_theirs(desk: Desk, db: Any):
    made = await desk.made(customer_id=str(desk.customer), channel="sms")
    assert CODE.fullmatch(made["code"])
    assert made["url"] == f"{desk.base_url}/s/{made['code']}"
    assert made["poster_png_url"] == f"{desk.base_url}/api/v1/shares/{made['id']}/poster.png"
    assert (made["channel"], made["brochure_id"], made["customer_id"]) == (
        "sms", desk.brochure["id"], str(desk.customer),
    )  # fmt: skip
    row = await db.fetchrow("select * from shares where id = $1", uuid.UUID(made["id"]))
    # What was shared as it was then: the published version, its product, the RM and their unit.
    assert (row["brochure_version"], row["product_code"]) == (1, "WM90")
    assert (row["rm_id"], row["org_unit_id"]) == (user("rm01"), unit("team-east-1"))
    another = await desk.made()
    assert another["code"] != made["code"]
    assert "customer_id" not in another


async def test_what_the_rm_may_not_share_is_not_found(desk: Desk, db: Any):
    draft = await desk.studio.upload(page_image(), title="草稿")
    assert (await desk.share(brochure_id=draft["id"])).json()["code"] == "brochure.not_found"
    assert (await desk.share(brochure_id=str(uuid.uuid4()))).status_code == 404
    # rm02's customer, and a customer that does not exist
    for customer in (desk.other_customer, uuid.uuid4()):
        response = await desk.share(customer_id=str(customer))
        assert (response.status_code, response.json()["code"]) == (404, "customer.not_found")
    # A brochure of the west branch is not on an east RM's path to the head office.
    await db.execute(
        "update brochures set owner_unit_id = $1 where id = $2",
        unit("branch-west"), uuid.UUID(desk.brochure["id"]),
    )  # fmt: skip
    assert (await desk.share()).status_code == 404
    west = await headers_of(desk.client, "rm05")
    assert (await desk.share(west)).status_code == 201
    # Expired: links can no longer be made.
    await db.execute(
        "update brochure_versions set live_until = now() - interval '1 minute'"
        " where brochure_id = $1",
        uuid.UUID(desk.brochure["id"]),
    )
    assert (await desk.share(west)).json()["code"] == "brochure.not_found"
    assert await db.fetchval("select count(*) from shares") == 1


async def test_only_rms_share_and_the_body_is_checked(desk: Desk):
    for who in ("bh.east", "marketing"):
        response = await desk.share(await headers_of(desk.client, who))
        assert response.status_code == 403, who
    bad = await desk.share(channel="email")
    assert bad.status_code == 422
    assert "channel" in bad.text
    assert (await desk.share(brochure_id="not-a-uuid")).status_code == 422
    survey = await desk.share(survey_id=str(uuid.uuid4()), brochure_id=None)
    # A survey is shared with one customer (tests/workbench/surveys/test_delivery_share.py).
    assert (survey.status_code, survey.json()["code"]) == (422, "share.customer_required")
    nothing = await desk.share(brochure_id=None)
    assert (nothing.status_code, nothing.json()["code"]) == (422, "share.one_target")
    huge = await desk.client.post(SHARES, json={"brochure_id": 10**30, "channel": "qr"},
                                  headers=desk.rm01)  # fmt: skip
    assert huge.status_code == 422


async def test_the_same_client_ref_gives_the_same_share(desk: Desk, db: Any):
    ref = str(uuid.uuid4())
    first = await desk.share(client_ref=ref, customer_id=str(desk.customer))
    again = await desk.share(client_ref=ref, customer_id=str(desk.customer))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    # The same id for something else, or by someone else, is a conflict, not a second share.
    other = await desk.share(client_ref=ref, channel="qr")
    assert (other.status_code, other.json()["code"]) == (409, "share.client_ref_reused")
    assert (await desk.share(desk.rm02, client_ref=ref)).status_code == 409
    assert await db.fetchval("select count(*) from shares") == 1


async def test_an_idempotency_key_gives_the_same_share(desk: Desk, db: Any):
    key = {**desk.rm01, "Idempotency-Key": "share-42"}
    first, again = await desk.share(key), await desk.share(key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    # Another RM's same key is their own.
    assert (await desk.share({**desk.rm02, "Idempotency-Key": "share-42"})).status_code == 201
    assert await db.fetchval("select count(*) from shares") == 2


async def test_a_client_ref_names_one_share_of_either_kind(desk: Desk, db: Any):
    # A client_ref (or key) used for a brochure share and then a survey share (or the reverse)
    # made two shares, and a survey share's client_ref resent with another channel answered that
    # channel, never stored.
    survey, second = await publish(db), await publish(db)

    def of_survey(survey_id: uuid.UUID, **body: Any) -> dict[str, Any]:
        return {"brochure_id": None, "survey_id": str(survey_id),
                "customer_id": str(desk.customer), **body}  # fmt: skip

    ref = str(uuid.uuid4())
    first = await desk.share(**of_survey(survey, client_ref=ref, channel="qr"))
    again = await desk.share(**of_survey(survey, client_ref=ref, channel="qr"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert first.json()["channel"] == "qr"
    for other in (
        of_survey(survey, client_ref=ref, channel="sms"),
        of_survey(second, client_ref=ref, channel="qr"),
        {"client_ref": ref, "customer_id": str(desk.customer), "channel": "qr"},  # a brochure
    ):
        reused = await desk.share(**other)
        assert (reused.status_code, reused.json()["code"]) == (409, "share.client_ref_reused")
    # The reverse: a brochure share's client_ref is not a survey share's.
    ref = str(uuid.uuid4())
    assert (await desk.share(client_ref=ref)).status_code == 201
    reused = await desk.share(**of_survey(second, client_ref=ref))
    assert (reused.status_code, reused.json()["code"]) == (409, "share.client_ref_reused")
    # And so are Idempotency-Keys, either way.
    key = {**desk.rm01, "Idempotency-Key": "share-7"}
    assert (await desk.share(key)).status_code == 201
    assert (await desk.share(key, **of_survey(second))).status_code == 409
    key = {**desk.rm01, "Idempotency-Key": "share-8"}
    assert (await desk.share(key, **of_survey(second))).status_code == 201
    assert (await desk.share(key, **of_survey(second, channel="link"))).status_code == 409
    assert (await desk.share(key)).status_code == 409
    assert await db.fetchval("select count(*) from shares") == 2
    assert await db.fetchval("select count(*) from survey_invitations") == 2


async def test_a_code_already_taken_is_drawn_again(desk: Desk, monkeypatch: pytest.MonkeyPatch):
    taken = (await desk.made())["code"]
    drawn = iter([taken, taken, "Zz9Yy8Xx7W"])
    monkeypatch.setattr(codes, "new_code", lambda: next(drawn))
    assert (await desk.made())["code"] == "Zz9Yy8Xx7W"


async def test_a_product_above_the_customers_risk_level_is_not_shared_with_them(desk: Desk, db):
    brochure = uuid.UUID(desk.brochure["id"])
    await db.execute(
        "update products set risk_level = 4 where code ="
        " (select product_code from brochure_versions where brochure_id = $1 limit 1)",
        brochure,
    )
    # ... as compliance approved it (another level than the approved one is live for no one).
    await db.execute(
        "update brochure_versions set approved_risk_level = 4 where brochure_id = $1", brochure
    )
    await db.execute("update customers set risk_level = 2 where id = $1", desk.customer)
    response = await desk.share(customer_id=str(desk.customer))
    assert (response.status_code, response.json()["code"]) == (422, "share.unsuitable")
    assert "R4" in response.json()["detail"]
    assert await db.fetchval("select count(*) from shares") == 0
    # A customer it suits, and a share to no one, still go ahead.
    await db.execute("update customers set risk_level = 4 where id = $1", desk.customer)
    assert (await desk.share(customer_id=str(desk.customer))).status_code == 201
    assert (await desk.share()).status_code == 201

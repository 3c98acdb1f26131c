"""What an approval covers and who may undo it (a compliance audit's findings):

1. Compliance withdrawing a published brochure gives a reason, kept with their decisions, and
   voids the approval: marketing cannot publish it again until compliance approves it anew.
   Marketing pausing it (a reason optional) keeps the approval.
2. A product feed that changes the product's risk level takes the brochure off RMs, links and
   devices until compliance approves it at the new level; a new name alone does not.
3. An approval covers the window submitted for review: publishing beyond it, or once it has
   passed (the demo's expired 双币理财 for years), needs a new review.
4. Every brochure decision is audited with the caller's address.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import feed, headers_of, product_row
from tests.helpers import FromPeer
from tests.sync.sync_data import App, ops
from tests.workbench.brochures.conftest import BROCHURES, STUDIO, Studio, ids, page_image
from tests.workbench.brochures.test_withdrawn_products import c5_customer, path_of, share
from workbench.brochures.demo import seed_demo_brochures_from_settings
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.seed import seed_demo_customers

pytestmark = pytest.mark.usefixtures("demo_bank")

REASON = "产品说明书已更新，收益表述不再准确"


async def staff(studio: Studio, brochure: str) -> dict[str, Any]:
    response = await studio.client.get(f"{STUDIO}/{brochure}", headers=studio.marketing)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def row_of(studio: Studio, brochure: str) -> dict[str, Any]:
    listed = await studio.client.get(STUDIO, headers=studio.marketing)
    assert listed.status_code == 200, listed.text
    return next(r for r in listed.json()["items"] if r["id"] == brochure)


def at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def refused(response: Any, code: str) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


# ---- 1. withdrawal ---------------------------------------------------------------------------


async def test_a_compliance_withdrawal_takes_a_reason_and_marketing_cannot_publish_it_again(
    studio: Studio, db: Any
) -> None:
    live = await studio.live(page_image())
    brochure = live["id"]
    # Compliance gives a reason, one that shows something and reads as typed.
    url = f"{BROCHURES}/{brochure}/unpublish"
    for body in ({}, {"reason": None}, {"reason": "   "}, {"reason": "\u200b"}):
        nothing = await studio.client.post(url, json=body, headers=studio.compliance)
        assert nothing.status_code == 422, nothing.text
        assert nothing.json()["code"] == "brochure.reason_required"
    reversed_ = await studio.act(brochure, "unpublish", "compliance", reason="原因\u202e反向")
    assert reversed_.status_code == 422, reversed_.text
    assert ids(await studio.catalogue()) == {brochure}  # nothing was taken down

    withdrawn = await studio.act(brochure, "unpublish", "compliance", reason=REASON)
    assert withdrawn.status_code == 200, withdrawn.text
    view = withdrawn.json()
    assert view["latest"]["status"] == "unpublished"
    assert view["latest"]["withdrawn"] is True
    assert view["latest"]["approved"] is False  # the approval is void
    assert view["latest"]["unpublish_reason"] == REASON
    assert view["withdrawal"]["reason"] == REASON
    assert [w["reason"] for w in view["withdrawals"]] == [REASON]
    assert await studio.catalogue() == []
    assert (await row_of(studio, brochure))["withdrawal_reason"] == REASON
    # Kept with compliance's decisions (the review history) and in the audit trail.
    decided = await db.fetch(
        "select decision, reason from brochure_reviews where brochure_id = $1 order by id",
        uuid.UUID(brochure),
    )
    assert [(r["decision"], r["reason"]) for r in decided] == [
        ("approved", None), ("withdrawn", REASON),
    ]  # fmt: skip
    audited = await db.fetchrow(
        "select detail->>'reason' as reason, detail->>'withdrawn' as withdrawn from audit_events"
        " where action = 'brochure.withdrawn' and subject = $1",
        f"brochure:{brochure}",
    )
    assert (audited["reason"], audited["withdrawn"]) == (REASON, "true")

    # Marketing alone cannot put it back, with or without a window.
    for body in ({}, {"live_until": at(30)}):
        again = await studio.act(brochure, "publish", "marketing", **body)
        assert "withdrew" in refused(again, "brochure.withdrawn")["detail"]
    assert await studio.catalogue() == []

    # A new submission and approval: then marketing publishes it again.
    resubmitted = await studio.act(brochure, "submit", "marketing")
    assert resubmitted.status_code == 200, resubmitted.text
    assert (resubmitted.json()["latest"]["version"], resubmitted.json()["latest"]["status"]) == (
        2, "pending_review",
    )  # fmt: skip
    assert resubmitted.json()["withdrawal"]["reason"] == REASON  # still in force
    refused(await studio.act(brochure, "publish", "marketing"), "brochure.not_approved")
    assert (await studio.act(brochure, "approve", "compliance")).status_code == 200
    published = await studio.act(brochure, "publish", "marketing")
    assert published.status_code == 200, published.text
    assert published.json()["withdrawal"] is None
    assert ids(await studio.catalogue()) == {brochure}


async def test_marketing_pauses_with_an_optional_reason_and_keeps_the_approval(
    studio: Studio,
) -> None:
    live = await studio.live(page_image())
    brochure = live["id"]
    paused = await studio.act(brochure, "unpublish", "marketing")  # an older app: no reason
    assert paused.status_code == 200, paused.text
    assert paused.json()["latest"]["approved"] is True
    assert paused.json()["latest"]["withdrawn"] is False
    assert (await studio.act(brochure, "publish", "marketing")).status_code == 200
    assert ids(await studio.catalogue()) == {brochure}

    paused = await studio.act(brochure, "unpublish", "marketing", reason="活动暂停")
    assert paused.status_code == 200, paused.text
    assert paused.json()["latest"]["unpublish_reason"] == "活动暂停"
    assert paused.json()["withdrawal"] is None
    # Compliance can still withdraw a brochure marketing paused: then it is theirs to release.
    withdrawn = await studio.act(brochure, "unpublish", "compliance", reason=REASON)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["latest"]["withdrawn"] is True
    refused(await studio.act(brochure, "publish", "marketing"), "brochure.withdrawn")


async def test_a_withdrawal_voids_an_approved_version_waiting_to_be_published(
    studio: Studio,
) -> None:
    live = await studio.live(page_image())
    brochure = live["id"]
    edited = await studio.edit(brochure, page_image(), talk_track="稳健理财。理财非存款。")
    assert edited.status_code == 200, edited.text
    for action, who in (("submit", "marketing"), ("approve", "compliance")):
        assert (await studio.act(brochure, action, who)).status_code == 200
    withdrawn = await studio.act(brochure, "unpublish", "compliance", reason=REASON)
    assert withdrawn.status_code == 200, withdrawn.text
    assert [(v["version"], v["status"], v["approved"]) for v in withdrawn.json()["versions"]] == [
        (2, "draft", False), (1, "unpublished", False),
    ]  # fmt: skip
    refused(await studio.act(brochure, "publish", "marketing"), "brochure.not_approved")
    assert await studio.catalogue() == []


async def test_an_admins_unpublishing_is_a_withdrawal_too(studio: Studio) -> None:
    live = await studio.live(page_image())
    brochure = live["id"]
    url = f"{BROCHURES}/{brochure}/unpublish"
    blank = await studio.client.post(url, json={}, headers=studio.admin)
    assert blank.status_code == 422, blank.text
    done = await studio.client.post(url, json={"reason": REASON}, headers=studio.admin)
    assert done.status_code == 200, done.text
    refused(await studio.act(brochure, "publish", "marketing"), "brochure.withdrawn")


async def test_an_older_apps_unpublish_without_a_body_still_withdraws(studio: Studio) -> None:
    """Before withdrawals took a reason, compliance's app sent no body: it still takes the
    brochure down (a withdrawal, its reason recorded as not given); a body must give one."""
    live = await studio.live(page_image())
    brochure = live["id"]
    bare = await studio.client.post(f"{BROCHURES}/{brochure}/unpublish", headers=studio.compliance)
    assert bare.status_code == 200, bare.text
    assert bare.json()["latest"]["withdrawn"] is True
    assert bare.json()["withdrawal"]["reason"] == "未说明原因"
    assert await studio.catalogue() == []
    refused(await studio.act(brochure, "publish", "marketing"), "brochure.withdrawn")


# ---- 2. the product's risk level ----------------------------------------------------------


async def test_a_new_risk_level_takes_the_brochure_off_until_compliance_approves_it_again(
    studio: Studio, db: Any
) -> None:
    live = await studio.live(page_image(), title="稳享90天", talk_track="适合C2及以上")
    brochure = live["id"]
    customer = await c5_customer(studio, db)
    made = await share(studio, brochure, customer)
    assert made.status_code == 201, made.text
    link = path_of(studio, made.json()["url"])
    assert (await studio.client.get(link)).status_code == 200
    app = App(studio.client, studio.rm, db, schema=3)
    await app.sync()
    assert set(app.rows("brochure")) == {brochure}

    await feed(studio.client, studio.admin, "products", [
        product_row("WM90", name="稳享90天（高波动）", risk_level="R5"),
    ])  # fmt: skip

    # RMs no longer get it: catalogue, by id, new shares, links already shared, devices.
    assert await studio.catalogue() == []
    assert (await studio.client.get(f"{BROCHURES}/{brochure}", headers=studio.rm)).status_code == (
        404
    )
    assert (await share(studio, brochure, customer)).status_code == 404
    gone = await studio.client.get(link)
    assert gone.status_code == 410
    assert "该资料已无法查看" in gone.text
    assert ops(await app.sync(), "brochure") == [("brochure", "delete", brochure)]
    # Marketing and compliance see why; marketing cannot publish it as it is.
    view = await staff(studio, brochure)
    assert view["risk_changed"] is True
    assert view["risk_level"] == "R5"
    assert view["published"]["approved_risk_level"] == "R2"
    assert (await row_of(studio, brochure))["risk_changed"] is True
    refused(await studio.act(brochure, "publish", "marketing"), "brochure.risk_changed")

    # Submitted again (the published version stays as it is) and approved at R5: live again.
    resubmitted = await studio.act(brochure, "submit", "marketing")
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["latest"]["version"] == 2
    queue = await studio.client.get(f"{STUDIO}/review-queue", headers=studio.compliance)
    assert [(r["id"], r["risk_changed"]) for r in queue.json()] == [(brochure, True)]
    approved = await studio.act(brochure, "approve", "compliance")
    assert approved.status_code == 200, approved.text
    assert approved.json()["latest"]["approved_risk_level"] == "R5"
    assert approved.json()["reviews"][0]["risk_level"] == "R5"
    assert (await studio.act(brochure, "publish", "marketing")).status_code == 200
    [item] = await studio.catalogue()
    assert (item["id"], item["risk_level"], item["version"]) == (brochure, "R5", 2)
    assert (await studio.client.get(link)).status_code == 200
    assert (await staff(studio, brochure))["risk_changed"] is False
    assert ops(await app.sync(), "brochure") == [("brochure", "upsert", brochure)]


async def test_a_new_product_name_alone_keeps_the_brochure_live(studio: Studio) -> None:
    live = await studio.live(page_image())
    await feed(studio.client, studio.admin, "products", [
        product_row("WM90", name="稳享90天（更名）", risk_level="R2"),
    ])  # fmt: skip
    [item] = await studio.catalogue()
    assert (item["id"], item["product_name"]) == (live["id"], "稳享90天（更名）")
    assert (await staff(studio, live["id"]))["risk_changed"] is False


# ---- 3. the approved window ---------------------------------------------------------------


async def test_an_approval_covers_the_window_submitted_and_no_more(studio: Studio, db: Any) -> None:
    made = await studio.upload(page_image())
    brochure = made["id"]
    until = at(30)
    submitted = await studio.act(brochure, "submit", "marketing", live_until=until)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["latest"]["requested_until"] == until.replace("+00:00", "Z")
    approved = await studio.act(brochure, "approve", "compliance")
    assert approved.json()["latest"]["approved_until"] == until.replace("+00:00", "Z")
    assert approved.json()["reviews"][0]["live_until"] == until.replace("+00:00", "Z")

    # Beyond the approved end, or for ever: refused, nothing published.
    body = refused(
        await studio.act(brochure, "publish", "marketing", live_until=at(365)),
        "brochure.beyond_approved_window",
    )
    assert "new review" in body["detail"]
    assert await studio.catalogue() == []
    # Within it: marketing's to publish; an end left out is the approved end.
    published = await studio.act(brochure, "publish", "marketing")
    assert published.status_code == 200, published.text
    assert published.json()["published"]["live_until"] == until.replace("+00:00", "Z")
    shorter = await studio.act(brochure, "publish", "marketing", live_until=at(10))
    assert shorter.status_code == 200, shorter.text
    refused(
        await studio.act(brochure, "publish", "marketing", live_until=at(31)),
        "brochure.beyond_approved_window",
    )

    # Once the approved window has passed, no new window revives it without a review.
    await db.execute(
        "update brochure_versions set live_until = now() - interval '1 day',"
        " approved_until = now() - interval '1 day' where brochure_id = $1",
        uuid.UUID(brochure),
    )
    assert await studio.catalogue() == []
    for window in ({"live_until": "2099-12-31T00:00:00+08:00"}, {}):
        refused(
            await studio.act(brochure, "publish", "marketing", **window),
            "brochure.approval_expired",
        )
    assert await studio.catalogue() == []
    # Submitted again for a new window: approved, published for it.
    again = await studio.act(brochure, "submit", "marketing", live_until=at(60))
    assert again.status_code == 200, again.text
    assert (await studio.act(brochure, "approve", "compliance")).status_code == 200
    assert (await studio.act(brochure, "publish", "marketing")).status_code == 200
    assert ids(await studio.catalogue()) == {brochure}


async def test_the_demo_banks_expired_brochure_is_not_revived_without_a_review(
    settings: Any, db: Any, make_client: Any, tmp_path: Any
) -> None:
    demo = replace(settings, blob_dir=str(tmp_path / "blobs"))
    await use_json_codecs(db)
    async with db.transaction():
        await seed_demo_customers(
            db, vault=Vault.from_settings(settings.data_keys, settings.blind_index_key)
        )
        assert await seed_demo_brochures_from_settings(db, demo) == {"brochures": 20}
    fx01 = await db.fetchval(
        "select brochure_id from brochure_versions where product_code = 'FX01'"
    )
    client = await make_client(blob_dir=demo.blob_dir)
    marketing = await headers_of(client, "marketing")
    revived = await client.post(
        f"{BROCHURES}/{fx01}/publish",
        json={"live_until": "2099-12-31T00:00:00+08:00"},
        headers=marketing,
    )
    refused(revived, "brochure.approval_expired")


# ---- 4. the caller's address ------------------------------------------------------------


async def test_every_brochure_decision_is_audited_with_the_callers_address(
    studio: Studio, db: Any
) -> None:
    studio.client._transport = FromPeer(studio.client, "203.0.113.7")
    live = await studio.live(page_image())
    brochure = live["id"]
    assert (await studio.act(brochure, "unpublish", "marketing")).status_code == 200
    assert (await studio.act(brochure, "publish", "marketing")).status_code == 200
    withdrawn = await studio.act(brochure, "unpublish", "compliance", reason=REASON)
    assert withdrawn.status_code == 200, withdrawn.text
    rows = await db.fetch(
        "select action, host(client_ip) as ip from audit_events where subject = $1 order by id",
        f"brochure:{brochure}",
    )
    assert [r["action"] for r in rows] == [
        "brochure.created", "brochure.submitted", "brochure.approved", "brochure.published",
        "brochure.unpublished", "brochure.published", "brochure.withdrawn",
    ]  # fmt: skip
    assert {r["ip"] for r in rows} == {"203.0.113.7"}

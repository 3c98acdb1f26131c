"""The RMs' catalogue: only approved, published and live versions, exactly within their window
(in the bank's time zone), owned on the RM's path to the head office, suitable for a customer
when asked; page renditions as signed URLs, and page images for the app's offline copy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.customers_data import customer_row, feed, headers_of
from tests.helpers import bearer, login
from tests.tasks_data import unit
from tests.workbench.brochures.conftest import BROCHURES, ids, multipart, page_image, rm_caller
from workbench.brochures import views
from workbench.db import use_json_codecs

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_a_brochure_is_live_exactly_from_live_from_until_live_until(studio, db):
    """09:00 Beijing time on a day is 01:00 UTC: live from that instant, gone at the end one."""
    made = await studio.upload(page_image())
    await studio.act(made["id"], "submit", "marketing")
    await studio.act(made["id"], "approve", "compliance")
    start = datetime.fromisoformat("2027-03-01T09:00:00+08:00")
    end = datetime.fromisoformat("2027-03-31T18:00:00+08:00")
    published = await studio.act(
        made["id"], "publish", "marketing",
        live_from=start.isoformat(), live_until=end.isoformat(),
    )  # fmt: skip
    assert published.status_code == 200, published.text
    assert published.json()["published"]["live_state"] == "scheduled"
    await use_json_codecs(db)
    rm = await rm_caller(db, "rm01")
    tick = timedelta(microseconds=1)

    async def listed(now: datetime) -> bool:
        page = await views.catalogue(
            db, caller=rm, filters=views.CatalogueFilters(), sign=str, cursor=None, limit=50,
            now=now,
        )  # fmt: skip
        return made["id"] in {str(i.id) for i in page.items}

    assert not await listed(start - tick)
    assert await listed(start)
    assert await listed(end - tick)
    assert not await listed(end)
    assert await studio.catalogue() == []  # today is before the window


async def test_rms_never_see_drafts_reviews_rejections_or_unpublished_ones(studio):
    draft = await studio.upload(page_image(), title="草稿")
    pending = await studio.upload(page_image(), title="待审")
    await studio.act(pending["id"], "submit", "marketing")
    rejected = await studio.upload(page_image(), title="退回")
    await studio.act(rejected["id"], "submit", "marketing")
    await studio.act(rejected["id"], "reject", "compliance", reason="不合规")
    approved = await studio.upload(page_image(), title="已通过未发布")
    await studio.act(approved["id"], "submit", "marketing")
    await studio.act(approved["id"], "approve", "compliance")
    live = await studio.live(page_image(), title="在售")
    hidden = [draft, pending, rejected, approved]
    assert ids(await studio.catalogue()) == {live["id"]}
    bh = await headers_of(studio.client, "bh.east")
    assert ids(await studio.catalogue(bh)) == {live["id"]}
    await studio.build_renditions()
    for brochure in hidden:
        assert (
            await studio.client.get(f"{BROCHURES}/{brochure['id']}", headers=studio.rm)
        ).status_code == 404
        page = await studio.client.get(
            f"{BROCHURES}/{brochure['id']}/pages/1/phone.webp", headers=studio.rm
        )
        assert page.status_code == 404
    image = await studio.client.get(
        f"{BROCHURES}/{live['id']}/pages/1/phone.webp", headers=studio.rm
    )
    assert image.status_code == 200, image.text
    assert image.headers["content-type"] == "image/webp"
    assert image.headers["x-image-id"] == live["pages"][0]["image"]
    partial = await studio.client.get(
        f"{BROCHURES}/{live['id']}/pages/1/phone.webp",
        headers={**studio.rm, "range": "bytes=0-9"},
    )
    assert partial.status_code == 206
    assert len(partial.content) == 10


async def test_pages_carry_signed_rendition_urls_once_built(studio):
    live = await studio.live(page_image(size=(1600, 2200)), page_image((90, 20, 20)))
    [before] = await studio.catalogue()
    assert all(p.get("phone") is None for p in before["pages"])  # not built yet: placeholders
    assert await studio.build_renditions() > 0
    [item] = await studio.catalogue()
    page = item["pages"][0]
    assert (page["width"], page["height"]) == (1600, 2200)
    for size, width in (("phone", 1080), ("tablet", 1600), ("thumb", 320)):
        assert page[size]["width"] == width
        for fmt in ("webp", "jpeg"):
            url = page[size][fmt]
            assert url.startswith("/media/")
            assert "sig=" in url
            fetched = await studio.client.get(url)  # no bearer needed: the signature is the key
            assert fetched.status_code == 200, url
    forged = page["phone"]["webp"].replace("sig=", "sig=A")
    assert (await studio.client.get(forged)).status_code == 404
    assert live["id"] == item["id"]


async def test_filters_and_suitability_for_a_customer(studio, db):
    cautious = await studio.live(page_image(), title="稳健", product_code="WM90", tags=["稳健"])
    bold = await studio.live(page_image(), title="成长", product_code="TECH01", tags=["成长"])
    cash = await studio.live(page_image(), title="现金", product_code="CASH01")
    assert ids(await studio.catalogue(tag="成长")) == {bold["id"]}
    assert ids(await studio.catalogue(risk_level="R2")) == {cautious["id"], cash["id"]}
    assert ids(await studio.catalogue(q="现金")) == {cash["id"]}  # title, product or talk track
    row = customer_row("SUIT-1", name="钱稳", seq=1, risk_level="C2", owner="rm01")
    await feed(studio.client, studio.admin, "customers", [row])
    customer = await db.fetchval("select id from customers where external_id = 'SUIT-1'")
    suitable = await studio.catalogue(customer_id=str(customer))
    assert ids(suitable) == {cautious["id"], cash["id"]}  # never R4 for a C2 customer
    other_rm = await headers_of(studio.client, "rm02")
    refused = await studio.client.get(
        BROCHURES, params={"customer_id": str(customer)}, headers=other_rm
    )
    assert refused.status_code == 404  # not rm02's customer


async def test_a_branchs_brochure_reaches_only_that_branchs_staff(studio):
    created = await studio.client.post(
        "/api/v1/admin/users",
        json={"login": "mkt.east", "name": "东城市场", "role": "marketing",
              "org_unit_id": str(unit("branch-east")), "password": "a-long-password-1"},
        headers=studio.admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    east_marketing = bearer(await login(studio.client, "mkt.east", password="a-long-password-1"))
    upload = await studio.client.post(
        BROCHURES,
        files=multipart('{"title": "东城专享", "product_code": "WM90"}', [page_image()]),
        headers=east_marketing,
    )  # fmt: skip
    assert upload.status_code == 201, upload.text
    brochure = upload.json()["id"]
    await studio.client.post(f"{BROCHURES}/{brochure}/submit", headers=east_marketing)
    await studio.act(brochure, "approve", "compliance")  # head office compliance: in scope
    assert (
        await studio.client.post(f"{BROCHURES}/{brochure}/publish", headers=east_marketing)
    ).status_code == 200
    east_rm, west_rm = studio.rm, await headers_of(studio.client, "rm05")
    assert ids(await studio.catalogue(east_rm)) == {brochure}
    assert ids(await studio.catalogue(west_rm)) == set()
    head_office = await studio.live(page_image(), title="总行通用")
    assert ids(await studio.catalogue(east_rm)) == {brochure, head_office["id"]}
    # The east branch's marketing does not manage head-office brochures.
    staff = await studio.client.get(
        f"/api/v1/studio/brochures/{head_office['id']}", headers=east_marketing
    )
    assert staff.status_code == 404

"""A brochure of a product the bank withdraws (the product feed sends it with `active: false`) is
no longer live anywhere an RM or a customer would meet it: the RM catalogue, the brochure by id
and its page downloads, new shares, the share page and poster of links already shared, the
offline copy on devices (sync) and the RMs' media packs. Marketing and compliance still see it
in the studio. Offered again, it is back everywhere while its window holds."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

import pytest

from sync.packages import jobs
from tests.console.conftest import console, make_console, signed_in  # noqa: F401
from tests.customers_data import customer_ids, customer_row, feed, product_row
from tests.sync.sync_data import App, fresh_state, ops
from tests.tasks_data import user
from tests.workbench.brochures.conftest import BROCHURES, STUDIO, Studio, ids, page_image
from workbench.db import create_pool
from workbench.media.store import LocalBlobStore

pytestmark = pytest.mark.usefixtures("demo_bank")

SHARES = "/api/v1/shares"
GOLD = "WM90"  # the studio's product (R2) that the bank withdraws
KEPT = "TECH01"  # another product (R4), still offered


async def offer(studio: Studio, *, active: bool) -> None:
    """The bank's product feed, as it sends the product: the same facts, `active` as told."""
    await feed(studio.client, studio.admin, "products", [
        product_row(GOLD, risk_level="R2", active=active),
    ])  # fmt: skip


async def c5_customer(studio: Studio, db: Any) -> uuid.UUID:
    """A customer of rm01's who may be offered any product (C5)."""
    await feed(studio.client, studio.admin, "customers", [
        customer_row("W-1", name="王五", owner="rm01", seq=1, risk_level="C5"),
    ])  # fmt: skip
    return (await customer_ids(db, ["W-1"]))["W-1"]


async def share(studio: Studio, brochure_id: str, customer: uuid.UUID) -> Any:
    return await studio.client.post(
        SHARES,
        json={"brochure_id": brochure_id, "customer_id": str(customer), "channel": "wechat"},
        headers=studio.rm,
    )


def path_of(studio: Studio, url: str) -> str:
    return url.removeprefix(studio.settings.public_base_url.rstrip("/"))


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "brochure.not_found"


async def test_the_console_marks_a_withdrawn_products_brochure(
    studio: Studio,
    console: Any,  # noqa: F811
) -> None:
    gold = await studio.live(page_image(), title="黄金积存")
    await offer(studio, active=False)
    await signed_in(console, "marketing")
    for path in ("/console/brochures", f"/console/brochures/{gold['id']}"):
        page = await console.get(path)
        assert page.status_code == 200, path
        assert page.text.count(">产品已停售</span>") == 1, path
    await offer(studio, active=True)
    assert "产品已停售" not in (await console.get("/console/brochures")).text


async def test_a_withdrawn_products_brochure_leaves_rms_and_links_and_comes_back(
    studio: Studio, db: Any
) -> None:
    gold = await studio.live(page_image(), title="黄金积存")
    kept = await studio.live(page_image((200, 60, 40)), title="科技成长", product_code=KEPT)
    customer = await c5_customer(studio, db)
    await studio.build_renditions()
    made = await share(studio, gold["id"], customer)
    assert made.status_code == 201, made.text
    link, poster = path_of(studio, made.json()["url"]), made.json()["poster_png_url"]
    assert (await studio.client.get(link)).status_code == 200
    assert (await studio.client.get(path_of(studio, poster), headers=studio.rm)).status_code == 200
    by_id = f"{BROCHURES}/{gold['id']}"
    page = f"{by_id}/pages/1/phone.webp"

    await offer(studio, active=False)

    # The RM's catalogue, also for the customer, no longer offers it; the other product's stays.
    assert ids(await studio.catalogue()) == {kept["id"]}
    assert ids(await studio.catalogue(customer_id=str(customer))) == {kept["id"]}
    assert ids(await studio.catalogue(q="黄金")) == set()
    # By id and its pages: as an unpublished brochure.
    assert (await studio.client.get(by_id, headers=studio.rm)).status_code == 404
    assert (await studio.client.get(page, headers=studio.rm)).status_code == 404
    # It cannot be shared any more.
    assert_not_found(await share(studio, gold["id"], customer))
    # The link already sent says the material is no longer available, and its poster is gone.
    gone = await studio.client.get(link)
    assert gone.status_code == 410
    assert "<title>该资料已无法查看" in gone.text
    assert "/media/" not in gone.text
    assert (await studio.client.get(f"{link}/pages")).status_code == 410
    assert_not_found(await studio.client.get(path_of(studio, poster), headers=studio.rm))
    # Marketing still finds it in the studio.
    staff = await studio.client.get(f"{STUDIO}/{gold['id']}", headers=studio.marketing)
    assert staff.status_code == 200, staff.text
    assert staff.json()["product_active"] is False  # flagged: live for no one
    listed = await studio.client.get(STUDIO, headers=studio.marketing)
    flags = {r["id"]: r["product_active"] for r in listed.json()["items"]}
    assert flags == {gold["id"]: False, kept["id"]: True}

    await offer(studio, active=True)

    assert ids(await studio.catalogue(customer_id=str(customer))) == {gold["id"], kept["id"]}
    assert (await studio.client.get(by_id, headers=studio.rm)).status_code == 200
    assert (await studio.client.get(page, headers=studio.rm)).status_code == 200
    assert (await share(studio, gold["id"], customer)).status_code == 201
    assert (await studio.client.get(link)).status_code == 200
    assert (await studio.client.get(path_of(studio, poster), headers=studio.rm)).status_code == 200
    staff = await studio.client.get(f"{STUDIO}/{gold['id']}", headers=studio.marketing)
    assert staff.json()["product_active"] is True


async def test_a_withdrawn_product_takes_its_brochure_off_devices_and_back(
    studio: Studio, db: Any
) -> None:
    gold = await studio.live(page_image(), title="黄金积存")
    kept = await studio.live(page_image((200, 60, 40)), title="科技成长", product_code=KEPT)
    app = App(studio.client, studio.rm, db, schema=3)
    await app.sync()
    assert set(app.rows("brochure")) == {gold["id"], kept["id"]}

    await offer(studio, active=False)
    assert ops(await app.sync(), "brochure") == [("brochure", "delete", gold["id"])]
    assert set(app.rows("brochure")) == {kept["id"]}
    assert app.local == await fresh_state(studio.client, studio.rm, db=db, schema=3)

    await offer(studio, active=True)
    assert ops(await app.sync(), "brochure") == [("brochure", "upsert", gold["id"])]
    assert set(app.rows("brochure")) == {gold["id"], kept["id"]}
    assert app.local == await fresh_state(studio.client, studio.rm, db=db, schema=3)


async def pack_titles(db: Any, store: LocalBlobStore, login: str) -> list[str]:
    """The titles in the RM's newest phone media pack."""
    row = await db.fetchrow(
        "select blob_key from offline_packages where owner_id = $1 and app_id = 'media-phone'"
        " order by version desc limit 1",
        user(login),
    )
    data = b"".join([c async for c in store.read(row["blob_key"])])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        index = json.loads(zf.read("files/index.json"))
    return sorted(b["title"] for b in index["brochures"])


async def test_a_withdrawn_products_brochure_leaves_the_rms_media_pack_and_comes_back(
    studio: Studio, db: Any
) -> None:
    await studio.live(page_image(), title="黄金积存")
    await studio.live(page_image((200, 60, 40)), title="科技成长", product_code=KEPT)
    await studio.build_renditions()
    store = LocalBlobStore(studio.blob_dir)
    pool = await create_pool(studio.settings.database_url, max_size=4)
    worker = {"settings": studio.settings, "pool": pool, "blobs": store,
              "media_pack_run_seconds": 600}  # fmt: skip
    try:
        assert await jobs.build_media_packs(worker) >= 1
        assert await pack_titles(db, store, "rm01") == ["科技成长", "黄金积存"]

        await offer(studio, active=False)
        assert await jobs.build_media_packs(worker) >= 1  # the catalogue changed: rebuilt
        assert await pack_titles(db, store, "rm01") == ["科技成长"]

        await offer(studio, active=True)
        assert await jobs.build_media_packs(worker) >= 1
        assert await pack_titles(db, store, "rm01") == ["科技成长", "黄金积存"]
    finally:
        await pool.close()

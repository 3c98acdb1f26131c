"""A refused upload or edit writes nothing to the blob store, however many of its pages were
fine (every page, and everything else the request is checked for, passes before any image is
written); the app's page images answer HEAD like GET, without the body."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.workbench.brochures.conftest import BROCHURES, STUDIO, meta, multipart, page_image

pytestmark = pytest.mark.usefixtures("demo_bank")


def png_page(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 400), (n * 40, 90, 160)).save(out, format="PNG")
    return out.getvalue()


GOOD = [png_page(n) for n in range(5)]


def files_in(folder: Path) -> set[Path]:
    """Every file of the blob store (sources, their metadata, renditions)."""
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


async def test_a_refused_upload_stores_none_of_its_good_pages(studio, db):
    before = files_in(studio.blob_dir)

    refused = await studio.client.post(
        BROCHURES, files=multipart(meta(), [*GOOD, b"junk"]), headers=studio.marketing
    )

    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "image.not_allowed"
    assert files_in(studio.blob_dir) == before
    assert await db.fetchval("select count(*) from brochures") == 0
    assert await db.fetchval("select count(*) from brochure_images") == 0
    # The same pages, all good: each is stored.
    made = await studio.upload(*GOOD)
    assert len(made["pages"]) == 5
    for page in made["pages"]:
        assert (studio.blob_dir / "brochures" / "src" / f"{page['image']}.png").is_file()


async def test_a_refused_edit_stores_none_of_its_good_pages(studio):
    made = await studio.upload(page_image())
    before = files_in(studio.blob_dir)

    refused = await studio.edit(made["id"], *GOOD, b"junk")

    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "image.not_allowed"
    assert files_in(studio.blob_dir) == before
    staff = (await studio.client.get(f"{STUDIO}/{made['id']}", headers=studio.marketing)).json()
    assert [p["image"] for p in staff["pages"]] == [p["image"] for p in made["pages"]]


async def test_an_edit_refused_after_its_pages_were_checked_stores_none(studio):
    """Every page is fine, but the version is under review: 409, and nothing written."""
    made = await studio.upload(page_image())
    assert (await studio.act(made["id"], "submit", "marketing")).status_code == 200
    before = files_in(studio.blob_dir)

    refused = await studio.edit(made["id"], *GOOD)

    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "brochure.in_review"
    assert files_in(studio.blob_dir) == before


async def test_head_on_a_page_image_answers_what_get_does_without_the_body(studio):
    live = await studio.live(page_image(size=(1600, 2200)))
    assert await studio.build_renditions() > 0
    url = f"{BROCHURES}/{live['id']}/pages/1/phone.webp"
    got = await studio.client.get(url, headers=studio.rm)
    assert got.status_code == 200, got.text

    asked = await studio.client.head(url, headers=studio.rm)

    assert asked.status_code == 200, asked.text
    assert asked.content == b""
    for header in ("content-length", "content-type", "etag", "accept-ranges", "x-image-id",
                   "cache-control"):  # fmt: skip
        assert asked.headers[header] == got.headers[header], header
    assert asked.headers["content-length"] == str(len(got.content))
    cached = await studio.client.head(
        url, headers={**studio.rm, "If-None-Match": got.headers["etag"]}
    )
    assert cached.status_code == 304
    assert (await studio.client.head(url)).status_code == 401
    for missing in (f"{BROCHURES}/{live['id']}/pages/2/phone.webp",
                    f"{BROCHURES}/{live['id']}/pages/1/poster.jpeg"):  # fmt: skip
        gone = await studio.client.head(missing, headers=studio.rm)
        assert gone.status_code == 404, missing
        assert gone.content == b""

"""The app's page images (`GET /api/v1/brochures/{id}/pages/{n}/{size}.{webp|jpeg}`) are
labelled with their format: a JPEG as image/jpeg, a WebP as image/webp, whole or in part. (JPEG
bytes labelled image/webp, with `nosniff`, are not shown by a client that trusts the label.)"""

from __future__ import annotations

import pytest

from tests.workbench.brochures.conftest import BROCHURES, page_image

pytestmark = pytest.mark.usefixtures("demo_bank")

SIGNATURES = {"jpeg": b"\xff\xd8\xff", "webp": b"RIFF"}


@pytest.mark.parametrize("size", ["phone", "tablet", "thumb"])
async def test_each_rendition_is_labelled_with_its_own_format(studio, size):
    live = await studio.live(page_image(size=(1600, 2200)))
    assert await studio.build_renditions() > 0
    for fmt in ("jpeg", "webp"):
        url = f"{BROCHURES}/{live['id']}/pages/1/{size}.{fmt}"
        whole = await studio.client.get(url, headers=studio.rm)
        assert whole.status_code == 200, (url, whole.text)
        assert whole.headers["content-type"] == f"image/{fmt}", url
        assert whole.headers["x-content-type-options"] == "nosniff"
        assert whole.content.startswith(SIGNATURES[fmt]), url
        assert whole.headers["x-image-id"] == live["pages"][0]["image"]

        part = await studio.client.get(url, headers={**studio.rm, "range": "bytes=0-99"})
        assert part.status_code == 206, (url, part.text)
        assert part.headers["content-type"] == f"image/{fmt}", url
        assert part.content == whole.content[:100]

        etag = whole.headers["etag"]
        again = await studio.client.get(url, headers={**studio.rm, "if-none-match": etag})
        assert again.status_code == 304, url


async def test_an_unknown_format_or_size_is_404_not_mislabelled(studio):
    live = await studio.live(page_image())
    await studio.build_renditions()
    for rendition in ("phone.png", "phone", "poster.jpeg", "phone.JPEG"):
        response = await studio.client.get(
            f"{BROCHURES}/{live['id']}/pages/1/{rendition}", headers=studio.rm
        )
        assert response.status_code == 404, (rendition, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")

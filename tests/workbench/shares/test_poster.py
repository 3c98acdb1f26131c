"""GET /shares/{id}/poster.png: a phone poster of the share (first page, title, the RM's name,
the QR code of its link), drawn once and cached; only the RM and their branch head get it."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from tests.customers_data import feed, headers_of, product_row
from tests.workbench.brochures.conftest import page_image
from tests.workbench.shares.conftest import PAGE_COLOUR, Desk
from workbench.shares import poster as poster_module

pytestmark = pytest.mark.usefixtures("demo_bank")


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], slack: int = 12) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(pixel, colour, strict=False))


async def test_the_poster_shows_the_first_page_and_differs_per_share(desk: Desk):
    first, second = await desk.made(), await desk.made()
    response = await desk.get(first["poster_png_url"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert "max-age=86400" in response.headers["cache-control"]
    with Image.open(io.BytesIO(response.content)) as poster:
        assert (poster.format, poster.size) == ("PNG", (750, 1334))
        assert near(poster.convert("RGB").getpixel((375, 500)), PAGE_COLOUR)
        # its band wears the colour of the page the customer lands on
        assert near(poster.convert("RGB").getpixel((375, 20)), poster_module.BRAND)
    other = await desk.get(second["poster_png_url"])
    assert other.status_code == 200
    assert other.content != response.content
    # Drawn once: asked again (or revalidated) it is the same stored image.
    etag = response.headers["etag"]
    assert (await desk.get(first["poster_png_url"])).content == response.content
    unchanged = await desk.get(
        first["poster_png_url"], headers={**desk.rm01, "If-None-Match": etag}
    )
    assert unchanged.status_code == 304


async def test_the_poster_is_drawn_from_the_phone_rendition_once_it_is_built(desk: Desk):
    made = await desk.made()
    before = await desk.get(made["poster_png_url"])
    assert await desk.studio.build_renditions() > 0
    after = await desk.get(made["poster_png_url"])
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    with Image.open(io.BytesIO(after.content)) as poster:
        assert near(poster.convert("RGB").getpixel((375, 500)), PAGE_COLOUR)


async def test_only_the_rm_and_their_branch_head_get_the_poster(desk: Desk):
    made = await desk.made()
    url = made["poster_png_url"]
    assert (await desk.get(url, await headers_of(desk.client, "bh.east"))).status_code == 200
    for who in ("rm02", "bh.west"):
        response = await desk.get(url, await headers_of(desk.client, who))
        assert (response.status_code, response.json()["code"]) == (404, "share.not_found"), who
    assert (await desk.get(url, desk.studio.marketing)).status_code == 403
    missing = url.replace(made["id"], str(uuid.uuid4()))
    assert (await desk.get(missing)).status_code == 404


def _foot(png: bytes) -> bytes:
    """The poster's last strip, where the risk note is drawn."""
    with Image.open(io.BytesIO(png)) as drawn:
        return drawn.convert("RGB").crop((0, 1299, 750, 1334)).tobytes()


async def test_the_poster_says_the_risk_note_of_its_products_category(desk: Desk):
    # A deposit's poster must not tell the customer "理财非存款": it carries the note the
    # brochure's page shows for the product's category, as a wealth product's does its own.
    products = [product_row("DEP1Y", category="deposit", risk_level="R1")]
    await feed(desk.client, desk.studio.admin, "products", products)
    deposit = await desk.studio.live(page_image(PAGE_COLOUR), title="一年期大额存单",
                                     product_code="DEP1Y")  # fmt: skip
    for brochure, note in (
        (deposit, "存款产品受《存款保险条例》保护，以银行公告为准"),
        (desk.brochure, "理财非存款，产品有风险，投资须谨慎"),
    ):
        made = await desk.made(brochure_id=brochure["id"])
        served = await desk.get(made["poster_png_url"])
        assert served.status_code == 200
        facts = poster_module.PosterFacts(bank="", title="", rm_name="", url="x", note=note)
        assert _foot(served.content) == _foot(poster_module.draw(facts, None)), note
    wrong = poster_module.PosterFacts(bank="", title="", rm_name="", url="x",
                                      note="理财非存款，产品有风险，投资须谨慎")  # fmt: skip
    deposit_share = await desk.made(brochure_id=deposit["id"])
    assert _foot((await desk.get(deposit_share["poster_png_url"])).content) != _foot(
        poster_module.draw(wrong, None)
    )

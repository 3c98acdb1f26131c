"""A share link shows the brochure's version live now: the shared version while it is live, the
version that replaced it once that took over (at a scheduled `live_from`, or at once), on the
page, its og:image, its fresh page URLs and the share's poster; 410 only when nothing is live."""

from __future__ import annotations

import html as html_module
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from tests.workbench.brochures.conftest import page_image
from tests.workbench.shares.conftest import PAGE_COLOUR, Desk
from workbench.tracking import viewer

pytestmark = pytest.mark.usefixtures("demo_bank")

NEW_COLOUR = (200, 40, 40)  # the first page of the version that replaces the shared one
NEW_TITLE = "稳享90天（修订版）"


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], slack: int = 16) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(pixel, colour, strict=False))


def centre_of(image: bytes) -> tuple[int, ...]:
    with Image.open(io.BytesIO(image)) as opened:
        rgb = opened.convert("RGB")
        pixel: tuple[int, ...] = rgb.getpixel((rgb.width // 2, rgb.height // 2))
        return pixel


def og_image(page: str) -> str:
    found = re.search(r'<meta property="og:image" content="([^"]+)">', page)
    assert found, page
    return html_module.unescape(found.group(1))


async def replaced_by_a_scheduled_version(desk: Desk, starts: datetime) -> None:
    """Marketing edits the live brochure (a new title and first page, a second page),
    compliance approves, and it is published to go live at `starts`."""
    brochure = desk.brochure["id"]
    edited = await desk.studio.edit(
        brochure, page_image(NEW_COLOUR), page_image((30, 160, 60)), title=NEW_TITLE
    )
    assert edited.status_code == 200, edited.text
    for action, who in (("submit", "marketing"), ("approve", "compliance")):
        response = await desk.studio.act(brochure, action, who)
        assert response.status_code == 200, response.text
    published = await desk.studio.act(
        brochure, "publish", "marketing", live_from=starts.isoformat()
    )
    assert published.status_code == 200, published.text
    assert await desk.studio.build_renditions() > 0


async def time_passes_to_the_start(db: Any, brochure_id: str) -> None:
    """The scheduled start came a moment ago (as it comes by itself: nothing runs at it)."""
    await db.execute(
        """
        update brochure_versions
           set replaced_at = case when status = 'superseded' then now() - interval '1 second'
                             end,
               live_from = case when status = 'published' then now() - interval '1 second'
                           else live_from end
         where brochure_id = $1
        """,
        uuid.UUID(brochure_id),
    )


async def test_a_link_shows_the_version_that_replaced_the_shared_one_from_its_start(desk: Desk, db):
    await desk.studio.build_renditions()
    made = await desk.made()
    code = made["code"]
    before = await desk.get(made["url"])
    assert before.status_code == 200, before.text
    assert "<h1>稳享90天</h1>" in before.text
    old_poster = await desk.get(made["poster_png_url"])
    assert near(centre_of(old_poster.content), PAGE_COLOUR)

    starts = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    await replaced_by_a_scheduled_version(desk, starts)

    # Until the start the shared version is the one live, behind the link as in the catalogue.
    waiting = await desk.get(made["url"])
    assert "<h1>稳享90天</h1>" in waiting.text
    assert NEW_TITLE not in waiting.text
    assert (await desk.get(made["poster_png_url"])).content == old_poster.content
    # The hand-over, to the microsecond: the link follows the catalogue.
    tick = timedelta(microseconds=1)
    for moment, title, pages in ((starts - tick, "稳享90天", 1), (starts, NEW_TITLE, 2)):
        looked = await viewer.find(db, code, now=moment, sign=str)
        assert looked.found is viewer.Found.LIVE
        assert looked.shown is not None
        assert (looked.shown.title, len(looked.shown.pages)) == (title, pages)

    await time_passes_to_the_start(db, desk.brochure["id"])
    [item] = await desk.studio.catalogue()
    assert item["title"] == NEW_TITLE  # what RMs see now

    page = await desk.get(made["url"])
    assert page.status_code == 200, page.text
    assert f"<h1>{NEW_TITLE}</h1>" in page.text
    assert f'<meta property="og:title" content="{NEW_TITLE}">' in page.text
    assert "<h1>稳享90天</h1>" not in page.text
    images = re.findall(r'<img class="page" data-page="(\d)" src="(/media/[^"]+)"', page.text)
    assert [n for n, _ in images] == ["1", "2"]
    first = await desk.client.get(html_module.unescape(images[0][1]))
    assert first.status_code == 200
    assert near(centre_of(first.content), NEW_COLOUR)  # the new first page, not the old one
    preview = og_image(page.text)
    assert preview.endswith(html_module.unescape(images[0][1]))
    # Fresh URLs for a page left open: the new version's pages.
    fresh = await desk.client.get(f"/s/{code}/pages")
    assert fresh.status_code == 200
    assert [p["page"] for p in fresh.json()["pages"]] == [1, 2]
    # The poster the RM sends is drawn again from the new title and first page.
    poster = await desk.get(made["poster_png_url"])
    assert poster.status_code == 200, poster.text
    assert poster.headers["etag"] != old_poster.headers["etag"]
    assert near(centre_of(poster.content), NEW_COLOUR)


async def test_a_version_published_at_once_takes_over_every_link_and_unpublishing_ends_them(
    desk: Desk,
):
    made = await desk.made()
    brochure = desk.brochure["id"]
    edited = await desk.studio.edit(brochure, title=NEW_TITLE)
    assert edited.status_code == 200, edited.text
    for action, who in (("submit", "marketing"), ("approve", "compliance"),
                        ("publish", "marketing")):  # fmt: skip
        response = await desk.studio.act(brochure, action, who)
        assert response.status_code == 200, response.text

    page = await desk.get(made["url"])
    assert page.status_code == 200
    assert f"<h1>{NEW_TITLE}</h1>" in page.text

    unpublished = await desk.studio.act(brochure, "unpublish", "marketing")
    assert unpublished.status_code == 200, unpublished.text
    gone = await desk.get(made["url"])
    assert gone.status_code == 410
    assert "请联系您的客户经理 张伟" in gone.text
    assert (await desk.client.get(f"/s/{made['code']}/pages")).status_code == 410
    assert (await desk.get(made["poster_png_url"])).status_code == 404

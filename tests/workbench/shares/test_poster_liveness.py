"""A share's poster follows the share page's live rule: once its brochure is unpublished or past
its window, the poster (which shows the first page) is gone as well, drawn before or not."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.shares.conftest import Desk

pytestmark = pytest.mark.usefixtures("demo_bank")


async def expire(db: Any, brochure_id: str) -> None:
    """The brochure's window ended a moment ago (as a `live_until` reached by itself)."""
    await db.execute(
        "update brochure_versions set live_until = now() - interval '1 second'"
        " where brochure_id = $1 and status = 'published'",
        uuid.UUID(brochure_id),
    )


def assert_gone(response: Any) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "brochure.not_found"
    assert "no longer live" in response.json()["detail"]


def posters_of(desk: Desk, share_id: str) -> list[Any]:
    return list((desk.studio.blob_dir / "shares" / "posters").glob(f"{share_id}-*.png"))


async def test_an_expired_brochures_poster_is_gone_as_its_page_is(desk: Desk, db):
    drawn, never_asked = await desk.made(), await desk.made()
    first = await desk.get(drawn["poster_png_url"])
    assert first.status_code == 200

    await expire(db, desk.brochure["id"])

    assert (await desk.get(drawn["url"])).status_code == 410  # the share page
    assert_gone(await desk.get(drawn["poster_png_url"]))
    # Revalidating the copy the app holds is no way round it.
    etag = first.headers["etag"]
    assert_gone(await desk.get(drawn["poster_png_url"], {**desk.rm01, "If-None-Match": etag}))
    # A poster never asked for is not drawn now.
    assert_gone(await desk.get(never_asked["poster_png_url"]))
    assert posters_of(desk, never_asked["id"]) == []
    # The branch head gets the same answer.
    bh = await headers_of(desk.client, "bh.east")
    assert_gone(await desk.get(drawn["poster_png_url"], bh))


async def test_an_unpublished_brochures_poster_is_gone_and_others_still_see_nothing(desk: Desk):
    made = await desk.made()
    unpublished = await desk.studio.act(desk.brochure["id"], "unpublish", "marketing")
    assert unpublished.status_code == 200, unpublished.text

    assert (await desk.get(made["url"])).status_code == 410
    assert_gone(await desk.get(made["poster_png_url"]))
    assert posters_of(desk, made["id"]) == []
    # Someone who may not see the share still learns nothing of its brochure.
    other = await desk.get(made["poster_png_url"], desk.rm02)
    assert (other.status_code, other.json()["code"]) == (404, "share.not_found")

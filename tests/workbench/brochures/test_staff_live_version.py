"""Staff see what RMs get: while a new version published to start later waits for its start,
the version it replaces is the one live (`live`, `live_version`), beside the published one that
is scheduled (`published`, `published_version` and `live_state` keep their meaning)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.workbench.brochures.conftest import STUDIO, page_image, rm_caller
from tests.workbench.brochures.test_workflow import approved_new_version
from workbench.brochures import views
from workbench.db import use_json_codecs


def row_of(items: list[dict[str, Any]], brochure: str) -> dict[str, Any]:
    [row] = [i for i in items if i["id"] == brochure]
    return row


async def test_a_scheduled_version_is_shown_beside_the_one_still_live(studio, db):
    first = await studio.live(page_image(), title="第一版")
    brochure = first["id"]
    await approved_new_version(studio, brochure, "第二版")
    starts = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    published = await studio.act(brochure, "publish", "marketing", live_from=starts.isoformat())
    assert published.status_code == 200, published.text

    # RMs get version 1 until version 2 starts.
    [item] = await studio.catalogue()
    assert item["version"] == 1

    staff = (await studio.client.get(f"{STUDIO}/{brochure}", headers=studio.marketing)).json()
    assert (staff["published"]["version"], staff["published"]["live_state"]) == (2, "scheduled")
    live = staff["live"]
    assert (live["version"], live["status"], live["live_state"]) == (1, "superseded", "live")
    assert datetime.fromisoformat(live["replaced_at"]) == starts  # when it makes way

    listed = await studio.client.get(STUDIO, headers=studio.marketing)
    row = row_of(listed.json()["items"], brochure)
    assert (row["version"], row["status"]) == (2, "published")
    assert (row["published_version"], row["live_state"]) == (2, "scheduled")
    assert row["live_version"] == 1
    assert datetime.fromisoformat(row["live_version_until"]) == starts

    # A third version under review: the queue says the same of what is live and published.
    third = await studio.edit(brochure, title="第三版")
    assert third.status_code == 200, third.text
    assert (await studio.act(brochure, "submit", "marketing")).status_code == 200
    queue = await studio.client.get(f"{STUDIO}/review-queue", headers=studio.compliance)
    assert queue.status_code == 200, queue.text
    row = row_of(queue.json(), brochure)
    assert (row["version"], row["published_version"], row["live_state"]) == (3, 2, "scheduled")
    assert (row["live_version"], datetime.fromisoformat(row["live_version_until"])) == (1, starts)

    # From its start, version 2 is the live one, for staff as for RMs.
    await use_json_codecs(db)
    marketing = await rm_caller(db, "marketing")
    page = await views.staff_list(
        db, caller=marketing, statuses=None, q=None, cursor=None, limit=50, now=starts
    )
    [row_now] = [r for r in page.items if str(r.id) == brochure]
    assert (row_now.live_version, row_now.published_version) == (2, 2)
    assert row_now.live_state is not None
    assert row_now.live_state.value == "live"
    view = await views.staff_brochure(
        db, caller=marketing, brochure_id=row_now.id, sign=str, now=starts
    )
    assert view.live is not None
    assert view.live.version == 2


async def test_a_live_published_version_is_the_live_one_and_nothing_live_is_none(studio):
    live = await studio.live(page_image(), title="在线")
    draft = await studio.upload(page_image((200, 40, 40)), title="草稿")
    items = (await studio.client.get(STUDIO, headers=studio.marketing)).json()["items"]
    row = row_of(items, live["id"])
    assert (row["published_version"], row["live_version"], row["live_version_until"]) == (
        1, 1, None,
    )  # fmt: skip
    assert row_of(items, draft["id"])["live_version"] is None
    staff = (await studio.client.get(f"{STUDIO}/{live['id']}", headers=studio.marketing)).json()
    assert staff["live"]["version"] == staff["published"]["version"] == 1

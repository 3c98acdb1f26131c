"""The compliance workflow over HTTP: upload, edit, submit, approve or reject, publish; an
approval bound to the exact content; a new version under review while the old one stays live;
every transition audited; RMs see only what is approved and live."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers import bearer, login
from tests.workbench.brochures.conftest import (
    BROCHURES,
    STUDIO,
    ids,
    meta,
    multipart,
    page_image,
    rm_caller,
)
from workbench.brochures import views
from workbench.db import use_json_codecs

pytestmark = pytest.mark.usefixtures("demo_bank")


def status_of(body: dict[str, Any]) -> str:
    status: str = body["latest"]["status"]
    return status


def stored_files(folder: Path) -> list[Path]:
    """The blobs written (page images and renditions)."""
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def error_paths(response: Any) -> list[str]:
    return [e["path"] for e in response.json().get("errors") or []]


async def approved_new_version(studio: Any, brochure: str, title: str) -> None:
    """An edit of a published brochure (a new version), submitted and approved."""
    edited = await studio.edit(brochure, title=title)
    assert edited.status_code == 200, edited.text
    for action, who in (("submit", "marketing"), ("approve", "compliance")):
        response = await studio.act(brochure, action, who)
        assert response.status_code == 200, response.text


async def test_a_brochure_goes_from_upload_to_the_rms_catalogue_and_only_then(studio, db):
    made = await studio.upload(page_image(), page_image((200, 40, 40)), title="稳享90天")
    assert status_of(made) == "draft"
    assert [p["number"] for p in made["pages"]] == [1, 2]
    brochure = made["id"]
    for action, who, status in (
        ("submit", "marketing", "pending_review"),
        ("approve", "compliance", "approved"),
    ):
        assert await studio.catalogue() == []
        assert (
            await studio.client.get(f"{BROCHURES}/{brochure}", headers=studio.rm)
        ).status_code == 404
        response = await studio.act(brochure, action, who)
        assert response.status_code == 200, response.text
        assert status_of(response.json()) == status
    assert await studio.catalogue() == []
    published = await studio.act(brochure, "publish", "marketing")
    assert published.status_code == 200, published.text
    assert published.json()["published"]["live_state"] == "live"

    [item] = await studio.catalogue()
    assert item["id"] == brochure
    assert (item["title"], item["product_code"], item["risk_level"]) == ("稳享90天", "WM90", "R2")
    assert item["product_name"]
    assert item["category"]
    one = await studio.client.get(f"{BROCHURES}/{brochure}", headers=studio.rm)
    assert one.status_code == 200
    assert one.json()["version"] == 1

    actions = await db.fetch(
        "select action, actor_id, detail from audit_events where subject = $1 order by id",
        f"brochure:{brochure}",
    )
    assert [a["action"] for a in actions] == [
        "brochure.created", "brochure.submitted", "brochure.approved", "brochure.published",
    ]  # fmt: skip


async def test_a_rejection_carries_its_reason_and_an_edit_makes_a_draft_again(studio, db):
    made = await studio.upload(page_image())
    await studio.act(made["id"], "submit", "marketing")
    # A reason that shows nothing is refused as spaces are: marketing would read an empty one.
    for blank in ("   ", "\u200b", "\u200b\u2060\ufeff \u200d"):
        nothing = await studio.act(made["id"], "reject", "compliance", reason=blank)
        assert nothing.status_code == 422, nothing.text
        assert nothing.json()["code"] == "brochure.reason_required"
        assert [e["path"] for e in nothing.json()["errors"]] == ["$.reason"]
    # Marketing would read 原因\u202e反向 as 原因向反: a reason reads as typed or is refused.
    reversed_ = await studio.act(made["id"], "reject", "compliance", reason="原因\u202e反向")
    assert reversed_.status_code == 422, reversed_.text
    assert [e["path"] for e in reversed_.json()["errors"]] == ["$.reason"]
    refused = await studio.act(made["id"], "reject", "compliance", reason="缺少风险提示")
    assert refused.status_code == 200, refused.text
    assert status_of(refused.json()) == "rejected"
    assert refused.json()["latest"]["reject_reason"] == "缺少风险提示"
    assert (await studio.act(made["id"], "publish", "marketing")).json()["code"] == (
        "brochure.not_approved"
    )
    edited = await studio.edit(made["id"], talk_track="稳健理财。理财非存款，产品有风险。")
    assert edited.status_code == 200, edited.text
    assert status_of(edited.json()) == "draft"
    reason = await db.fetchval(
        "select detail->>'reason' from audit_events where action = 'brochure.rejected'"
    )
    assert reason == "缺少风险提示"


async def test_an_approval_is_voided_by_a_one_character_or_one_pixel_change_only(studio):
    made = await studio.upload(page_image(), talk_track="稳健理财")
    await studio.act(made["id"], "submit", "marketing")
    await studio.act(made["id"], "approve", "compliance")

    # A save that changes nothing keeps the approval.
    same = await studio.edit(made["id"], talk_track="稳健理财")
    assert status_of(same.json()) == "approved"
    assert same.json()["latest"]["approved"] is True

    changed = await studio.edit(made["id"], talk_track="稳健理财!")
    assert status_of(changed.json()) == "draft"
    assert changed.json()["latest"]["approved"] is False
    publish = await studio.act(made["id"], "publish", "marketing")
    assert publish.status_code == 409
    assert publish.json()["code"] == "brochure.not_approved"

    # Approved again, then one pixel of the page changes.
    await studio.edit(made["id"], talk_track="稳健理财")
    await studio.act(made["id"], "submit", "marketing")
    await studio.act(made["id"], "approve", "compliance")
    image = Image.open(io.BytesIO(page_image())).convert("RGB")
    image.putpixel((0, 0), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    repainted = await studio.edit(made["id"], out.getvalue(), talk_track="稳健理财")
    assert status_of(repainted.json()) == "draft"
    assert repainted.json()["latest"]["content_hash"] != changed.json()["latest"]["content_hash"]


async def test_a_new_version_is_reviewed_while_the_old_one_stays_live(studio):
    first = await studio.live(page_image(), title="第一版")
    brochure = first["id"]
    edited = await studio.edit(brochure, title="第二版")
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["latest"]["version"], body["latest"]["status"]) == (2, "draft")
    assert body["published"]["version"] == 1
    await studio.act(brochure, "submit", "marketing")
    # Under review, the version cannot be edited; the catalogue still shows version 1.
    assert (await studio.edit(brochure, title="第三版")).json()["code"] == "brochure.in_review"
    [item] = await studio.catalogue()
    assert (item["version"], item["title"]) == (1, "第一版")
    await studio.act(brochure, "approve", "compliance")
    assert (await studio.act(brochure, "publish", "marketing")).status_code == 200
    [item] = await studio.catalogue()
    assert (item["version"], item["title"]) == (2, "第二版")
    staff = (await studio.client.get(f"{STUDIO}/{brochure}", headers=studio.marketing)).json()
    assert [(v["version"], v["status"]) for v in staff["versions"]] == [
        (2, "published"), (1, "superseded"),
    ]  # fmt: skip


async def test_unpublished_and_expired_brochures_leave_the_catalogue(studio, db):
    live = await studio.live(page_image())
    assert ids(await studio.catalogue()) == {live["id"]}
    withdrawn = await studio.act(live["id"], "unpublish", "compliance", reason="产品说明书已更新")
    assert withdrawn.status_code == 200, withdrawn.text
    assert await studio.catalogue() == []
    assert (
        await studio.client.get(f"{BROCHURES}/{live['id']}", headers=studio.rm)
    ).status_code == 404

    other = await studio.live(page_image((10, 120, 60)), title="即将到期")
    await db.execute(
        "update brochure_versions set live_until = now() - interval '1 second'"
        " where brochure_id = $1",
        __import__("uuid").UUID(other["id"]),
    )
    assert await studio.catalogue() == []


async def test_compliance_cannot_review_what_they_uploaded_themselves(studio):
    # A marketing colleague moves to compliance: what they uploaded, someone else reviews.
    created = await studio.client.post(
        "/api/v1/admin/users",
        json={"login": "zhou.mkt", "name": "周敏", "role": "marketing",
              "org_unit_id": studio.marketing_unit, "password": "a-long-password-1"},
        headers=studio.admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    author = bearer(await login(studio.client, "zhou.mkt", password="a-long-password-1"))
    upload = await studio.client.post(
        BROCHURES,
        data={"meta": '{"title": "自审", "product_code": "WM90"}'},
        files=[("pages", ("p.jpg", page_image(), "image/jpeg"))],
        headers=author,
    )
    assert upload.status_code == 201, upload.text
    brochure = upload.json()["id"]
    assert (
        await studio.client.post(f"{BROCHURES}/{brochure}/submit", headers=author)
    ).status_code == 200
    moved = await studio.client.post(
        "/api/v1/admin/users",
        json={"id": created.json()["id"], "login": "zhou.mkt", "name": "周敏", "role": "compliance",
              "org_unit_id": studio.marketing_unit, "password": "a-long-password-1"},
        headers=studio.admin,
    )  # fmt: skip
    assert moved.status_code in (200, 201), moved.text
    reviewer = bearer(await login(studio.client, "zhou.mkt", password="a-long-password-1"))
    refused = await studio.client.post(f"{BROCHURES}/{brochure}/approve", headers=reviewer)
    assert refused.status_code == 403, refused.text
    assert (await studio.act(brochure, "approve", "compliance")).status_code == 200


async def test_roles_are_kept_apart(studio):
    made = await studio.upload(page_image())
    brochure = made["id"]
    assert (
        await studio.client.post(BROCHURES, data={"meta": "{}"}, headers=studio.rm)
    ).status_code == 403
    assert (await studio.act(brochure, "submit", "compliance")).status_code == 403
    await studio.act(brochure, "submit", "marketing")
    assert (await studio.act(brochure, "approve", "marketing")).status_code == 403
    assert (await studio.client.get(STUDIO, headers=studio.rm)).status_code == 403
    assert (await studio.client.get(BROCHURES, headers=studio.marketing)).status_code == 403


async def test_a_bad_page_or_product_is_refused_and_nothing_is_stored(studio, db):
    tiff = io.BytesIO()
    Image.new("RGB", (50, 50), "red").save(tiff, format="TIFF")
    refused = await studio.client.post(
        BROCHURES,
        data={"meta": '{"title": "伪装", "product_code": "WM90"}'},
        files=[("pages", ("page.jpg", tiff.getvalue(), "image/jpeg"))],
        headers=studio.marketing,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "image.not_allowed"
    unknown = await studio.client.post(
        BROCHURES,
        data={"meta": '{"title": "无此产品", "product_code": "NOPE"}'},
        files=[("pages", ("page.jpg", page_image(), "image/jpeg"))],
        headers=studio.marketing,
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "brochure.unknown_product"
    nul = await studio.client.post(
        BROCHURES,
        data={"meta": '{"title": "a\\u0000b", "product_code": "WM90"}'},
        files=[("pages", ("page.jpg", page_image(), "image/jpeg"))],
        headers=studio.marketing,
    )
    assert nul.status_code == 422, nul.text
    assert "$.meta.title" in [e["path"] for e in nul.json()["errors"]]
    assert await db.fetchval("select count(*) from brochures") == 0
    assert await db.fetchval("select count(*) from brochure_images") == 0


async def test_a_window_can_only_end_in_the_future(studio):
    made = await studio.upload(page_image())
    await studio.act(made["id"], "submit", "marketing")
    await studio.act(made["id"], "approve", "compliance")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    refused = await studio.act(made["id"], "publish", "marketing", live_until=past)
    assert refused.status_code == 422
    assert refused.json()["code"] == "brochure.bad_window"


async def test_a_start_in_the_past_never_backdates_when_a_brochure_went_live(studio, db):
    made = await studio.upload(page_image())
    await studio.act(made["id"], "submit", "marketing")
    await studio.act(made["id"], "approve", "compliance")
    before = datetime.now(UTC)
    long_ago = datetime(2020, 1, 1, 2, tzinfo=UTC).isoformat()
    published = await studio.act(made["id"], "publish", "marketing", live_from=long_ago)
    assert published.status_code in (200, 204), published.text
    record = "select live_from, published_at from brochure_versions where brochure_id = $1"
    went_live = await db.fetchrow(record, made["id"])
    assert went_live["live_from"] >= before  # "from 2020" means "from now"
    # Changing the live version's window: a start before it went live is its start, and its
    # publication stays as it was.
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    rewindowed = await studio.act(
        made["id"], "publish", "marketing", live_from=long_ago, live_until=later
    )
    assert rewindowed.status_code in (200, 204), rewindowed.text
    now_record = await db.fetchrow(record, made["id"])
    assert now_record["live_from"] == went_live["live_from"]
    assert now_record["published_at"] == went_live["published_at"]


async def test_a_window_time_without_an_offset_or_out_of_the_years_is_refused_naming_it(studio):
    made = await studio.upload(page_image())
    await studio.act(made["id"], "submit", "marketing")
    await studio.act(made["id"], "approve", "compliance")
    for body, path in (
        ({"live_from": "2026-12-10T10:00:00"}, "$.live_from"),
        ({"live_until": "2026-12-10T10:00:00"}, "$.live_until"),
        ({"live_until": "9999-12-31T23:59:59-12:00"}, "$.live_until"),
        ({"live_until": "3000-01-01T00:00:00Z"}, "$.live_until"),
        ({"live_from": "1999-12-31T23:59:59Z"}, "$.live_from"),
    ):
        refused = await studio.act(made["id"], "publish", "marketing", **body)
        assert refused.status_code == 422, (body, refused.text)
        assert error_paths(refused) == [path], body
    staff = await studio.client.get(f"{STUDIO}/{made['id']}", headers=studio.marketing)
    assert status_of(staff.json()) == "approved"  # nothing changed
    assert await studio.catalogue() == []
    # Past now and the start: the end is named too.
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    refused = await studio.act(made["id"], "publish", "marketing", live_until=past)
    assert (refused.json()["code"], error_paths(refused)) == (
        "brochure.bad_window",
        ["$.live_until"],
    )


async def test_a_new_version_going_live_later_takes_over_at_its_start_and_not_before(studio, db):
    """The version live now stays in the catalogue, shareable and behind its links until the
    new one's start; from that instant the new one is, with no gap and no overlap."""
    first = await studio.live(page_image(), title="第一版")
    brochure = first["id"]
    share = await studio.client.post(
        "/api/v1/shares", json={"brochure_id": brochure, "channel": "wechat"}, headers=studio.rm
    )
    assert share.status_code == 201, share.text
    link = f"/s/{share.json()['code']}"
    await approved_new_version(studio, brochure, "第二版")
    starts = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    published = await studio.act(brochure, "publish", "marketing", live_from=starts.isoformat())
    assert published.status_code == 200, published.text
    body = published.json()
    assert (body["published"]["version"], body["published"]["live_state"]) == (2, "scheduled")
    assert [(v["version"], v["status"], v["live_state"]) for v in body["versions"]] == [
        (2, "published", "scheduled"), (1, "superseded", "live"),
    ]  # fmt: skip

    # Until then: version 1, everywhere an RM or a customer looks.
    [item] = await studio.catalogue()
    assert (item["version"], item["title"]) == (1, "第一版")
    assert datetime.fromisoformat(item["live_until"]) == starts  # when it makes way
    one = await studio.client.get(f"{BROCHURES}/{brochure}", headers=studio.rm)
    assert (one.status_code, one.json()["version"]) == (200, 1)
    again = await studio.client.post(
        "/api/v1/shares", json={"brochure_id": brochure, "channel": "wechat"}, headers=studio.rm
    )
    assert again.status_code == 201, again.text
    assert (await studio.client.get(link)).status_code == 200

    # At the switch, to the microsecond: one version or the other, never none or both.
    await use_json_codecs(db)
    rm = await rm_caller(db, "rm01")

    async def listed(now: datetime) -> list[tuple[str, int]]:
        page = await views.catalogue(
            db, caller=rm, filters=views.CatalogueFilters(), sign=str, cursor=None, limit=50,
            now=now,
        )  # fmt: skip
        return [(str(i.id), i.version) for i in page.items]

    assert await listed(starts - timedelta(microseconds=1)) == [(brochure, 1)]
    assert await listed(starts) == [(brochure, 2)]

    # The day passes (its times moved back in the database): version 2, with no end.
    await db.execute(
        """
        update brochure_versions
           set live_from = case version when 2 then now() - interval '1 second' else live_from end,
               replaced_at = case version when 1 then now() - interval '1 second'
                                          else replaced_at end
         where brochure_id = $1
        """,
        uuid.UUID(brochure),
    )
    [item] = await studio.catalogue()
    assert (item["version"], item["title"], item["live_until"]) == (2, "第二版", None)
    one = await studio.client.get(f"{BROCHURES}/{brochure}", headers=studio.rm)
    assert one.json()["version"] == 2
    assert (await studio.client.get(link)).status_code == 200
    staff = (await studio.client.get(f"{STUDIO}/{brochure}", headers=studio.marketing)).json()
    assert [(v["version"], v["live_state"]) for v in staff["versions"]] == [(2, "live"), (1, None)]


async def test_unpublishing_a_version_not_yet_live_takes_the_brochure_off_at_once(studio):
    first = await studio.live(page_image(), title="第一版")
    brochure = first["id"]
    share = await studio.client.post(
        "/api/v1/shares", json={"brochure_id": brochure, "channel": "wechat"}, headers=studio.rm
    )
    await approved_new_version(studio, brochure, "第二版")
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await studio.act(brochure, "publish", "marketing", live_from=later)).status_code == 200
    assert ids(await studio.catalogue()) == {brochure}
    assert (await studio.act(brochure, "unpublish", "marketing")).status_code == 200
    assert await studio.catalogue() == []
    assert (await studio.client.get(f"/s/{share.json()['code']}")).status_code == 410


async def test_a_page_reference_that_is_no_upload_is_refused_before_anything_is_stored(studio):
    for ref in (
        "upload:²",
        "upload:١",
        "upload:1",
        "upload:-0",
        "abc",
        "upload:" + "9" * 5000,
        "upload:0001",
    ):
        refused = await studio.client.post(
            BROCHURES, files=multipart(meta(pages=[ref]), [page_image()]), headers=studio.marketing
        )
        assert refused.status_code == 422, (ref, refused.text)
        assert refused.json()["code"] == "brochure.bad_page"
        assert error_paths(refused) == ["$.meta.pages[0]"]
    assert stored_files(studio.blob_dir) == []
    made = await studio.upload(page_image())
    stored = stored_files(studio.blob_dir)
    edited = await studio.edit(made["id"], page_image((1, 2, 3)), pages=["upload:0", "upload:²"])
    assert edited.status_code == 422, edited.text
    assert (edited.json()["code"], error_paths(edited)) == (
        "brochure.bad_page",
        ["$.meta.pages[1]"],
    )
    assert stored_files(studio.blob_dir) == stored


async def test_too_many_pages_or_a_blank_title_is_refused_before_anything_is_stored(studio, db):
    pages = [page_image((n, 0, 0)) for n in range(31)]
    refused = await studio.client.post(
        BROCHURES, files=multipart(meta(), pages), headers=studio.marketing
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "brochure.too_many_pages"
    for title in ("   ", "\u3000\t", "\u200b", "\u202e手册", "手\n册"):
        blank = await studio.client.post(
            BROCHURES, files=multipart(meta(title=title), [page_image()]), headers=studio.marketing
        )
        assert blank.status_code == 422, blank.text
        assert error_paths(blank) == ["$.meta.title"]
    # Normalised (NFC), 120 characters can become more than a title holds.
    long = await studio.client.post(
        BROCHURES, files=multipart(meta(title="\ufb2c" * 120), [page_image()]),
        headers=studio.marketing,
    )  # fmt: skip
    assert long.status_code == 422, long.text
    assert error_paths(long) == ["$.meta.title"]
    assert stored_files(studio.blob_dir) == []
    assert await db.fetchval("select count(*) from brochure_images") == 0

    made = await studio.upload(page_image())
    stored = stored_files(studio.blob_dir)
    edited = await studio.edit(made["id"], page_image((9, 9, 9)), title=" ")
    assert (edited.status_code, error_paths(edited)) == (422, ["$.meta.title"])
    too_many = await studio.edit(made["id"], *pages)
    assert too_many.json()["code"] == "brochure.too_many_pages"
    assert stored_files(studio.blob_dir) == stored
    staff = (await studio.client.get(f"{STUDIO}/{made['id']}", headers=studio.marketing)).json()
    assert (staff["latest"]["title"], len(staff["pages"])) == ("稳享90天", 1)

"""A decision of compliance is bound to the content they reviewed: a version rejected, edited and
resubmitted in place (same version number) while a reviewer still looks at the first content
cannot be approved (or rejected) from that view. The approve and reject calls name the content
reviewed (`content_hash` in the body, or `If-Match`); another content by then is 409
`brochure.content_changed` and changes nothing. A call that names nothing (older apps) still
decides on the content under review now."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import bearer, login
from tests.workbench.brochures.conftest import BROCHURES, STUDIO, page_image

pytestmark = pytest.mark.usefixtures("demo_bank")

TITLE_A = "稳享90天 · A版"
TITLE_B = "稳享90天 · B版：稳赚不赔 保证收益20%"
TALK_B = "保证收益20%，稳赚不赔，错过不再有。"


async def second_reviewer(studio: Any) -> dict[str, str]:
    """Another compliance officer of the head office (the demo bank has one)."""
    created = await studio.client.post(
        "/api/v1/admin/users",
        json={"login": "compliance2", "name": "合规部 二号", "role": "compliance",
              "org_unit_id": studio.marketing_unit, "password": "a-long-password-2"},
        headers=studio.admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return bearer(await login(studio.client, "compliance2", password="a-long-password-2"))


async def staff_view(studio: Any, brochure: str) -> dict[str, Any]:
    response = await studio.client.get(f"{STUDIO}/{brochure}", headers=studio.compliance)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def swapped_under_review(studio: Any) -> tuple[str, str, str]:
    """The reproduction: content A submitted, opened by compliance (its hash read), rejected by
    a colleague, replaced by content B and resubmitted, still version 1 under review. Returns
    the brochure and the hashes of A (what compliance saw) and B (what is under review)."""
    made = await studio.upload(page_image(), title=TITLE_A, talk_track="稳健理财，产品有风险。")
    brochure = made["id"]
    assert (await studio.act(brochure, "submit", "marketing")).status_code == 200
    seen = (await staff_view(studio, brochure))["latest"]
    assert (seen["title"], seen["status"]) == (TITLE_A, "pending_review")
    colleague = await second_reviewer(studio)
    rejected = await studio.client.post(
        f"{BROCHURES}/{brochure}/reject", json={"reason": "措辞需调整"}, headers=colleague
    )
    assert rejected.status_code == 200, rejected.text
    edited = await studio.edit(brochure, title=TITLE_B, talk_track=TALK_B)
    assert edited.status_code == 200, edited.text
    assert (await studio.act(brochure, "submit", "marketing")).status_code == 200
    now = (await staff_view(studio, brochure))["latest"]
    assert (now["version"], now["status"], now["title"]) == (1, "pending_review", TITLE_B)
    assert now["content_hash"] != seen["content_hash"]
    return brochure, seen["content_hash"], now["content_hash"]


async def approvals(db: Any, brochure: str) -> list[Any]:
    return await db.fetch(
        "select detail->>'content_hash' as content_hash from audit_events"
        " where subject = $1 and action = 'brochure.approved'",
        f"brochure:{brochure}",
    )


async def test_approving_content_that_changed_since_it_was_reviewed_is_refused(studio, db):
    brochure, seen, current = await swapped_under_review(studio)

    stale = await studio.act(brochure, "approve", "compliance", content_hash=seen)
    assert stale.status_code == 409, stale.text
    assert stale.headers["content-type"].startswith("application/problem+json")
    problem = stale.json()
    assert problem["code"] == "brochure.content_changed"
    assert problem["current_status"] == "pending_review"
    assert current in problem["detail"]  # the content to review now
    # Nothing changed: still under review, not approved, not publishable.
    latest = (await staff_view(studio, brochure))["latest"]
    assert (latest["status"], latest["approved"], latest["title"]) == (
        "pending_review", False, TITLE_B,
    )  # fmt: skip
    assert await approvals(db, brochure) == []
    publish = await studio.act(brochure, "publish", "marketing")
    assert publish.json()["code"] == "brochure.not_approved"
    assert await studio.catalogue() == []

    # Having reviewed B, compliance may decide on it.
    approved = await studio.act(brochure, "approve", "compliance", content_hash=current)
    assert approved.status_code == 200, approved.text
    assert approved.json()["latest"]["status"] == "approved"
    [audit] = await approvals(db, brochure)
    assert audit["content_hash"] == current


async def test_if_match_names_the_content_reviewed_as_well(studio):
    brochure, seen, current = await swapped_under_review(studio)
    url = f"{BROCHURES}/{brochure}/approve"
    stale = await studio.client.post(url, headers={**studio.compliance, "If-Match": f'"{seen}"'})
    assert stale.status_code == 409, stale.text
    assert stale.json()["code"] == "brochure.content_changed"
    for bad, where in (
        ('W/"' + current + '"', "header.If-Match"),  # a weak tag never matches (RFC 9110)
        ('"nope"', "header.If-Match"),
        (f'"{current}", "{seen}"', "header.If-Match"),
    ):
        refused = await studio.client.post(url, headers={**studio.compliance, "If-Match": bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert [e["path"] for e in refused.json()["errors"]] == [where]
    # The body and the header disagreeing: refused, not decided by either.
    both = await studio.client.post(
        url, json={"content_hash": current},
        headers={**studio.compliance, "If-Match": f'"{seen}"'},
    )  # fmt: skip
    assert both.status_code == 422, both.text
    malformed = await studio.act(brochure, "approve", "compliance", content_hash="A" * 63)
    assert malformed.status_code == 422, malformed.text
    assert [e["path"] for e in malformed.json()["errors"]] == ["$.content_hash"]
    assert (await staff_view(studio, brochure))["latest"]["status"] == "pending_review"

    upper = await studio.client.post(
        url, headers={**studio.compliance, "If-Match": f'"{current.upper()}"'}
    )
    assert upper.status_code == 200, upper.text
    assert upper.json()["latest"]["approved"] is True


async def test_rejecting_content_that_changed_since_it_was_reviewed_is_refused(studio, db):
    brochure, seen, current = await swapped_under_review(studio)
    before = await db.fetchval("select count(*) from brochure_reviews")
    stale = await studio.act(
        brochure, "reject", "compliance", reason="第2页缺少风险提示", content_hash=seen
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["code"] == "brochure.content_changed"
    latest = (await staff_view(studio, brochure))["latest"]
    assert (latest["status"], latest["reject_reason"]) == ("pending_review", None)
    assert await db.fetchval("select count(*) from brochure_reviews") == before
    rejected = await studio.act(
        brochure, "reject", "compliance", reason="不得承诺收益", content_hash=current
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["latest"]["reject_reason"] == "不得承诺收益"


async def test_a_call_that_names_no_content_still_decides_on_the_content_under_review(studio):
    """Older apps send no body: they keep working (and should send the hash)."""
    made = await studio.upload(page_image())
    await studio.act(made["id"], "submit", "marketing")
    approved = await studio.client.post(
        f"{BROCHURES}/{made['id']}/approve", headers=studio.compliance
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["latest"]["approved"] is True
    star = await studio.upload(page_image((9, 9, 9)))
    await studio.act(star["id"], "submit", "marketing")
    any_content = await studio.client.post(
        f"{BROCHURES}/{star['id']}/approve", headers={**studio.compliance, "If-Match": "*"}
    )
    assert any_content.status_code == 200, any_content.text


async def test_the_same_content_resubmitted_unchanged_may_be_approved_from_the_first_view(studio):
    """The binding is to the content, not to a round of review: content rejected and resubmitted
    exactly as it was is the content the reviewer saw."""
    made = await studio.upload(page_image(), title=TITLE_A)
    brochure = made["id"]
    await studio.act(brochure, "submit", "marketing")
    seen = (await staff_view(studio, brochure))["latest"]["content_hash"]
    colleague = await second_reviewer(studio)
    await studio.client.post(
        f"{BROCHURES}/{brochure}/reject", json={"reason": "请再确认"}, headers=colleague
    )
    await studio.act(brochure, "submit", "marketing")
    approved = await studio.act(brochure, "approve", "compliance", content_hash=seen)
    assert approved.status_code == 200, approved.text
    assert uuid.UUID(approved.json()["id"])

"""Compliance's decisions are kept: a rejected version edited and resubmitted (the same version)
no longer loses who rejected it, when, why and what content they rejected. The staff view lists
every decision (`reviews`, newest first) and what the version changes since the content last
decided on in it (`changes_since_review`)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.workbench.brochures.conftest import STUDIO, page_image
from workbench import migrate
from workbench.ids import uuid7

pytestmark = pytest.mark.usefixtures("demo_bank")


async def staff_view(studio: Any, brochure: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await studio.client.get(f"{STUDIO}/{brochure}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def user_id(studio: Any, headers: dict[str, str]) -> str:
    me = await studio.client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    found: str = me.json()["id"]
    return found


async def test_a_rejection_survives_the_resubmission_with_who_when_why_and_what(studio, db):
    made = await studio.upload(page_image(), title="稳享90天 · A版", talk_track="稳健理财")
    brochure = made["id"]
    await studio.act(brochure, "submit", "marketing")
    rejected_hash = made["latest"]["content_hash"]
    before = datetime.now(UTC) - timedelta(seconds=1)
    refused = await studio.act(
        brochure, "reject", "compliance", reason="措辞需调整", content_hash=rejected_hash
    )
    assert refused.status_code == 200, refused.text
    edited = await studio.edit(
        brochure,
        page_image((200, 40, 40)),
        title="稳享90天 · B版",
        talk_track="稳健理财，产品有风险。",
    )
    assert edited.status_code == 200, edited.text
    resubmitted = await studio.act(brochure, "submit", "marketing")
    assert resubmitted.status_code == 200, resubmitted.text

    view = await staff_view(studio, brochure, studio.marketing)
    assert (view["latest"]["version"], view["latest"]["status"]) == (1, "pending_review")
    assert view["latest"]["reject_reason"] is None  # the version's own column: its state now
    [review] = view["reviews"]
    compliance = await user_id(studio, studio.compliance)
    assert {k: review[k] for k in ("version", "decision", "reason", "content_hash", "title")} == {
        "version": 1, "decision": "rejected", "reason": "措辞需调整",
        "content_hash": rejected_hash, "title": "稳享90天 · A版",
    }  # fmt: skip
    assert review["reviewed_by"] == compliance
    assert datetime.fromisoformat(review["reviewed_at"]) >= before
    # What marketing changed since the rejection: the title, the talk track, the page.
    changes = {c["field"]: c for c in view["changes_since_review"]}
    assert set(changes) == {"title", "talk_track", "pages"}
    assert (changes["title"]["before"], changes["title"]["after"]) == (
        "稳享90天 · A版", "稳享90天 · B版",
    )  # fmt: skip
    assert changes["pages"]["pages_added"] == [1]
    assert changes["pages"]["pages_removed"] == [1]
    assert view["changes"] == []  # nothing approved before: nothing to compare with

    # A second round: rejected again, then approved; every decision stays, newest first.
    current = view["latest"]["content_hash"]
    await studio.act(
        brochure, "reject", "compliance", reason="第1页缺少风险提示", content_hash=current
    )
    await studio.act(brochure, "submit", "marketing")  # resubmitted unchanged
    again = await staff_view(studio, brochure, studio.compliance)
    assert again["changes_since_review"] == []  # the content rejected, as it was
    approved = await studio.act(brochure, "approve", "compliance", content_hash=current)
    assert approved.status_code == 200, approved.text
    decisions = [
        (r["decision"], r["reason"], r["content_hash"]) for r in approved.json()["reviews"]
    ]
    assert decisions == [
        ("approved", None, current),
        ("rejected", "第1页缺少风险提示", current),
        ("rejected", "措辞需调整", rejected_hash),
    ]
    assert await db.fetchval("select count(*) from brochure_reviews") == 3


async def test_an_approval_voided_by_an_edit_stays_in_the_history(studio):
    made = await studio.upload(page_image(), talk_track="稳健理财")
    brochure = made["id"]
    await studio.act(brochure, "submit", "marketing")
    approved_hash = made["latest"]["content_hash"]
    await studio.act(brochure, "approve", "compliance", content_hash=approved_hash)
    edited = await studio.edit(brochure, talk_track="稳健理财，年化收益稳定。")
    assert edited.json()["latest"]["status"] == "draft"
    await studio.act(brochure, "submit", "marketing")
    view = await staff_view(studio, brochure, studio.compliance)
    [review] = view["reviews"]
    assert (review["decision"], review["content_hash"]) == ("approved", approved_hash)
    assert [(c["field"], c["before"], c["after"]) for c in view["changes_since_review"]] == [
        ("talk_track", "稳健理财", "稳健理财，年化收益稳定。")
    ]


async def test_reviews_of_every_version_are_listed_with_their_version(studio):
    live = await studio.live(page_image(), title="第一版")
    brochure = live["id"]
    assert [(r["version"], r["decision"]) for r in live["reviews"]] == [(1, "approved")]
    await studio.edit(brochure, title="第二版")
    await studio.act(brochure, "submit", "marketing")
    await studio.act(brochure, "reject", "compliance", reason="标题不规范")
    view = await staff_view(studio, brochure, studio.marketing)
    assert [(r["version"], r["decision"], r["title"]) for r in view["reviews"]] == [
        (2, "rejected", "第二版"), (1, "approved", "第一版"),
    ]  # fmt: skip
    # Version 2 was never decided on before this rejection: nothing since a review of it.
    assert view["changes_since_review"] == []


async def test_the_upgrade_keeps_the_decisions_still_on_record(scratch_db, tmp_path):
    """Before 0038 a version held only its latest review: the upgrade keeps a rejection not yet
    edited and an approval still valid, with their content; a decision whose content is gone
    (an approval voided by an edit) is left out rather than recorded with the wrong content."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.default_directory(), folder)
    for later in [f for f in folder.glob("*.sql") if int(f.name[:4]) >= 38]:
        later.unlink()
    await migrate.migrate(scratch_db, folder)
    conn = await asyncpg.connect(scratch_db)
    unit, author, reviewer = uuid7(), uuid7(), uuid7()
    pages = [bytes([1]) * 32, bytes([2]) * 32]
    try:
        await conn.execute(
            "insert into org_units (id, name, parent_id, path, depth)"
            " values ($1, '总行', null, $2, 0)",
            unit, f"/{unit}/",
        )  # fmt: skip
        for user, login, role in ((author, "mkt", "marketing"), (reviewer, "cmp", "compliance")):
            await conn.execute(
                "insert into users (id, login, name, role, org_unit_id, password_hash)"
                " values ($1, $2, $2, $3, $4, 'x')",
                user, login, role, unit,
            )  # fmt: skip
        await conn.execute(
            "insert into products (code, name, category, risk_level)"
            " values ('P1', '产品', '理财', 2)"
        )
        made = {}
        for name, status, approved, reason in (
            ("rejected", "rejected", False, "缺少风险提示"),
            ("published", "published", True, None),
            ("voided", "draft", False, None),
        ):
            brochure = made[name] = uuid7()
            await conn.execute(
                "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
                brochure, unit, author,
            )  # fmt: skip
            content_hash = bytes([len(made)]) * 32
            await conn.execute(
                """insert into brochure_versions (brochure_id, version, title, product_code,
                        tags, pages, content_hash, status, approved_hash, reject_reason,
                        created_by, submitted_by, submitted_at, reviewed_by, reviewed_at,
                        published_by, published_at)
                    values ($1, 1, $2, 'P1', '["理财"]', $3, $4, $5, $6, $7, $8, $8,
                            now() - interval '2 days', $9, now() - interval '1 day',
                            case when $5::text = 'published' then $8::uuid end,
                            case when $5::text = 'published' then now() end)""",
                brochure, f"手册 {name}", pages, content_hash, status,
                content_hash if approved else None, reason, author, reviewer,
            )  # fmt: skip
    finally:
        await conn.close()

    await migrate.migrate(scratch_db, migrate.default_directory())
    conn = await asyncpg.connect(scratch_db)
    try:
        rows = await conn.fetch(
            "select brochure_id, version, decision, reason, content_hash, title, tags::text,"
            " pages, reviewed_by from brochure_reviews order by decision"
        )
    finally:
        await conn.close()
    assert [(r["brochure_id"], r["decision"], r["reason"]) for r in rows] == [
        (made["published"], "approved", None), (made["rejected"], "rejected", "缺少风险提示"),
    ]  # fmt: skip
    approved, rejected = rows
    assert approved["content_hash"] == (bytes([2]) * 32).hex()
    assert rejected["content_hash"] == (bytes([1]) * 32).hex()
    assert rejected["pages"] == [p.hex() for p in pages]  # in page order
    assert (rejected["title"], rejected["tags"], rejected["reviewed_by"]) == (
        "手册 rejected", '["理财"]', reviewer,
    )  # fmt: skip

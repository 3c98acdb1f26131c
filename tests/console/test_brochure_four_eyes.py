"""Four eyes on brochures: compliance cannot review a version they had a hand in: created,
submitted, edited (its texts or pages) or with a page image they uploaded. The API refuses the
decision; the console offers none on the version and says why; another reviewer decides."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.console.brochure_data import API, Desk, open_desk, page_image, text_of
from tests.console.test_pages import console_page
from tests.helpers import bearer, login
from tests.tasks_data import unit

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/brochures"
PASSWORD = "a-long-password-1"
OWN_WORK = "这个版本有您上传、修改或提交的内容，需由其他合规同事审核。"


@pytest.fixture
async def desk(make_console, settings, tmp_path) -> Desk:
    return await open_desk(make_console, settings, tmp_path)


async def new_marketing_user(desk: Desk, login_: str) -> str:
    admin = await desk.headers("admin")
    created = await desk.client.post(
        "/api/v1/admin/users",
        json={"login": login_, "name": "周敏", "role": "marketing",
              "org_unit_id": str(unit("head-office")), "password": PASSWORD},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    desk.api[login_] = bearer(await login(desk.client, login_, password=PASSWORD))
    user_id: str = created.json()["id"]
    return user_id


async def to_compliance(desk: Desk, login_: str, user_id: str) -> dict[str, str]:
    """The admin makes the user compliance; they sign in again (the API and the console)."""
    changed = await desk.client.patch(
        f"/api/v1/admin/users/{user_id}", json={"role": "compliance"},
        headers=await desk.headers("admin"),
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    desk.api[login_] = bearer(await login(desk.client, login_, password=PASSWORD))
    await desk.sign_in(login_, password=PASSWORD)
    return desk.api[login_]


async def edit(desk: Desk, brochure_id: str, login_: str, pages: list[str], *files: bytes) -> Any:
    body = {"title": "稳享90天", "product_code": "WM90", "talk_track": "稳健理财，改过的话术",
            "tags": ["理财"], "pages": pages}  # fmt: skip
    response = await desk.client.put(
        f"{API}/{brochure_id}",
        files=[
            ("meta", (None, json.dumps(body, ensure_ascii=False), "application/json")),
            *[("pages", (f"p{n}.jpg", d, "image/jpeg")) for n, d in enumerate(files)],
        ],
        headers=await desk.headers(login_),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def staff_view(desk: Desk, brochure_id: str) -> dict[str, Any]:
    response = await desk.client.get(
        f"/api/v1/studio/brochures/{brochure_id}", headers=await desk.headers("marketing")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def status_of(db: Any, brochure_id: str) -> str:
    status: str = await db.fetchval(
        "select status from brochure_versions where brochure_id = $1 order by version desc limit 1",
        uuid.UUID(brochure_id),
    )
    return status


async def refused_everywhere(desk: Desk, db: Any, brochure_id: str, reviewer: dict[str, str]):
    """The reviewer can neither approve nor reject, by the API or the console, and the console
    offers them no decision and says why."""
    content_hash = (await staff_view(desk, brochure_id))["latest"]["content_hash"]
    decisions = {
        "approve": {"content_hash": content_hash},
        "reject": {"content_hash": content_hash, "reason": "自己审自己"},
    }
    for action, body in decisions.items():
        refused = await desk.client.post(
            f"{API}/{brochure_id}/{action}", json=body, headers=reviewer
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "auth.forbidden"
    review = await desk.page(f"{LIST}/review/{brochure_id}")
    assert f'action="/console/brochures/{brochure_id}/approve"' not in review
    assert f'action="/console/brochures/{brochure_id}/reject"' not in review
    assert OWN_WORK in text_of(review)
    detail = await desk.page(f"{LIST}/{brochure_id}")
    assert f'href="/console/brochures/review/{brochure_id}"' not in detail  # no 进入审核
    assert f'action="/console/brochures/{brochure_id}/approve"' not in detail
    assert OWN_WORK in text_of(detail)
    page = f"{LIST}/review/{brochure_id}"
    posted = await desk.post(
        f"{LIST}/{brochure_id}/approve",
        {"from": page, "next": page, "content_hash": content_hash},
    )
    assert OWN_WORK in text_of(console_page(posted, 403))
    assert await status_of(db, brochure_id) == "pending_review"


async def test_a_marketer_who_edited_a_version_cannot_review_it_as_compliance(desk, db):
    two = await new_marketing_user(desk, "mkt.two")
    made = await desk.upload(page_image(), page_image((200, 40, 40)))
    first_page = made["pages"][0]["image"]
    await edit(desk, made["id"], "mkt.two", [first_page, "upload:0"], page_image((20, 140, 80)))
    await desk.act(made["id"], "submit", "marketing")
    reviewer = await to_compliance(desk, "mkt.two", two)

    await refused_everywhere(desk, db, made["id"], reviewer)

    # Another compliance officer reviews it.
    content_hash = (await staff_view(desk, made["id"]))["latest"]["content_hash"]
    await desk.act(made["id"], "approve", "compliance", content_hash=content_hash)
    assert await status_of(db, made["id"]) == "approved"


async def test_an_edit_of_a_rejected_version_counts_after_resubmission(desk, db):
    two = await new_marketing_user(desk, "mkt.two")
    made = await desk.upload(page_image())
    await desk.act(made["id"], "submit", "marketing")
    await desk.act(made["id"], "reject", "compliance", reason="话术需补充风险提示")
    await edit(desk, made["id"], "mkt.two", [made["pages"][0]["image"]])  # texts only
    await desk.act(made["id"], "submit", "marketing")
    reviewer = await to_compliance(desk, "mkt.two", two)
    await refused_everywhere(desk, db, made["id"], reviewer)


async def test_a_reviewer_who_uploaded_one_of_its_page_images_cannot_review_it(desk, db):
    two = await new_marketing_user(desk, "mkt.two")
    shared_page = page_image((90, 30, 120), label="共用页")
    await desk.upload(shared_page, login="mkt.two", title="另一本")  # stores the image first
    made = await desk.upload(page_image(), shared_page)  # the same image, by marketing
    await desk.act(made["id"], "submit", "marketing")
    reviewer = await to_compliance(desk, "mkt.two", two)
    await refused_everywhere(desk, db, made["id"], reviewer)


async def test_a_reviewer_who_had_no_hand_in_it_is_offered_the_decision(desk):
    await new_marketing_user(desk, "mkt.two")
    made = await desk.upload(page_image())
    await edit(desk, made["id"], "marketing", [made["pages"][0]["image"]])
    await desk.act(made["id"], "submit", "marketing")
    await desk.sign_in("compliance")
    review = await desk.page(f"{LIST}/review/{made['id']}")
    assert f'action="/console/brochures/{made["id"]}/approve"' in review
    assert OWN_WORK not in text_of(review)


async def test_whoever_submitted_a_rejected_version_before_cannot_review_it_later(desk, db):
    """mkt.two submitted it, compliance sent it back, marketing submitted it again unchanged:
    mkt.two, made compliance since, still had a hand in it (the second submission wrote over
    who submitted it first)."""
    two = await new_marketing_user(desk, "mkt.two")
    made = await desk.upload(page_image())
    await desk.act(made["id"], "submit", "mkt.two")
    await desk.act(made["id"], "reject", "compliance", reason="话术需补充风险提示")
    await desk.act(made["id"], "submit", "marketing")
    reviewer = await to_compliance(desk, "mkt.two", two)
    await refused_everywhere(desk, db, made["id"], reviewer)


async def test_the_staff_view_says_who_may_review_it_so_an_app_can_offer_the_decision(desk):
    """`may_review`: compliance with no hand in the version pending review; not its editor made
    compliance, not marketing, and nobody before it is submitted."""
    two = await new_marketing_user(desk, "mkt.two")
    made = await desk.upload(page_image())
    await edit(desk, made["id"], "mkt.two", [made["pages"][0]["image"]])
    path = f"/api/v1/studio/brochures/{made['id']}"

    async def may_review(headers: dict[str, str]) -> bool:
        answer = await desk.client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
        value: bool = answer.json()["may_review"]
        return value

    assert not await may_review(await desk.headers("compliance"))  # a draft: nothing to review
    await desk.act(made["id"], "submit", "marketing")
    editor = await to_compliance(desk, "mkt.two", two)
    assert await may_review(await desk.headers("compliance"))
    assert not await may_review(editor)
    assert not await may_review(await desk.headers("marketing"))

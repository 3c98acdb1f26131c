"""Compliance's review in the console over HTTP: the decision forms name the content shown; a
decision from a page whose content was replaced meanwhile (rejected by a colleague, edited and
resubmitted as the same version) changes nothing and brings the page back with the current
content, the last rejection and what changed since; the brochure's page and the queue keep the
rejections after a resubmission."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.console.brochure_data import Desk, open_desk, page_image, text_of
from tests.console.test_pages import console_page
from tests.helpers import bearer, login
from tests.tasks_data import unit

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/brochures"
TITLE_A = "稳享90天 · A版"
TITLE_B = "稳享90天 · B版：稳赚不赔 保证收益20%"
TALK_A = "稳健理财，产品有风险。"
TALK_B = "保证收益20%，稳赚不赔。"
COLLEAGUE = "合规部 二号"


@pytest.fixture
async def desk(make_console, settings, tmp_path) -> Desk:
    return await open_desk(make_console, settings, tmp_path)


async def add_colleague(desk: Desk) -> None:
    """A second compliance officer (the demo bank has one), signed in to the API."""
    created = await desk.client.post(
        "/api/v1/admin/users",
        json={"login": "compliance2", "name": COLLEAGUE, "role": "compliance",
              "org_unit_id": str(unit("head-office")), "password": "a-long-password-2"},
        headers=await desk.headers("admin"),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    desk.api["compliance2"] = bearer(
        await login(desk.client, "compliance2", password="a-long-password-2")
    )


def hidden(html: str, form_action: str, name: str) -> str:
    """A hidden field's value in the form posting to `form_action`."""
    form = html.split(f'action="{form_action}"', 1)[1].split("</form>", 1)[0]
    found = re.search(rf'name="{name}" value="([^"]*)"', form)
    assert found, form
    return found.group(1)


async def status_of(db: Any, brochure: str) -> tuple[str, bool]:
    row = await db.fetchrow(
        "select status, approved_hash is not null as approved from brochure_versions"
        " where brochure_id = $1 order by version desc limit 1",
        uuid.UUID(brochure),
    )
    return row["status"], row["approved"]


async def swap_content(desk: Desk, brochure: str) -> None:
    """What happens while compliance has the page open: a colleague rejects it, marketing
    replaces its content and submits it again (still version 1)."""
    await desk.act(brochure, "reject", "compliance2", reason="措辞需调整")
    meta = {"title": TITLE_B, "product_code": "WM90", "talk_track": TALK_B, "tags": ["理财"]}
    edited = await desk.client.put(
        f"/api/v1/brochures/{brochure}",
        files=[("meta", (None, json.dumps(meta, ensure_ascii=False)))],
        headers=await desk.headers("marketing"),
    )
    assert edited.status_code == 200, edited.text
    await desk.act(brochure, "submit", "marketing")


async def test_approving_from_a_page_whose_content_was_replaced_changes_nothing(desk, db):
    made = await desk.upload(page_image(), title=TITLE_A, talk_track=TALK_A)
    brochure = made["id"]
    await desk.act(brochure, "submit", "marketing")
    await add_colleague(desk)
    await desk.sign_in("compliance")
    review = f"{LIST}/review/{brochure}"
    opened = await desk.page(review)
    assert TITLE_A in text_of(opened)
    seen = hidden(opened, f"{LIST}/{brochure}/approve", "content_hash")
    assert seen == made["latest"]["content_hash"]
    assert hidden(opened, f"{LIST}/{brochure}/reject", "content_hash") == seen

    await swap_content(desk, brochure)
    clicked = await desk.post(
        f"{LIST}/{brochure}/approve",
        {"next": f"{LIST}/review", "from": review, "content_hash": seen},
    )
    html = console_page(clicked, 409)
    text = text_of(html)
    assert await status_of(db, brochure) == ("pending_review", False)  # nothing approved
    assert "内容已变化，本次审核未生效" in text
    assert f"审核：{TITLE_B}" in text  # the review page, with the current content
    assert TALK_B in text
    current = hidden(html, f"{LIST}/{brochure}/approve", "content_hash")
    assert current != seen
    # Who rejected it, when and why, and what marketing changed since.
    when = await db.fetchval(
        "select reviewed_at from brochure_reviews where brochure_id = $1", uuid.UUID(brochure)
    )
    local = when.astimezone(ZoneInfo(desk.settings.bank_timezone))
    assert f"上次退回：{COLLEAGUE} {local:%Y-%m-%d %H:%M}：措辞需调整" in text
    assert "与上次退回的内容相比的改动" in text
    assert "<ins>B</ins>" in html
    assert "<del>A</del>" in html
    assert "首次提交" not in text

    # Having seen the current content, compliance decides on it.
    decided = await desk.post(
        f"{LIST}/{brochure}/reject",
        {"reason": "不得承诺收益", "from": review, "content_hash": current},
    )
    assert decided.status_code == 303, decided.text
    assert await status_of(db, brochure) == ("rejected", False)


async def test_rejecting_from_a_stale_page_keeps_the_reason_typed(desk, db):
    made = await desk.upload(page_image(), title=TITLE_A)
    brochure = made["id"]
    await desk.act(brochure, "submit", "marketing")
    await add_colleague(desk)
    await desk.sign_in("compliance")
    page = f"{LIST}/{brochure}"
    seen = hidden(await desk.page(page), f"{page}/reject", "content_hash")
    await swap_content(desk, brochure)
    clicked = await desk.post(
        f"{page}/reject", {"reason": "第2页缺少风险提示", "from": page, "content_hash": seen}
    )
    html = console_page(clicked, 409)
    assert "内容已变化，本次审核未生效" in text_of(html)
    assert "审核与发布" in html  # the brochure's page, where the form was
    assert ">第2页缺少风险提示</textarea>" in html  # what was typed is not lost
    assert 'aria-invalid="true"' not in html.split('id="reason"', 1)[1].split(">", 1)[0]
    assert await status_of(db, brochure) == ("pending_review", False)
    # A garbled hash names no content there is: refused alike.
    garbled = await desk.post(f"{page}/approve", {"from": page, "content_hash": "abc"})
    assert "内容已变化" in text_of(console_page(garbled, 409))
    assert await status_of(db, brochure) == ("pending_review", False)
    current = hidden(html, f"{page}/approve", "content_hash")
    approved = await desk.post(f"{page}/approve", {"next": page, "content_hash": current})
    assert approved.status_code == 303, approved.text
    assert await status_of(db, brochure) == ("approved", True)


async def test_a_rejection_stays_on_the_brochures_page_and_in_the_queue(desk, db):
    made = await desk.upload(page_image(), title=TITLE_A)
    brochure = made["id"]
    await desk.act(brochure, "submit", "marketing")
    await add_colleague(desk)
    await swap_content(desk, brochure)

    await desk.sign_in("marketing")
    text = text_of(await desk.page(f"{LIST}/{brochure}"))
    when = await db.fetchval(
        "select reviewed_at from brochure_reviews where brochure_id = $1", uuid.UUID(brochure)
    )
    local = f"{when.astimezone(ZoneInfo(desk.settings.bank_timezone)):%Y-%m-%d %H:%M}"
    assert f"合规意见 上次退回：{COLLEAGUE} {local}：措辞需调整" in text  # under review again
    assert "审核记录" in text
    assert f"第 1 版 退回 {COLLEAGUE} {local} {TITLE_A} 之后内容已修改 措辞需调整" in text

    await desk.sign_in("compliance")
    queue = text_of(await desk.page(f"{LIST}/review"))
    assert "退回后重新提交" in queue
    assert "上次退回：措辞需调整" in queue
    assert "首次提交" not in queue
    review = text_of(await desk.page(f"{LIST}/review/{brochure}"))
    assert f"上次退回：{COLLEAGUE} {local}：措辞需调整" in review
    assert "还没有已通过的版本可以对比" in review

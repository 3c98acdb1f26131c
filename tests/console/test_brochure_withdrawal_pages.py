"""The console follows what an approval covers: compliance's 撤回 asks for the reason and voids
the approval, so marketing is offered 提交审核 rather than 重新发布 and the list and the page
say 已被合规撤回 with the reason; marketing's 下架 keeps the approval (a reason optional); a
product whose risk level changed says 产品风险等级已变更，需重新审核; a window is submitted for
review and publishing beyond it is refused in words. Every step is audited with the address."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.console.brochure_data import Desk, open_desk, page_image, text_of
from tests.console.test_pages import console_page
from tests.customers_data import feed, headers_of, product_row
from tests.helpers import FromPeer

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/brochures"
REASON = "产品说明书已更新，收益表述不再准确"


@pytest.fixture
async def desk(make_console, settings, tmp_path) -> Desk:
    return await open_desk(make_console, settings, tmp_path)


async def live_brochure(desk: Desk) -> str:
    made = await desk.upload(page_image())
    for action, who in (("submit", "marketing"), ("approve", "compliance"),
                        ("publish", "marketing")):  # fmt: skip
        await desk.act(made["id"], action, who)
    brochure: str = made["id"]
    return brochure


async def latest(db, brochure: str) -> tuple[int, str]:
    row = await db.fetchrow(
        "select version, status from brochure_versions where brochure_id = $1"
        " order by version desc limit 1",
        uuid.UUID(brochure),
    )
    return row["version"], row["status"]


async def test_compliance_withdraws_with_a_reason_and_marketing_is_offered_a_review_again(
    desk: Desk, db
) -> None:
    desk.client._transport = FromPeer(desk.client, "203.0.113.9")
    brochure = await live_brochure(desk)
    page = f"{LIST}/{brochure}"
    await desk.sign_in("compliance")
    html = await desk.page(page)
    assert 'name="unpublish_reason"' in html
    assert "撤回原因" in text_of(html)

    blank = await desk.post(f"{page}/unpublish", {"unpublish_reason": "  "})
    assert "请填写撤回原因" in text_of(console_page(blank, 422))
    assert await latest(db, brochure) == (1, "published")

    withdrawn = await desk.post(f"{page}/unpublish", {"unpublish_reason": REASON})
    assert withdrawn.status_code == 303, withdrawn.text
    assert await latest(db, brochure) == (1, "unpublished")

    await desk.sign_in("marketing")
    html = await desk.page(page)
    text = text_of(html)
    assert "已被合规撤回" in text
    assert REASON in text
    assert f'action="{page}/publish"' not in html  # no 重新发布
    assert f'action="{page}/submit"' in html
    assert "重新提交合规审核" in text
    listed = text_of(await desk.page(LIST))
    assert "已被合规撤回" in listed
    assert f"撤回原因：{REASON}" in listed
    # An old page's publish form: refused in words.
    again = await desk.post(f"{page}/publish", {"live_from": "", "live_until": ""})
    assert "已被合规撤回" in text_of(console_page(again, 409))

    resubmitted = await desk.post(f"{page}/submit")
    assert resubmitted.status_code == 303, resubmitted.text
    assert await latest(db, brochure) == (2, "pending_review")
    addresses = await db.fetch(
        "select action, host(client_ip) as ip from audit_events where subject = $1"
        " and action in ('brochure.withdrawn', 'brochure.submitted') order by id",
        f"brochure:{brochure}",
    )
    assert [(r["action"], r["ip"]) for r in addresses][-2:] == [
        ("brochure.withdrawn", "203.0.113.9"), ("brochure.submitted", "203.0.113.9"),
    ]  # fmt: skip


async def test_marketing_pauses_without_a_reason_and_may_publish_again(desk: Desk, db) -> None:
    brochure = await live_brochure(desk)
    page = f"{LIST}/{brochure}"
    await desk.sign_in("marketing")
    html = await desk.page(page)
    assert "下架原因" in text_of(html)
    assert (await desk.post(f"{page}/unpublish")).status_code == 303
    html = await desk.page(page)
    assert "已被合规撤回" not in text_of(html)
    assert f'action="{page}/publish"' in html
    again = await desk.post(f"{page}/publish", {"live_from": "", "live_until": ""})
    assert again.status_code == 303, again.text
    assert await latest(db, brochure) == (1, "published")


async def test_a_product_whose_risk_level_changed_is_said_and_sent_back_to_review(
    desk: Desk, db
) -> None:
    brochure = await live_brochure(desk)
    page = f"{LIST}/{brochure}"
    admin = await headers_of(desk.client, "admin")
    await feed(desk.client, admin, "products", [
        product_row("WM90", name="稳享90天理财", category="wealth", risk_level="R5"),
    ])  # fmt: skip
    await desk.sign_in("marketing")
    assert "产品风险等级已变更，需重新审核" in text_of(await desk.page(LIST))
    html = await desk.page(page)
    assert "审核通过时为 R2，现为 R5" in text_of(html)
    assert f'action="{page}/publish"' not in html
    assert (await desk.post(f"{page}/submit")).status_code == 303
    assert await latest(db, brochure) == (2, "pending_review")
    await desk.sign_in("compliance")
    review = text_of(await desk.page(f"{LIST}/review/{brochure}"))
    assert "产品风险等级已变更，需重新审核" in review


async def test_the_window_submitted_is_the_window_approved(desk: Desk, db) -> None:
    made = await desk.upload(page_image())
    page = f"{LIST}/{made['id']}"
    zone = ZoneInfo(desk.settings.bank_timezone)
    end = (datetime.now(zone) + timedelta(days=30)).replace(second=0, microsecond=0)
    await desk.sign_in("marketing")
    submitted = await desk.post(f"{page}/submit", {"ask_until": end.strftime("%Y-%m-%dT%H:%M")})
    assert submitted.status_code == 303, submitted.text
    await desk.sign_in("compliance")
    review = text_of(await desk.page(f"{LIST}/review/{made['id']}"))
    assert f"申请上架期限 发布时 至 {end:%Y-%m-%d %H:%M}" in review
    assert (await desk.post(f"{page}/approve")).status_code == 303
    await desk.sign_in("marketing")
    html = await desk.page(page)
    assert f"须在合规审核通过的期限内：发布时 至 {end:%Y-%m-%d %H:%M}" in text_of(html)
    later = (end + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    beyond = await desk.post(f"{page}/publish", {"live_from": "", "live_until": later})
    assert "超出了合规审核通过的期限" in text_of(console_page(beyond, 409))
    assert await latest(db, made["id"]) == (1, "approved")
    within = await desk.post(f"{page}/publish", {"live_from": "", "live_until": ""})
    assert within.status_code == 303, within.text
    until = await db.fetchval(
        "select live_until from brochure_versions where brochure_id = $1", uuid.UUID(made["id"])
    )
    assert until == end

"""The brochure pages of the console over HTTP: the list, upload (plain form and the page
script's shape), a brochure and its actions, the review queue; roles and org scope as the API
checks them, CSRF on every post, and the workflow's refusals as messages on the page."""

from __future__ import annotations

import io
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from tests.console.brochure_data import (
    Desk,
    corrupt_jpeg,
    open_desk,
    page_image,
    text_of,
    tiff_image,
)
from tests.console.conftest import ORIGIN, csrf_of
from tests.console.field_errors import field_error, valid, value_of
from tests.console.test_pages import MARKETING_NAV, console_page, nav_links
from tests.helpers import bearer, login
from tests.tasks_data import unit
from workbench.console import once

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/brochures"


@pytest.fixture
async def desk(make_console, settings, tmp_path) -> Desk:
    return await open_desk(make_console, settings, tmp_path)


def upload_parts(fields: dict[str, str], files: list[tuple[str, bytes]]) -> list[Any]:
    """A plain multipart form post: fields, then the picked files as `pages`."""
    return [
        *[(name, (None, value)) for name, value in fields.items()],
        *[("pages", (name, data, "image/jpeg")) for name, data in files],
    ]


def script_parts(meta: dict[str, Any], files: list[tuple[str, bytes]]) -> list[Any]:
    """What the page's script sends: the API's shape, `meta` JSON and `pages` files."""
    return [
        ("meta", (None, json.dumps(meta, ensure_ascii=False))),
        *[("pages", (name, data, "image/jpeg")) for name, data in files],
    ]


async def post_upload(desk: Desk, path: str, parts: list[Any], *, script: bool = False) -> Any:
    """Send the form as the page does, with the new brochure form's one-time token (fresh)."""
    headers = {"Origin": ORIGIN, "X-CSRF-Token": desk.token}
    if script:
        headers["Accept"] = "application/json"
    parts = [*parts, ("once", (None, once.new_token()))]
    return await desk.client.post(path, files=parts, headers=headers)


async def brochure_count(db) -> int:
    count: int = await db.fetchval("select count(*) from brochures")
    return count


async def latest_status(db, brochure_id: str) -> str:
    status: str = await db.fetchval(
        "select status from brochure_versions where brochure_id = $1 order by version desc limit 1",
        uuid.UUID(brochure_id),
    )
    return status


# ---- the list ----------------------------------------------------------------------------------


async def test_the_list_shows_my_subtrees_brochures_with_filters_search_and_thumbnails(desk, db):
    draft = await desk.upload(page_image(), title="稳享90天 · 新客专享")
    pending = await desk.upload(page_image((200, 40, 40)), title="科技成长", product_code="TECH01")
    await desk.act(pending["id"], "submit", "marketing")
    live = await desk.upload(page_image((20, 140, 80)), title="天天盈", product_code="CASH01")
    for action, who in (("submit", "marketing"), ("approve", "compliance"),
                        ("publish", "marketing")):  # fmt: skip
        await desk.act(live["id"], action, who)
    await desk.sign_in("marketing")

    html = console_page(await desk.client.get(LIST), 200)
    text = text_of(html)
    assert nav_links(html) == MARKETING_NAV
    assert 'aria-current="page"' in html.split('href="/console/brochures"')[1][:40]
    for title in ("稳享90天 · 新客专享", "科技成长", "天天盈"):
        assert title in text
    assert "草稿" in text
    assert "待审核" in text
    assert "已发布 · 生效中" in text
    assert "R4 中高风险" in text
    assert "科技成长股票基金" in text
    assert text.count("生成中") == 3  # renditions not built yet: placeholders
    assert f'href="{LIST}/{draft["id"]}/edit"' in html  # marketing's next step: edit the draft
    assert f'href="{LIST}/new"' in html

    await desk.build_renditions()
    html = await desk.page(LIST)
    assert "生成中" not in text_of(html)
    assert html.count('class="thumb-img" src="/media/') == 3

    filtered = text_of(await desk.page(f"{LIST}?status=pending_review"))
    assert "科技成长" in filtered
    assert "天天盈" not in filtered
    assert "新客专享" not in filtered
    searched = text_of(await desk.page(f"{LIST}?q=天天"))
    assert "天天盈" in searched
    assert "科技成长" not in searched
    nothing = text_of(await desk.page(f"{LIST}?status=rejected"))
    assert "没有符合条件的宣传册" in nothing


async def test_the_list_pages_by_twenty(desk):
    image = page_image()
    for n in range(21):
        await desk.upload(image, title=f"宣传册 {n:02d}")
    await desk.sign_in("compliance")
    first = await desk.page(LIST)
    assert first.count('class="brochure-row"') == 20
    assert "宣传册 20" in first
    assert "宣传册 00" not in first
    next_url = first.split('<a class="button button-quiet" href="')[-1].split('"')[0]
    assert "cursor=" in next_url
    second = await desk.page(next_url.replace("&amp;", "&"))
    assert second.count('class="brochure-row"') == 1
    assert "宣传册 00" in second
    assert "回到第一页" in second


async def test_compliance_sees_the_queue_badge_and_review_as_the_next_step(desk):
    made = await desk.upload(page_image())
    await desk.act(made["id"], "submit", "marketing")
    await desk.sign_in("compliance")
    html = await desk.page(LIST)
    assert '<span class="nav-badge" title="待审核 1">' in html
    assert f'href="/console/brochures/review/{made["id"]}">审核' in html
    home = await desk.page("/console")
    assert "待审核 1" in text_of(home)
    await desk.sign_in("marketing")
    assert "nav-badge" not in await desk.page(LIST)


async def test_brochure_pages_are_for_marketing_compliance_and_admin_only(desk):
    made = await desk.upload(page_image())
    await desk.sign_in("bh.east")
    for path in (LIST, f"{LIST}/new", f"{LIST}/review", f"{LIST}/{made['id']}"):
        assert "页面不存在" in console_page(await desk.client.get(path), 404), path
    await desk.sign_in("compliance")
    for path in (f"{LIST}/new", f"{LIST}/{made['id']}/edit"):
        console_page(await desk.client.get(path), 404)
    await desk.sign_in("marketing")
    console_page(await desk.client.get(f"{LIST}/review"), 404)
    await desk.sign_in("admin")
    console_page(await desk.client.get(f"{LIST}/{made['id']}/edit"), 200)


async def test_a_brochure_of_another_subtree_is_the_404_page(desk, db):
    admin = await desk.headers("admin")
    created = await desk.client.post(
        "/api/v1/admin/users",
        json={"login": "mkt.east", "name": "东城市场", "role": "marketing",
              "org_unit_id": str(unit("branch-east")), "password": "a-long-password-1"},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    head_office = await desk.upload(page_image(), title="总行宣传册")
    await desk.sign_in("mkt.east", password="a-long-password-1")
    assert "总行宣传册" not in await desk.page(LIST)
    html = console_page(await desk.client.get(f"{LIST}/{head_office['id']}"), 404)
    assert "页面不存在" in html
    assert "总行宣传册" not in html
    refused = await desk.post(f"{LIST}/{head_office['id']}/submit")
    console_page(refused, 404)
    assert await latest_status(db, head_office["id"]) == "draft"


# ---- upload ------------------------------------------------------------------------------------


async def test_the_upload_form_offers_active_products_with_their_risk(desk):
    await desk.sign_in("marketing")
    response = await desk.client.get(f"{LIST}/new")
    html = console_page(response, 200)
    assert "img-src 'self' data: blob:" in response.headers["content-security-policy"]
    assert '<option value="TECH01">科技成长股票基金（TECH01）· R4 中高风险</option>' in html
    assert 'name="pages" multiple accept="image/jpeg,image/png,image/webp"' in html
    assert 'enctype="multipart/form-data"' in html
    assert csrf_of(html) == desk.token


async def test_a_plain_form_uploads_a_draft(desk, db):
    await desk.sign_in("marketing")
    response = await post_upload(
        desk,
        f"{LIST}/new",
        upload_parts(
            {"_csrf_token": desk.token, "title": " 稳享90天 ", "product_code": "WM90",
             "talk_track": "稳健理财。理财非存款，产品有风险。", "tags": "理财，热销 新客"},
            [("cover.jpg", page_image()), ("back.jpg", page_image((200, 40, 40)))],
        ),
    )  # fmt: skip
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    brochure_id = location.rsplit("/", 1)[1]
    row = await db.fetchrow(
        "select title, product_code, tags, cardinality(pages) as pages, status"
        " from brochure_versions where brochure_id = $1",
        uuid.UUID(brochure_id),
    )
    assert {**dict(row), "tags": json.loads(row["tags"])} == {
        "title": "稳享90天", "product_code": "WM90", "tags": ["理财", "热销", "新客"], "pages": 2,
        "status": "draft",
    }  # fmt: skip
    html = await desk.page(location)
    assert "已上传为草稿。" in html
    assert "提交合规审核" in html


async def test_the_page_script_sends_the_apis_shape_and_gets_json(desk, db):
    await desk.sign_in("marketing")
    meta = {"title": "安盈180天", "product_code": "WM90", "talk_track": "", "tags": ["理财"]}
    files = [("a.jpg", page_image()), ("b.jpg", page_image((30, 30, 30)))]
    response = await post_upload(desk, f"{LIST}/new", script_parts(meta, files), script=True)
    assert response.status_code == 200, response.text
    location = response.json()["location"]
    assert location.startswith(f"{LIST}/")
    assert "已上传为草稿。" in await desk.page(location)  # the message waits on that page
    assert await brochure_count(db) == 1


async def test_refused_images_are_named_one_by_one_and_nothing_is_stored(desk, db):
    await desk.sign_in("marketing")
    files = [("good.jpg", page_image()), ("scan.tiff", tiff_image()), ("cut.jpg", corrupt_jpeg())]
    meta = {"title": "三页", "product_code": "WM90"}
    answer = await post_upload(desk, f"{LIST}/new", script_parts(meta, files), script=True)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["message"] == "有 2 张图片不能使用，请移除或更换后再提交。"
    assert [(f["index"], f["name"], f["code"]) for f in body["files"]] == [
        (1, "scan.tiff", "image.not_allowed"), (2, "cut.jpg", "image.corrupt"),
    ]  # fmt: skip
    assert "JPEG、PNG 或 WebP" in body["files"][0]["message"]

    plain = await post_upload(
        desk,
        f"{LIST}/new",
        upload_parts({"_csrf_token": desk.token, "title": "三页", "product_code": "WM90"}, files),
    )
    html = console_page(plain, 422)
    text = text_of(html)
    assert "scan.tiff ：不是可用的图片" in text
    assert "cut.jpg ：文件已损坏或不完整" in text
    assert 'value="三页"' in html  # what was typed stays
    assert await brochure_count(db) == 0
    assert await db.fetchval("select count(*) from brochure_images") == 0


async def test_fields_are_checked_as_the_api_checks_them(desk, db):
    await desk.sign_in("marketing")
    files = [("p.jpg", page_image())]
    answer = await post_upload(
        desk, f"{LIST}/new", script_parts({"title": "", "product_code": "WM90"}, files),
        script=True,
    )  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["fields"] == {"title": "请填写标题（最多 120 个字）。"}
    blank = await post_upload(  # passes the contract's length, refused by the service once trimmed
        desk, f"{LIST}/new", script_parts({"title": "   ", "product_code": "WM90"}, files),
        script=True,
    )  # fmt: skip
    assert blank.status_code == 422
    assert blank.json()["fields"] == {"title": "请填写标题（最多 120 个字）。"}
    unknown = await post_upload(
        desk, f"{LIST}/new", script_parts({"title": "无此产品", "product_code": "NOPE"}, files),
        script=True,
    )  # fmt: skip
    assert unknown.json()["fields"] == {"product_code": "请选择一个在售的产品。"}
    no_pages = await post_upload(
        desk,
        f"{LIST}/new",
        upload_parts({"_csrf_token": desk.token, "title": "没有页面", "product_code": "WM90"}, []),
    )
    assert "请至少添加一页页面图片。" in text_of(console_page(no_pages, 422))
    nul = await post_upload(
        desk, f"{LIST}/new", script_parts({"title": "a\u0000b", "product_code": "WM90"}, files),
        script=True,
    )  # fmt: skip
    assert nul.status_code == 422
    assert "title" in nul.json()["fields"]
    assert await brochure_count(db) == 0


async def test_every_post_needs_the_csrf_token(desk, db):
    made = await desk.upload(page_image())
    await desk.sign_in("marketing")
    parts = upload_parts({"title": "无令牌", "product_code": "WM90"}, [("p.jpg", page_image())])
    refused = await desk.client.post(f"{LIST}/new", files=parts, headers={"Origin": ORIGIN})
    assert "页面已过期" in console_page(refused, 403)
    for action in ("submit", "edit"):
        response = await desk.client.post(
            f"{LIST}/{made['id']}/{action}", data={"title": "x"}, headers={"Origin": ORIGIN}
        )
        console_page(response, 403)
    other_site = await desk.client.post(
        f"{LIST}/{made['id']}/submit",
        data={"_csrf_token": desk.token},
        headers={"Origin": "https://evil.example"},
    )
    console_page(other_site, 403)
    assert await brochure_count(db) == 1
    assert await latest_status(db, made["id"]) == "draft"


# ---- a brochure and its actions ----------------------------------------------------------------


async def test_marketing_submits_compliance_approves_and_publishes_with_a_local_window(desk, db):
    made = await desk.upload(page_image(), page_image((200, 40, 40)), talk_track="稳健理财")
    brochure = made["id"]
    page = f"{LIST}/{brochure}"
    await desk.sign_in("marketing")
    html = await desk.page(page)
    text = text_of(html)
    assert "稳健理财" in text
    assert "第 1 页，共 2 页" in text
    assert "R2 中低风险" in text
    assert "市场部 Marketing" in text  # who made version 1
    response = await desk.post(f"{page}/submit")
    assert response.status_code == 303
    assert "已提交合规审核。" in await desk.page(page)

    await desk.sign_in("compliance")
    html = await desk.page(page)
    assert "进入审核" in html
    assert "审核通过" in html
    approved = await desk.post(f"{page}/approve", {"next": page})
    assert approved.headers["location"] == page
    assert await latest_status(db, brochure) == "approved"

    zone = ZoneInfo(desk.settings.bank_timezone)
    start = (datetime.now(zone) + timedelta(days=2)).replace(second=0, microsecond=0)
    end = start + timedelta(days=30)
    published = await desk.post(
        f"{page}/publish",
        {
            "live_from": start.strftime("%Y-%m-%dT%H:%M"),
            "live_until": end.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert published.status_code == 303, published.text
    window = await db.fetchrow(
        "select status, live_from, live_until from brochure_versions where brochure_id = $1",
        uuid.UUID(brochure),
    )
    assert window["status"] == "published"
    assert window["live_from"] == start.astimezone(UTC)
    assert window["live_until"] == end.astimezone(UTC)
    text = text_of(await desk.page(page))
    assert f"将于 {start:%Y-%m-%d %H:%M} 自动上架，{end:%Y-%m-%d %H:%M} 自动下架" in text
    assert "已发布 · 待生效" in text
    assert f"{start:%Y-%m-%d %H:%M} 起，至 {end:%Y-%m-%d %H:%M}" in text

    # Compliance's unpublishing is a withdrawal: it takes the reason marketing will read.
    unpublished = await desk.post(f"{page}/unpublish", {"unpublish_reason": "活动规则调整"})
    assert unpublished.status_code == 303
    text = text_of(await desk.page(page))
    assert "已下架" in text
    assert "已被合规撤回" in text
    assert "活动规则调整" in text
    assert await latest_status(db, brochure) == "unpublished"


async def test_refusals_of_the_workflow_are_messages_on_the_page(desk, db):
    made = await desk.upload(page_image())
    brochure = made["id"]
    page = f"{LIST}/{brochure}"
    await desk.sign_in("marketing")
    assert (await desk.post(f"{page}/submit")).status_code == 303
    again = await desk.post(f"{page}/submit")  # a second tab, an old page
    html = console_page(again, 409)
    assert "这本宣传册当前是“待审核”，不能提交审核。" in text_of(html)
    assert "审核与发布" in html  # the brochure page, not an error page
    not_approved = await desk.post(f"{page}/publish", {"live_from": "", "live_until": ""})
    assert "只有合规审核通过的版本才能发布。" in text_of(console_page(not_approved, 409))

    await desk.sign_in("compliance")
    blank = await desk.post(f"{page}/reject", {"reason": "   "})
    assert "请填写退回原因" in text_of(console_page(blank, 422))
    invisible = await desk.post(f"{page}/reject", {"reason": "\u200b\u200b"})
    assert "请填写退回原因" in text_of(console_page(invisible, 422))
    empty = await desk.post(f"{page}/reject", {"reason": ""})
    console_page(empty, 422)
    assert await latest_status(db, brochure) == "pending_review"
    await desk.post(f"{page}/approve")
    past = datetime.now(ZoneInfo(desk.settings.bank_timezone)) - timedelta(hours=1)
    bad = await desk.post(
        f"{page}/publish", {"live_from": "", "live_until": past.strftime("%Y-%m-%dT%H:%M")}
    )
    html = console_page(bad, 422)
    assert "下架时间必须晚于现在" in text_of(html)
    assert f'value="{past:%Y-%m-%dT%H:%M}"' in html  # the form as sent
    garbled = await desk.post(f"{page}/publish", {"live_from": "明天", "live_until": ""})
    assert "请按“年-月-日 时:分”填写" in text_of(console_page(garbled, 422))
    year_one = await desk.post(
        f"{page}/publish", {"live_from": "", "live_until": "0001-01-01T00:00"}
    )
    assert "请按“年-月-日 时:分”填写" in text_of(console_page(year_one, 422))  # it was a 500
    far = await desk.post(f"{page}/publish", {"live_from": "", "live_until": "9999-12-31T23:59"})
    assert "下架时间须在 2000 至 2999 年之间" in text_of(console_page(far, 422))
    assert await latest_status(db, brochure) == "approved"


async def test_a_refused_publish_window_is_said_beside_the_time_at_fault(desk, db):
    """End before start, a time that is none, a year out of range: the publish form comes back
    (422) with the reason under the time it concerns, both times as typed, nothing published."""
    made = await desk.upload(page_image())
    brochure = made["id"]
    page = f"{LIST}/{brochure}"
    await desk.act(brochure, "submit", "marketing")
    await desk.act(brochure, "approve", "compliance")
    await desk.sign_in("marketing")
    zone = ZoneInfo(desk.settings.bank_timezone)
    start = (datetime.now(zone) + timedelta(days=3)).replace(second=0, microsecond=0)
    start_text, end_text = f"{start:%Y-%m-%dT%H:%M}", f"{start - timedelta(days=1):%Y-%m-%dT%H:%M}"

    backwards = await desk.post(
        f"{page}/publish", {"live_from": start_text, "live_until": end_text}
    )
    html = console_page(backwards, 422)
    assert field_error(html, "live_until") == "下架时间必须晚于上架时间。"
    assert valid(html, "live_from")
    assert (value_of(html, "live_from"), value_of(html, "live_until")) == (start_text, end_text)

    past = f"{datetime.now(zone) - timedelta(hours=1):%Y-%m-%dT%H:%M}"
    over = await desk.post(f"{page}/publish", {"live_from": "", "live_until": past})
    html = console_page(over, 422)
    assert field_error(html, "live_until") == "下架时间必须晚于现在。"
    assert value_of(html, "live_until") == past

    garbled = await desk.post(f"{page}/publish", {"live_from": "明天", "live_until": end_text})
    html = console_page(garbled, 422)
    assert field_error(html, "live_from") == "请按“年-月-日 时:分”填写上架时间。"
    assert valid(html, "live_until")
    assert (value_of(html, "live_from"), value_of(html, "live_until")) == ("明天", end_text)

    far = await desk.post(
        f"{page}/publish", {"live_from": start_text, "live_until": "9999-12-31T23:59"}
    )
    html = console_page(far, 422)
    assert field_error(html, "live_until") == "下架时间须在 2000 至 2999 年之间。"
    assert value_of(html, "live_until") == "9999-12-31T23:59"
    assert valid(html, "live_from")

    window = "select status, live_from, live_until, published_at from brochure_versions"
    assert [tuple(r) for r in await db.fetch(window)] == [("approved", None, None, None)]


async def test_compliance_cannot_review_their_own_upload_and_is_told_so(desk, db):
    admin = await desk.headers("admin")
    created = await desk.client.post(
        "/api/v1/admin/users",
        json={"login": "zhou", "name": "周敏", "role": "marketing",
              "org_unit_id": str(unit("head-office")), "password": "a-long-password-1"},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    author = bearer(await login(desk.client, "zhou", password="a-long-password-1"))
    desk.api["zhou"] = author
    made = await desk.upload(page_image(), login="zhou")
    await desk.act(made["id"], "submit", "zhou")
    moved = await desk.client.post(
        "/api/v1/admin/users",
        json={"id": created.json()["id"], "login": "zhou", "name": "周敏", "role": "compliance",
              "org_unit_id": str(unit("head-office")), "password": "a-long-password-1"},
        headers=admin,
    )  # fmt: skip
    assert moved.status_code in (200, 201), moved.text
    await desk.sign_in("zhou", password="a-long-password-1")
    review = f"{LIST}/review/{made['id']}"
    refused = await desk.post(f"{LIST}/{made['id']}/approve", {"from": review, "next": review})
    html = console_page(refused, 403)
    assert "这个版本有您上传、修改或提交的内容，需由其他合规同事审核。" in text_of(html)
    assert "审核结论" in html  # back on the review page
    assert await latest_status(db, made["id"]) == "pending_review"


async def test_an_edit_that_changes_nothing_keeps_the_approval(desk, db):
    made = await desk.upload(page_image(), page_image((200, 40, 40)), talk_track="稳健理财")
    brochure = made["id"]
    await desk.act(brochure, "submit", "marketing")
    await desk.act(brochure, "approve", "compliance")
    await desk.sign_in("marketing")
    form = await desk.page(f"{LIST}/{brochure}/edit")
    images = [p["image"] for p in made["pages"]]
    assert all(f'name="keep" value="{image}" checked' in form for image in images)
    assert 'value="稳享90天"' in form
    assert "稳健理财</textarea>" in form

    fields = {"_csrf_token": desk.token, "title": "稳享90天", "product_code": "WM90",
              "talk_track": "稳健理财", "tags": "理财", "keep": images[0]}  # fmt: skip
    parts = [*upload_parts(fields, []), ("keep", (None, images[1]))]  # both pages ticked
    same = await post_upload(desk, f"{LIST}/{brochure}/edit", parts)
    assert same.status_code == 303, same.text
    assert "内容没有改动，状态保持不变。" in await desk.page(same.headers["location"])
    assert await latest_status(db, brochure) == "approved"

    # The page script's shape: the pages swapped, one added; the approval is void.
    meta = {"title": "稳享90天", "product_code": "WM90", "talk_track": "稳健理财",
            "tags": ["理财"], "pages": [images[1], "upload:0", images[0]]}  # fmt: skip
    changed = await post_upload(
        desk, f"{LIST}/{brochure}/edit",
        script_parts(meta, [("new.jpg", page_image((10, 120, 60)))]), script=True,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert await latest_status(db, brochure) == "draft"
    pages = await db.fetchval(
        "select pages from brochure_versions where brochure_id = $1", uuid.UUID(brochure)
    )
    assert [bytes(p).hex() for p in pages][0::2] == [images[1], images[0]]
    assert "原审核结论失效" in await desk.page(changed.json()["location"])


async def test_a_plain_form_edit_drops_the_unticked_page_and_adds_the_picked_one(desk, db):
    made = await desk.upload(page_image(), page_image((200, 40, 40)))
    images = [p["image"] for p in made["pages"]]
    await desk.sign_in("marketing")
    fields = {"_csrf_token": desk.token, "title": "稳享90天", "product_code": "WM90",
              "talk_track": "稳健理财", "tags": "理财", "keep": images[1]}  # fmt: skip
    saved = await post_upload(
        desk,
        f"{LIST}/{made['id']}/edit",
        upload_parts(fields, [("new.jpg", page_image((9, 9, 9)))]),
    )
    assert saved.status_code == 303, saved.text
    pages = await db.fetchval(
        "select pages from brochure_versions where brochure_id = $1", uuid.UUID(made["id"])
    )
    assert len(pages) == 2
    assert bytes(pages[0]).hex() == images[1]
    assert bytes(pages[1]).hex() not in images


async def test_a_page_image_larger_than_the_apps_body_limit_is_accepted(desk, db):
    noise = Image.frombytes("RGB", (1600, 1600), os.urandom(1600 * 1600 * 3))
    out = io.BytesIO()
    noise.save(out, format="JPEG", quality=95)
    assert len(out.getvalue()) > desk.settings.max_body_bytes  # 2 MB by default
    await desk.sign_in("marketing")
    fields = {"_csrf_token": desk.token, "title": "大图", "product_code": "WM90"}
    response = await post_upload(
        desk, f"{LIST}/new", upload_parts(fields, [("big.jpg", out.getvalue())])
    )
    assert response.status_code == 303, response.text
    assert await brochure_count(db) == 1


async def test_an_edit_of_a_brochure_under_review_is_refused_with_a_message(desk, db):
    made = await desk.upload(page_image())
    await desk.act(made["id"], "submit", "marketing")
    await desk.sign_in("marketing")
    meta = {"title": "改标题", "product_code": "WM90"}
    refused = await post_upload(desk, f"{LIST}/{made['id']}/edit", script_parts(meta, []),
                                script=True)  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["message"] == "这个版本正在合规审核，审核结束前不能修改。"
    assert await latest_status(db, made["id"]) == "pending_review"


# ---- review ------------------------------------------------------------------------------------


async def test_the_review_queue_is_oldest_first_and_shows_what_changed(desk):
    first = await desk.upload(page_image(), page_image((200, 40, 40)), title="第一版")
    brochure = first["id"]
    for action, who in (("submit", "marketing"), ("approve", "compliance"),
                        ("publish", "marketing")):  # fmt: skip
        await desk.act(brochure, action, who)
    newer = await desk.upload(page_image((90, 90, 20)), title="后提交", product_code="CASH01")
    images = [p["image"] for p in first["pages"]]
    meta = {"title": "第二版", "product_code": "TECH01", "talk_track": "稳健理财",
            "tags": ["理财"], "pages": [images[0], "upload:0"]}  # fmt: skip
    edit = await desk.client.put(
        f"/api/v1/brochures/{brochure}",
        files=script_parts(meta, [("new.jpg", page_image((10, 120, 60)))]),
        headers=await desk.headers("marketing"),
    )
    assert edit.status_code == 200, edit.text
    await desk.act(brochure, "submit", "marketing")
    await desk.act(newer["id"], "submit", "marketing")

    await desk.sign_in("compliance")
    queue = text_of(await desk.page(f"{LIST}/review"))
    assert queue.index("第二版") < queue.index("后提交")  # submitted first
    assert "新版本 线上第 1 版 · 生效中" in queue
    assert "首次提交" in queue

    html = await desk.page(f"{LIST}/review/{brochure}")
    text = text_of(html)
    assert "与已通过版本相比的改动" in text
    assert "标题 已通过版本 第 一 版 本次提交 第 二 版" in text
    assert "<del>一</del>" in html
    assert "<ins>二</ins>" in html
    assert "本次提交 科技成长股票基金（TECH01 · R4）" in text
    assert "新增：第 2 页" in text
    assert "删除：原第 2 页" in text
    assert "R4 中高风险" in text
    assert 'class="strip-item strip-added"' in html
    assert f'name="next" value="{LIST}/review/{newer["id"]}"' in html  # on to the next one
    approved = await desk.post(
        f"{LIST}/{brochure}/approve",
        {"next": f"{LIST}/review/{newer['id']}", "from": f"{LIST}/review/{brochure}"},
    )
    assert approved.headers["location"] == f"{LIST}/review/{newer['id']}"
    rejected = await desk.post(
        f"{LIST}/{newer['id']}/reject", {"reason": "缺少风险提示", "next": f"{LIST}/review"}
    )
    assert rejected.headers["location"] == f"{LIST}/review"
    assert "没有待审核的宣传册" in text_of(await desk.page(f"{LIST}/review"))

    await desk.sign_in("marketing")
    page = text_of(await desk.page(f"{LIST}/{newer['id']}"))
    assert "退回原因 · 合规部 Compliance 缺少风险提示" in page

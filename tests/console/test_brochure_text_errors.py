"""What the brochure pages say about text they refuse, under the field it concerns: a title,
tags or a talk track holding invisible or control characters (the upload and edit form, either
shape), a reject reason that shows nothing or is too long (the review page); and the review
page of a version whose approval an edit voided says so, in one voice."""

from __future__ import annotations

import pytest

from tests.console.brochure_data import Desk, open_desk, page_image, text_of
from tests.console.field_errors import banners, field_error, valid, value_of
from tests.console.test_brochure_pages import (
    LIST,
    brochure_count,
    latest_status,
    post_upload,
    script_parts,
    upload_parts,
)
from tests.console.test_pages import console_page

pytestmark = pytest.mark.usefixtures("demo_bank")
FILES = [("p.jpg", page_image())]
BAD_TALK = "第一行\u0007\u001b[31m红\u202e反向"


@pytest.fixture
async def desk(make_console, settings, tmp_path) -> Desk:
    return await open_desk(make_console, settings, tmp_path)


async def test_a_title_with_a_direction_override_is_said_to_hold_such_characters(desk, db):
    await desk.sign_in("marketing")
    answer = await post_upload(
        desk, f"{LIST}/new", script_parts({"title": "abc\u202edef", "product_code": "WM90"}, FILES),
        script=True,
    )  # fmt: skip
    assert answer.status_code == 422
    said = answer.json()["fields"]["title"]
    assert "不可见字符或控制字符" in said
    assert "请填写标题" not in said
    invisible = await post_upload(
        desk, f"{LIST}/new", script_parts({"title": "\u200b\u200b", "product_code": "WM90"}, FILES),
        script=True,
    )  # fmt: skip
    assert "只有空格或不可见字符" in invisible.json()["fields"]["title"]

    plain = await post_upload(
        desk,
        f"{LIST}/new",
        upload_parts({"_csrf_token": desk.token, "title": "abc\u0007def", "product_code": "WM90"},
                     FILES),
    )  # fmt: skip
    html = console_page(plain, 422)
    assert "不可见字符或控制字符" in field_error(html, "title")
    assert await brochure_count(db) == 0


async def test_tags_and_talk_track_with_control_characters_are_refused_under_their_fields(desk, db):
    await desk.sign_in("marketing")
    meta = {"title": "稳享90天", "product_code": "WM90", "talk_track": BAD_TALK,
            "tags": ["理财", "a\u0007b", "\u200b", "x\u202ey"]}  # fmt: skip
    answer = await post_upload(desk, f"{LIST}/new", script_parts(meta, FILES), script=True)
    assert answer.status_code == 422
    fields = answer.json()["fields"]
    assert sorted(fields) == ["tags", "talk_track"]
    assert "第 2 个标签中有不可见字符或控制字符" in fields["tags"]
    assert "第 3 个标签只有不可见字符" in fields["tags"]
    assert "第 4 个标签中有不可见字符或控制字符" in fields["tags"]
    assert "话术中有不可见的控制字符或文字方向控制符" in fields["talk_track"]

    # The plain form (no script): the same, under each field, with what was typed.
    plain = await post_upload(
        desk,
        f"{LIST}/new",
        upload_parts({"_csrf_token": desk.token, "title": "稳享90天", "product_code": "WM90",
                      "talk_track": BAD_TALK, "tags": "理财、a\u0007b、\u200b、x\u202ey"},
                     FILES),
    )  # fmt: skip
    html = console_page(plain, 422)
    assert "第 4 个标签中有不可见字符或控制字符" in field_error(html, "tags")
    assert "话术中有" in field_error(html, "talk_track")
    assert valid(html, "title")
    assert value_of(html, "talk_track") == BAD_TALK
    assert await brochure_count(db) == 0

    # An edit is checked alike.
    made = await desk.upload(page_image())
    edit = await post_upload(
        desk,
        f"{LIST}/{made['id']}/edit",
        script_parts({"title": "稳享90天", "product_code": "WM90", "talk_track": "稳健理财",
                      "tags": ["理财", "\u2067热销"]}, []),
        script=True,
    )  # fmt: skip
    assert edit.status_code == 422
    assert "第 2 个标签中有" in edit.json()["fields"]["tags"]


async def test_a_refused_reject_reason_is_said_under_the_reason(desk, db):
    made = await desk.upload(page_image())
    brochure = made["id"]
    await desk.act(brochure, "submit", "marketing")
    await desk.sign_in("compliance")
    review = f"{LIST}/review/{brochure}"
    await desk.page(review)
    for reason, said in (("   ", "请填写退回原因"), ("\u200b", "请填写退回原因"),
                         ("因" * 600, "退回原因最多 500 个字")):  # fmt: skip
        refused = await desk.post(f"{LIST}/{brochure}/reject", {"reason": reason, "from": review})
        html = console_page(refused, 422)
        assert 'id="decide"' in html  # the review page again, the reason under its field
        assert "<title>审核：" in html
        assert said in field_error(html, "reason")
        assert 'id="action-error"' not in html
        assert said not in banners(html)
        assert value_of(html, "reason") == reason  # what was typed stays
    # From the brochure's own page, the same (not the publish window's banner).
    refused = await desk.post(f"{LIST}/{brochure}/reject", {"reason": "  ", "from": ""})
    html = console_page(refused, 422)
    assert "请填写退回原因" in field_error(html, "reason")
    assert "还不能发布" not in text_of(html)
    assert await latest_status(db, brochure) == "pending_review"


async def test_the_review_page_says_an_approval_an_edit_voided_is_void(desk, db):
    made = await desk.upload(page_image(), title="稳享90天 · 初稿")
    brochure = made["id"]
    await desk.act(brochure, "submit", "marketing")
    await desk.act(brochure, "approve", "compliance")
    edited = await desk.client.put(
        f"/api/v1/brochures/{brochure}",
        files=[("meta", (None, '{"title": "稳享90天 · 改稿", "product_code": "WM90"}',
                         "application/json"))],
        headers=await desk.headers("marketing"),
    )  # fmt: skip
    assert edited.status_code == 200, edited.text
    await desk.act(brochure, "submit", "marketing")

    await desk.sign_in("compliance")
    text = text_of(await desk.page(f"{LIST}/review/{brochure}"))
    assert "上次审核通过" in text
    assert "之后内容被修改，这次通过已失效" in text
    assert "还没有已通过的版本可以对比" not in text  # it was approved: that approval is void
    assert "那次通过已失效" in text
    assert "与上次审核通过的内容相比的改动 标题" in text  # what changed since that approval

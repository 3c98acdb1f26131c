"""The survey design pages over HTTP, as plain form posts: a marketing officer creates a survey,
edits its questions, options and skip logic without JSON, is told in Chinese beside each
question what keeps it from being published, publishes it; branch heads only read."""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import Any

import pytest

from tests.console.conftest import post_form, signed_in
from tests.console.field_errors import field_error, value_of
from tests.console.test_pages import console_page, nav_links

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/surveys"


def editor_fields(title: str, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """The editor's form as the page sends it: question rows `q{n}.*`, option rows `o{m}.*`."""
    fields: dict[str, Any] = {"title": title, "q": []}
    for n, q in enumerate(questions, 1):
        p = f"q{n}."
        fields["q"].append(str(n))
        fields[p + "order"] = str(q.get("order", n))
        fields[p + "key"] = q.get("key", "")
        fields[p + "type"] = q.get("type", "single")
        fields[p + "text"] = q.get("text", "")
        if q.get("required"):
            fields[p + "required"] = "1"
        if q.get("remove"):
            fields[p + "remove"] = "1"
        fields[p + "show_key"] = q.get("show_key", "")
        fields[p + "show_in"] = q.get("show_in", "")
        options = [*q.get("options", []), ("", "", "")]  # and a spare left empty
        fields[p + "o"] = [str(m) for m in range(1, len(options) + 1)]
        for m, (label, value, tag) in enumerate(options, 1):
            fields[f"{p}o{m}.label"] = label
            fields[f"{p}o{m}.value"] = value
            fields[f"{p}o{m}.tag"] = tag
    return fields


async def create(console: Any, token: str, **fields: str) -> str:
    """Send the new-survey form; the editor's path it leads to."""
    body = {"title": "网点服务回访", "audience": "customer", "starter": "nps", **fields}
    response = await post_form(console, f"{LIST}/new", body, token=token)
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    assert re.fullmatch(r"/console/surveys/[0-9a-f-]{36}/edit", location), location
    return location


async def stored(db: Any) -> Any:
    """The draft's questions as saved."""
    return json.loads(await db.fetchval("select questions::text from surveys"))


def cards(page: str) -> list[str]:
    """The editor's question cards, in order."""
    questions = page.split('id="q-list"')[1].split("</ol>")[0]
    return questions.split('<li class="q-card')[1:]


def text(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def test_marketing_creates_edits_and_publishes_through_the_pages(console, db):
    token = await signed_in(console, "marketing")
    page = console_page(await console.get(LIST), 200)
    assert "/console/surveys" in nav_links(page)
    assert "还没有问卷" in page
    edit = await create(console, token)
    page = console_page(await console.get(edit), 200)
    assert "您有多大可能向亲友推荐我行？" in page  # the NPS starter
    assert "仅当第 1 题回答 0-6 时显示" in text(page)  # its follow-up's logic, in words

    # Questions typed in, not JSON: keys and option values left empty are filled in, and the
    # skip logic names an option by its label.
    questions = [
        {"type": "nps", "text": "您有多大可能向亲友推荐我行？", "required": True},
        {"type": "single", "text": "您办理的业务是？",
         "options": [("存款", "", ""), ("理财", "", "理财意向")]},
        {"type": "rating", "text": "您对理财经理满意吗？", "show_key": "q2", "show_in": "理财"},
        {"type": "text", "text": "请告诉我们原因", "show_key": "q1", "show_in": "0-6"},
    ]  # fmt: skip
    fields = {**editor_fields("网点服务回访", questions), "action": "save"}
    response = await post_form(console, edit, fields, token=token)
    assert response.status_code == 303, response.text
    saved = await stored(db)
    assert [q["key"] for q in saved] == ["q1", "q2", "q3", "q4"]
    assert saved[1]["options"] == [
        {"value": "o1", "label": "存款"}, {"value": "o2", "label": "理财", "tag": "理财意向"}
    ]  # fmt: skip
    assert saved[2]["show_if"] == {"key": "q2", "in": ["o2"]}
    assert saved[3]["show_if"] == {"key": "q1", "in": [0, 1, 2, 3, 4, 5, 6]}
    page = console_page(await console.get(edit), 200)
    assert "草稿已保存" in page

    # Publishing a draft whose logic does not hold: saved, not published, told where and why.
    broken = [questions[2], *questions[:2]]  # the rating now looks at a later question
    fields = {**editor_fields("网点服务回访", broken), "action": "publish"}
    page = console_page(await post_form(console, edit, fields, token=token), 422)
    flat = text(page)
    assert "草稿已保存，但还不能发布" in flat
    assert "第一题必须总是显示，不能设置显示条件。" in flat
    assert "显示条件引用了后面的题目“q2”，只能引用排在前面的题目。" in flat
    first, second, _ = cards(page)  # each flaw beside the question it concerns
    assert "第一题必须总是显示" in first
    assert "只能引用排在前面的题目" in first
    assert "q-flaw" not in second
    row = await db.fetchrow("select status, version from surveys")
    assert (row["status"], row["version"]) == ("draft", 0)
    assert (await stored(db))[0]["text"] == "您对理财经理满意吗？"

    fields = {**editor_fields("网点服务回访", questions), "action": "publish"}
    response = await post_form(console, edit, fields, token=token)
    assert response.status_code == 303, response.text
    page = console_page(await console.get(edit), 200)
    assert "已发布第 1 版" in page
    assert "市场部 Marketing" in text(page.split('id="history-title"')[1])  # who published
    assert (await db.fetchrow("select status, version from surveys"))["version"] == 1

    # Saving it again unchanged and publishing says so; nothing new is published.
    response = await post_form(console, edit, fields, token=token)
    assert response.status_code == 303
    page = console_page(await console.get(edit), 200)
    assert "草稿与线上版本相同，无需重新发布。" in page
    assert await db.fetchval("select count(*) from survey_versions") == 1
    listing = text(console_page(await console.get(LIST), 200))
    assert "网点服务回访" in listing
    assert "已发布" in listing
    assert "第 1 版" in listing


async def test_a_question_that_is_not_one_yet_is_said_beside_it_and_nothing_is_saved(console, db):
    token = await signed_in(console, "marketing")
    edit = await create(console, token)
    before = await stored(db)
    questions = [
        {"type": "single", "text": "", "options": [("是", "", ""), ("否", "", "")]},
        {"type": "multi", "text": "您关注哪些产品？", "options": [("", "bad value!", "")]},
        {"type": "rating", "text": "满意吗？", "show_key": "q1", "show_in": ""},
    ]
    fields = {**editor_fields("", questions), "action": "save"}
    page = console_page(await post_form(console, edit, fields, token=token), 422)
    flat = text(page)
    assert "还不能保存" in flat
    assert "请填写问卷标题。" in flat
    assert "请填写题目内容（最多 500 字）。" in flat
    assert "每个选项都要填写选项文字。" in flat
    assert "请填写显示这道题的答案" in flat
    assert 'value="您关注哪些产品？"' in page  # the form comes back as it was sent
    assert await stored(db) == before


@pytest.mark.parametrize(
    ("title", "shown", "message"),
    [
        ("", "", "请填写问卷标题。"),
        ("\u200b ", "", "请填写问卷标题。"),  # shows nothing: empty, asked for as spaces are
        ("长" * 201, "长" * 201, "问卷标题最多 200 个字。"),
        (
            "\u202e访回务服",
            "\u202e访回务服",
            "问卷标题不能含控制字符或改变文字方向的字符（可能从别处复制而来），请重新输入。",
        ),
    ],
)
async def test_a_refused_title_is_said_beside_the_title_in_the_editor(
    console, db, title, shown, message
):
    """The editor comes back (422) with the reason under the title field, not in the summary
    above the questions; the questions and the title as typed; nothing saved."""
    token = await signed_in(console, "marketing")
    edit = await create(console, token)
    before = (await stored(db), await db.fetchval("select title from surveys"))
    questions = [{"key": "visit", "type": "text", "text": "您对这次拜访有什么建议？"}]
    fields = {**editor_fields(title, questions), "action": "save"}
    page = console_page(await post_form(console, edit, fields, token=token), 422)
    assert field_error(page, "title") == message
    summary = page.split('id="survey-editor"')[0]  # the alerts above the form
    assert message not in text(summary)
    assert value_of(page, "title") == shown
    assert 'value="您对这次拜访有什么建议？"' in page
    assert (await stored(db), await db.fetchval("select title from surveys")) == before


@pytest.mark.parametrize("blank", ["   ", "\u200b", "\u200b\u2060\ufeff \u200d"])
async def test_text_that_shows_nothing_is_asked_for_as_spaces_are(console, db, blank):
    token = await signed_in(console, "marketing")
    body = {"title": blank, "audience": "customer", "starter": "nps"}
    page = console_page(await post_form(console, f"{LIST}/new", body, token=token), 422)
    assert '<p class="field-error" id="title-error">请填写问卷标题。</p>' in page
    assert await db.fetchval("select count(*) from surveys") == 0  # no draft without a name

    edit = await create(console, token)
    before = await stored(db)
    questions = [{"type": "single", "text": blank, "options": [("是", "", ""), (blank, "o2", "")]}]
    fields = {**editor_fields(blank, questions), "action": "save"}
    flat = text(console_page(await post_form(console, edit, fields, token=token), 422))
    assert "请填写问卷标题。" in flat
    assert "请填写题目内容（最多 500 字）。" in flat
    assert "每个选项都要填写选项文字。" in flat
    assert await stored(db) == before


async def test_a_title_or_an_option_that_reads_backwards_is_refused(console, db):
    token = await signed_in(console, "marketing")
    backwards = "\u202e访回务服"  # shows as 服务回访, typed otherwise
    body = {"title": backwards, "audience": "customer", "starter": "nps"}
    page = console_page(await post_form(console, f"{LIST}/new", body, token=token), 422)
    assert "问卷标题不能含控制字符或改变文字方向的字符" in page
    assert f'value="{backwards}"' in page  # the title as typed
    assert await db.fetchval("select count(*) from surveys") == 0

    edit = await create(console, token)
    before = await stored(db)
    questions = [{"type": "single", "text": "您办理的业务是？",
                  "options": [("存款", "", ""), (backwards, "", "")]}]  # fmt: skip
    fields = {**editor_fields(backwards, questions), "action": "save"}
    flat = text(console_page(await post_form(console, edit, fields, token=token), 422))
    assert "问卷标题不能含控制字符" in flat
    assert "选项文字不能含控制字符" in flat
    assert await stored(db) == before


async def test_a_condition_is_never_saved_without_the_question_it_names(console, db):
    token = await signed_in(console, "marketing")
    edit = await create(console, token)
    before = await stored(db)
    nps = {"key": "nps_score", "type": "nps", "text": "推荐吗？"}
    # The question it named was renamed (or removed) on a page without script: refused, shown.
    renamed = [nps, {"key": "reason", "type": "text", "text": "原因", "show_key": "nps",
                     "show_in": "0-6"}]  # fmt: skip
    fields = {**editor_fields("回访", renamed), "action": "save"}
    page = console_page(await post_form(console, edit, fields, token=token), 422)
    assert "显示条件引用的题目“nps”已不在问卷中" in text(cards(page)[1])
    assert 'value="nps" selected' in cards(page)[1]  # kept as sent, to choose again
    # Answers without a question to look at: refused too, not saved as always shown.
    orphan = [nps, {"key": "reason", "type": "text", "text": "原因", "show_in": "0-6"}]
    fields = {**editor_fields("回访", orphan), "action": "save"}
    page = console_page(await post_form(console, edit, fields, token=token), 422)
    assert "没有选择依据哪道题" in text(cards(page)[1])
    # A key written wrong keeps the condition naming it, and says what to fix.
    bad = [{**nps, "key": "Bad Key"}, {**renamed[1], "show_key": "Bad Key"}]
    fields = {**editor_fields("回访", bad), "action": "save"}
    page = console_page(await post_form(console, edit, fields, token=token), 422)
    first, second = cards(page)
    assert "题目编号须以小写字母开头" in text(first)
    assert 'value="Bad Key" data-row="1" selected' in second
    assert await stored(db) == before
    fields = {**editor_fields("回访", [nps, {**renamed[1], "show_key": "nps_score"}]),
              "action": "save"}  # fmt: skip
    assert (await post_form(console, edit, fields, token=token)).status_code == 303
    assert (await stored(db))[1]["show_if"] == {"key": "nps_score", "in": list(range(7))}


async def test_a_key_asked_as_another_type_than_published_is_said_beside_it(console, db):
    token = await signed_in(console, "marketing")
    edit = await create(console, token)
    fields = {**editor_fields("回访", [{"key": "score", "type": "nps", "text": "推荐吗？"}]),
              "action": "publish"}  # fmt: skip
    assert (await post_form(console, edit, fields, token=token)).status_code == 303
    retyped = [{"key": "sat", "type": "rating", "text": "满意吗？"},
               {"key": "score", "type": "single", "text": "哪一项？",
                "options": [("甲", "", ""), ("乙", "", "")]}]  # fmt: skip
    fields = {**editor_fields("回访", retyped), "action": "publish"}
    page = console_page(await post_form(console, edit, fields, token=token), 422)
    first, second = cards(page)
    assert "q-flaw" not in first
    assert "题目编号“score”在已发布的版本中是另一种题型" in text(second)
    assert await db.fetchval("select count(*) from survey_versions") == 1
    # The editor opened again says it too (the survey's flaws know its versions).
    reopened = console_page(await console.get(edit), 200)
    assert "在已发布的版本中是另一种题型" in text(cards(reopened)[1])


async def test_without_script_questions_are_added_moved_and_removed_by_form(console, db):
    token = await signed_in(console, "marketing")
    edit = await create(console, token, starter="blank")
    questions = [
        {"type": "single", "text": "第一问", "options": [("是", "", ""), ("否", "", "")]},
        {"type": "text", "text": "第二问", "order": "1"},  # moved to the top by its number
        {"type": "text", "text": "不要了", "remove": True},
    ]
    added = {**editor_fields("问卷", questions), "action": "add"}
    page = console_page(await post_form(console, edit, added, token=token), 200)
    assert len(cards(page)) == 3  # two kept and a new one, nothing saved yet
    assert "不要了" not in page
    fields = {**editor_fields("问卷", questions), "action": "save"}
    assert (await post_form(console, edit, fields, token=token)).status_code == 303
    saved = await stored(db)
    assert [q["text"] for q in saved] == ["第二问", "第一问"]


async def test_branch_heads_read_published_surveys_and_design_none(console, db):
    token = await signed_in(console, "marketing")
    edit = await create(console, token, title="员工脉搏", audience="staff")
    await post_form(console, edit, {**editor_fields("员工脉搏", [
        {"type": "rating", "text": "本周工作顺利吗？", "required": True},
    ]), "action": "publish"}, token=token)  # fmt: skip
    await create(console, token, title="未发布的草稿")
    survey_id = edit.split("/")[3]

    await console.post("/console/sign-out", data={"_csrf_token": token},
                       headers={"Origin": "https://console.test"})  # fmt: skip
    await signed_in(console, "bh.east")
    page = console_page(await console.get(LIST), 200)
    flat = text(page)
    assert "员工脉搏" in flat
    assert "未发布的草稿" not in flat
    assert "新建问卷" not in flat
    assert f'href="/console/surveys/{survey_id}/versions/1"' in page
    assert f'href="/console/surveys/{survey_id}/results"' in page
    assert f'href="/console/surveys/{survey_id}/send"' in page
    assert f"{survey_id}/edit" not in page
    version = text(console_page(await console.get(f"{LIST}/{survey_id}/versions/1"), 200))
    assert "本周工作顺利吗？" in version
    assert "第 1 版" in version
    console_page(await console.get(f"{LIST}/new"), 404)
    console_page(await console.get(edit), 404)


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("\u200b", "客户标签不能只有空格或不可见字符"),
        ("\u3164", "客户标签不能只有空格或不可见字符"),
        ("\u202e户客老", "客户标签不能含控制字符或改变文字方向的字符"),
    ],
    ids=["zero-width", "hangul filler", "reads backwards"],
)
async def test_an_option_tag_that_shows_nothing_is_said_beside_its_field(console, db, tag, message):
    """A chosen option's tag goes on the customer: a blank one is refused beside the tag field
    it concerns (marked invalid), not as a message at the top of the page."""
    token = await signed_in(console, "marketing")
    edit = await create(console, token)
    before = await stored(db)
    questions = [{"type": "single", "text": "您办理的业务是？",
                  "options": [("存款", "", ""), ("理财", "", tag)]}]  # fmt: skip
    fields = {**editor_fields("业务回访", questions), "action": "save"}
    page = console_page(await post_form(console, edit, fields, token=token), 422)
    [card] = cards(page)
    assert message in text(card)
    tag_field = re.search(r'<input[^>]*name="q1\.o2\.tag"[^>]*>', card)
    assert tag_field is not None
    assert 'aria-invalid="true"' in tag_field.group(0)
    assert await stored(db) == before

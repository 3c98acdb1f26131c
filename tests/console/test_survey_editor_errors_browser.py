"""What the survey editor refuses is shown where it is fixed, and the editor fits a phone.

A marketing officer who publishes a question left empty is taken to it: the page comes back with
focus on that input (scrolled into sight, not under the sticky save bar), marked invalid and
described by its message; the banner says how many fields need attention and links to the first.
The blank starter's hints ("请输入题目", 选项一/选项二) are refused when published unchanged
(a draft may keep them). On a 390 px phone nothing sticks out sideways and the save bar stays
one compact row; on its side (844x390) the bar leaves the screen to the questions. Screenshots
go to tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.console.browser import ARTIFACTS, phone_context, sideways
from tests.console.conftest import post_form, signed_in
from tests.console.field_errors import by_id, parse
from tests.console.test_pages import console_page
from tests.console.test_survey_design_pages import create, editor_fields

pytestmark = pytest.mark.usefixtures("demo_bank")

# The focused element: its id, and whether its middle is what the page shows there (in the
# window, not under the sticky save bar or the top bar).
FOCUSED = """() => {
  const el = document.activeElement;
  const box = el.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  return {id: el.id, seen: document.elementFromPoint(x, y) === el};
}"""


async def new_survey(page: Any, starter: str, title: str = "网点服务回访") -> None:
    """Create a draft from `starter` through the form; ends in its editor."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.goto("/console/surveys/new")
    await page.get_by_label("问卷标题").fill(title)
    await page.get_by_text(starter).click()
    async with page.expect_navigation():
        await page.get_by_role("button", name="创建草稿").click()


async def described(page: Any, control: Any) -> str:
    """The text of the messages `control` names in aria-describedby."""
    ids = (await control.get_attribute("aria-describedby") or "").split()
    assert ids, "no aria-describedby"
    texts = [await page.locator(f'[id="{i}"]').inner_text() for i in ids]
    return " ".join(texts)


async def test_publishing_an_empty_question_goes_to_it(page, sign_in, db):
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    await new_survey(page, "NPS 回访：推荐度与原因")
    await page.set_viewport_size({"width": 820, "height": 700})  # the last question below
    cards = page.locator("#q-list > .q-card")
    last = cards.nth(2).get_by_label("题目", exact=True)
    await last.fill("")
    await page.get_by_label("问卷标题").focus()
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存并发布").click()

    alert = page.get_by_role("alert").first
    await expect(alert).to_contain_text("还不能保存")
    await expect(alert).to_contain_text("有 1 处需要修改")
    await page.wait_for_function("() => document.activeElement.id === 'q3.text'")
    focused = await page.evaluate(FOCUSED)
    assert focused == {"id": "q3.text", "seen": True}, focused
    await expect(last).to_have_attribute("aria-invalid", "true")
    assert await described(page, last) == "请填写题目内容（最多 500 字）。"
    for other in (cards.nth(0), cards.nth(1)):  # the questions that are fine are not marked
        assert await other.get_by_label("题目", exact=True).get_attribute("aria-invalid") is None
    await page.screenshot(path=str(ARTIFACTS / "survey-editor-refused-focus.png"))
    assert await db.fetchval("select count(*) from survey_versions") == 0

    # The banner's link goes back to it from anywhere on the page.
    await page.get_by_label("问卷标题").focus()
    await alert.get_by_role("link", name="转到第 3 题的题目").click()
    await page.wait_for_function("() => document.activeElement.id === 'q3.text'")
    assert (await page.evaluate(FOCUSED))["seen"]

    await last.fill("还有什么想对我们说的吗？")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存并发布").click()
    await expect(page.locator(".flash-success")).to_contain_text("已发布第 1 版")


async def test_a_question_number_to_fix_is_in_sight_and_focused(page, sign_in):
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    await new_survey(page, "NPS 回访：推荐度与原因")
    second = page.locator("#q-list > .q-card").nth(1)
    await second.locator(".q-advanced summary").click()
    await second.locator(".q-key").fill("Reason 2")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await page.wait_for_function("() => document.activeElement.id === 'q2.key'")
    key = second.locator(".q-key")
    await expect(key).to_be_visible()  # not folded away in its section
    await expect(key).to_have_attribute("aria-invalid", "true")
    assert "题目编号须以小写字母开头" in await described(page, key)
    assert (await page.evaluate(FOCUSED))["seen"]


async def test_the_blank_starter_is_not_published_unchanged(page, sign_in, db):
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    await new_survey(page, "空白问卷（一道单选题）", title="空白起步")
    card = page.locator("#q-list > .q-card").first
    text = card.get_by_label("题目", exact=True)
    # Opened, the draft already says what is left to write.
    await expect(page.locator("#flaw-count")).to_contain_text("需要修改后才能发布")
    await expect(text).to_have_attribute("aria-invalid", "true")

    async with page.expect_navigation():
        await page.get_by_role("button", name="保存并发布").click()
    await expect(page.get_by_role("alert").first).to_contain_text("草稿已保存，但还不能发布")
    await expect(page.get_by_role("alert").first).to_contain_text("有 3 处需要修改")
    await page.wait_for_function("() => document.activeElement.id === 'q1.text'")
    assert "示例文字" in await described(page, text)
    labels = card.locator(".opt-label")
    for n in (0, 1):
        await expect(labels.nth(n)).to_have_attribute("aria-invalid", "true")
        assert "示例选项" in await described(page, labels.nth(n))
    assert await db.fetchval("select count(*) from survey_versions") == 0
    await page.screenshot(path=str(ARTIFACTS / "survey-editor-starter-refused.png"))

    # A draft keeps them: saving still works.
    await page.get_by_label("问卷标题").fill("空白起步（草稿）")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await expect(page.locator(".flash-success")).to_contain_text("草稿已保存")
    assert await db.fetchval("select title from surveys") == "空白起步（草稿）"

    # Written over, it publishes.
    await text.fill("您对本次服务满意吗？")
    await labels.nth(0).fill("满意")
    await labels.nth(1).fill("不满意")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存并发布").click()
    await expect(page.locator(".flash-success")).to_contain_text("已发布第 1 版")
    assert await db.fetchval("select count(*) from survey_versions") == 1


async def test_each_refused_field_is_marked_and_the_first_opens_without_script(console, db):
    """Without script: every field a message concerns is invalid and names its message, the
    first is `autofocus`, the banner counts them and links to the first."""
    token = await signed_in(console, "marketing")
    edit = await create(console, token)
    questions = [
        {"type": "single", "text": "办理的业务？", "options": [("", "dep", ""), ("理财", "", "")]},
        {"type": "rating", "text": "满意吗？", "show_key": "q1", "show_in": ""},
        {"key": "Bad Key", "type": "text", "text": "还有建议吗？"},
    ]  # fmt: skip
    fields = {**editor_fields("网点服务回访", questions), "action": "publish"}
    html = console_page(await post_form(console, edit, fields, token=token), 422)
    marked_as_refused(html, {
        "q1.o1.label": "每个选项都要填写选项文字。",
        "q2.show_in": "请填写显示这道题的答案，例如：0-6，或选项文字。",
        "q3.key": "题目编号须以小写字母开头，只含小写字母、数字和下划线，最多 40 个字符。",
    }, fine=("title", "after_template_id", "q1.text", "q1.o2.label", "q2.text", "q3.text"),
       link="转到第 1 题的选项 1 的选项文字")  # fmt: skip

    # The task template the service does not find: beside its choice, not in a banner.
    fields = {**editor_fields("网点服务回访", questions[1:2]), "action": "save"}
    fields["q1.show_key"] = ""
    fields["after_template_id"] = str(uuid.uuid4())
    html = console_page(await post_form(console, edit, fields, token=token), 422)
    marked_as_refused(
        html, {"after_template_id": "所选的任务模板不存在或您无权使用，请重新选择。"},
        fine=("title", "q1.text"), link="转到任务完成后自动发送",
    )  # fmt: skip
    assert await db.fetchval("select count(*) from survey_versions") == 0


def marked_as_refused(
    html: str, expected: dict[str, str], *, fine: tuple[str, ...], link: str
) -> None:
    """Each control of `expected` is invalid and described by exactly its message, the first
    is `autofocus`; those of `fine` are not marked; the banner counts them, links the first."""
    root = parse(html)
    for control_id, message in expected.items():
        control = by_id(root, control_id)
        assert control.attrs.get("aria-invalid") == "true", control_id
        ids = control.attrs["aria-describedby"].split()
        assert [by_id(root, i).text() for i in ids] == [message], control_id
    autofocused = [e.attrs["id"] for e in root.walk() if "autofocus" in e.attrs]
    assert autofocused == [next(iter(expected))]
    for control_id in fine:
        assert "aria-invalid" not in by_id(root, control_id).attrs, control_id
    alert = next(e for e in root.walk() if "alert-error" in e.classes)
    assert f"有 {len(expected)} 处需要修改" in alert.text()
    first = next(e for e in alert.walk() if e.tag == "a")
    assert first.attrs["href"] == f"#{next(iter(expected))}"
    assert first.text() == link
    for message in expected.values():
        assert message not in alert.text()


async def test_the_editor_fits_a_phone(browser, console_server, sign_in):
    from playwright.async_api import expect

    context = await phone_context(browser, console_server)
    errors: list[str] = []
    try:
        page = await context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, "marketing")
        await new_survey(page, "NPS 回访：推荐度与原因")  # a condition with a long choice
        await expect(page.locator("#q-list > .q-card")).to_have_count(3)
        assert await page.evaluate("() => window.innerWidth") == 390  # not zoomed out
        assert await sideways(page) == []
        inputs = page.locator("#survey-editor input:visible, #survey-editor select:visible")
        rights = await inputs.evaluate_all(
            "els => els.map(e => Math.round(e.getBoundingClientRect().right))"
        )
        assert rights
        assert max(rights) <= 390, rights
        bar = await page.locator(".editor-bar").bounding_box()
        assert bar is not None
        assert bar["height"] <= 100, bar  # one row of buttons, a short note
        await page.screenshot(path=str(ARTIFACTS / "survey-editor-phone.png"))
        await page.screenshot(path=str(ARTIFACTS / "survey-editor-phone-full.png"), full_page=True)

        # Refused there too: the empty question is in sight above the bar, its message under it.
        await page.locator("#q-list > .q-card").nth(2).get_by_label("题目", exact=True).fill("")
        async with page.expect_navigation():
            await page.get_by_role("button", name="保存并发布").click()
        await page.wait_for_function("() => document.activeElement.id === 'q3.text'")
        assert (await page.evaluate(FOCUSED))["seen"]
        await expect(page.locator('[id="q3-note-1"]')).to_be_in_viewport()
        assert await sideways(page) == []
        await page.screenshot(path=str(ARTIFACTS / "survey-editor-phone-refused.png"))

        # On its side the bar is at the end of the form, not over the questions.
        await page.set_viewport_size({"width": 844, "height": 390})
        position = await page.locator(".editor-bar").evaluate("e => getComputedStyle(e).position")
        assert position == "static"
        assert await sideways(page) == []
        await page.locator("#q-list > .q-card").nth(1).get_by_label("题目", exact=True).focus()
        await page.screenshot(path=str(ARTIFACTS / "survey-editor-phone-landscape.png"))
    finally:
        await context.close()
    assert errors == []

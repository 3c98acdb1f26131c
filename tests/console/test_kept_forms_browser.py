"""What a marketing officer typed into the survey editor survives a submission the server did not
take, in a real browser. The editor's buttons are named `action` (保存草稿 / 保存并发布), which
hides the form's own `action` property: the page script keeps the typed text by the address the
form is sent to all the same, offers it back after signing in again, and forgets it once the
form is saved. A question pasted with an invisible NUL character gets a page that says so and
names the field; 返回修改 leads back to the editor, which offers the text back without it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.console.test_survey_editor_errors_browser import new_survey
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")

QUESTION = "您对网点大堂经理的引导服务满意吗？"
DRAFTS = "wb-console-drafts"


async def question_texts(db: Any) -> list[str]:
    """The saved draft's question texts, in order."""
    questions = json.loads(await db.fetchval("select questions::text from surveys"))
    return [q["text"] for q in questions]


def third_question(page: Any) -> Any:
    return page.locator("#q-list > .q-card").nth(2).get_by_label("题目", exact=True)


async def test_text_typed_in_the_survey_editor_comes_back_after_signing_in_again(
    page: Any, sign_in: Any, shot: Any, db: Any
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    await new_survey(page, "NPS 回访：推荐度与原因")
    editor = urlsplit(page.url).path
    before = await question_texts(db)
    await third_question(page).fill(QUESTION)

    # Signed out in another tab of the same browser: the save lands on the sign-in page.
    other = await page.context.new_page()
    await other.goto("/console")
    async with other.expect_navigation():
        await other.get_by_role("button", name="退出登录").click()
    await other.close()
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    assert urlsplit(page.url).path == "/console/sign-in"
    assert await question_texts(db) == before

    await page.get_by_label("账号").fill("marketing")
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="登录").click()
    offer = page.locator(".draft-offer")
    await expect(offer).to_contain_text("《编辑问卷》")
    async with page.expect_navigation():
        await offer.get_by_role("link").click()
    assert urlsplit(page.url).path == editor
    # On the editor itself: offered back beside the form, not the link to this very page.
    await expect(page.get_by_role("link", name="《编辑问卷》")).to_have_count(0)
    await expect(third_question(page)).to_have_value(before[2])
    await shot(page, "kept-forms-survey-editor-offer", sizes=("desktop",))
    await page.get_by_role("button", name="恢复填写的内容").click()
    await expect(third_question(page)).to_have_value(QUESTION)
    await expect(page.locator(".draft-offer")).to_have_count(0)

    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await page.get_by_text("草稿已保存").wait_for()
    assert (await question_texts(db))[2] == QUESTION
    # Saved: nothing is offered any more, on the editor or anywhere else.
    await expect(page.locator(".draft-offer")).to_have_count(0)
    await page.goto("/console")
    await expect(page.locator(".draft-offer")).to_have_count(0)
    assert await page.evaluate(f"sessionStorage.getItem('{DRAFTS}')") is None


async def test_a_copy_kept_by_the_old_script_does_not_stay_on_every_page(
    page: Any, sign_in: Any
) -> None:
    """A tab that kept a copy before the fix (its address stored as {"0": {}, …}): it linked
    back to a page that never offered it, on every page for 12 hours; now it is let go."""
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    stale = [{"action": {"0": {}, "1": {}}, "page": "/console/surveys", "title": "编辑问卷",
              "fields": {"title": "x"}, "at": 0}]  # fmt: skip
    await page.evaluate(
        "([key, value]) => sessionStorage.setItem(key, JSON.stringify("
        "value.map(d => Object.assign(d, {at: Date.now()}))))",
        [DRAFTS, stale],
    )
    await page.goto("/console")
    await expect(page.locator(".draft-offer")).to_have_count(0)


async def test_a_question_pasted_with_a_nul_is_named_and_offered_back_without_it(
    page: Any, sign_in: Any, shot: Any, db: Any
) -> None:
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    await new_survey(page, "NPS 回访：推荐度与原因")
    editor = urlsplit(page.url).path
    before = await question_texts(db)
    pasted = "您对网点\u0000大堂经理的引导服务满意吗？"
    await third_question(page).evaluate(
        "(el, text) => { el.value = text; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        pasted,
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await expect(page.get_by_role("heading", name="无法保存")).to_be_visible()
    main = page.locator("main")
    await expect(main).to_contain_text(
        "提交的内容中含有无法保存的不可见字符（NUL），通常来自复制粘贴，请删除后重新提交"
    )
    await expect(main).to_contain_text("含有这个字符的是“题目”一栏。")
    await expect(page.get_by_role("link", name="返回首页")).to_have_count(0)
    await shot(page, "kept-forms-nul-refused", sizes=("desktop", "tablet-portrait"))
    assert await question_texts(db) == before

    async with page.expect_navigation():
        await page.get_by_role("link", name="返回修改").click()
    assert urlsplit(page.url).path == editor
    offer = page.locator(".draft-offer")
    await expect(offer).to_contain_text("不可见字符（NUL）")
    await page.get_by_role("button", name="恢复填写的内容").click()
    await expect(third_question(page)).to_have_value(QUESTION)
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await page.get_by_text("草稿已保存").wait_for()
    assert (await question_texts(db))[2] == QUESTION
    await expect(page.locator(".draft-offer")).to_have_count(0)

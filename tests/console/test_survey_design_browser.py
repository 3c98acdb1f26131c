"""A marketing officer designs a survey in a real browser: from the NPS start, adds a choice
question with the page's script, sets its skip logic, watches the preview, is told in Chinese
what keeps it from being published, fixes it and publishes. Screenshots of the editor at desktop
and tablet sizes go to tests/artifacts/console/ for a person to look at."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_marketing_designs_and_publishes_a_survey(page, sign_in, shot, db):
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    nav = page.get_by_role("navigation", name="主导航")
    await nav.get_by_role("link", name="问卷与回访").click()
    await page.get_by_role("link", name="新建问卷").first.click()
    await page.get_by_label("问卷标题").fill("网点拜访回访")
    await page.get_by_text("NPS 回访：推荐度与原因").click()
    await shot(page, "survey-new", sizes=("desktop",))
    async with page.expect_navigation():
        await page.get_by_role("button", name="创建草稿").click()
    await expect(page.locator(".flash-success")).to_contain_text("已创建草稿")
    cards = page.locator("#q-list > .q-card")
    await expect(cards).to_have_count(3)

    # A new question, typed in: a choice with two options, shown only to detractors.
    await page.get_by_role("button", name="＋ 添加题目").click()
    await expect(cards).to_have_count(4)
    new = cards.nth(3)
    await new.get_by_label("题目", exact=True).fill("您这次办理的是哪类业务？")
    labels = new.locator(".opt-label")
    await labels.nth(0).fill("存款")
    await labels.nth(1).fill("理财")
    await new.locator(".opt-tag").nth(1).fill("理财意向")
    await new.locator(".q-show-key").select_option("nps")
    await new.get_by_label("显示这道题的答案").fill("0-6")
    await expect(new.locator(".q-logic-hint")).to_contain_text("0-10 的分数")
    preview = page.locator("#pv-questions")
    await expect(preview).to_contain_text("您这次办理的是哪类业务？")
    await expect(preview.locator(".pv-q").nth(3)).to_contain_text("仅当第 1 题回答 0-6 时显示")

    # Moved to the top, it cannot be published: said beside the question.
    for _ in range(3):
        await cards.nth(3 - _).get_by_role("button", name="上移").click()
    await expect(cards.nth(0).get_by_label("题目", exact=True)).to_have_value(
        "您这次办理的是哪类业务？"
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存并发布").click()
    await expect(page.get_by_role("alert").first).to_contain_text("草稿已保存，但还不能发布")
    first = cards.nth(0)
    await expect(first.locator(".q-messages")).to_contain_text("第一题必须总是显示")
    await expect(first.locator(".q-messages")).to_contain_text("只能引用排在前面的题目")
    await expect(cards.nth(1).locator(".q-messages")).to_have_count(0)
    await page.get_by_label("问卷标题").focus()
    await shot(page, "survey-editor", sizes=("desktop", "tablet-portrait", "tablet-landscape"))

    # Moved back below the NPS question, it publishes as version 1.
    await cards.nth(0).get_by_role("button", name="下移").click()
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存并发布").click()
    await expect(page.locator(".flash-success")).to_contain_text("已发布第 1 版")
    await expect(page.locator(".versions")).to_contain_text("市场部 Marketing")
    await page.locator(".versions").get_by_role("link", name="第 1 版").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("第 1 版")
    await expect(page.locator(".version-list")).to_contain_text("理财意向")  # the customer tag
    await shot(page, "survey-version", sizes=("desktop",))
    questions = json.loads(await db.fetchval("select questions::text from survey_versions"))
    assert [q["text"] for q in questions][:2] == [
        "您有多大可能向亲友推荐我行？", "您这次办理的是哪类业务？"
    ]  # fmt: skip
    assert questions[1]["show_if"] == {"key": "nps", "in": [0, 1, 2, 3, 4, 5, 6]}
    assert questions[1]["options"][1] == {"value": "o2", "label": "理财", "tag": "理财意向"}
    await nav.get_by_role("link", name="问卷与回访").click()
    row = page.locator(".survey-row").filter(has_text="网点拜访回访")
    await expect(row).to_contain_text("第 1 版")
    await expect(row.get_by_role("link", name="结果")).to_be_visible()
    await shot(page, "survey-list", sizes=("desktop", "tablet-portrait"))


async def test_renaming_a_questions_key_keeps_the_skip_logic_that_looks_at_it(page, sign_in, db):
    from playwright.async_api import expect

    await sign_in(page, "marketing")
    await page.goto(page.url.split("/console")[0] + "/console/surveys/new")
    await page.get_by_label("问卷标题").fill("编号改名")
    await page.get_by_text("NPS 回访：推荐度与原因").click()
    async with page.expect_navigation():
        await page.get_by_role("button", name="创建草稿").click()
    cards = page.locator("#q-list > .q-card")
    first, second = cards.nth(0), cards.nth(1)
    condition = second.locator(".q-show-key")
    await expect(condition).to_have_value("nps")

    # Renamed, the condition follows the question, and is saved with its new key.
    await first.locator(".q-advanced summary").click()
    await first.locator(".q-key").fill("nps_score")
    await expect(condition).to_have_value("nps_score")
    await expect(condition.locator("option:checked")).to_contain_text("仅当第 1 题")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await expect(page.locator(".flash-success")).to_contain_text("草稿已保存")
    saved = json.loads(await db.fetchval("select questions::text from surveys"))
    assert saved[1]["show_if"] == {"key": "nps_score", "in": [0, 1, 2, 3, 4, 5, 6]}

    # A key written wrong: not saved, said beside it, and the condition still names it.
    await first.locator(".q-advanced summary").click()
    await first.locator(".q-key").fill("Bad Key")
    await expect(condition).to_have_value("Bad Key")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await expect(page.get_by_role("alert").first).to_contain_text("还不能保存")
    await expect(first.locator(".q-messages")).to_contain_text("题目编号须以小写字母开头")
    await expect(condition).to_have_value("Bad Key")
    await expect(second.get_by_label("显示这道题的答案")).to_have_value("0-6")
    await first.locator(".q-advanced summary").click()
    await first.locator(".q-key").fill("recommend")
    await expect(condition).to_have_value("recommend")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await expect(page.locator(".flash-success")).to_contain_text("草稿已保存")
    saved = json.loads(await db.fetchval("select questions::text from surveys"))
    assert [q["key"] for q in saved] == ["recommend", "reason", "comment"]
    assert saved[1]["show_if"] == {"key": "recommend", "in": [0, 1, 2, 3, 4, 5, 6]}

    # The question it looks at removed: the condition says so, and saving is refused.
    page.once("dialog", lambda dialog: dialog.accept())
    await first.get_by_role("button", name="删除这道题").click()
    await expect(cards).to_have_count(2)
    condition = cards.nth(0).locator(".q-show-key")
    await expect(condition.locator("option:checked")).to_contain_text("已不存在")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await expect(cards.nth(0).locator(".q-messages")).to_contain_text("已不在问卷中")
    saved_after = json.loads(await db.fetchval("select questions::text from surveys"))
    assert saved_after == saved
    # Choosing "always shown" clears the answers with it, and saves.
    await condition.select_option("")
    await expect(cards.nth(0).locator(".q-show-in")).to_have_value("")
    async with page.expect_navigation():
        await page.get_by_role("button", name="保存草稿").click()
    await expect(page.locator(".flash-success")).to_contain_text("草稿已保存")
    saved = json.loads(await db.fetchval("select questions::text from surveys"))
    assert [(q["key"], q.get("show_if")) for q in saved] == [("reason", None), ("comment", None)]

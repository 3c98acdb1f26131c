"""The survey page on a phone in a real browser (Debian's chromium): after a submission with a
mistake, a reload sends nothing, and once the fixed answers are in the back button never lands
on Chromium's "Confirm Form Resubmission" page; a follow-up's text survives its question being
hidden by a mis-tapped score and shown again, and is not sent while hidden."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.console.browser import browser, phone_context  # noqa: F401
from tests.customers_data import headers_of
from tests.serving import serving
from tests.workbench.surveys.delivery_data import EVERY_TYPE, SURVEYS, add_customers, publish

pytestmark = pytest.mark.usefixtures("demo_bank")
REASON = "排队时间太长，希望增加窗口"


async def _link(client: Any, db: Any, settings: Any) -> str:
    survey = await publish(db, title="网点服务满意度调查", questions=EVERY_TYPE)
    (customer,) = await add_customers(db, 1)
    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(customer)]},
                             headers=await headers_of(client, "rm01"))  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["recipients"][0]["url"]).removeprefix(
        settings.public_base_url.rstrip("/")
    )


async def _missing_rating(page: Any, link: str) -> None:
    """Answer all but the rating and submit: the page comes back with the mistake marked."""
    assert (await page.goto(link)).status == 200
    await page.locator('#q-nps input[value="4"]').check()
    await page.locator("#q-why textarea").fill(REASON)
    await page.get_by_text("网点", exact=True).click()
    await page.get_by_role("button", name="提交").click()
    await page.locator("#err-rating").wait_for()
    assert await page.locator("#q-why textarea").input_value() == REASON


async def test_a_reload_after_a_mistake_asks_again_and_sends_nothing(
    browser: Any,  # noqa: F811 (the fixture imported above)
    client: Any,
    db: Any,
    settings: Any,
) -> None:
    link = await _link(client, db, settings)
    async with serving(settings) as base:
        context = await phone_context(browser, base)
        errors: list[str] = []
        try:
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            methods: list[str] = []
            page.on(
                "request",
                lambda r: methods.append(r.method) if r.url == f"{base}{link}" else None,
            )
            await _missing_rating(page, link)
            assert page.url == f"{base}{link}"  # nothing typed in the address

            methods.clear()
            reloaded = await page.reload()
            assert reloaded is not None
            assert reloaded.request.method == "GET"
            assert reloaded.status == 200
            await page.locator("#err-rating").wait_for()
            assert await page.locator("#q-why textarea").input_value() == REASON
            assert methods == ["GET"]
        finally:
            await context.close()
    assert errors == []
    assert await db.fetchval("select count(*) from survey_responses") == 0


async def test_back_after_a_mistake_then_the_answer_never_asks_to_resubmit(
    browser: Any,  # noqa: F811
    client: Any,
    db: Any,
    settings: Any,
) -> None:
    link = await _link(client, db, settings)
    async with serving(settings) as base:
        context = await phone_context(browser, base)
        errors: list[str] = []
        try:
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            methods: list[str] = []
            page.on(
                "request",
                lambda r: methods.append(r.method) if r.url == f"{base}{link}" else None,
            )
            await _missing_rating(page, link)
            await page.locator('#q-rating input[value="2"]').check()
            await page.get_by_role("button", name="提交").click()
            await page.get_by_text("提交成功").wait_for()

            # Back: the link's page asked for again (answered now), never a resubmission.
            methods.clear()
            back = await page.go_back()
            assert back is not None
            assert back.request.method == "GET"
            assert back.url == f"{base}{link}"
            assert back.status == 409
            await page.get_by_role("heading", name="您已提交过本问卷").wait_for()
            assert "POST" not in methods
        finally:
            await context.close()
    assert errors == []
    assert await db.fetchval("select count(*) from survey_responses") == 1
    row = await db.fetchrow("select answers::text from survey_responses")
    assert json.loads(row["answers"]) == {"nps": 4, "visit": "branch", "rating": 2}


async def test_a_follow_ups_text_is_kept_while_hidden_and_not_sent(
    browser: Any,  # noqa: F811
    client: Any,
    db: Any,
    settings: Any,
) -> None:
    link = await _link(client, db, settings)
    async with serving(settings) as base:
        context = await phone_context(browser, base)
        try:
            page = await context.new_page()
            assert (await page.goto(link)).status == 200
            why = page.locator("#q-why")
            await page.locator('#q-nps input[value="5"]').check()
            await why.wait_for(state="visible")
            await why.locator("textarea").fill(REASON)
            await page.locator('#q-nps input[value="9"]').check()  # mis-tapped: hidden
            await why.wait_for(state="hidden")
            assert await why.locator("textarea").is_disabled()
            await page.locator('#q-nps input[value="5"]').check()  # tapped back
            await why.wait_for(state="visible")
            assert await why.locator("textarea").input_value() == REASON

            # A promoter is not asked why: hidden, the text stays on the page but is not sent.
            await page.locator('#q-nps input[value="9"]').check()
            await why.wait_for(state="hidden")
            await page.get_by_text("网点", exact=True).click()
            await page.locator('#q-rating input[value="5"]').check()
            await page.get_by_role("button", name="提交").click()
            await page.get_by_text("提交成功").wait_for()
        finally:
            await context.close()
    row = await db.fetchrow("select answers::text, texts_enc from survey_responses")
    assert json.loads(row["answers"]) == {"nps": 9, "visit": "branch", "rating": 5}
    assert row["texts_enc"] is None

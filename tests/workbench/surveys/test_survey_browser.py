"""A customer answers a survey on a phone in a real browser (Debian's chromium, 390 x 844): the
follow-up question appears for a low score and disappears (its text kept) for a high one, a missing
required answer comes back marked, the submission lands on the thank-you page, and the stored
answer keeps the shown follow-up's text, and the low score opens a work order that the customer's
RM sees. Screens are saved to tests/artifacts/surveys/."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import browser  # noqa: F401
from tests.customers_data import headers_of
from tests.serving import serving
from tests.workbench.surveys.delivery_data import EVERY_TYPE, SURVEYS, add_customers, publish

pytestmark = pytest.mark.usefixtures("demo_bank")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "surveys"
PHONE = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.44"
)


async def test_a_customer_answers_on_a_phone_with_skip_logic(
    browser: Any,  # noqa: F811 (the fixture imported above)
    client: Any,
    db: Any,
    settings: Any,
) -> None:
    survey = await publish(db, title="网点服务满意度调查", questions=EVERY_TYPE)
    (customer,) = await add_customers(db, 1)
    rule = {"survey_id": str(survey), "question_key": "nps", "op": "lte", "value": 6}
    made_rule = await client.post(
        "/api/v1/alert-rules", json=rule, headers=await headers_of(client, "admin")
    )
    assert made_rule.status_code == 201, made_rule.text
    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(customer)]},
                             headers=await headers_of(client, "rm01"))  # fmt: skip
    link = made.json()["recipients"][0]["url"].removeprefix(settings.public_base_url.rstrip("/"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with serving(settings) as base:
        context = await browser.new_context(
            base_url=base, user_agent=PHONE, viewport={"width": 390, "height": 844},
            device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
        )  # fmt: skip
        errors: list[str] = []
        try:
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            loaded: dict[str, int] = {}
            page.on("response", lambda r: loaded.__setitem__(r.url.split("?")[0], r.status))
            assert (await page.goto(link)).status == 200
            await page.evaluate("document.fonts.ready.then(() => true)")
            why = page.locator("#q-why")
            assert await why.is_hidden()  # nothing scored yet: the follow-up waits
            await page.screenshot(path=str(ARTIFACTS / "survey-phone-open.png"), full_page=True)

            await page.locator('#q-nps input[value="5"]').check()
            await why.wait_for(state="visible")
            await why.locator("textarea").fill("排队时间太长")
            await page.locator('#q-nps input[value="9"]').check()  # a promoter: not asked
            await why.wait_for(state="hidden")
            await page.locator('#q-nps input[value="3"]').check()
            await why.wait_for(state="visible")
            assert await why.locator("textarea").input_value() == "排队时间太长"  # kept
            await why.locator("textarea").fill("排队时间太长，希望增加窗口")
            await page.get_by_text("网点", exact=True).click()
            await page.get_by_text("选项staff").click()
            await page.get_by_text("选项speed").click()
            await page.get_by_role("button", name="提交").click()  # the rating is missing
            await page.locator("#err-rating").wait_for()
            assert await page.locator("#err-rating").inner_text() == "此题必答"
            assert await why.locator("textarea").input_value() == "排队时间太长，希望增加窗口"
            await page.locator("#q-rating").scroll_into_view_if_needed()
            await page.screenshot(path=str(ARTIFACTS / "survey-phone-error.png"), full_page=True)

            await page.locator('#q-rating input[value="4"]').check()
            await page.get_by_role("button", name="提交").click()
            await page.get_by_text("提交成功").wait_for()
            assert page.url.endswith("/thanks")
            await page.screenshot(path=str(ARTIFACTS / "survey-phone-thanks.png"), full_page=True)
            again = await page.goto(link)
            assert again.status == 409
        finally:
            await context.close()
    assert errors == []
    assert loaded[f"{base}/public/static/survey.js"] == 200
    assert loaded[f"{base}/public/static/survey.css"] == 200
    row = await db.fetchrow("select answers::text, texts_enc from survey_responses")
    assert json.loads(row["answers"]) == {"nps": 3, "visit": "branch",
                                          "liked": ["speed", "staff"], "rating": 4}  # fmt: skip
    assert row["texts_enc"] is not None
    rm01 = await headers_of(client, "rm01")
    (order,) = (await client.get("/api/v1/work-orders", headers=rm01)).json()["items"]
    detail = (await client.get(f"/api/v1/work-orders/{order['id']}", headers=rm01)).json()
    assert detail["state"] == "open"
    assert ("nps", "3", True) in [(a["key"], a["answer"], a["matched"]) for a in detail["answers"]]


_CONTRAST = """el => {
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  let bg = el, back = 'rgba(0, 0, 0, 0)';
  while (bg && (back = getComputedStyle(bg).backgroundColor) === 'rgba(0, 0, 0, 0)') {
    bg = bg.parentElement; }
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(back));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


async def test_the_score_buttons_are_big_enough_on_a_small_phone_and_text_is_legible(
    browser: Any,  # noqa: F811
    client: Any,
    db: Any,
    settings: Any,
) -> None:
    survey = await publish(db, title="网点服务满意度调查", questions=EVERY_TYPE)
    (customer,) = await add_customers(db, 1)
    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(customer)]},
                             headers=await headers_of(client, "rm01"))  # fmt: skip
    link = made.json()["recipients"][0]["url"].removeprefix(settings.public_base_url.rstrip("/"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with serving(settings) as base:
        context = await browser.new_context(
            base_url=base, user_agent=PHONE, viewport={"width": 320, "height": 568},
            device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
        )  # fmt: skip
        try:
            page = await context.new_page()
            assert (await page.goto(link)).status == 200
            await page.evaluate("document.fonts.ready.then(() => true)")
            boxes = [await s.bounding_box() for s in await page.locator("#q-nps .scale span").all()]
            assert len(boxes) == 11
            assert min(b["width"] for b in boxes) >= 44, boxes
            assert min(b["height"] for b in boxes) >= 44, boxes
            rows = sorted({round(b["y"]) for b in boxes})
            assert len(rows) == 2  # 0-5 and 6-10
            widths = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            assert (await page.evaluate(widths))[0] <= 320
            for selector in (".ends span", ".sub", ".note", ".hint"):
                ratio = await page.locator(selector).first.evaluate(_CONTRAST)
                assert ratio >= 4.5, (selector, ratio)
            await page.locator("#q-nps").screenshot(path=str(ARTIFACTS / "survey-nps-320.png"))
            await page.evaluate("document.documentElement.style.zoom = '2'")  # 200 % text
            await page.wait_for_timeout(200)
            scale = await page.locator("#q-nps .scale").evaluate(
                "e => [e.scrollWidth, e.clientWidth, e.getBoundingClientRect().right]"
            )
            assert scale[0] <= scale[1], scale
            await page.locator("#q-nps").screenshot(path=str(ARTIFACTS / "survey-nps-zoom200.png"))
            await page.evaluate("document.documentElement.style.zoom = '1'")

            # A double tap on a slow network: one submission, and the thank-you page.
            posts: list[str] = []

            async def slowly(route: Any) -> None:
                if route.request.method == "POST":
                    posts.append(route.request.url)
                    await asyncio.sleep(1.0)
                await route.continue_()

            await page.route(f"{base}{link}", slowly)
            await page.locator('#q-nps input[value="9"]').check()
            await page.get_by_text("网点", exact=True).click()
            await page.locator('#q-rating input[value="5"]').check()
            await page.get_by_role("button", name="提交").dblclick(no_wait_after=True)
            await page.get_by_text("提交成功").wait_for()
            assert len(posts) == 1
        finally:
            await context.close()
    assert await db.fetchval("select count(*) from survey_responses") == 1

"""A customer on a slow network taps 我有兴趣 before any brochure image arrived: the page was shown
(title, risk level, the RM's name), so the visit is an open and the tap a click in the RM's
share list, with a radar notification. The button without a script posts once and lands on a
result page (Post/Redirect/Get) that records nothing when reloaded or opened again. The demo
brochures' charts count their months (第13月), never a calendar month that does not exist."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any

import pytest
from PIL import ImageDraw

from tests.console.browser import browser  # noqa: F401
from tests.customers_data import headers_of
from tests.serving import serving
from tests.workbench.tracking.conftest import PHONE_SAFARI, WECHAT, hits, stream_length
from workbench.brochures import artwork

pytestmark = pytest.mark.usefixtures("demo_bank")
PHONE = {"User-Agent": PHONE_SAFARI, "Sec-Fetch-Site": "same-origin"}


async def _phone(chromium: Any, base: str, *, script: bool = True) -> Any:
    return await chromium.new_context(
        base_url=base, user_agent=WECHAT, viewport={"width": 375, "height": 667},
        device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
        java_script_enabled=script,
    )  # fmt: skip


async def _stream_reaches(settings: Any, count: int) -> int:
    """The stream's length once it holds `count` beacons, or after a few seconds without."""
    for _ in range(50):
        if await stream_length(settings) >= count:
            break
        await asyncio.sleep(0.1)
    return await stream_length(settings)


async def test_a_tap_before_the_images_arrive_is_an_open_and_a_click_for_the_rm(
    browser,  # noqa: F811
    shared,
    db,
):
    settings = replace(shared.studio.settings, blob_dir=str(shared.studio.blob_dir))
    held: list[Any] = []  # the images' requests: never answered while the customer is there

    async def slow_network(route: Any) -> None:
        if route.request.resource_type == "image":
            held.append(route)
        else:
            await route.continue_()

    async with serving(settings) as base:
        context = await _phone(browser, base)
        errors: list[str] = []
        try:
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.route("**/*", slow_network)
            assert (await page.goto(f"/s/{shared.code}", wait_until="commit")).status == 200
            await page.get_by_text("您的客户经理：张伟").wait_for()
            await page.get_by_role("button", name="我有兴趣，请联系我").click()
            await page.get_by_text("已告知您的客户经理，将尽快与您联系").wait_for()
            # The page never finished loading: no image came, so no window `load` either.
            assert held
            assert await page.evaluate("document.readyState") != "complete"
            loaded = await page.evaluate(
                "[...document.querySelectorAll('img[data-page]')].filter(i => i.naturalWidth)"
                ".length"
            )
            assert loaded == 0
            assert await _stream_reaches(settings, 2) >= 2
        finally:
            await context.close()
    assert errors == []
    await shared.consume()
    stored = [h["type"] for h in await hits(db)]
    assert (stored.count("open"), stored.count("cta")) == (1, 1)
    rm01 = await headers_of(shared.client, "rm01")
    [listed] = (await shared.client.get("/api/v1/shares?mine=1", headers=rm01)).json()["items"]
    assert (listed["opens"], listed["clicks"]) == (1, 1)
    radar = await db.fetch(
        "select u.login, n.category from notifications n join users u on u.id = n.user_id"
    )
    assert ("rm01", "brochure.contact_requested") in {(r["login"], r["category"]) for r in radar}


async def test_the_page_opens_once_however_often_it_is_shown_again(
    browser,  # noqa: F811
    shared,
    db,
):
    settings = replace(shared.studio.settings, blob_dir=str(shared.studio.blob_dir))
    async with serving(settings) as base:
        context = await _phone(browser, base)
        try:
            page = await context.new_page()
            await page.goto(f"/s/{shared.code}")
            # Hidden and shown again (another app, then back) after its images loaded, then
            # the button.
            for state in ("hidden", "visible", "hidden", "visible"):
                await page.evaluate(
                    "s => { Object.defineProperty(document, 'visibilityState',"
                    " {value: s, configurable: true});"
                    " document.dispatchEvent(new Event('visibilitychange')); }",
                    state,
                )
            await page.get_by_role("button", name="我有兴趣，请联系我").click()
            await page.get_by_text("已告知您的客户经理，将尽快与您联系").wait_for()
            await _stream_settles(settings)
        finally:
            await context.close()
    await shared.consume()
    stored = [h["type"] for h in await hits(db)]
    assert stored.count("open") == 1
    assert "cta" in stored


async def _stream_settles(settings: Any) -> None:
    """Until the stream has not grown for half a second (the page's last beacons are in)."""
    last = -1
    for _ in range(50):
        now = await stream_length(settings)
        if now == last:
            return
        last = now
        await asyncio.sleep(0.5)


async def test_the_button_without_a_script_posts_once_and_its_result_page_records_nothing(
    browser,  # noqa: F811
    shared,
    db,
):
    settings = replace(shared.studio.settings, blob_dir=str(shared.studio.blob_dir))
    posts: list[str] = []
    async with serving(settings) as base:
        context = await _phone(browser, base, script=False)
        try:
            page = await context.new_page()
            page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
            await page.goto(f"/s/{shared.code}")
            await page.get_by_role("button", name="我有兴趣，请联系我").click()
            await page.get_by_text("已告知您的客户经理 张伟，将尽快与您联系。").wait_for()
            assert page.url == f"{base}/s/{shared.code}/contact/sent"
            # Reloaded, or left and come back to: the same page, and nothing posted again.
            await page.reload()
            await page.go_back()
            await page.go_forward()
            await page.get_by_text("已告知您的客户经理 张伟，将尽快与您联系。").wait_for()
            assert page.url == f"{base}/s/{shared.code}/contact/sent"
        finally:
            await context.close()
    assert posts == [f"{base}/s/{shared.code}/contact"]
    assert await stream_length(settings) == 2
    await shared.consume()
    assert sorted(h["type"] for h in await hits(db)) == ["cta", "open"]


async def test_the_form_answers_303_to_a_result_page_that_is_the_same_for_everyone(shared, db):
    path = f"/s/{shared.code}/contact"
    posted = await shared.client.post(
        path, data={"v": "visitor1"}, headers=PHONE, follow_redirects=False
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == f"/s/{shared.code}/contact/sent"
    assert posted.headers["cache-control"] == "no-store"
    assert posted.headers["set-cookie"].startswith("wb_vid=visitor1;")
    assert "已告知您的客户经理 张伟，将尽快与您联系。" in posted.text
    assert await stream_length(shared.studio.settings) == 2

    result = await shared.client.get(posted.headers["location"], headers=PHONE)
    # Another person opening the address (no cookie, never asked): the very same page.
    shared.client.cookies.clear()
    stranger = await shared.client.get(posted.headers["location"], headers=PHONE)
    for answer in (result, stranger):
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        assert "noindex" in answer.headers["x-robots-tag"]
        assert "set-cookie" not in answer.headers
        assert "已告知您的客户经理 张伟，将尽快与您联系。" in answer.text
        assert "visitor1" not in answer.text
    assert stranger.text == result.text
    assert (await shared.client.head(posted.headers["location"])).status_code == 200
    # Scoped as the page itself: an unknown or malformed code, a brochure no longer live.
    for code in ("Zz9Zz9Zz9Z", "bad-code"):
        unknown = await shared.client.get(f"/s/{code}/contact/sent", headers=PHONE)
        assert unknown.status_code == 404, code
        assert "链接无效" in unknown.text
    await shared.studio.act(shared.brochure_id, "unpublish", "marketing")
    gone = await shared.client.get(f"/s/{shared.code}/contact/sent", headers=PHONE)
    assert gone.status_code == 410
    assert "已告知" not in gone.text
    # None of these GETs recorded anything: the post's two beacons, counted once.
    assert await stream_length(shared.studio.settings) == 2
    await shared.consume()
    assert sorted(h["type"] for h in await hits(db)) == ["cta", "open"]


async def test_the_forms_303_names_the_visitor_only_by_an_id_of_ours(shared):
    # What test_viewer_exact_values checks on the old 200: the cookie is now on the 303.
    shared.client.cookies.clear()
    posted = await shared.client.post(
        f"/s/{shared.code}/contact", data={"v": "visitor1\n"}, headers=PHONE,
        follow_redirects=False,
    )  # fmt: skip
    assert posted.status_code == 303, posted.text
    cookie = posted.headers["set-cookie"]
    assert "\n" not in cookie
    assert re.match(r"wb_vid=[0-9a-f]{32};", cookie), cookie
    assert await stream_length(shared.studio.settings) == 2


def test_the_demo_charts_count_their_months(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[str] = []
    text = ImageDraw.ImageDraw.text

    def recorded(self: Any, xy: Any, words: Any, *args: Any, **kwargs: Any) -> Any:
        drawn.append(str(words))
        return text(self, xy, words, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recorded)
    sheet = artwork.Sheet(
        bank="示例银行", title="稳享", product_name="稳享一号", product_code="WX001",
        risk_level=2, headline="稳健", points=("一",),
    )  # fmt: skip
    artwork.pages(sheet)
    assert [t for t in drawn if t.endswith("月")] == ["第1月", "第7月", "第13月", "第19月"]

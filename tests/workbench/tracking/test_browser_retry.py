"""A customer's phone with a bad connection, in a real browser (Debian's chromium): the button
"我有兴趣，请联系我" says the RM was told only once the server took the request (a 503 or a
dropped connection leaves the button, a retry note and nothing counted), and a page image that
failed to load says so and loads on a tap."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.console.browser import browser, phone_context  # noqa: F401
from tests.serving import serving
from tests.workbench.tracking.conftest import WECHAT, stream_length, visitors
from tests.workbench.tracking.test_browser import ARTIFACTS
from workbench.tracking.beacons import stream_key

pytestmark = pytest.mark.usefixtures("demo_bank")

BUTTON = "我有兴趣，请联系我"
RETRY = "网络不稳定，提交未成功，请重试。"
TOLD = "已告知您的客户经理，将尽快与您联系"


async def _phone(chromium: Any, base: str) -> Any:
    return await phone_context(chromium, base, user_agent=WECHAT, width=375, height=667)


async def _ctas_in_stream(settings: Any) -> int:
    """How many `cta` beacons the door appended to the stream."""
    redis = Redis.from_url(settings.redis_url)
    try:
        entries = await redis.xrange(stream_key(settings.redis_prefix))
    finally:
        await redis.aclose()
    return sum(b'"cta"' in b"".join(v for v in fields.values()) for _, fields in entries)


async def test_the_button_confirms_only_what_the_server_took_and_a_failure_can_be_retried(
    browser,  # noqa: F811
    shared,
    db,
):
    settings = replace(shared.studio.settings, blob_dir=str(shared.studio.blob_dir))
    failing = ["503", "abort"]  # the first tap: Redis down (503); the second: no signal
    sent: list[dict[str, Any]] = []

    async def door(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        if body.get("type") == "cta":
            sent.append(body)
            if failing:
                if failing.pop(0) == "503":
                    await route.fulfill(
                        status=503, content_type="application/problem+json",
                        body='{"title":"Service unavailable","status":503}',
                    )  # fmt: skip
                else:
                    await route.abort("internetdisconnected")
                return
        await route.continue_()

    errors: list[str] = []
    async with serving(settings) as base:
        context = await _phone(browser, base)
        try:
            await context.route("**/t", door)
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            assert (await page.goto(f"/s/{shared.code}")).status == 200
            button = page.get_by_role("button", name=BUTTON)
            asked = f"localStorage.getItem('wb_cta:{shared.code}')"
            for attempt in (1, 2):
                await button.click()
                await page.get_by_text(RETRY).wait_for()
                assert len(sent) == attempt
                assert await button.is_visible()
                assert await button.is_enabled()
                assert await page.get_by_text(TOLD).count() == 0
                assert await page.evaluate(asked) is None
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "share-page-cta-retry.png"))
            # Nothing reached the stream: the RM has not been told, and no click counts.
            assert await _ctas_in_stream(settings) == 0
            await shared.consume()
            assert await db.fetchval("select count(*) from share_hits where type = 'cta'") == 0
            assert all(v["clicked_at"] is None for v in await visitors(db, shared.share_id))
            # The connection is back: the third tap goes through and is confirmed.
            await button.click()
            await page.get_by_text(TOLD).wait_for()
            assert await page.get_by_role("button", name=BUTTON).count() == 0
            assert await page.get_by_text(RETRY).is_hidden()
            assert await page.evaluate(asked) == "1"
            # One tap's retries are one beacon: the same event id each time.
            assert len(sent) == 3
            assert len({b["event_id"] for b in sent}) == 1
            assert await _ctas_in_stream(settings) == 1
            await page.reload()
            await page.get_by_text("您已请客户经理联系您").wait_for()
            for _ in range(50):  # the open beacon (sendBeacon) on its way
                if await stream_length(settings) >= 2:
                    break
                await asyncio.sleep(0.1)
        finally:
            await context.close()
    assert errors == []
    await shared.consume()
    assert await db.fetchval("select count(*) from share_hits where type = 'cta'") == 1
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["clicked_at"] is not None
    told = await db.fetchval(
        "select count(*) from notifications where category = 'brochure.contact_requested'"
    )
    assert told == 1


async def test_a_page_image_that_failed_to_load_says_so_and_loads_on_a_tap(
    browser,  # noqa: F811
    shared,
):
    settings = replace(shared.studio.settings, blob_dir=str(shared.studio.blob_dir))
    errors: list[str] = []
    async with serving(settings) as base:
        context = await _phone(browser, base)
        try:
            await context.route("**/media/**", lambda route: route.abort("internetdisconnected"))
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            assert (await page.goto(f"/s/{shared.code}")).status == 200
            retry = page.get_by_role("button", name="图片加载失败，点击重试")
            await retry.first.wait_for()
            first = page.locator('img[data-page="1"]')
            assert await first.evaluate("i => i.naturalWidth") == 0
            assert not await first.is_visible()  # no grey block with a broken-image icon
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "share-page-image-failed.png"))
            # The signal is back: a tap loads the image, and its note goes.
            await context.unroute("**/media/**")
            await retry.first.click()
            await page.wait_for_function(
                "() => { const i = document.querySelector('img[data-page=\"1\"]');"
                " return i.complete && i.naturalWidth > 0; }"
            )
            assert await first.is_visible()
            await page.wait_for_function(
                "() => [...document.querySelectorAll('button.missing')]"
                ".every(b => b.hidden || b.previousElementSibling.querySelector('img')"
                ".getAttribute('data-page') !== '1')"
            )
        finally:
            await context.close()
    assert errors == []

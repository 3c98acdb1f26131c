"""A customer's phone in a real browser (Debian's chromium): opens a shared brochure, reads for
12 seconds, taps the button; after the worker's batch the share has one visitor who opened it,
stayed at least 10 s and clicked, marketing's funnel shows one open, one engaged and one click,
and the sharing RM has one radar notification. The phone's page is saved to
tests/artifacts/tracking/ for a person to look at."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import browser  # noqa: F401
from tests.customers_data import headers_of
from tests.serving import serving
from tests.workbench.tracking.conftest import WECHAT, stream_length, visitors

pytestmark = pytest.mark.usefixtures("demo_bank")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "tracking"
PHONE_CHROME = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Mobile Safari/537.36"
)


async def test_a_visit_in_a_browser_counts_one_open_its_dwell_and_one_click(
    browser,  # noqa: F811
    shared,
    db,
):
    settings = replace(shared.studio.settings, blob_dir=str(shared.studio.blob_dir))
    async with serving(settings) as base:
        context = await browser.new_context(
            base_url=base,
            user_agent=PHONE_CHROME,  # a phone's browser, not HeadlessChrome (a bot)
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            locale="zh-CN",
        )
        errors: list[str] = []
        try:
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            # a missing /favicon.ico, or anything else the page could not load, is an error
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            response = await page.goto(f"/s/{shared.code}")
            opened = asyncio.get_running_loop().time()
            assert response.status == 200
            await page.evaluate("document.fonts.ready.then(() => true)")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "share-page-phone.png"), full_page=True)
            # The customer reads for 12 s from the page's opening (the screenshot's while too).
            read = asyncio.get_running_loop().time() - opened
            await page.wait_for_timeout(max(0.0, 12.0 - read) * 1000)
            bar = page.locator(".cta")
            before = await bar.bounding_box()
            await page.get_by_role("button", name="我有兴趣，请联系我").click()
            await page.get_by_text("已告知您的客户经理，将尽快与您联系").wait_for()
            # The bar stays as it was (no jump), and nothing of the page shows through it.
            after = await bar.bounding_box()
            assert before is not None
            assert after is not None
            assert abs(after["height"] - before["height"]) <= 2
            assert await bar.evaluate("e => getComputedStyle(e).backgroundColor") == (
                "rgb(255, 255, 255)"
            )
            await page.screenshot(path=str(ARTIFACTS / "share-page-phone-clicked.png"))
            # open, heartbeats at 5 s and 10 s, page views, the last beat and the click
            for _ in range(50):
                if await stream_length(settings) >= 5:
                    break
                await asyncio.sleep(0.1)
        finally:
            await context.close()
    assert errors == []
    await shared.consume()
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["first_open_at"] is not None
    assert visitor["dwell_ms"] >= 10_000
    assert visitor["clicked_at"] is not None
    assert visitor["page_views"] >= 1
    opens = await db.fetchval("select count(*) from share_hits where type = 'open'")
    assert opens == 1

    marketing = await headers_of(shared.client, "marketing")
    funnel = await shared.client.get(
        "/api/v1/funnels", params={"group_by": "brochure"}, headers=marketing
    )
    assert funnel.status_code == 200, funnel.text
    [row] = funnel.json()["rows"]
    assert row["key"] == shared.brochure_id
    steps = [row[step] for step in ("shared", "opened", "engaged", "clicked", "converted")]
    assert steps == [1, 1, 1, 1, 0]
    radar = await db.fetch(
        "select u.login from notifications n join users u on u.id = n.user_id"
        " where n.category in ('brochure.opened', 'brochure.contact_requested')"
    )
    assert [r["login"] for r in radar] == ["rm01"]


async def test_a_long_unbroken_title_stays_within_a_small_phones_width(
    browser,  # noqa: F811
    shared,
    db,
):
    # A title with a long URL-like run and no spaces: the page wraps it instead of scrolling
    # sideways on a 320 px phone.
    title = "理财说明 " + "https://example.com/" + "x" * 80
    await db.execute(
        "update brochure_versions set title = $1 where brochure_id = $2",
        title,
        shared.brochure_id,
    )
    settings = replace(shared.studio.settings, blob_dir=str(shared.studio.blob_dir))
    async with serving(settings) as base:
        context = await browser.new_context(
            base_url=base, user_agent=PHONE_CHROME, viewport={"width": 320, "height": 568},
            is_mobile=True, locale="zh-CN",
        )  # fmt: skip
        try:
            page = await context.new_page()
            assert (await page.goto(f"/s/{shared.code}")).status == 200
            widths = await page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            await page.screenshot(path=str(ARTIFACTS / "share-page-320-long-title.png"))
        finally:
            await context.close()
    assert widths[0] <= widths[1], widths


async def _phone(chromium: Any, base: str, width: int, height: int) -> Any:
    return await chromium.new_context(
        base_url=base, user_agent=WECHAT, viewport={"width": width, "height": height},
        device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
    )  # fmt: skip


async def test_after_a_reload_the_page_says_the_customer_already_asked(
    browser,  # noqa: F811
    shared,
    db,
):
    settings = replace(shared.studio.settings, blob_dir=str(shared.studio.blob_dir))
    async with serving(settings) as base:
        context = await _phone(browser, base, 375, 667)
        try:
            page = await context.new_page()
            await page.goto(f"/s/{shared.code}")
            await page.get_by_role("button", name="我有兴趣，请联系我").click()
            await page.get_by_text("已告知您的客户经理，将尽快与您联系").wait_for()
            await page.reload()
            await page.get_by_text("您已请客户经理联系您").wait_for()
            assert await page.get_by_role("button", name="我有兴趣，请联系我").count() == 0
            await page.screenshot(path=str(ARTIFACTS / "share-page-asked-reload.png"))
            # Another share's page still offers the button.
            other = await context.new_page()
            response = await other.goto("/s/Zz9Zz9Zz9Z")
            assert response.status == 404
        finally:
            await context.close()


async def test_the_button_bar_stays_fixed_only_where_there_is_room(
    browser,  # noqa: F811
    shared,
):
    settings = replace(shared.studio.settings, blob_dir=str(shared.studio.blob_dir))
    positions = {}
    async with serving(settings) as base:
        for width, height, zoom in ((320, 568, 1), (375, 667, 1), (568, 320, 1), (320, 568, 2)):
            context = await _phone(browser, base, width, height)
            try:
                page = await context.new_page()
                await page.goto(f"/s/{shared.code}")
                if zoom != 1:  # 200 % text, as a reader with large type sees it
                    await page.evaluate(f"document.documentElement.style.zoom = '{zoom}'")
                    await page.wait_for_timeout(300)
                positions[width, height, zoom] = await page.evaluate(
                    "getComputedStyle(document.getElementById('cta-bar')).position"
                )
                name = f"share-page-{width}x{height}" + ("-zoom200" if zoom != 1 else "")
                await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
            finally:
                await context.close()
    assert positions == {
        (320, 568, 1): "fixed",
        (375, 667, 1): "fixed",
        (568, 320, 1): "static",  # a phone in landscape: at the end of the page, in the flow
        (320, 568, 2): "static",  # large text: the bar would cover too much of the screen
    }


async def test_a_page_image_whose_signed_url_expired_is_fetched_again(
    browser,  # noqa: F811
    shared,
):
    # Page images are signed for 2 s here: a page left open longer asks for fresh URLs when an
    # image fails to load, and tries once more.
    settings = replace(
        shared.studio.settings, blob_dir=str(shared.studio.blob_dir), media_url_ttl_seconds=2
    )
    asked: list[str] = []
    async with serving(settings) as base:
        context = await _phone(browser, base, 375, 667)
        try:
            page = await context.new_page()
            page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/pages") else None)
            await page.goto(f"/s/{shared.code}")
            image = page.locator('img[data-page="2"]')
            old = await image.get_attribute("src")
            await page.wait_for_timeout(3000)  # the URLs expire
            # The image is fetched again now (as a lazy image scrolled to late would be).
            await image.evaluate(
                "img => { const s = img.parentNode.querySelector('source');"
                " if (s) { s.srcset = s.srcset + '&late=1'; } img.src = img.src + '&late=1'; }"
            )
            await page.wait_for_function(
                "() => { const i = document.querySelector('img[data-page=\"2\"]');"
                " return i.complete && i.naturalWidth > 0 && !i.currentSrc.includes('late=1'); }"
            )
            assert await image.get_attribute("src") != old
        finally:
            await context.close()
    assert len(asked) == 1

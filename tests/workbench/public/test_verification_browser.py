"""A customer verifies on a phone in a real browser (Debian's chromium): three taps on 提交认证
on a slow network send one answer and use one attempt; after a wrong answer, a reload sends
nothing (no attempt used), and the back button after success never lands on the browser's
"Confirm Form Resubmission" page."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.console.browser import browser, phone_context  # noqa: F401
from tests.customers_data import customer_ids, customer_row, feed, headers_of, id_number, phone
from tests.serving import serving

pytestmark = pytest.mark.usefixtures("demo_bank")
NAME, ID_NUMBER, MOBILE = "张小三", id_number(3), phone(3)
WRONG_MOBILE = phone(4)
SEND = "#verify button"  # 提交认证


async def _link(client: Any, db: Any, settings: Any) -> str:
    admin = await headers_of(client, "admin")
    row = customer_row("B-1", name=NAME, id_no=ID_NUMBER, mobile=MOBILE)
    assert (await feed(client, admin, "customers", [row]))["inserted"] == 1
    customer: uuid.UUID = (await customer_ids(db))["B-1"]
    made = await client.post(f"/api/v1/customers/{customer}/verification-invites",
                             headers=await headers_of(client, "rm01"))  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["url"]).removeprefix(settings.public_base_url.rstrip("/"))


async def _fill(page: Any, mobile: str) -> None:
    await page.locator("#name").fill(NAME)
    await page.locator("#id_number").fill(f"{ID_NUMBER[:6]} {ID_NUMBER[6:14]} {ID_NUMBER[14:]}")
    await page.locator("#phone").fill(mobile)


_WATCH_SEND = """() => {
  const send = document.querySelector('#verify button');
  new MutationObserver(() => console.log(`send:${send.disabled}:${send.textContent}`))
    .observe(send, {attributes: true, childList: true, characterData: true, subtree: true});
}"""


async def _attempts(db: Any) -> int:
    return int(await db.fetchval("select attempts from verification_invites"))


async def test_three_taps_on_a_slow_network_send_one_answer_and_use_one_attempt(
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
            posts: list[str] = []
            shown: list[str] = []
            release = asyncio.Event()

            async def slowly(route: Any) -> None:
                if route.request.method == "POST":
                    posts.append(route.request.post_data or "")
                    await release.wait()  # the network is slow until the taps are done
                await route.continue_()

            await page.route(f"{base}{link}", slowly)
            # What the button shows, as the page changes it (read out while the page waits).
            page.on(
                "console", lambda m: shown.append(m.text) if m.text.startswith("send:") else None
            )
            assert (await page.goto(link)).status == 200
            await page.evaluate(_WATCH_SEND)
            await _fill(page, WRONG_MOBILE)
            send = page.locator(SEND)
            box = await send.bounding_box()
            for _ in range(3):  # three taps, as on a phone: each one its own touch
                await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                await asyncio.sleep(0.2)
            release.set()
            await page.get_by_text("信息与登记不符").wait_for()
            assert len(posts) == 1
            assert "send:true:正在提交…" in shown
            assert " " not in posts[0].split("id_number=", 1)[1].split("&", 1)[0]
            # The page after the answer is a fresh one: its button works again.
            assert await send.is_enabled()
            assert await send.inner_text() == "提交认证"

            # A page brought back from the back-forward cache gets its button back.
            await page.evaluate(
                "document.querySelector('#verify button').disabled = true;"
                "window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))"
            )
            assert await send.is_enabled()
        finally:
            await context.close()
    assert errors == []
    assert await _attempts(db) == 1


async def test_a_reload_after_a_wrong_answer_asks_again_and_sends_nothing(
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
            methods: list[str] = []
            page.on(
                "request",
                lambda r: methods.append(r.method) if r.url.startswith(f"{base}{link}") else None,
            )
            assert (await page.goto(link)).status == 200
            await _fill(page, WRONG_MOBILE)
            await page.locator(SEND).click()
            await page.get_by_text("还可尝试 4 次").wait_for()
            assert page.url == f"{base}{link}"  # nothing more in the address
            assert await page.locator("#name").input_value() == NAME
            assert await page.locator("#phone").input_value() == WRONG_MOBILE
            assert await page.locator("#id_number").input_value() == ""

            methods.clear()
            reloaded = await page.reload()
            assert reloaded is not None
            assert reloaded.request.method == "GET"
            assert reloaded.status == 200
            await page.get_by_text("还可尝试 4 次").wait_for()
            assert methods == ["GET"]
        finally:
            await context.close()
    assert await _attempts(db) == 1


async def test_back_after_a_wrong_then_a_right_answer_never_asks_to_resubmit(
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
            methods: list[str] = []
            page.on(
                "request",
                lambda r: methods.append(r.method) if r.url.startswith(f"{base}{link}") else None,
            )
            assert (await page.goto(link)).status == 200
            await _fill(page, WRONG_MOBILE)
            await page.locator(SEND).click()
            await page.get_by_text("还可尝试 4 次").wait_for()
            await _fill(page, MOBILE)
            await page.locator(SEND).click()
            await page.get_by_text("认证成功").wait_for()
            assert page.url == f"{base}{link}/done"

            # Back: the link's own page, asked for again (already verified), not a resubmission.
            methods.clear()
            back = await page.go_back()
            assert back is not None
            assert back.request.method == "GET"
            assert back.url == f"{base}{link}"
            assert back.status == 410
            await page.get_by_text("您已完成实名认证").wait_for()
            assert "POST" not in methods
        finally:
            await context.close()
    assert await _attempts(db) == 1
    assert await db.fetchval("select verified_at is not null from customers") is True

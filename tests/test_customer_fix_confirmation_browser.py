"""The visit confirmation page in a real browser (Debian's chromium): a tap on 确认本次拜访 on a
slow network disables the button and says 正在提交… until the answer comes (as the verification
and survey pages do), further taps send nothing, and the confirmed page follows; without a
script the form still posts and confirms."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.console.browser import PHONE_UA, browser, phone_context  # noqa: F401
from tests.serving import serving
from tests.workbench.tasks.test_confirmation import Visit, visit

__all__ = ["visit"]

pytestmark = pytest.mark.usefixtures("demo_bank")
SEND = "form button[type=submit]"  # 确认本次拜访

_WATCH_SEND = """() => {
  const send = document.querySelector('form button[type=submit]');
  new MutationObserver(() => console.log(`send:${send.disabled}:${send.textContent}`))
    .observe(send, {attributes: true, childList: true, characterData: true, subtree: true});
}"""


async def test_the_button_says_it_is_sending_while_the_confirm_is_on_its_way(
    browser: Any,  # noqa: F811 (the fixture imported above)
    visit: Visit,
) -> None:
    v = visit
    link = (await v.request())["path"]
    async with serving(v.settings) as base:
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
            # What the button shows, as the page changes it (read out while the post waits).
            page.on(
                "console", lambda m: shown.append(m.text) if m.text.startswith("send:") else None
            )
            assert (await page.goto(link)).status == 200
            await page.evaluate(_WATCH_SEND)
            send = page.locator(SEND)
            assert await send.inner_text() == "确认本次拜访"
            box = await send.bounding_box()
            for _ in range(3):  # three taps, as on a phone: each one its own touch
                await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                await asyncio.sleep(0.2)
            assert "send:true:正在提交…" in shown  # disabled and saying so, the post held
            assert shown[-1] == "send:true:正在提交…"
            assert len(posts) == 1
            assert await v.db.fetchval("select status from tasks where id = $1", v.task) == (
                "awaiting_confirmation"
            )
            release.set()
            await page.get_by_text("本次拜访已确认，感谢您的配合").wait_for()
            assert page.url == f"{base}{link}/done"
            assert len(posts) == 1

            # Without a script the form posts as ever, and confirms (another task's visit).
            other = await v.new_task()
            plain_link = (await v.request(other))["path"]
            plain = await browser.new_context(
                base_url=base, user_agent=PHONE_UA, viewport={"width": 390, "height": 844},
                is_mobile=True, has_touch=True, locale="zh-CN", java_script_enabled=False,
            )  # fmt: skip
            try:
                no_script = await plain.new_page()
                assert (await no_script.goto(plain_link)).status == 200
                await no_script.locator(SEND).click()
                await no_script.get_by_text("本次拜访已确认，感谢您的配合").wait_for()
                assert no_script.url == f"{base}{plain_link}/done"
            finally:
                await plain.close()
        finally:
            await context.close()
    assert errors == []
    assert await v.db.fetchval("select status from tasks where id = $1", v.task) == "done"
    assert await v.db.fetchval("select status from tasks where id = $1", other) == "done"
    used = "select count(*) from task_confirmations where used_at is not null"
    assert await v.db.fetchval(used) == 2

"""Playwright harness for console pages in a real browser (Debian's chromium, never a download).

Fixtures (tests/console/conftest.py loads them for every console test):

- `console_server`: the app under a real uvicorn on a free port; its base URL
  (http://127.0.0.1:<port>: Chromium counts it as a secure origin, so the Secure cookies work).
- `browser`: one headless Chromium for the whole run. Without /usr/bin/chromium (or the
  playwright package) the test is skipped; under WORKBENCH_REQUIRE_BROWSER=1 (CI) it fails.
- `page`: a fresh browser context and page on `console_server` (zh-CN, the bank's time zone,
  desktop size); it may reach no other host, and at the end of the test any request to another
  host, failed request (a stylesheet answering 404 included) or script error fails the test.
- `settled(page)`: waits until the page has loaded and nothing it asked for is still coming
  (Playwright's "networkidle" waits half a second of quiet after every page; this, a tenth).
- `sign_in`: `await sign_in(page, "marketing")` signs in through the form and lands on /console.
- `shot`: `await shot(page, "home")` saves full-page PNGs of the page at desktop (1440×900),
  tablet portrait (820×1180) and landscape (1180×820) sizes into tests/artifacts/console/
  (git-ignored): `home-desktop.png`, `home-tablet-portrait.png`, `home-tablet-landscape.png`.

Layout checks: `await sideways(page)` lists what sticks out sideways on the page as it is now
(the page wider than the window, a table's scrolling box wider than itself): empty when every
column is in sight. `TABLETS` are the smallest tablets the console is for (768×1024 upright,
1024×768 landscape).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.serving import serving
from tests.workbench.operations.test_api_docs_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOCAL_HOSTS,
    browser_or_skip,
)
from workbench.seed import DEMO_PASSWORD
from workbench.settings import Settings

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
WAIT = 30.0  # seconds; generous: the machine is shared
SIZES = {
    "desktop": {"width": 1440, "height": 900},
    "tablet-portrait": {"width": 820, "height": 1180},
    "tablet-landscape": {"width": 1180, "height": 820},
}

# The smallest 10-inch tablets the console is for, held upright and on their side.
TABLETS = {
    "tablet-upright": {"width": 768, "height": 1024},
    "tablet-landscape": {"width": 1024, "height": 768},
}

# The page wider than the window, and every box in the page's content that scrolls sideways
# because what is in it is wider (a table in its .table-wrap): "what widths" each.
_SIDEWAYS = """() => {
  const out = [];
  const page = document.documentElement.scrollWidth;
  if (page > window.innerWidth) out.push(`the page ${page} > ${window.innerWidth}`);
  for (const box of document.querySelectorAll('main *')) {
    if (!box.getClientRects().length) continue;  // not shown
    if (!['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) continue;
    if (box.scrollWidth > box.clientWidth + 1) {
      const title = box.closest('section')?.querySelector('h2')?.textContent.trim() || '';
      out.push(`${title} .${box.className} ${box.scrollWidth} > ${box.clientWidth}`);
    }
  }
  return out;
}"""

SignIn = Callable[..., Awaitable[None]]
Shot = Callable[..., Awaitable[list[Path]]]


# A customer's phone: WeChat's in-app browser on Android, as the customer pages are opened.
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.44"
)


async def phone_context(
    browser: Any, base: str, *, user_agent: str = PHONE_UA, width: int = 390, height: int = 844
) -> Any:
    """A browser context as a customer's phone: mobile, touch, zh-CN, at `base`."""
    return await browser.new_context(
        base_url=base, user_agent=user_agent, viewport={"width": width, "height": height},
        device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
    )  # fmt: skip


@pytest.fixture
async def console_server(settings: Settings) -> AsyncIterator[str]:
    async with serving(settings) as base:
        yield base


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    playwright_api = browser_or_skip()
    playwright_api.expect.set_options(timeout=WAIT * 1000)
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Any, console_server: str, settings: Settings) -> AsyncIterator[Any]:
    foreign: list[str] = []
    failed: list[str] = []
    errors: list[str] = []

    async def only_this_machine(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            foreign.append(route.request.url)
            await route.abort()

    context = await browser.new_context(
        base_url=console_server,
        viewport=SIZES["desktop"],
        locale="zh-CN",
        timezone_id=settings.bank_timezone,
    )
    try:
        await context.route("**/*", only_this_machine)
        opened = await context.new_page()
        opened.set_default_timeout(WAIT * 1000)
        _watch_loading(opened)
        # A load the page itself cancelled by moving on (net::ERR_ABORTED: an icon still coming
        # when a form is submitted) is not a failure; a missing or broken file answers 4xx/5xx.
        opened.on(
            "requestfailed",
            lambda r: (
                None if r.failure == "net::ERR_ABORTED" else failed.append(f"{r.url} {r.failure}")
            ),
        )
        opened.on("pageerror", lambda e: errors.append(str(e)))
        opened.on("console", lambda m: _console_error(m, errors))
        # A page may answer 401/403/404 (that is the test); what it loads may not.
        opened.on(
            "response",
            lambda r: (
                failed.append(f"{r.url} {r.status}")
                if r.status >= 400 and r.request.resource_type != "document"
                else None
            ),
        )
        yield opened
    finally:
        await context.close()
    assert foreign == [], f"the console tried to reach other hosts: {foreign}"
    assert failed == [], f"requests failed: {failed}"
    assert errors == [], f"script errors on the page: {errors}"


QUIET = 0.1  # seconds with nothing loading: the page's icon is asked for ~10 ms after "load"
_LOADING: weakref.WeakKeyDictionary[Any, set[Any]] = weakref.WeakKeyDictionary()


def _watch_loading(page: Any) -> None:
    """Keep the requests of the page still under way (a redirected one finishes, and its next
    hop is a new request; a failed one ends with "requestfailed")."""
    loading: set[Any] = set()
    _LOADING[page] = loading
    page.on("request", lambda r: loading.add(r))
    page.on("requestfinished", lambda r: loading.discard(r))
    page.on("requestfailed", lambda r: loading.discard(r))


async def settled(page: Any) -> None:
    """Wait until the page has loaded and then nothing it asked for has been under way for
    QUIET seconds: its icon (fetched after the page) and anything its scripts fetch have come,
    so that no request is cut off by what the test does next, and each one's answer is checked
    by the harness. Playwright's "networkidle" is the same with half a second of quiet, paid
    after every page."""
    await page.wait_for_load_state("load")
    loading = _LOADING[page]
    loop = asyncio.get_running_loop()
    ends = loop.time() + WAIT
    quiet_since = loop.time()
    while loop.time() - quiet_since < QUIET:
        if loading:
            quiet_since = loop.time()
            assert quiet_since < ends, f"still loading after {WAIT} s: {loading}"
        await asyncio.sleep(0.01)


def _console_error(message: Any, errors: list[str]) -> None:
    """A script's console.error (a page's own error status is not one; see "response")."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(f"console error: {message.text}")


async def _sign_in(page: Any, login: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, as a person would; ends on the console home page."""
    await page.goto("/console/sign-in")
    await page.get_by_label("账号").fill(login)
    await page.get_by_label("密码").fill(password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="登录").click()
    assert urlsplit(page.url).path == "/console", page.url


async def _shot(page: Any, name: str, sizes: tuple[str, ...] = tuple(SIZES)) -> list[Path]:
    """Full-page PNGs of the page as it is now, at each size; the viewport is put back."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    paths = []
    try:
        for size in sizes:
            await page.set_viewport_size(SIZES[size])
            await page.evaluate("document.fonts.ready.then(() => true)")
            path = ARTIFACTS / f"{name}-{size}.png"
            await page.screenshot(path=str(path), full_page=True)
            paths.append(path)
    finally:
        await page.set_viewport_size(before)
    return paths


@pytest.fixture
def sign_in() -> SignIn:
    return _sign_in


@pytest.fixture
def shot() -> Shot:
    return _shot


async def sideways(page: Any) -> list[str]:
    """What sticks out sideways on the page as it is now (see the module's docstring)."""
    found: list[str] = await page.evaluate(_SIDEWAYS)
    return found

"""The API reference at /schema works offline: Swagger UI from the installed package, in a real
browser (Debian's chromium driven by Playwright) that may not reach any other host.

Without /usr/bin/chromium (or the playwright package) the browser test is skipped, unless
WORKBENCH_REQUIRE_BROWSER=1 (as in CI), where it fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.serving import serving
from workbench.http.openapi import ASSETS_PATH

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"  # tests/artifacts, git-ignored
WAIT = 30.0  # generous: the machine is shared
ASSETS = f"/schema{ASSETS_PATH}"


# ---- the files, over HTTP ----------------------------------------------------------------------


async def test_docs_pages_load_swagger_ui_from_this_server_only(client):
    for path in ("/schema", "/schema/swagger"):
        response = await client.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert f"{ASSETS}/swagger-ui-bundle.js" in html
        assert f"{ASSETS}/swagger-ui-standalone-preset.js" in html
        assert f"{ASSETS}/swagger-ui.css" in html
        assert f"{ASSETS}/favicon-32x32.png" in html
        assert "http://" not in html.replace("http://127.0.0.1", "")
        assert "https://" not in html.split("<script type='text/javascript'>")[0], path


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui-standalone-preset.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
        ("favicon-16x16.png", "image/png"),
    ],
)
async def test_assets_are_public_and_cached_for_long(client, name, media_type):
    response = await client.get(f"{ASSETS}/{name}", headers={"Authorization": "Bearer junk"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["content-type"].count("charset") <= 1
    assert "max-age=31536000" in response.headers["cache-control"]
    assert "immutable" in response.headers["cache-control"]
    assert len(response.content) > 500


@pytest.mark.parametrize(
    "name", ["swagger-ui-bundle.js.map", "index.html", "swagger-initializer.js", "..%2F__init__.py"]
)
async def test_only_the_files_the_page_needs_are_served(client, name):
    response = await client.get(f"{ASSETS}/{name}")
    assert response.status_code == 404


# ---- in a real browser -------------------------------------------------------------------------


def browser_or_skip() -> Any:
    """The playwright module, or skip (fail under WORKBENCH_REQUIRE_BROWSER=1) saying why."""
    required = os.environ.get("WORKBENCH_REQUIRE_BROWSER") == "1"
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)"
    try:
        from playwright import async_api
    except ImportError:
        problem = problem or "the playwright package is missing (pip install -e '.[dev]')"
    if problem is None:
        return async_api
    if required:
        pytest.fail(f"WORKBENCH_REQUIRE_BROWSER=1 but {problem}")
    pytest.skip(f"no browser for the API docs test: {problem}")


@pytest.mark.usefixtures("demo_bank")
async def test_api_docs_in_a_browser_without_internet(settings, tmp_path):
    playwright_api = browser_or_skip()
    expect = playwright_api.expect
    expect.set_options(timeout=WAIT * 1000)
    foreign: list[str] = []  # requests to any other host: aborted, and a failure
    local: list[str] = []
    failed: list[str] = []
    page_errors: list[str] = []

    async def only_this_machine(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            local.append(url)
            await route.continue_()
        else:
            foreign.append(url)
            await route.abort()

    shots = [tmp_path / "api-docs.png", tmp_path / "api-docs-login.png"]
    async with serving(settings) as base, playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.route("**/*", only_this_machine)
            page = await context.new_page()
            page.set_default_timeout(WAIT * 1000)
            page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
            page.on("pageerror", lambda e: page_errors.append(str(e)))

            await page.goto(f"{base}/schema", wait_until="networkidle")
            await page.locator(".swagger-ui .opblock").first.wait_for()
            assert await page.locator(".swagger-ui .opblock").count() >= 40
            await expect(page.locator(".swagger-ui .info .title")).to_contain_text(
                "RM Workbench API"
            )
            for text in (
                "/api/v1/auth/login",
                "/api/v1/sync/pull",
                "Sign in on a device: an access token and a single-use refresh token",
                "Pull the changes of my partition since my cursor",
                "Dispatch tasks: one per RM of a subtree, or one per customer for its RM",
            ):
                await expect(page.get_by_text(text, exact=True).first).to_be_visible()
            await expect(page.locator(".btn.authorize")).to_be_visible()
            await page.screenshot(path=str(shots[0]))

            # The login operation: its examples, and "Try it out" against this very server.
            login = page.locator("#operations-identity-login")
            await login.locator(".opblock-summary").click()
            await expect(login.get_by_text("Wrong login or password")).to_be_visible()
            await login.get_by_role("button", name="Try it out").click()
            await expect(login.locator("textarea.body-param__text")).to_contain_text(
                '"login": "rm01"'
            )
            await login.get_by_role("button", name="Execute").click()
            status = login.locator(".live-responses-table tr.response td.response-col_status")
            await expect(status).to_have_text("200")
            await expect(login.locator(".live-responses-table")).to_contain_text("access_token")
            await status.scroll_into_view_if_needed()
            await page.screenshot(path=str(shots[1]))
        finally:
            await browser.close()

    ARTIFACTS.mkdir(exist_ok=True)
    for shot in shots:
        (ARTIFACTS / shot.name).write_bytes(shot.read_bytes())
    assert foreign == [], f"the docs tried to reach other hosts: {foreign}"
    assert failed == [], f"requests failed: {failed}"
    assert page_errors == [], f"script errors on the page: {page_errors}"
    assert any(ASSETS_PATH in url for url in local)
    assert any(url.endswith("/api/v1/auth/login") for url in local)  # the "Try it out" call


async def test_the_reference_cannot_be_framed_and_runs_only_this_servers_scripts(client):
    # Another site must not frame the reference (it shares the console's origin), and a script
    # from elsewhere would not run in it.
    for path in ("/schema", "/schema/swagger", "/schema/openapi.json"):
        response = await client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, path
        assert "script-src 'self' 'unsafe-inline'" in policy, path
        assert "connect-src 'self'" in policy, path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path

"""Pages declare an icon that loads (Debian's chromium): a customer's survey page and the staff
console's sign-in page log no error for a missing /favicon.ico, and the icon is one their
Content-Security-Policy lets the browser load."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.console.browser import browser, phone_context  # noqa: F401
from tests.customers_data import headers_of
from tests.serving import serving
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish

pytestmark = pytest.mark.usefixtures("demo_bank")


async def _load(context: Any, path: str) -> tuple[str | None, Any, list[str]]:
    """Open `path`: (the declared icon's href, the browser's fetch of it, console errors)."""
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    fetched: list[Any] = []
    page.on("response", lambda r: fetched.append(r))
    assert (await page.goto(path)).status == 200
    declared = await page.evaluate(
        "() => document.querySelector('link[rel~=icon]')?.getAttribute('href') ?? null"
    )
    if declared is None:
        return None, None, errors
    wanted = urlsplit(declared).path

    def is_icon(response: Any) -> bool:  # the icon, not the same file shown as an image
        same = urlsplit(response.url).path == wanted
        return same and response.request.resource_type == "other"

    icon = next((r for r in fetched if is_icon(r)), None)
    if icon is None:
        icon = await page.wait_for_event("response", predicate=is_icon)
    await icon.finished()
    return declared, icon, errors


async def test_a_survey_page_and_the_console_load_their_icon_without_an_error(
    browser: Any,  # noqa: F811 (the fixture imported above)
    client: Any,
    db: Any,
    settings: Any,
) -> None:
    # Every survey page logged "Failed to load resource: 404" for /favicon.ico.
    survey = await publish(db, title="网点服务满意度调查")
    (customer,) = await add_customers(db, 1)
    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(customer)]},
                             headers=await headers_of(client, "rm01"))  # fmt: skip
    link = made.json()["recipients"][0]["url"].removeprefix(settings.public_base_url.rstrip("/"))
    async with serving(settings) as base:
        for path in (link, "/console/sign-in"):
            context = await phone_context(browser, base)
            try:
                declared, icon, errors = await _load(context, path)
            finally:
                await context.close()
            assert declared is not None, f"{path} declares no icon: the browser asks /favicon.ico"
            assert (icon.status, errors) == (200, []), path

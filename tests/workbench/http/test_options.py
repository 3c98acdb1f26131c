"""OPTIONS on any route is Litestar's own answer (204 with `Allow`), for everyone: never the
API's 401 in English. On a page (customers' links, the staff console) it carries the security
headers of that page's GET. (CORS preflights stay the CORS configuration's: test_problems.)"""

from __future__ import annotations

from typing import Any

import pytest

# Customers' links (any code: OPTIONS looks nothing up) and the pages under them.
CUSTOMER_PAGES = ("/s/Zz9yX8wV7u", "/s/Zz9yX8wV7u/contact", "/s/Zz9yX8wV7u/contact/sent",
                  "/f/not-a-survey-token", "/f/not-a-survey-token/thanks",
                  "/c/not-a-visit-token", "/c/not-a-visit-token/done", "/v/nope")  # fmt: skip
CONSOLE_PAGES = ("/console", "/console/sign-in", "/console/no-such-page")
# Headers that make a page safe to show; those with fixed values must say the same.
SECURITY = ("content-security-policy", "referrer-policy", "cache-control",
            "x-content-type-options", "x-robots-tag", "x-frame-options")  # fmt: skip
SAME_VALUE = ("cache-control", "x-content-type-options", "x-robots-tag", "x-frame-options")


def assert_automatic_answer(response: Any, *, allows: str) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert "problem+json" not in response.headers.get("content-type", "")
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {allows, "OPTIONS"} <= allowed, allowed


def assert_same_security_headers(options: Any, page: Any) -> None:
    names = [name for name in SECURITY if name in page.headers]
    assert {"content-security-policy", "cache-control", "x-robots-tag"} <= set(names), names
    for name in names:
        assert name in options.headers, name
    for name in SAME_VALUE:
        if name in page.headers:
            assert options.headers[name] == page.headers[name], name
    csp = options.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


@pytest.mark.parametrize("path", CUSTOMER_PAGES)
async def test_options_on_a_customer_link_is_answered_as_its_page(client, path):
    page = await client.get(path)
    assert page.headers["content-type"].startswith("text/html"), page.text
    options = await client.options(path)
    assert_automatic_answer(options, allows="GET")
    assert_same_security_headers(options, page)


@pytest.mark.parametrize("path", CONSOLE_PAGES)
async def test_options_on_a_console_page_is_answered_as_its_page(client, path):
    page = await client.get("/console/sign-in")
    assert page.status_code == 200, page.text
    options = await client.options(path)
    assert_automatic_answer(options, allows="GET")
    assert_same_security_headers(options, page)


@pytest.mark.parametrize(
    ("path", "allows"),
    [
        ("/api/v1/me", "GET"),
        ("/api/v1/auth/login", "POST"),
        ("/healthz", "GET"),
        # Controllers whose own guards ask for a role (a bank system's feed, an admin page).
        ("/api/v1/integration/conversions", "POST"),
        ("/api/v1/integration/customers:bulk-upsert", "POST"),
    ],
)
async def test_options_on_the_api_says_the_methods_without_a_token(client, path, allows):
    response = await client.options(path)
    assert_automatic_answer(response, allows=allows)
    if path.startswith("/api/"):
        assert response.headers["cache-control"] == "no-store"
    # Everything else still asks for the token.
    if path == "/api/v1/me":
        assert (await client.get(path)).status_code == 401

"""Console tests: the app over HTTPS (its cookies are Secure), signed in as a browser would be.

The Playwright harness (`tests/console/browser.py`) is loaded here too, so every test under
tests/console can ask for `console_server`, `browser`, `page`, `sign_in` and `shot`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import apps
from tests.console.browser import browser, console_server, page, shot, sign_in  # noqa: F401
from workbench.app import create_app
from workbench.console import once
from workbench.console.routes import console_router
from workbench.seed import DEMO_PASSWORD
from workbench.settings import Settings

ORIGIN = "https://console.test"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def make_console(settings: Settings) -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    """Start an app (settings overrides as keywords; `pages=` adds console pages of the test)
    and give a client that keeps cookies. Without pages, the application is built once per
    run for these settings (tests/apps.py)."""
    clients: list[Client] = []

    async def start(*, pages: tuple[Any, ...] = (), **overrides: Any) -> Client:
        if pages:  # pages of a test, under /console like any console page: an app of its own
            app = create_app(replace(settings, **overrides))
            app.register(console_router(*pages))
        else:  # built once per run for these settings (tests/apps.py)
            app = apps.take_app(replace(settings, **overrides))
        client = AsyncTestClient(app, base_url=ORIGIN)
        client.follow_redirects = False  # see each redirect, as a test of the console should
        try:
            await client.__aenter__()
        except BaseException:
            apps.give_back(app)
            raise
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        try:
            await client.__aexit__(None, None, None)
        finally:
            apps.give_back(client.app)


@pytest.fixture
async def console(make_console: Callable[..., Awaitable[Client]]) -> Client:
    return await make_console()


def csrf_of(html: str) -> str:
    """The CSRF token a page put in its forms."""
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


async def post_form(
    client: Client,
    path: str,
    data: dict[str, str] | None = None,
    *,
    token: str | None,
    origin: str | None = ORIGIN,
    fresh_once: bool = True,
) -> Any:
    """POST a form as our pages do: the Origin header and the `_csrf_token` field, and the `once`
    token of a form that makes something (`console.once`): a fresh one, as a page just drawn
    gives, unless `data` has its own or `fresh_once=False` (a form without one)."""
    fields = dict(data or {})
    if fresh_once:
        fields.setdefault("once", once.new_token())
    if token is not None:
        fields["_csrf_token"] = token
    headers = {"Origin": origin} if origin else {}
    return await client.post(path, data=fields, headers=headers)


async def sign_in_as(
    client: Client, login: str, *, password: str = DEMO_PASSWORD, next_: str | None = None
) -> Any:
    """Open the sign-in page and send its form; the answer (303 to the console on success)."""
    form = await client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    fields = {"login": login, "password": password}
    if next_ is not None:
        fields["next"] = next_
    return await post_form(client, "/console/sign-in", fields, token=csrf_of(form.text))


async def signed_in(client: Client, login: str) -> str:
    """Sign in (asserting success); the CSRF token of the signed-in pages."""
    response = await sign_in_as(client, login)
    assert response.status_code == 303, response.text
    home = await client.get("/console")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)

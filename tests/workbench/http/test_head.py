"""HEAD wherever GET: a GET-only route answers HEAD as its GET would (status, headers, the GET's
Content-Length) with no body, signed in or not, errors included; routes with their own HEAD keep
it; streams stop at once; a customer's link counts nothing."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import litestar
import pytest
from litestar.testing import AsyncTestClient, transport

from tests.console.conftest import make_console, signed_in  # noqa: F401
from tests.customers_data import headers_of
from tests.serving import serving
from tests.sync.test_pkg_routes import ADMIN_PACKAGES, form, h5_zip
from tests.workbench.brochures.conftest import studio  # noqa: F401
from tests.workbench.tracking.conftest import hits, shared, stream_length, visitors  # noqa: F401
from workbench.app import create_app
from workbench.console.rendering import static_url as console_static_url
from workbench.exports import service as export_service
from workbench.http.auth import PUBLIC
from workbench.public.survey_page import static_url as survey_static_url

temp_path = export_service.temp_path

# Differ from one request to the next whatever the method.
PER_REQUEST = {"x-request-id", "date", "set-cookie", "content-security-policy"}


class BodySent(transport.TestClientTransport, httpx.AsyncBaseTransport):  # type: ignore[type-arg]
    """The test client's transport, noting the body the app sent (the client drops a HEAD's)."""

    def create_send(self, request: Any, context: Any) -> Any:
        send = transport.TestClientTransport.create_send(request, context)

        async def noting(message: Any) -> None:
            if message["type"] != "http.response.start":
                sent = message.get("body", b"")
                request.extensions["body_sent"] = request.extensions.get("body_sent", b"") + sent
            await send(message)

        return noting


async def head_of(client: Any, path: str, **options: Any) -> Any:
    """HEAD `path` as `client` would (its cookies), asserting that the app sent no body."""
    async with httpx.AsyncClient(
        transport=BodySent(client), base_url=client.base_url, cookies=client.cookies
    ) as noting:
        response = await noting.head(path, **options)
    assert response.request.extensions.get("body_sent") == b"", path
    assert response.content == b""
    return response


def assert_head_answers_as_get(head: Any, get: Any) -> None:
    """The HEAD's status and headers are the GET's (Content-Length too)."""
    assert head.status_code == get.status_code, (head.status_code, get.text)
    assert head.headers.get("content-length") == get.headers.get("content-length")
    if "content-length" in get.headers:
        assert int(get.headers["content-length"]) == len(get.content)
    same = {k: v for k, v in get.headers.items() if k not in PER_REQUEST}
    assert {k: v for k, v in head.headers.items() if k not in PER_REQUEST} == same
    assert set(head.headers) == set(get.headers)


async def both(client: Any, path: str, **options: Any) -> tuple[Any, Any]:
    return await head_of(client, path, **options), await client.get(path, **options)


async def test_healthz_answers_head_for_load_balancers(client):
    head, get = await both(client, "/healthz")
    assert head.status_code == 200
    assert head.headers["content-type"] == "application/json"
    assert_head_answers_as_get(head, get)
    allowed = (await client.options("/healthz")).headers["allow"]
    assert {m.strip() for m in allowed.split(",")} == {"GET", "HEAD", "OPTIONS"}


@pytest.mark.usefixtures("demo_bank")
async def test_an_api_get_answers_head_with_and_without_a_token(client):
    rm = await headers_of(client, "rm01")
    for path in ("/api/v1/me", "/api/v1/tasks", "/api/v1/notifications/unread-count"):
        head, get = await both(client, path, headers=rm)
        assert head.status_code == 200, path
        assert head.headers["content-type"] == "application/json"
        assert head.headers["cache-control"] == "no-store"
        assert_head_answers_as_get(head, get)
        # Without a token: the GET's 401 problem, headers only.
        head, get = await both(client, path)
        assert head.status_code == 401, path
        assert head.headers["content-type"].startswith("application/problem+json")
        assert_head_answers_as_get(head, get)


async def test_unknown_paths_and_other_methods_answer_head_without_a_body(client):
    head, get = await both(client, "/api/v1/no-such-thing")
    assert head.status_code == 404
    assert head.headers["content-type"].startswith("application/problem+json")
    assert_head_answers_as_get(head, get)
    # A route without GET: 405 naming its methods, no body.
    refused = await head_of(client, "/api/v1/auth/login")
    assert refused.status_code == 405
    assert "POST" in refused.headers["allow"]


@pytest.mark.usefixtures("demo_bank")
async def test_console_pages_answer_head_signed_out_and_in(make_console):  # noqa: F811
    console = await make_console()
    head = await head_of(console, "/console/sign-in")
    get = await console.get("/console/sign-in")  # sets the same cookies
    assert {c.name for c in console.cookies.jar} == set(head.cookies) == set(get.cookies)
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in head.headers["content-security-policy"]
    assert_head_answers_as_get(head, get)
    # Signed out, a page redirects to sign in, and back to the page afterwards (`next=`).
    head, get = await both(console, "/console/devices")
    assert head.status_code == 303
    assert head.headers["location"] == get.headers["location"]
    assert "next=/console/devices" in head.headers["location"]
    assert_head_answers_as_get(head, get)

    await signed_in(console, "bh.east")
    for path in ("/console", "/console/devices", "/console/no-such-page"):
        head, get = await both(console, path)
        assert head.status_code == (404 if "no-such" in path else 200), path
        assert head.headers["content-type"].startswith("text/html")
        assert_head_answers_as_get(head, get)
    # A page of another role: the same 404 page.
    head, get = await both(console, "/console/admin")
    assert head.status_code == 404
    assert_head_answers_as_get(head, get)


async def test_static_files_answer_head_with_their_type_and_length(client):
    # A cache or a download manager asks HEAD first: the console's stylesheet and script and the
    # customers' survey page stylesheet say what they are and how long, as their GET does.
    for path in (console_static_url("console.css"), console_static_url("console.js"),
                 survey_static_url("survey.css")):  # fmt: skip
        head, get = await both(client, path)
        assert head.status_code == 200, path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.headers["content-type"].startswith(("text/css", "text/javascript")), path
        assert int(head.headers["content-length"]) == len(get.content) > 0
        assert_head_answers_as_get(head, get)
    missing = await head_of(client, "/console/static/no-such-file.css")
    assert missing.status_code == 404


async def test_a_share_link_answers_head_as_its_page_and_counts_nothing(shared, db):  # noqa: F811
    page = f"/s/{shared.code}"
    head, get = await both(shared.client, page)
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/html")
    assert head.headers["x-robots-tag"]
    assert_head_answers_as_get(head, get)
    # Its page images' fresh links (a GET-only route): as their GET, no body.
    head, get = await both(shared.client, f"{page}/pages")
    assert head.status_code == 200
    assert_head_answers_as_get(head, get)
    for _ in range(3):
        assert (await head_of(shared.client, page)).status_code == 200
    # Opening a link counts nothing (beacons do): nothing reached the tracking stream.
    assert await stream_length(shared.studio.settings) == 0
    await shared.consume()
    assert await hits(db) == []
    assert await visitors(db, shared.share_id) == []


@pytest.mark.usefixtures("demo_bank")
async def test_a_package_download_keeps_its_own_head(make_client, tmp_path):
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin, rm = await headers_of(client, "admin"), await headers_of(client, "rm01")
    made = await client.post(ADMIN_PACKAGES, files=form(h5_zip()), headers=admin)
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    head, get = await both(client, url, headers=rm)
    assert head.status_code == 200
    assert head.headers["etag"] == f'"{made.json()["sha256"]}"'
    assert head.headers["accept-ranges"] == "bytes"
    assert int(head.headers["content-length"]) == made.json()["size"] == len(get.content)
    # Its own HEAD ignores a Range (the whole file's headers, for a download manager).
    ranged = await head_of(client, url, headers={**rm, "Range": "bytes=0-9"})
    assert ranged.status_code == 200
    assert ranged.headers["content-length"] == head.headers["content-length"]
    cached = await head_of(client, url, headers={**rm, "If-None-Match": head.headers["etag"]})
    assert cached.status_code == 304
    assert (await head_of(client, url)).status_code == 401


@pytest.mark.usefixtures("demo_bank")
async def test_the_event_stream_answers_head_at_once(client):
    rm = await headers_of(client, "rm01")
    head = await asyncio.wait_for(head_of(client, "/api/v1/sync/events", headers=rm), timeout=10)
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/event-stream")
    assert head.headers["cache-control"] == "no-store"
    refused = await head_of(client, "/api/v1/sync/events")
    assert refused.status_code == 401


@pytest.mark.usefixtures("demo_bank")
async def test_an_export_download_answers_head_and_leaves_no_file(
    make_console,  # noqa: F811
    monkeypatch,
):
    made: list[str] = []

    def noted(fmt: str) -> str:
        made.append(temp_path(fmt))
        return made[-1]

    monkeypatch.setattr(export_service, "temp_path", noted)
    console = await make_console()
    await signed_in(console, "bh.east")
    path = "/console/exports/new?table=tasks&format=csv"
    head = await head_of(console, path)
    # Built as for the GET, its temporary file deleted all the same (the stream was started).
    assert len(made) == 1
    assert not await asyncio.to_thread(os.path.exists, made[0])
    get = await console.get(path)
    assert head.status_code == 200, get.text
    assert head.headers["content-type"].startswith("text/csv")
    assert "attachment" in head.headers["content-disposition"]
    assert_head_answers_as_get(head, get)


@litestar.get("/test/seen", opt={PUBLIC: True}, sync_to_thread=False)
def seen(request: litestar.Request[Any, Any, Any]) -> dict[str, Any]:
    """What the handler was asked."""
    return {"method": request.method, "range": request.headers.get("range")}


async def test_a_route_added_later_answers_head_as_a_get_without_a_range(settings):
    app = create_app(settings)
    app.register(seen)
    async with AsyncTestClient(app) as client:
        get = await client.get("/test/seen")
        assert get.json() == {"method": "GET", "range": None}
        # The handler is asked a GET (it cannot answer otherwise), without the range (RFC 9110
        # has ranges for GET only): the same headers as that GET.
        head = await head_of(client, "/test/seen", headers={"Range": "bytes=0-1"})
        assert_head_answers_as_get(head, get)
        assert (await client.get("/test/seen", headers={"Range": "bytes=0-1"})).json()["range"]


async def test_head_is_not_in_the_api_document(client):
    document = (await client.get("/schema/openapi.json")).json()
    for path in ("/healthz", "/api/v1/me", "/api/v1/tasks"):
        assert set(document["paths"][path]) == {"get"}, path


async def _answer_head(reader: asyncio.StreamReader) -> bytes:
    """A HEAD's answer on the wire: its status line and headers, up to the blank line."""
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)


async def test_under_a_real_server_a_head_leaves_the_connection_usable(settings):
    # The server, not the app, drops a HEAD's body: a HEAD handed to the app as a GET must not
    # tell the server so, or it writes the GET's body (or fails short of its length) and the
    # next answer on the same keep-alive connection is garbage or never comes.
    async with serving(settings) as base:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for path in ("/healthz", "/api/v1/me", "/console/sign-in", "/healthz"):
                writer.write(f"HEAD {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                await writer.drain()
                head = await _answer_head(reader)
                assert head.startswith(b"HTTP/1.1 "), head
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 15)
            assert status.startswith(b"HTTP/1.1 200"), status
        finally:
            writer.close()

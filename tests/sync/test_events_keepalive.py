"""The event stream's keep-alive is a comment line and nothing else: an EventSource never sees it
as an event (an empty `message` every 15 s would wake the app for nothing). The stream is read
as bytes from a real HTTP server and parsed as the EventSource specification does."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from sync import events
from tests.customers_data import headers_of
from tests.serving import WAIT, serving
from tests.sync.sync_data import EVENTS

pytestmark = pytest.mark.usefixtures("demo_bank")

KEEPALIVE = b": keepalive\r\n"


def dispatched(stream: bytes) -> list[tuple[str, str]]:
    """The events an EventSource dispatches for `stream`, as (type, data): per the HTML
    specification, a blank line dispatches what the `data` lines gathered when they gathered
    anything (an empty `data:` line counts), as `message` unless an `event` line named it."""
    out: list[tuple[str, str]] = []
    data: list[str] | None = None
    kind = ""
    for raw in stream.decode().replace("\r\n", "\n").split("\n")[:-1]:
        if raw == "":
            if data is not None:
                out.append((kind or "message", "\n".join(data)))
            data, kind = None, ""
            continue
        if raw.startswith(":"):
            continue
        name, _, value = raw.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data = [*(data or []), value]
        elif name == "event":
            kind = value
    return out


async def test_the_keepalive_is_a_comment_an_event_source_never_dispatches(
    client, settings, monkeypatch
):
    monkeypatch.setattr(events, "KEEPALIVE_SECONDS", 0.1)
    rm01 = await headers_of(client, "rm01")
    received = b""
    async with (
        serving(settings) as base,
        httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(WAIT, read=None)) as http,
        http.stream("GET", EVENTS, headers=rm01) as response,
    ):
        assert response.status_code == 200
        ends = time.monotonic() + WAIT
        chunks = response.aiter_raw()
        while received.count(b"keepalive") < 3:
            assert time.monotonic() < ends, received
            received += await asyncio.wait_for(anext(chunks), timeout=WAIT)
    _, _, rest = received.partition(b"\r\n\r\n")
    assert dispatched(received) == [("hello", "pull")]
    assert rest.startswith(KEEPALIVE * 3), rest
    assert rest.replace(KEEPALIVE, b"") == b""

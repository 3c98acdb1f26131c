"""The app under a real uvicorn server on a free port, for tests that need real HTTP (server-sent
events, a real browser)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import uvicorn

from tests import apps
from workbench.settings import Settings

WAIT = 15.0  # generous: the machine is shared


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """The app under a real uvicorn server on a free port; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = apps.take_app(replace(settings, migrate_on_start=False))  # built once per run
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        ends = time.monotonic() + WAIT
        while not server.started:
            assert not task.done(), "the server did not start"
            assert time.monotonic() < ends, "the server did not start in time"
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=WAIT)
        sock.close()
        apps.give_back(app)  # not if it did not stop: no other test may start it again

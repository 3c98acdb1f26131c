"""Outages a test can cause and end: a TCP proxy in front of a real server that it cuts and
restores (PostgreSQL or Redis as the API sees it, without stopping the server other tests
share), and a Redis server of the test's own that it kills and starts again."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from workbench.embedded import free_port, redis_server_binary


class Outage:
    """Forwards 127.0.0.1:<port> to the target; `cut()` drops every connection and refuses new
    ones (the server is unreachable), `restore()` accepts again on the same port.

    It runs on an event loop of its own thread: the app under test may block the test's loop
    (Litestar's test client runs the lifespan in a portal thread)."""

    def __init__(self, target_url: str, default_port: int) -> None:
        parts = urlsplit(target_url)
        query = dict(parse_qsl(parts.query))
        socket_dir = query.pop("host", "")
        # A Unix socket (the embedded PostgreSQL's `?host=/dir`) or a TCP address.
        self._socket = (
            f"{socket_dir}/.s.PGSQL.{parts.port or default_port}"
            if socket_dir.startswith("/")
            else None
        )
        self._url = parts._replace(query=urlencode(query))
        self._target = (parts.hostname or "127.0.0.1", parts.port or default_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The target's URL, through the proxy."""
        netloc = self._url.netloc.rsplit("@", 1) if "@" in self._url.netloc else [""]
        host = f"127.0.0.1:{self.port}"
        netloc_ = f"{netloc[0]}@{host}" if netloc[0] else host
        return urlunsplit((self._url.scheme, netloc_, self._url.path, self._url.query, ""))

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self._socket:
                up_reader, up_writer = await asyncio.open_unix_connection(self._socket)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()


class PrivateRedis:
    """A redis-server of the test's own (AOF under `folder`), on a free loopback port it keeps:
    `kill()` ends it as a crash does (SIGKILL), `start()` starts it again on the same port and
    data, so a client configured once finds it back."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [
            str(redis_server_binary()),
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)),
            *("--daemonize", "no", "--appendonly", "yes", "--save", ""),
            *("--logfile", str(self.folder / "redis.log")),
        ]
        self._process = subprocess.Popen(args, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process.poll() is None, (self.folder / "redis.log").read_text()
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise AssertionError(f"Redis did not answer on port {self.port} within {timeout} s")

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

"""A small HTTP/2 client for the push hot path: one connection per provider origin with many
concurrent streams, on hyper-h2 (the library httpx itself uses for HTTP/2).

Why not httpx for every push: measured on the loopback fake, httpx/httpcore spend about 1.4 ms
of CPU per push (connection-pool bookkeeping and locks around every stream), which caps a 2-core
worker far below 1,000 pushes/s; this client spends a fraction of that, because a push is one
HEADERS and one DATA frame written straight to the socket. httpx still does the rare OAuth token
requests.

TLS with ALPN `h2` for https:// (providers), HTTP/2 prior knowledge for http:// (the local fakes).
A connection that fails or receives GOAWAY is dropped; requests on it fail with `H2Error` (the
caller retries later) and the next request opens a new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RemoteSettingsChanged,
    ResponseReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import H2Error as _ProtocolError
from h2.settings import SettingCodes

RECEIVE_WINDOW = 16 * 1024 * 1024


class H2Error(Exception):
    """The request did not get an answer: connection refused or lost, GOAWAY, reset, timeout."""


@dataclass(slots=True)
class Response:
    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (ValueError if it is not)."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError("not JSON") from exc


@dataclass(slots=True)
class _Stream:
    answer: asyncio.Future[Response]
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


class _Connection:
    """One HTTP/2 connection: a reader task dispatches frames to the waiting streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        # Our own headers, lower-case already: no per-request normalising or validation. Unlike
        # h2's default, `authorization` is not made never-indexed, so the provider token is sent
        # once per connection and then by index (the headers on this connection are all ours).
        self._h2 = H2Connection(
            H2Configuration(
                client_side=True,
                header_encoding="utf-8",
                normalize_outbound_headers=False,
                validate_outbound_headers=False,
            )
        )
        self._flush_pending = False
        self._streams: dict[int, _Stream] = {}
        self._window_open = asyncio.Event()
        self._stream_freed = asyncio.Event()
        self.closed = False
        self._h2.local_settings.update(
            {SettingCodes.ENABLE_PUSH: 0, SettingCodes.INITIAL_WINDOW_SIZE: RECEIVE_WINDOW}
        )
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(RECEIVE_WINDOW)
        self._flush()
        self._reading = asyncio.create_task(self._read())

    async def request(
        self, method: str, authority: str, scheme: str, path: str,
        headers: list[tuple[str, str]], body: bytes,
    ) -> Response:  # fmt: skip
        await self._free_stream_slot()
        stream_id = self._h2.get_next_available_stream_id()
        stream = _Stream(asyncio.get_running_loop().create_future())
        self._streams[stream_id] = stream
        try:
            self._h2.send_headers(
                stream_id,
                [(b":method", method.encode()), (b":scheme", scheme.encode()),
                 (b":authority", authority.encode()), (b":path", path.encode()),
                 *((k.encode(), v.encode()) for k, v in headers),
                 (b"content-length", str(len(body)).encode())],
                end_stream=not body,
            )  # fmt: skip
            if body:
                await self._send_body(stream_id, body)
            self._flush()
            return await stream.answer
        except asyncio.CancelledError:  # the caller's deadline passed: tell the server
            with contextlib.suppress(_ProtocolError):
                self._h2.reset_stream(stream_id)
                self._flush()
            raise
        except _ProtocolError as exc:
            raise H2Error(f"protocol: {type(exc).__name__}") from None
        finally:
            self._streams.pop(stream_id, None)

    async def _free_stream_slot(self) -> None:
        """Wait until the server's MAX_CONCURRENT_STREAMS allows one more (APNs starts at 1
        until the first request is authenticated, then allows about 1,000)."""
        while True:
            if self.closed:
                raise H2Error("connection closed")
            limit = self._h2.remote_settings.max_concurrent_streams
            if len(self._streams) < limit:
                return
            self._stream_freed.clear()
            await self._stream_freed.wait()

    async def _send_body(self, stream_id: int, body: bytes) -> None:
        sent = 0
        while sent < len(body):
            window = min(
                self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size
            )
            if window <= 0:
                self._flush()
                self._window_open.clear()
                await self._window_open.wait()
                if self.closed:
                    raise H2Error("connection closed")
                continue
            chunk = body[sent : sent + window]
            sent += len(chunk)
            self._h2.send_data(stream_id, chunk, end_stream=sent >= len(body))

    def _flush(self) -> None:
        """Write what h2 has queued, once per event-loop turn: the frames of every request made
        in the same turn leave in one write."""
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_pending = False
        if data := self._h2.data_to_send():
            with contextlib.suppress(Exception):
                self._writer.write(data)

    async def _read(self) -> None:
        try:
            while data := await self._reader.read(65536):
                for event in self._h2.receive_data(data):
                    self._on(event)
                self._flush()
        except (OSError, _ProtocolError, asyncio.IncompleteReadError):
            pass
        finally:
            self._close("connection lost")

    def _on(self, event: object) -> None:
        if isinstance(event, ResponseReceived):
            if stream := self._streams.get(event.stream_id):
                for name, value in event.headers or ():
                    key, text = str(name), str(value)
                    if key == ":status":
                        stream.status = int(text)
                    else:
                        stream.headers[key] = text
        elif isinstance(event, DataReceived):
            if stream := self._streams.get(event.stream_id):
                stream.body += event.data or b""
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, StreamEnded):
            self._stream_freed.set()
            if (stream := self._streams.get(event.stream_id)) and not stream.answer.done():
                stream.answer.set_result(
                    Response(stream.status, stream.headers, bytes(stream.body))
                )
        elif isinstance(event, StreamReset):
            self._stream_freed.set()
            if (stream := self._streams.get(event.stream_id)) and not stream.answer.done():
                stream.answer.set_exception(H2Error(f"stream reset ({event.error_code})"))
        elif isinstance(event, WindowUpdated):
            self._window_open.set()
        elif isinstance(event, RemoteSettingsChanged):
            self._stream_freed.set()
        elif isinstance(event, ConnectionTerminated):
            self._close("GOAWAY")

    def _close(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        for stream in self._streams.values():
            if not stream.answer.done():
                stream.answer.set_exception(H2Error(why))
        self._window_open.set()
        self._stream_freed.set()
        with contextlib.suppress(Exception):
            self._writer.close()

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            self._h2.close_connection()
            self._flush_now()
        self._close("closed")
        self._reading.cancel()
        with contextlib.suppress(BaseException):
            await self._reading


class H2Client:
    """Requests to one origin over a shared HTTP/2 connection, opened on first use."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        parts = urlsplit(base_url)
        self._scheme = parts.scheme
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._authority = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._connection: _Connection | None = None
        self._opening = asyncio.Lock()

    async def post(self, path: str, *, headers: dict[str, str], body: bytes) -> Response:
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._connected()
                return await connection.request(
                    "POST", self._authority, self._scheme, self._prefix + path,
                    list(headers.items()), body,
                )  # fmt: skip
        except TimeoutError:
            raise H2Error("timed out") from None

    async def _connected(self) -> _Connection:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        async with self._opening:
            if self._connection is None or self._connection.closed:
                self._connection = await self._open()
            return self._connection

    async def _open(self) -> _Connection:
        context = None
        if self._scheme == "https":
            context = ssl.create_default_context()
            context.set_alpn_protocols(["h2"])
        try:
            reader, writer = await asyncio.open_connection(self._host, self._port, ssl=context)
        except OSError as exc:
            raise H2Error(f"connect: {type(exc).__name__}") from None
        if context is not None:
            chosen = writer.get_extra_info("ssl_object").selected_alpn_protocol()
            if chosen != "h2":
                writer.close()
                raise H2Error("the server does not speak HTTP/2")
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        if self._connection is not None:
            await self._connection.aclose()
            self._connection = None

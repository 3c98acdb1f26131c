"""HTTP/2 plumbing of the push fake: one protocol per connection, built on `h2`; each stream
is answered by its own task, through `FakePushServer._dispatch`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings

from push.fakes.wire import Request, Response, json_response

if TYPE_CHECKING:
    from push.fakes.server import FakePushServer

log = logging.getLogger("push.fakes")


# Request bodies beyond this are not kept (the request is answered 413).
_MAX_BUFFERED_BODY = 1 << 20

# Streams one connection may carry at once; the benchmark keeps hundreds in flight.
_MAX_CONCURRENT_STREAMS = 1000

# Extra connection-level receive window, so concurrent request bodies never stall.
_CONNECTION_WINDOW_BOOST = (1 << 24) - 65535


class _Stream:
    """A request being received on one stream."""

    __slots__ = ("body", "headers", "too_large")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self.body = bytearray()
        self.too_large = False

    def add(self, data: bytes) -> None:
        """Append body bytes, dropping everything past the buffering limit."""
        if len(self.body) + len(data) > _MAX_BUFFERED_BODY:
            self.too_large = True
            return
        self.body += data

    def request(self) -> Request:
        """Turn the received headers and body into a request."""
        pseudo: dict[str, str] = {}
        headers: dict[str, str] = {}
        for raw_name, raw_value in self.headers:
            name = raw_name.decode("ascii", errors="replace").lower()
            value = raw_value.decode("utf-8", errors="replace")
            (pseudo if name.startswith(":") else headers)[name] = value
        return Request(
            method=pseudo.get(":method", ""),
            path=pseudo.get(":path", ""),
            headers=headers,
            body=bytes(self.body),
            too_large=self.too_large,
        )


class H2ServerProtocol(asyncio.Protocol):
    """One client connection: h2 frames in, one task per request stream, answers out."""

    def __init__(self, server: FakePushServer) -> None:
        self._server = server
        config = H2Configuration(client_side=False, header_encoding=None)
        self._conn = H2Connection(config=config)
        self._conn.local_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: _MAX_CONCURRENT_STREAMS,
                SettingCodes.MAX_HEADER_LIST_SIZE: 1 << 16,
            },
        )
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, _Stream] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._window_waiters: dict[int, asyncio.Future[None]] = {}

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send our SETTINGS and a larger connection window."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server._connections.add(self)
        self._conn.initiate_connection()
        self._conn.increment_flow_control_window(_CONNECTION_WINDOW_BOOST)
        self._flush()

    def data_received(self, data: bytes) -> None:
        """Feed bytes to h2 and act on the events they produce."""
        try:
            events = self._conn.receive_data(data)
        except ProtocolError:
            log.debug("HTTP/2 protocol error from a client; closing", exc_info=True)
            self._flush()
            self._abort()
            return
        for event in events:
            self._on_event(event)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        """Cancel the connection's stream tasks and forget it."""
        self._transport = None
        self._server._connections.discard(self)
        for task in self._tasks.values():
            task.cancel()
        for waiter in self._window_waiters.values():
            if not waiter.done():
                waiter.cancel()
        self._streams.clear()

    # ---- h2 events

    def _on_event(self, event: Event) -> None:
        """Dispatch one h2 event."""
        if isinstance(event, RequestReceived):
            self._streams[event.stream_id] = _Stream(list(event.headers))
        elif isinstance(event, DataReceived):
            self._on_data(event)
        elif isinstance(event, StreamEnded):
            self._on_stream_ended(event.stream_id)
        elif isinstance(event, StreamReset):
            self._on_stream_reset(event.stream_id)
        elif isinstance(event, WindowUpdated):
            self._on_window_updated(event.stream_id)
        elif isinstance(event, ConnectionTerminated):
            self._abort()

    def _on_data(self, event: DataReceived) -> None:
        """Buffer request body bytes and give the flow-control credit straight back."""
        stream = self._streams.get(event.stream_id)
        if stream is not None:
            stream.add(event.data)
        with contextlib.suppress(ProtocolError):
            self._conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)

    def _on_stream_ended(self, stream_id: int) -> None:
        """Start the task that answers a complete request."""
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        task = asyncio.get_running_loop().create_task(self._answer(stream_id, stream.request()))
        self._tasks[stream_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(stream_id, None))

    def _on_stream_reset(self, stream_id: int) -> None:
        """Drop a stream the client gave up on, and stop answering it."""
        self._streams.pop(stream_id, None)
        task = self._tasks.pop(stream_id, None)
        if task is not None:
            task.cancel()
        self._wake(stream_id)

    def _on_window_updated(self, stream_id: int) -> None:
        """Wake the senders waiting for flow-control credit (all of them for stream 0)."""
        if stream_id == 0:
            for waiting in list(self._window_waiters):
                self._wake(waiting)
        else:
            self._wake(stream_id)

    # ---- answering

    async def _answer(self, stream_id: int, request: Request) -> None:
        """Compute the answer to one request and send it."""
        try:
            response = await self._server._dispatch(request)
        except Exception:
            log.exception("the push fake failed on %s %s", request.method, request.path)
            response = json_response(500, {"error": "the fake server failed; see its log"})
        try:
            await self._send(stream_id, response)
        except ProtocolError:
            log.debug("stream %d went away before its answer was sent", stream_id)

    async def _send(self, stream_id: int, response: Response) -> None:
        """Send the headers, then the body as flow control allows."""
        if self._transport is None:
            return
        headers = [
            (b":status", str(response.status).encode()),
            (b"content-length", str(len(response.body)).encode()),
            *((name.encode(), value.encode()) for name, value in response.headers),
        ]
        self._conn.send_headers(stream_id, headers, end_stream=not response.body)
        self._flush()
        body = response.body
        while body and self._transport is not None:
            window = min(self._conn.local_flow_control_window(stream_id), len(body))
            if window <= 0:
                await self._wait_for_window(stream_id)
                continue
            chunk = body[: min(window, self._conn.max_outbound_frame_size)]
            body = body[len(chunk) :]
            self._conn.send_data(stream_id, chunk, end_stream=not body)
            self._flush()

    async def _wait_for_window(self, stream_id: int) -> None:
        """Wait until the client grants more flow-control credit to `stream_id`."""
        waiter = asyncio.get_running_loop().create_future()
        self._window_waiters[stream_id] = waiter
        try:
            await waiter
        finally:
            self._window_waiters.pop(stream_id, None)

    def _wake(self, stream_id: int) -> None:
        """Release the sender waiting on `stream_id`, if one is."""
        waiter = self._window_waiters.get(stream_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _flush(self) -> None:
        """Write whatever h2 has queued."""
        data = self._conn.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _abort(self) -> None:
        """Close the transport."""
        if self._transport is not None:
            self._transport.close()

    def close(self) -> list[asyncio.Task[None]]:
        """Say GOAWAY, close the connection and return its unfinished stream tasks."""
        with contextlib.suppress(ProtocolError):
            self._conn.close_connection()
        self._flush()
        self._abort()
        return list(self._tasks.values())

"""Request context: request id, one JSON access-log line and metrics per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from workbench.logs import request_id_var
from workbench.operations.metrics import Metrics

log = logging.getLogger("workbench.access")
_GOOD_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id (the caller's X-Request-Id if sane), then log and count it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        method = str(scope.get("method", ""))
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _GOOD_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_with_context)
        finally:
            elapsed = time.perf_counter() - started
            # The route template, never the raw path: paths can carry link tokens.
            route = scope.get("path_template") or "unmatched"
            metrics: Metrics = scope["litestar_app"].state.metrics
            metrics.observe_request(method, route, status, elapsed)
            log.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )

    return middleware


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """before_send hook: every answer, including errors raised before routing, names its id."""
    if message["type"] == "http.response.start":
        request_id = request_id_var.get() or uuid.uuid4().hex
        headers = list(message.get("headers", []))
        if not any(k.lower() == b"x-request-id" for k, _ in headers):
            headers.append((b"x-request-id", request_id.encode()))
        message["headers"] = headers


async def add_safety_headers(message: Message, scope: Scope) -> None:
    """before_send hook: no answer is sniffed into another type (`nosniff`), and no answer of
    the API is kept by a cache unless its route says how (`no-store`: customers' data, tokens;
    media and posters set their own `Cache-Control`)."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    names = {k.lower() for k, _ in headers}
    if b"x-content-type-options" not in names:
        headers.append((b"x-content-type-options", b"nosniff"))
    if b"cache-control" not in names and str(scope.get("path", "")).startswith("/api/"):
        headers.append((b"cache-control", b"no-store"))
    message["headers"] = headers


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None

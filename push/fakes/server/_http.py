"""The push fake's HTTP plumbing: `FakePushServer` listens (over `transport`'s HTTP/2
protocol), routes each request by path to the provider it imitates or to a control endpoint,
and records what it answered."""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from typing import Any

from push.fakes.server._apns import ApnsFake
from push.fakes.server._fcm import FcmFake
from push.fakes.server._hms import HmsFake
from push.fakes.transport import H2ServerProtocol
from push.fakes.wire import (
    NOT_JSON,
    Received,
    Request,
    Response,
    decode_form,
    decode_json,
    json_response,
)

_APNS_PATH = re.compile(r"^/3/device/(?P<token>[^/]*)$")


_FCM_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")


_HMS_PATH = re.compile(r"^/v1/(?P<app>[^/]+)/messages:send$")


class FakePushServer(ApnsFake, FcmFake, HmsFake):
    """A loopback HTTP/2 server that answers like APNs, FCM HTTP v1 and HMS Push Kit.

    Tests steer it from Python (`mark_dead`, `mark_bad`, `fail_next`, `expire_auth`,
    `latency`) and read what it saw (`sent`, `requests`, `auth_tokens_issued`). With
    `record=False` the `sent` and `requests` lists stay empty and only counters are kept.
    """

    # ---- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `host:port` (port 0 picks a free one), set `base_url` and the token_uri."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: H2ServerProtocol(self), host, port, backlog=1024
        )
        bound_port = self._server.sockets[0].getsockname()[1]
        shown_host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown_host}:{bound_port}"
        self.credentials.set_token_uri(self.fcm_token_uri)

    async def stop(self) -> None:
        """Stop listening, say GOAWAY on every open connection and close it."""
        if self._server is None:
            return
        self._server.close()
        tasks = [task for conn in list(self._connections) for task in conn.close()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    # ---- dispatch

    async def _dispatch(self, request: Request) -> Response:
        """Answer one request, recording it unless it is a control request."""
        path = urllib.parse.unquote(request.path.partition("?")[0])
        if path.startswith("/_fake/"):
            return self._control(request, path)
        provider, body, response = await self._route(request, path)
        self._request_count += 1
        if self.record:
            self.requests.append(
                Received(
                    provider=provider,
                    method=request.method,
                    path=request.path,
                    headers=request.headers,
                    body=None if body is NOT_JSON else body,
                    status=response.status,
                    answer=response.payload,
                )
            )
        return response

    async def _route(self, request: Request, path: str) -> tuple[str, Any, Response]:
        """Pick the handler for `path`; return the provider, the parsed body and the answer."""
        if path == "/token":
            form = decode_form(request.body)
            return "fcm", form, self._require_post(request) or self._google_token(form)
        if path == "/oauth2/v3/token":
            form = decode_form(request.body)
            return "hms", form, self._require_post(request) or self._hms_token(form)
        payload = decode_json(request.body)
        if match := _APNS_PATH.match(path):
            return "apns", payload, await self._apns(request, match["token"], payload)
        if match := _FCM_PATH.match(path):
            answer = self._require_post(request) or await self._fcm(
                request, match["project"], payload
            )
            return "fcm", payload, answer
        if match := _HMS_PATH.match(path):
            answer = self._require_post(request) or await self._hms(request, match["app"], payload)
            return "hms", payload, answer
        return "unknown", payload, json_response(404, {"error": f"no such path: {path}"})

    @staticmethod
    def _require_post(request: Request) -> Response | None:
        """Answer 405 unless the request is a POST."""
        if request.method == "POST":
            return None
        return json_response(405, {"error": "method not allowed"})

    # ---- control endpoints

    def _control(self, request: Request, path: str) -> Response:
        """Answer `GET /_fake/stats` and `POST /_fake/latency`."""
        if path == "/_fake/stats" and request.method == "GET":
            return json_response(200, self.stats())
        if path == "/_fake/arrivals" and request.method == "GET":
            return json_response(200, {"arrivals": self.arrivals})
        if path == "/_fake/latency" and request.method == "POST":
            payload = decode_json(request.body)
            seconds = payload.get("seconds") if isinstance(payload, dict) else None
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                return json_response(400, {"error": 'expected {"seconds": <number >= 0>}'})
            self.latency = float(seconds)
            return json_response(200, {"seconds": self.latency})
        return json_response(404, {"error": f"no such control: {request.method} {path}"})

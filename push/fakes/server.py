"""`FakePushServer`: routes each request to the provider it imitates, checks credentials and
the request, and records what it answered."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import secrets
import time
import urllib.parse
import uuid
from collections import deque
from typing import Any

import jwt

from push.fakes.checks import (
    APNS_FAILURES,
    FCM_FAILURES,
    HMS_FAILURES,
    apns_header_rejection,
    apns_payload_rejection,
    fcm_body_problem,
    fcm_error,
    fcm_invalid,
    hms_answer,
    hms_body_problem,
)
from push.fakes.credentials import FakeCredentials, ec_public_key, rsa_public_key
from push.fakes.transport import H2ServerProtocol
from push.fakes.wire import (
    NOT_JSON,
    AccessState,
    Delivered,
    Failure,
    Received,
    Rejection,
    Request,
    Response,
    bearer,
    decode_form,
    decode_json,
    is_int,
    is_uuid,
    json_response,
    json_text,
    notification_id,
    now_ms,
    retry_after,
)

log = logging.getLogger("push.fakes")

PROVIDERS = ("apns", "fcm", "hms")

FAILURE_KINDS = ("throttled", "unavailable", "internal", "expired_auth")

APNS_JWT_LIFETIME = 3600

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

FCM_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential."
)

_APNS_PATH = re.compile(r"^/3/device/(?P<token>[^/]*)$")

_FCM_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")

_HMS_PATH = re.compile(r"^/v1/(?P<app>[^/]+)/messages:send$")


class FakePushServer:
    """A loopback HTTP/2 server that answers like APNs, FCM HTTP v1 and HMS Push Kit.

    Tests steer it from Python (`mark_dead`, `mark_bad`, `fail_next`, `expire_auth`,
    `latency`) and read what it saw (`sent`, `requests`, `auth_tokens_issued`). With
    `record=False` the `sent` and `requests` lists stay empty and only counters are kept.
    """

    def __init__(
        self, credentials: FakeCredentials, *, latency: float = 0.0, record: bool = True
    ) -> None:
        """Load the public halves of the credentials' keys; call `start()` to serve."""
        self.credentials = credentials
        self.latency = latency
        self.record = record
        self.base_url = ""
        self.sent: list[Delivered] = []
        # (arrival time, provider, notification id) of every accepted push, even unrecorded.
        self.arrivals: list[tuple[float, str, str]] = []
        self.requests: list[Received] = []
        self.auth_tokens_issued: dict[str, int] = dict.fromkeys(PROVIDERS, 0)
        self._sent_counts: dict[str, int] = dict.fromkeys(PROVIDERS, 0)
        self._request_count = 0
        self._dead: dict[str, int] = {}
        self._bad: set[str] = set()
        self._failures: dict[str, deque[Failure]] = {name: deque() for name in PROVIDERS}
        self._apns_jwts: dict[str, int] = {}
        self._apns_expired: set[str] = set()
        self._apns_cutoff = 0
        self._access_tokens: dict[str, dict[str, bool]] = {"fcm": {}, "hms": {}}
        self._apns_key = ec_public_key(credentials.apns_private_key_pem())
        self._fcm_key = rsa_public_key(credentials.service_account()["private_key"].encode())
        self._server: asyncio.Server | None = None
        self._connections: set[H2ServerProtocol] = set()

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

    @property
    def fcm_token_uri(self) -> str:
        """The Google OAuth token endpoint, as written into the service-account file."""
        return f"{self.base_url}/token"

    @property
    def hms_token_url(self) -> str:
        """The Huawei OAuth token endpoint."""
        return f"{self.base_url}/oauth2/v3/token"

    # ---- control from the test's Python code

    def mark_dead(self, token: str) -> None:
        """Make `token` unregistered: APNs 410, FCM 404 UNREGISTERED, HMS 80300007."""
        self._dead[token] = now_ms()

    def mark_bad(self, token: str) -> None:
        """Make `token` malformed: APNs 400 BadDeviceToken, FCM 400, HMS 80300007."""
        self._bad.add(token)

    def fail_next(
        self, provider: str, kind: str, *, count: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `count` pushes of `provider` with a `kind` failure."""
        _check_provider(provider)
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {FAILURE_KINDS}, not {kind!r}")
        self._failures[provider].extend([Failure(kind, retry_after)] * count)

    def expire_auth(self, provider: str) -> None:
        """Expire every auth token issued so far for `provider` (APNs: JWTs signed before now)."""
        _check_provider(provider)
        if provider == "apns":
            self._apns_expired.update(self._apns_jwts)
            self._apns_cutoff = int(time.time())
            return
        tokens = self._access_tokens[provider]
        for token in tokens:
            tokens[token] = False

    def stats(self) -> dict[str, Any]:
        """Return the counters that `GET /_fake/stats` answers."""
        return {
            "sent": dict(self._sent_counts),
            "requests": self._request_count,
            "auth_tokens_issued": dict(self.auth_tokens_issued),
        }

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

    async def _wait_latency(self) -> None:
        """Sleep the configured latency before answering a push."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def _take_failure(self, provider: str) -> Failure | None:
        """Pop the next queued `fail_next` answer for `provider`, if any."""
        queue = self._failures[provider]
        return queue.popleft() if queue else None

    def _deliver(self, provider: str, token: str, request: Request, body: Any) -> None:
        """Count an accepted push, note when it arrived (for benchmarks), and record it."""
        self._sent_counts[provider] += 1
        self.arrivals.append((request.received_at, provider, notification_id(request, body)))
        if self.record:
            self.sent.append(Delivered(provider, token, request.headers, body))

    def _mint(self, provider: str, token: str) -> None:
        """Remember a freshly issued access token."""
        self._access_tokens[provider][token] = True
        self.auth_tokens_issued[provider] += 1

    def _access_state(self, provider: str, headers: dict[str, str]) -> AccessState:
        """Tell whether the request's bearer token is current, expired or unknown."""
        token = bearer(headers)
        valid = None if token is None else self._access_tokens[provider].get(token)
        if valid is None:
            return "unknown"
        return "ok" if valid else "expired"

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

    # ---- APNs

    async def _apns(self, request: Request, device_token: str, payload: Any) -> Response:
        """Answer `POST /3/device/{token}` the way APNs does."""
        given_id = request.headers.get("apns-id", "")
        apns_id = given_id if is_uuid(given_id) else str(uuid.uuid4())
        if request.method != "POST":
            return _apns_reply(Rejection(405, "MethodNotAllowed"), apns_id)
        await self._wait_latency()
        rejection = (
            self._apns_auth_rejection(request.headers)
            or self._apns_failure()
            or apns_header_rejection(request.headers, self.credentials.apns_topic)
            or apns_payload_rejection(request, payload)
            or self._apns_token_rejection(device_token)
        )
        if rejection is not None:
            return _apns_reply(rejection, apns_id)
        self._deliver("apns", device_token, request, payload)
        return Response(200, (("apns-id", apns_id),))

    def _apns_auth_rejection(self, headers: dict[str, str]) -> Rejection | None:
        """Check the provider JWT: present, signed by our key, from our team, not expired."""
        if not headers.get("authorization"):
            return Rejection(403, "MissingProviderToken")
        token = bearer(headers)
        if token is None:
            return Rejection(403, "InvalidProviderToken")
        issued_at = self._apns_jwts.get(token)
        if issued_at is None:
            issued_at = self._verify_apns_jwt(token)
            if issued_at is None:
                return Rejection(403, "InvalidProviderToken")
            self._apns_jwts[token] = issued_at
            self.auth_tokens_issued["apns"] = len(self._apns_jwts)
        too_old = time.time() - issued_at > APNS_JWT_LIFETIME
        if too_old or issued_at < self._apns_cutoff or token in self._apns_expired:
            return Rejection(403, "ExpiredProviderToken")
        return None

    def _verify_apns_jwt(self, token: str) -> int | None:
        """Return the `iat` of a well-signed ES256 provider JWT, or None if it is not one."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "ES256" or header.get("kid") != self.credentials.apns_key_id:
                return None
            claims = jwt.decode(
                token,
                self._apns_key,
                algorithms=["ES256"],
                issuer=self.credentials.apns_team_id,
                leeway=60,
                options={"require": ["iss", "iat"], "verify_exp": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            return None
        issued_at = claims["iat"]
        return issued_at if is_int(issued_at) else None

    def _apns_failure(self) -> Rejection | None:
        """Turn a queued `fail_next("apns", ...)` into its APNs answer."""
        failure = self._take_failure("apns")
        if failure is None:
            return None
        status, reason = APNS_FAILURES[failure.kind]
        return Rejection(status, reason, retry_after=failure.retry_after)

    def _apns_token_rejection(self, device_token: str) -> Rejection | None:
        """Check the device token against the fake's bad and dead lists."""
        if not device_token:
            return Rejection(400, "MissingDeviceToken")
        if device_token in self._bad:
            return Rejection(400, "BadDeviceToken")
        if device_token in self._dead:
            return Rejection(410, "Unregistered", timestamp=self._dead[device_token])
        return None

    # ---- Google OAuth and FCM

    def _google_token(self, form: dict[str, str]) -> Response:
        """Answer the Google OAuth JWT-bearer grant with an access token."""
        grant_type = form.get("grant_type", "")
        if grant_type != JWT_BEARER_GRANT:
            description = f"Invalid grant_type: {grant_type}"
            return json_response(
                400, {"error": "unsupported_grant_type", "error_description": description}
            )
        problem = self._google_assertion_problem(form.get("assertion", ""))
        if problem is not None:
            error, description = problem
            return json_response(400, {"error": error, "error_description": description})
        token = f"ya29.fake-{secrets.token_urlsafe(48)}"
        self._mint("fcm", token)
        return json_response(
            200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        )

    def _google_assertion_problem(self, assertion: str) -> tuple[str, str] | None:
        """Check the signed assertion; return Google's (error, description) or None."""
        if not assertion:
            return "invalid_request", "Missing required parameter: assertion"
        signature = ("invalid_grant", "Invalid JWT Signature.")
        lifetime = (
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe. Check your iat and exp values in the JWT claim.",
        )
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("kid") != self.credentials.fcm_private_key_id:
                return signature
            claims = jwt.decode(
                assertion,
                self._fcm_key,
                algorithms=["RS256"],
                audience=self.fcm_token_uri,
                issuer=self.credentials.fcm_client_email,
                leeway=60,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.InvalidAudienceError:
            return "invalid_grant", "Invalid JWT: Failed audience check."
        except jwt.InvalidIssuerError:
            return "invalid_grant", "Invalid grant: account not found"
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            return lifetime
        except jwt.PyJWTError:
            return signature
        return self._google_claims_problem(claims, lifetime)

    @staticmethod
    def _google_claims_problem(
        claims: dict[str, Any], lifetime: tuple[str, str]
    ) -> tuple[str, str] | None:
        """Check the assertion's lifetime (at most an hour) and its scope."""
        issued_at, expires = claims["iat"], claims["exp"]
        if not (is_int(issued_at) and is_int(expires)) or not 0 < expires - issued_at <= 3600:
            return lifetime
        scope = claims.get("scope")
        if not isinstance(scope, str) or FCM_SCOPE not in scope.split():
            return "invalid_scope", "Invalid OAuth scope or ID token audience provided."
        return None

    async def _fcm(self, request: Request, project_id: str, payload: Any) -> Response:
        """Answer `POST /v1/projects/{project}/messages:send` the way FCM does."""
        await self._wait_latency()
        if self._access_state("fcm", request.headers) != "ok":
            return fcm_error(401, "UNAUTHENTICATED", FCM_UNAUTHENTICATED, None)
        if project_id != self.credentials.fcm_project_id:
            return fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
        failure = self._take_failure("fcm")
        if failure is not None:
            return _fcm_failure(failure)
        problem = fcm_body_problem(payload)
        if problem is not None:
            return fcm_invalid(problem)
        token: str = payload["message"]["token"]
        if token in self._bad:
            return fcm_invalid("The registration token is not a valid FCM registration token")
        if token in self._dead:
            return fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        if payload.get("validate_only", payload.get("validateOnly", False)):
            return json_response(200, {"name": f"projects/{project_id}/messages/fake_message_id"})
        self._deliver("fcm", token, request, payload)
        message_id = f"0:{time.time_ns() // 1000}%{secrets.token_hex(8)}"
        return json_response(200, {"name": f"projects/{project_id}/messages/{message_id}"})

    # ---- Huawei OAuth and Push Kit

    def _hms_token(self, form: dict[str, str]) -> Response:
        """Answer Huawei's client-credentials grant with an access token."""
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.credentials.hms_app_id
            or form.get("client_secret") != self.credentials.hms_client_secret
        ):
            return json_response(
                400,
                {"error": 1101, "sub_error": 20356, "error_description": "invalid client_secret"},
            )
        # Huawei's tokens are base64 with '+', '/' and '='; clients must not mangle them.
        token = base64.b64encode(secrets.token_bytes(96)).decode("ascii")
        self._mint("hms", token)
        return json_response(
            200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        )

    async def _hms(self, request: Request, app_id: str, payload: Any) -> Response:
        """Answer `POST /v1/{app_id}/messages:send` the way Push Kit does."""
        await self._wait_latency()
        state = self._access_state("hms", request.headers)
        if state == "expired":
            return hms_answer(401, "80200003", "OAuth token expired.")
        if state == "unknown" or app_id != self.credentials.hms_app_id:
            return hms_answer(401, "80200001", "Oauth authentication error")
        failure = self._take_failure("hms")
        if failure is not None:
            status, code, msg = HMS_FAILURES[failure.kind]
            return hms_answer(status, code, msg, retry_after(failure.retry_after))
        problem = hms_body_problem(payload)
        if problem is not None:
            log.debug("HMS fake rejects the payload: %s", problem)
            return hms_answer(400, "80100003", "Illegal payload")
        return self._hms_deliver(request, payload)

    def _hms_deliver(self, request: Request, payload: dict[str, Any]) -> Response:
        """Deliver to the good tokens of a valid Push Kit request and report the illegal ones."""
        tokens: list[str] = payload["message"]["token"]
        illegal = [token for token in tokens if token in self._bad or token in self._dead]
        if len(illegal) == len(tokens):
            return hms_answer(200, "80300007", "All the tokens are invalid")
        if not payload.get("validate_only", False):
            for token in tokens:
                if token not in illegal:
                    self._deliver("hms", token, request, payload)
        if not illegal:
            return hms_answer(200, "80000000", "Success")
        summary = {
            "success": len(tokens) - len(illegal),
            "failure": len(illegal),
            "illegal_tokens": illegal,
        }
        return hms_answer(200, "80100000", json_text(summary))


def _check_provider(provider: str) -> None:
    """Reject a provider name the fake does not know."""
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {PROVIDERS}, not {provider!r}")


def _apns_reply(rejection: Rejection, apns_id: str) -> Response:
    """Build an APNs error answer: `{"reason": ...}` plus the apns-id header."""
    payload: dict[str, Any] = {"reason": rejection.reason}
    if rejection.timestamp is not None:
        payload["timestamp"] = rejection.timestamp
    headers = (("apns-id", apns_id), *retry_after(rejection.retry_after))
    return json_response(rejection.status, payload, headers)


def _fcm_failure(failure: Failure) -> Response:
    """Turn a queued `fail_next("fcm", ...)` into its FCM answer."""
    headers = retry_after(failure.retry_after)
    if failure.kind == "expired_auth":
        return fcm_error(401, "UNAUTHENTICATED", FCM_UNAUTHENTICATED, None, headers)
    status, grpc_status, message, error_code = FCM_FAILURES[failure.kind]
    return fcm_error(status, grpc_status, message, error_code, headers)

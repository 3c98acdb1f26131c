"""The APNs fake: answers `POST /3/device/{token}`, checking the provider JWT (ES256, our key
and team, not expired), the headers and payload, queued failures and the device token."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from push.fakes.checks import APNS_FAILURES, apns_header_rejection, apns_payload_rejection
from push.fakes.server._state import FakeState
from push.fakes.wire import (
    Rejection,
    Request,
    Response,
    bearer,
    is_int,
    is_uuid,
    json_response,
    retry_after,
)

APNS_JWT_LIFETIME = 3600


class ApnsFake(FakeState):
    """The APNs half of the fake."""

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


def _apns_reply(rejection: Rejection, apns_id: str) -> Response:
    """Build an APNs error answer: `{"reason": ...}` plus the apns-id header."""
    payload: dict[str, Any] = {"reason": rejection.reason}
    if rejection.timestamp is not None:
        payload["timestamp"] = rejection.timestamp
    headers = (("apns-id", apns_id), *retry_after(rejection.retry_after))
    return json_response(rejection.status, payload, headers)

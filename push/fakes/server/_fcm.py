"""The Google OAuth and FCM HTTP v1 fake: the JWT-bearer grant (the assertion's signature,
audience, issuer, lifetime and scope checked) and `POST /v1/projects/{project}/messages:send`."""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

from push.fakes.checks import FCM_FAILURES, fcm_body_problem, fcm_error, fcm_invalid
from push.fakes.server._state import FakeState
from push.fakes.wire import Failure, Request, Response, is_int, json_response, retry_after

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


FCM_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential."
)


class FcmFake(FakeState):
    """The Google OAuth and FCM half of the fake."""

    @property
    def fcm_token_uri(self) -> str:
        """The Google OAuth token endpoint, as written into the service-account file."""
        return f"{self.base_url}/token"

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


def _fcm_failure(failure: Failure) -> Response:
    """Turn a queued `fail_next("fcm", ...)` into its FCM answer."""
    headers = retry_after(failure.retry_after)
    if failure.kind == "expired_auth":
        return fcm_error(401, "UNAUTHENTICATED", FCM_UNAUTHENTICATED, None, headers)
    status, grpc_status, message, error_code = FCM_FAILURES[failure.kind]
    return fcm_error(status, grpc_status, message, error_code, headers)

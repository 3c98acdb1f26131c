"""The Huawei OAuth and HMS Push Kit fake: the client-credentials grant and
`POST /v1/{app_id}/messages:send`, which delivers to a request's good tokens and reports the
illegal ones."""

from __future__ import annotations

import base64
import logging
import secrets
from typing import Any

from push.fakes.checks import HMS_FAILURES, hms_answer, hms_body_problem
from push.fakes.server._state import FakeState
from push.fakes.wire import Request, Response, json_response, json_text, retry_after

log = logging.getLogger("push.fakes")


class HmsFake(FakeState):
    """The Huawei OAuth and Push Kit half of the fake."""

    @property
    def hms_token_url(self) -> str:
        """The Huawei OAuth token endpoint."""
        return f"{self.base_url}/oauth2/v3/token"

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

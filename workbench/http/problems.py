"""Every error becomes an RFC 9457 problem+json answer with a stable code; nothing leaks."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from mobile_contracts.v1.problems import FieldError, Problem
from workbench.errors import DomainError
from workbench.logs import request_id_var

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("workbench.errors")

_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)
_STATUS_CODES = {
    400: ("request.invalid", "Bad request"),
    401: ("auth.unauthorized", "Authentication required"),
    403: ("auth.forbidden", "Forbidden"),
    404: ("http.not_found", "Not found"),
    405: ("http.method_not_allowed", "Method not allowed"),
    413: ("request.too_large", "Request body too large"),
    415: ("request.unsupported_media_type", "Unsupported media type"),
    429: ("request.rate_limited", "Too many requests"),
}


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    extra = {k: v for k, v in exc.extra.items() if k in Problem.__struct_fields__}
    problem = Problem(
        title=exc.title,
        status=exc.status,
        code=exc.code,
        detail=exc.detail,
        request_id=request_id_var.get(),
        **extra,
    )
    return problem_response(problem, exc.headers or None)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """Bad bodies and parameters: 422 with one entry per invalid field, located by path."""
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", "invalid value")) if isinstance(item, dict) else str(item)
        key = item.get("key") if isinstance(item, dict) else None
        source = item.get("source") if isinstance(item, dict) else None
        match = _AT_PATH.match(message)
        path = match.group("path") if match and match.group("path") else None
        text = match.group("message") if match else message
        if path is None:
            if source in (None, "body"):
                path = f"$.{key}" if key else "$"
            else:
                path = f"{source}.{key}" if key else str(source)
        errors.append(FieldError(path=path, message=text))
    if not errors:
        errors.append(FieldError(path="$", message=_strip_prefix(exc.detail)))
    problem = Problem(
        title="Invalid request",
        status=422,
        code="request.validation_failed",
        detail="; ".join(f"{e.path}: {e.message}" for e in errors)[:500],
        request_id=request_id_var.get(),
        errors=errors,
    )
    return problem_response(problem)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status == 400 and isinstance(exc.__cause__, SerializationException):
        # The body is not JSON at all: answer like any other invalid body.
        problem = Problem(
            title="Invalid request",
            status=422,
            code="request.validation_failed",
            detail="The body is not valid JSON",
            request_id=request_id_var.get(),
            errors=[FieldError(path="$", message="not valid JSON")],
        )
        return problem_response(problem)
    code, title = _STATUS_CODES.get(status, (f"http.{status}", "Error"))
    detail = None if status >= 500 else _strip_prefix(exc.detail)
    problem = Problem(
        title=title, status=status, code=code, detail=detail, request_id=request_id_var.get()
    )
    return problem_response(problem, dict(exc.headers or {}) or None)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """500 with the request id to quote to support; the trace goes to the log only."""
    log.error("unhandled error", exc_info=exc, extra={"route": request.scope.get("path_template")})
    problem = Problem(
        title="Internal error",
        status=500,
        code="server.error",
        detail="Something went wrong on our side; quote the request id to support",
        request_id=request_id_var.get(),
    )
    return problem_response(problem)


def _problem_spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=MEDIA_TYPE,
        generate_examples=False,
    )


PROBLEM_RESPONSES: dict[int, ResponseSpec] = {
    400: _problem_spec("Bad request (e.g. a tampered cursor)"),
    401: _problem_spec("Not signed in, or the token is invalid, expired or ended"),
    403: _problem_spec("The role may not do this, or the device was revoked (`wipe: true`)"),
    404: _problem_spec("No such object, or not visible to the caller"),
    409: _problem_spec("Conflicts with the current state"),
    413: _problem_spec("Request body too large"),
    422: _problem_spec("Invalid body or parameters, with per-field `errors`"),
    426: _problem_spec("The app is older than the supported minimum"),
    429: _problem_spec("Too many attempts; see Retry-After"),
    503: _problem_spec("A backing service is unavailable; try again shortly"),
}
"""Error answers every API route documents in the OpenAPI (all are problem+json)."""


def _strip_prefix(detail: str) -> str:
    return detail.split(": ", 1)[1] if detail.startswith("Validation failed for") else detail


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain,
    ValidationException: _validation,
    NotFoundException: _http,
    MethodNotAllowedException: _http,
    HTTPException: _http,
    Exception: _unexpected,
}

"""Every error becomes an RFC 9457 problem+json answer with a stable code; nothing leaks."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mobile_contracts.v1.problems import FieldError, Problem
from workbench.db import VALUE_REFUSED
from workbench.errors import DomainError, ServiceUnavailable
from workbench.http.auth import CONSOLE, CONSOLE_PREFIX, PAGE
from workbench.http.words import REQUIRED, patterns_said, said, type_at
from workbench.http.words import in_words as in_words  # offline mutations and feeds use it
from workbench.logs import request_id_var

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("workbench.errors")

_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)
# Litestar's words for a parameter left out: named as the caller writes it, not echoed with the
# request's URL and query string.
_MISSING = re.compile(
    r"^Missing required (?P<source>query|header|cookie|path) parameter '(?P<key>[^']+)'"
)
BODY = "data"  # the name Litestar gives a handler's request body
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


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if _page_kind(request) == CONSOLE:
        from workbench.console.errors import domain_error_page

        return domain_error_page(request, exc)
    if exc.status == 503 and _is_page(request):
        return _unavailable_page(request)
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


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Bad bodies and parameters: 422 with one entry per invalid field, located by path."""
    if _is_page(request):
        return _invalid_page(request, 422)
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        errors.append(_field_error(request, item))
    if not errors and (missing := _MISSING.match(_strip_prefix(exc.detail))):
        key = _as_written(request, missing.group("key"))
        errors.append(FieldError(path=f"{missing.group('source')}.{key}", message=REQUIRED))
    if not errors:
        errors.append(FieldError(path="$", message=in_words(_strip_prefix(exc.detail))))
    problem = Problem(
        title="Invalid request",
        status=422,
        code="request.validation_failed",
        detail="; ".join(f"{e.path}: {e.message}" for e in errors)[:500],
        request_id=request_id_var.get(),
        errors=errors,
    )
    return problem_response(problem)


def _field_error(request: Request[Any, Any, Any], item: Any) -> FieldError:
    """One refused value: located by where the caller wrote it (`$.device.device_id`,
    `query.from`) and said in words (`workbench.http.words`), with the declared type at that
    place looked up for the words that need it (an enum's values, a pattern's words)."""
    message = str(item.get("message", "invalid value")) if isinstance(item, dict) else str(item)
    key = item.get("key") if isinstance(item, dict) else None
    source = item.get("source") if isinstance(item, dict) else None
    source = getattr(source, "value", source)  # ParamType.QUERY -> "query"
    match = _AT_PATH.match(message)
    path = match.group("path") if match and match.group("path") else None
    text = match.group("message") if match else message
    declared = _declared(request, BODY if source in (None, "body") else key)
    if key and source not in (None, "body"):
        key = _as_written(request, str(key))
    if source in (None, "body") and key == BODY:  # the body as a whole, not a field of it
        key = None
        if text == repr(BODY):  # Litestar found no body at all (a KeyError of its kwarg)
            text = "a JSON body is required"
    if path is None:
        if source in (None, "body"):
            path = f"$.{key}" if key else "$"
        else:
            path = f"{source}.{key}" if key else str(source)
    # The declared type at the path: a body's field is walked to from the body's type; a
    # parameter is a document of its own (`$`).
    field, words = said(text, type_at(declared, path if source in (None, "body") else "$"))
    if field is not None:
        path = f"{path}.{field}"
    return FieldError(path=path, message=words)


def _declared(request: Request[Any, Any, Any], name: object) -> Any:
    """The type a handler declares for its body (`data`) or a parameter, by the handler's name
    for it; None if not its own (a dependency's parameter)."""
    handler = request.scope.get("route_handler")
    parameters = getattr(getattr(handler, "parsed_fn_signature", None), "parameters", {})
    definition = parameters.get(name) if isinstance(name, str) else None
    return getattr(definition, "annotation", None)


def _as_written(request: Request[Any, Any, Any], key: str) -> str:
    """A parameter's name as the caller writes it (`from`), not the handler's (`from_`)."""
    handler = request.scope.get("route_handler")
    parameters = getattr(getattr(handler, "parsed_fn_signature", None), "parameters", {})
    definition = getattr(parameters.get(key), "kwarg_definition", None)
    return getattr(definition, "name", None) or key


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if _page_kind(request) == CONSOLE:
        from workbench.console.errors import error_page

        return error_page(request, status, headers=dict(exc.headers or {}) or None)
    if _is_page(request) and status == 404:
        return _not_found_page(request)
    if _is_page(request) and 400 <= status < 500:
        return _invalid_page(request, status)
    if status == 400 and isinstance(exc.__cause__, SerializationException):
        # The body is not JSON at all: answer like any other invalid body.
        return _invalid("request.validation_failed", "The body is not valid JSON", "not valid JSON")
    code, title = _STATUS_CODES.get(status, (f"http.{status}", "Error"))
    detail = None if status >= 500 else patterns_said(_strip_prefix(exc.detail))
    problem = Problem(
        title=title, status=status, code=code, detail=detail, request_id=request_id_var.get()
    )
    return problem_response(problem, dict(exc.headers or {}) or None)


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """PostgreSQL or Redis cannot be reached (down, restarting, out of connections, too slow),
    or PostgreSQL rolled the request's transaction back against another (deadlock): 503, never
    a 500. Nothing was changed (the request's transaction did not commit), and the same process
    serves again once the server is back (the pools reconnect on their own)."""
    log.warning(
        "backing service unavailable",
        extra={"route": request.scope.get("path_template"), "error": type(exc).__name__},
    )
    if _is_page(request):
        return _unavailable_page(request)
    return _domain(request, ServiceUnavailable("The service is briefly unavailable; try again"))


def _is_page(request: Request[Any, Any, Any]) -> bool:
    return _page_kind(request) is not None


def _page_kind(request: Request[Any, Any, Any]) -> object:
    """The route's `PAGE` opt (None: not a page). A path under /console that matched no route
    (404, 405) is a console page too: the staff reading it are people. A request that sent
    JSON (an app answering a survey page's form) is an app's: its errors are problem+json."""
    handler = request.scope.get("route_handler")
    if handler is not None:
        if _sent_json(request):
            return None
        return handler.opt.get(PAGE) or None
    path = request.scope.get("path", "")
    if path == CONSOLE_PREFIX or path.startswith(f"{CONSOLE_PREFIX}/"):
        return CONSOLE
    if _CUSTOMER_LINK.match(path):
        return True
    return None


# The paths of the links customers are given (brochures /s/, surveys /f/, visit confirmations
# /c/, real-name verification /v/), in any case: one that matched no route (cut short, a word
# pasted after it, a capital letter typed) is read by a customer on a phone, so it is a page.
_CUSTOMER_LINK = re.compile(r"/[sfcv](?:/|$)", re.IGNORECASE)


def _sent_json(request: Request[Any, Any, Any]) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _unavailable_page(request: Request[Any, Any, Any]) -> Response[Any]:
    if _page_kind(request) == CONSOLE:
        from workbench.console.errors import error_page

        return error_page(request, 503)
    from workbench.public.pages import unavailable_page

    return unavailable_page(request.app.state.settings.bank_name)


def _not_found_page(request: Request[Any, Any, Any]) -> Response[Any]:
    if _page_kind(request) == CONSOLE:
        from workbench.console.errors import error_page

        return error_page(request, 404)
    from workbench.public.pages import not_found_page

    return not_found_page(request.app.state.settings.bank_name)


def _invalid_page(request: Request[Any, Any, Any], status: int) -> Response[Any]:
    return _page(request, "无法处理", "提交的内容无效，请返回检查后重新提交。", status)


def _page(request: Request[Any, Any, Any], title: str, text: str, status: int) -> Response[Any]:
    """A page's error, as a page (its readers are people, not apps)."""
    if _page_kind(request) == CONSOLE:
        from workbench.console.errors import error_page

        return error_page(request, status)  # the console's own wording for the status
    from workbench.public.pages import message

    return message(title, text, bank=request.app.state.settings.bank_name, status=status)


def _bad_value(request: Request[Any, Any, Any], exc: asyncpg.PostgresError) -> Response[Any]:
    """PostgreSQL refused a value (a NUL in text, a number beyond its column, a violated
    check): the client's input, so 422 and nothing changed. The contract types should have
    refused it first with the field named; this is the net under them (the API fuzzer fails
    on every request that reaches it)."""
    if _is_page(request):
        return _invalid_page(request, 422)
    log.warning(
        "value refused by the database",
        extra={"route": request.scope.get("path_template"), "sqlstate": exc.sqlstate},
    )
    return _invalid(
        "request.invalid_value",
        "A value is out of range or not allowed (e.g. a NUL character or a number too large)",
        "a value is out of range or not allowed",
    )


def _invalid(code: str, detail: str, message: str) -> Response[bytes]:
    """422 about the body as a whole (`$`)."""
    problem = Problem(
        title="Invalid request",
        status=422,
        code=code,
        detail=detail,
        request_id=request_id_var.get(),
        errors=[FieldError(path="$", message=message)],
    )
    return problem_response(problem)


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """A body nested deeper than the decoder goes (`[[[[...]]]]`): 422 at once."""
    if _is_page(request):
        return _invalid_page(request, 422)
    return _invalid(
        "request.validation_failed", "The body is nested too deeply", "nested too deeply"
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """500 with the request id to quote to support; the trace goes to the log only. A group of
    errors (Litestar gathers those raised while a request's dependencies are cleaned up, such
    as a rollback on a connection PostgreSQL closed) is answered as its errors are when they
    all have the same handler: a lost connection is a 503 whether or not it came grouped."""
    if isinstance(exc, BaseExceptionGroup):
        leaves = _leaves(exc)
        handlers = {_handler_of(leaf) for leaf in leaves}
        if len(handlers) == 1 and (handler := handlers.pop()) is not _unexpected:
            answer: Response[Any] = handler(request, leaves[0])
            return answer
    log.error("unhandled error", exc_info=exc, extra={"route": request.scope.get("path_template")})
    if _is_page(request):
        return _page(request, "出错了", "页面暂时无法显示，请稍后再试。", 500)
    problem = Problem(
        title="Internal error",
        status=500,
        code="server.error",
        detail="Something went wrong on our side; quote the request id to support",
        request_id=request_id_var.get(),
    )
    return problem_response(problem)


def _leaves(group: BaseExceptionGroup[Any]) -> list[Exception]:
    """The errors inside a group, and inside its groups."""
    found: list[Exception] = []
    for inner in group.exceptions:
        if isinstance(inner, BaseExceptionGroup):
            found.extend(_leaves(inner))
        elif isinstance(inner, Exception):
            found.append(inner)
    return found


def _handler_of(exc: Exception) -> Any:
    """The handler EXCEPTION_HANDLERS gives this error (by its nearest class), as Litestar
    looks it up."""
    for cls in type(exc).__mro__:
        if cls in EXCEPTION_HANDLERS:
            return EXCEPTION_HANDLERS[cls]
    return _unexpected


def _strip_prefix(detail: str) -> str:
    return detail.split(": ", 1)[1] if detail.startswith("Validation failed for") else detail


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain,
    ValidationException: _validation,
    NotFoundException: _http,
    MethodNotAllowedException: _http,
    HTTPException: _http,
    # PostgreSQL or Redis unreachable, restarting, out of connections or too slow: 503.
    OSError: _unavailable,  # refused or reset connections, timeouts (TimeoutError)
    asyncpg.PostgresConnectionError: _unavailable,
    asyncpg.InterfaceError: _unavailable,  # "pool is closed", "connection is closed"
    # A connection whose server process was ended under it, met mid-protocol ("cannot switch
    # to state 15; another operation is in progress"): the pool replaces it.
    asyncpg.InternalClientError: _unavailable,
    asyncpg.exceptions.OperatorInterventionError: _unavailable,  # shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError: _unavailable,  # too many connections, disk
    RedisConnectionError: _unavailable,
    RedisTimeoutError: _unavailable,
    # Two transactions that met head on (a deadlock, a serialization failure): PostgreSQL
    # rolled this one back, so nothing changed; the same request sent again goes through.
    asyncpg.exceptions.TransactionRollbackError: _unavailable,
    # Values PostgreSQL refuses: input that the contract types let through.
    **dict.fromkeys(VALUE_REFUSED, _bad_value),
    RecursionError: _too_deep,
    Exception: _unexpected,
}

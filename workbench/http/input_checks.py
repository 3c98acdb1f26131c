"""Input no column can hold is refused before a handler runs, naming where it was.

PostgreSQL cannot store a NUL character in text or JSON: a request carrying one (in a query or
path parameter, a JSON body, a form field) answers 422 with the parameter or JSON path, instead
of failing in the database. Routes whose bodies carry rows that are accepted or rejected one by
one (bank feeds, events, offline mutations) declare the key of those rows with the route opt
`ROWS_CHECKED`: the hook checks the rest of the body, and hands the route the rows holding a
NUL (`rows_with_nul(request)`: index -> where) to reject one by one; the good rows still land.
A console page's form (or query) holding one raises `NulInConsoleForm` instead: the console
answers with a page naming the field and leading back to the form (`workbench.console.errors`).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, SerializationException, ValidationException

from workbench.errors import DomainError
from workbench.http.auth import CONSOLE, PAGE
from workbench.nul import NUL, NUL_CODE, NUL_MESSAGE, find_nul

ROWS_CHECKED = "rows_checked"  # route opt: top-level body key whose rows the route checks itself
_ROWS_WITH_NUL = "rows_with_nul"  # request state: {row index: JSON path of the NUL}
_JSON_NUL = b"\\u0000"  # the only way JSON can spell a NUL


class NulInConsoleForm(DomainError):
    """A console page's form field (or query parameter) held a NUL: the console's page says so,
    naming the field, and leads back to the form; nothing was done."""

    status, code, title = 422, NUL_CODE, "Invalid request"

    def __init__(self, field: str | None) -> None:
        super().__init__(f"{NUL_MESSAGE} - at `{field}`" if field else NUL_MESSAGE)
        self.field = field


async def refuse_unstorable_input(request: Request[Any, Any, Any]) -> None:
    """App-wide before_request hook: 422 for a NUL in any parameter, JSON body or form field."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # A console page's form (an app's JSON to a page is the app's: problems as usual).
    console = request.route_handler.opt.get(PAGE) == CONSOLE and content_type != "application/json"
    declared = _query_names(request)
    for name, value in request.query_params.multi_items():
        if name in declared and NUL in value:  # others are never read
            if console:
                raise NulInConsoleForm(name)
            _refuse(key=name, source="query")
    for name, value in request.path_params.items():
        if isinstance(value, str) and NUL in value:
            if console:
                raise NulInConsoleForm(None)
            _refuse(key=name, source="path")
    if content_type == "application/json" or content_type.endswith("+json") or _reads_json(request):
        body = await request.body()
        if _JSON_NUL not in body:
            return
        try:
            data = await request.json()
        except SerializationException as exc:  # not JSON at all: the usual 422
            raise ClientException(str(exc)) from exc
        rows_key = request.route_handler.opt.get(ROWS_CHECKED)
        if isinstance(data, dict) and rows_key:
            rows = data.get(rows_key)
            if isinstance(rows, list):
                request.state[_ROWS_WITH_NUL] = {
                    index: where
                    for index, row in enumerate(rows)
                    if (where := find_nul(row, f"$.{rows_key}[{index}]"))
                }
            data = {k: v for k, v in data.items() if k != rows_key}
        if where := find_nul(data):
            _refuse(at=where)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if content_type.startswith("application/"):
            body = await request.body()
            _check_url_encoded(body)
            if not _may_hold_nul(body):
                return
        form = await read_form(request)
        for name, value in form.multi_items():
            if NUL in name or (isinstance(value, str) and NUL in value):
                if console:
                    raise NulInConsoleForm(name.replace(NUL, "") or None)
                _refuse(at=f"$.{name.replace(NUL, '')}")


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The request's form; a field whose bytes are not text in its charset is a 400. Litestar
    reads a URL-encoded form's bad bytes (raw or percent-encoded) as U+FFFD: a customer's name
    garbled on the way would be taken as typed, so they are checked first, strictly."""
    if request.content_type[0] == "application/x-www-form-urlencoded":
        _check_url_encoded(await request.body())
    try:
        return await request.form()
    except (UnicodeError, LookupError) as exc:  # bad bytes for the charset; unknown charset
        raise _not_text() from exc


def _check_url_encoded(body: bytes) -> None:
    """A 400 unless every name and value of a URL-encoded body is UTF-8, raw or percent-encoded
    (Litestar would read the bytes that are not as U+FFFD)."""
    try:
        urllib.parse.parse_qsl(body.decode(), keep_blank_values=True, errors="strict")
    except UnicodeError as exc:
        raise _not_text() from exc


def _not_text() -> ClientException:
    return ClientException(
        "A form field is not valid text in its charset (UTF-8 unless the part names another); "
        "send a file with a filename"
    )


def _reads_json(request: Request[Any, Any, Any]) -> bool:
    """Whether the route decodes its body as JSON, whatever content type the caller named: such a
    body is checked as JSON (and never parsed as a form, which would leave the route no body)."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return False
    media_type = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON)
    return media_type not in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART)


def _query_names(request: Request[Any, Any, Any]) -> set[str]:
    """The query parameters the route reads, by the names callers write."""
    parameters = request.route_handler.parsed_fn_signature.parameters
    return {getattr(f.kwarg_definition, "name", None) or n for n, f in parameters.items()}


def rows_with_nul(request: Request[Any, Any, Any]) -> dict[int, str]:
    """For a `ROWS_CHECKED` route: the rows of the body holding a NUL, by index, with where."""
    found: dict[int, str] = request.state.get(_ROWS_WITH_NUL, {})
    return found


def _may_hold_nul(body: bytes) -> bool:
    return b"%00" in body or b"\x00" in body


def _refuse(*, at: str | None = None, key: str | None = None, source: str | None = None) -> None:
    if at is not None:
        raise ValidationException(extra=[{"message": f"{NUL_MESSAGE} - at `{at}`"}])
    raise ValidationException(extra=[{"key": key, "source": source, "message": NUL_MESSAGE}])

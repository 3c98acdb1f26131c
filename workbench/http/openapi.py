"""The API reference, also offline: Swagger UI from the installed `swagger-ui-bundle-v2` package,
and what each operation documents, derived in one place from what its route is.

For every operation in the schema (`RouteDocs`, as each route is registered):

- `summary` is the first line of the handler's docstring, `description` the rest (plus who may
  call it); a route's own `summary=`/`description=` wins.
- `security`: the bearer scheme unless the route is `PUBLIC`, which says `security: []`.
- the errors it can answer, as problem+json: 400 and 426 (the app-wide guard checks
  `X-App-Version` on every route); signed in: 401, 403 (revoked device) and 503 (the token check
  reads Redis); a role guard: 403; path parameters: 404; a body or parameters: 422; a body: 413;
  the database: 503. A route adds others, or describes one better, with `opt={ERRORS: {...}}`;
  its own `responses=` entries win over everything.
- request examples by body type, from `mobile_contracts.examples`.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import swagger_ui_bundle
from litestar import Router, get
from litestar.constants import RESERVED_KWARGS
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    Example,
    Operation,
    RequestBody,
    SecurityScheme,
    Tag,
)
from litestar.params import FromPath
from litestar.plugins import ReceiveRoutePlugin
from litestar.response import File
from litestar.routes import BaseRoute, HTTPRoute
from litestar.utils.helpers import unwrap_partial

from mobile_contracts.examples import REQUEST_EXAMPLES, BodyExample
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.problems import Problem
from workbench.access.caller import Caller
from workbench.errors import Forbidden
from workbench.http.auth import ANSWERS_WIPE, PUBLIC
from workbench.http.problems import MEDIA_TYPE

ERRORS = "errors"
"""Route opt key: `{status: description}` of the errors a route answers beyond those that follow
from what it is, or a sharper description of one of those (for 400: the route's own reasons,
put before those every route has)."""

ERROR_DESCRIPTIONS = {
    401: "Not signed in, or the access token is invalid, expired, issued to another device or of "
    "an ended session (`auth.unauthorized`, `auth.invalid_token`, `auth.session_ended`): refresh "
    "it, or sign in again",
    403: "This device was revoked, or its user disabled (`auth.device_revoked`, "
    "`auth.user_disabled`; `wipe: true`: erase the offline data and sign out)",
    404: "No such object, or not visible to the caller (`<kind>.not_found`)",
    409: "Conflicts with the current state (`conflict` and specific codes)",
    413: "Request body too large (`request.too_large`)",
    422: "Invalid body or parameters (`request.validation_failed`, one `errors[]` entry per field, "
    "located by `path`)",
    426: "The app (`X-App-Version`) is older than the supported minimum (`app.upgrade_required`, "
    "with `min_app_version`): update the app",
    429: "Too many attempts (`auth.rate_limited`); retry after `Retry-After` seconds",
    503: "PostgreSQL or Redis is unavailable (`service.unavailable`); try again shortly",
}
"""What each error status means, when a route says no more (400 is composed per route)."""

DOCS_PATH = "/schema"
BEARER = "bearerAuth"
SWAGGER_UI = Path(str(swagger_ui_bundle.swagger_ui_path))
# The bundle's version is in the URL ("swagger-ui-5.31.0"), so browsers may keep the files forever.
ASSETS_PATH = f"/assets/{SWAGGER_UI.name}"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
_ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}
# The reference's pages: their scripts and styles from this server only (the page's one inline
# script starts Swagger UI with the document), "Try it out" to this API only, never in a frame.
_DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_DOCUMENTED = "_documented"  # opt key set once a handler is documented (routes are re-received)

DESCRIPTION = """\
Backend of the relationship-manager workbench: the RM's app, branch heads, admins and the
bank's systems use it.

**Signing in.** `POST /api/v1/auth/login` with a login, a password and the device
(`device_id` is made by the app once and kept) answers an access token (a JWT, valid
`expires_in` seconds) and a single-use refresh token. Send `Authorization: Bearer <access_token>`
on every other call; before it expires, `POST /api/v1/auth/refresh` trades the refresh token for
a new pair. Here, press **Authorize** and paste the access token.

**Headers.** Apps send `X-App-Version` (below the server's minimum every call answers 426) and
may send `X-Device-Id` (a token used from another device answers 401). Dispatches take an
`Idempotency-Key`. Every answer carries `X-Request-Id`.

**Errors** are RFC 9457 `application/problem+json` with a stable machine-readable `code`
(`auth.invalid_credentials`, `request.validation_failed` with one `errors[]` entry per field,
`task.illegal_transition` with `current_status`, ...) and the `request_id` to quote to support.
Each operation lists the errors it can answer. An object the caller may not see answers 404,
never 403. A 403 with `wipe: true` means the device was revoked or its user disabled: erase its
offline data.

**Lists** are paged: pass the answer's `next_cursor` as `cursor` for the next page.
"""

TAGS = [
    Tag(name="identity", description="Sign-in, tokens, the signed-in user"),
    Tag(name="org", description="Org units, users and their devices (admins, branch heads)"),
    Tag(name="customers", description="The RM's customers: 360° view, notes, recommendations"),
    Tag(name="tasks", description="Task templates, dispatches, the inbox, confirmations, rules"),
    Tag(name="notifications", description="The signed-in user's notification centre"),
    Tag(name="push", description="Push registration of the device, notification preferences"),
    Tag(name="sync", description="Offline sync: pull changes, push offline work, pokes"),
    Tag(name="integration", description="Feeds from the bank's systems (admin accounts)"),
    Tag(name="operations", description="Probes and metrics for the platform"),
]

BEARER_SCHEME = SecurityScheme(
    type="http",
    scheme="bearer",
    bearer_format="JWT",
    description="The `access_token` from `POST /api/v1/auth/login` (or `POST /api/v1/auth/refresh`"
    " once it has expired), sent as `Authorization: Bearer <access_token>`. It is bound to the "
    "device that signed in.",
)


@get(
    f"{ASSETS_PATH}/{{name:str}}",
    opt={PUBLIC: True},
    include_in_schema=False,
    sync_to_thread=False,
)
def swagger_asset(name: FromPath[str]) -> File:
    """One file of the installed Swagger UI bundle (only those the page loads)."""
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise NotFoundException(f"No asset {name[:100]!r}")
    return File(
        SWAGGER_UI / name,
        media_type=media_type,
        content_disposition_type="inline",
        headers=_ASSET_HEADERS,
    )


def asset_url(name: str) -> str:
    return f"{DOCS_PATH}{ASSETS_PATH}/{name}"


def openapi_config(version: str) -> OpenAPIConfig:
    """Swagger UI at /schema and /schema/swagger, the document at /schema/openapi.json."""
    swagger = SwaggerRenderPlugin(
        js_url=asset_url("swagger-ui-bundle.js"),
        css_url=asset_url("swagger-ui.css"),
        standalone_preset_js_url=asset_url("swagger-ui-standalone-preset.js"),
        favicon=f"<link rel='icon' type='image/png' href='{asset_url('favicon-32x32.png')}'>",
        path=["/swagger"],
    )
    return OpenAPIConfig(
        title="RM Workbench API",
        version=version,
        path=DOCS_PATH,
        description=DESCRIPTION,
        tags=TAGS,
        components=Components(security_schemes={BEARER: BEARER_SCHEME}),
        security=[{BEARER: []}],
        render_plugins=[swagger],
        openapi_router=Router(
            DOCS_PATH,
            route_handlers=[swagger_asset],
            include_in_schema=False,
            opt={PUBLIC: True},
            response_headers=[ResponseHeader(name=k, value=v) for k, v in _DOCS_HEADERS.items()],
        ),
    )


class RouteDocs(ReceiveRoutePlugin):
    """Documents every operation as its route is registered (see the module docstring)."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler, _ in route.route_handler_map.values():
            if handler.resolve_include_in_schema() and not handler.opt.get(_DOCUMENTED):
                document(handler, path_parameters=set(route.path_parameters))
                handler.opt[_DOCUMENTED] = True


def document(handler: HTTPRouteHandler, *, path_parameters: set[str]) -> None:
    """Fill in the handler's summary, description, security, errors and request examples."""
    public = bool(handler.opt.get(PUBLIC))
    roles = allowed_roles(handler)
    summary, description = _docstring(handler)
    if handler.summary is None:
        handler.summary = summary
    if handler.description is None:
        handler.description = "\n\n".join(p for p in (description, _who(public, roles)) if p)
    if not public:
        handler.security = [{BEARER: []}]
    handler.responses = {**error_responses(handler, path_parameters, roles), **_own(handler)}
    body = handler.parsed_fn_signature.parameters.get("data")
    handler.operation_class = _operation_class(
        public=public,
        optional_body=body is not None and (body.is_optional or body.has_default),
        examples=_examples(_body_type(handler)),
    )


def error_responses(
    handler: HTTPRouteHandler, path_parameters: set[str], roles: frozenset[Role] | None
) -> dict[int, ResponseSpec]:
    """The problem+json answers the route can give, derived from what it is."""
    params = handler.parsed_fn_signature.parameters
    dependencies = set(handler.resolve_dependencies())
    has_body = "data" in params
    has_params = bool(path_parameters) or any(
        name not in RESERVED_KWARGS and name not in dependencies for name in params
    )
    public = bool(handler.opt.get(PUBLIC))
    descriptions: dict[int, str] = {}

    def add(status: int, description: str | None = None) -> None:
        descriptions[status] = description or ERROR_DESCRIPTIONS[status]

    malformed = ["an `X-App-Version` that is not a version (`app.bad_version`)"]
    if "cursor" in params:
        malformed.append("a `cursor` this list did not issue (`request.bad_cursor`)")
    malformed.append("a malformed request line or header (`request.invalid`)")
    add(400, "Malformed request: " + ", ".join(malformed))
    add(426)
    refusals = []
    if roles is not None:
        names = ", ".join(f"`{r.value}`" for r in sorted(roles))
        refusals.append(f"The caller's role may not do this (`auth.forbidden`); allowed: {names}")
    if not public:
        add(401)
        add(503)
        if not handler.opt.get(ANSWERS_WIPE):
            refusals.append(ERROR_DESCRIPTIONS[403])
    if refusals:
        add(403, refusals[0] + "".join(f"; or {r[0].lower()}{r[1:]}" for r in refusals[1:]))
    if path_parameters:
        add(404)
    if has_body or has_params:
        add(422)
    if has_body:
        add(413)
    if "db" in params:
        add(503)
    for status, description in dict(handler.opt.get(ERRORS) or {}).items():
        if status == 400:  # the reasons above apply to every route: the route's come first
            description = f"{description}; or {descriptions[400][0].lower()}{descriptions[400][1:]}"
        add(status, description)
    return {status: problem_spec(descriptions[status]) for status in sorted(descriptions)}


def problem_spec(description: str) -> ResponseSpec:
    """An error answer as the OpenAPI documents it: problem+json, with this description."""
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=MEDIA_TYPE,
        generate_examples=False,
    )


def file_responses(media_type: str, what: str, **more: str) -> dict[int, ResponseSpec]:
    """What a file served with ETag and Range answers besides its errors (`serve_blob`, a
    package download): 206 with the part `Range` asked for, 304 when `If-None-Match` names the
    file the client has; `more`: a 200 description (`ok=`), to document the whole file too."""
    specs = {
        206: ResponseSpec(
            data_container=bytes,
            media_type=media_type,
            description=f"The part of the {what} that `Range` asked for, with `Content-Range`",
            generate_examples=False,
        ),
        304: ResponseSpec(
            data_container=None,
            description=f"`If-None-Match` names this {what}'s ETag: the client has it",
            generate_examples=False,
        ),
    }
    if ok := more.get("ok"):
        specs[200] = ResponseSpec(
            data_container=bytes, media_type=media_type, description=ok, generate_examples=False
        )
    return specs


def allowed_roles(handler: HTTPRouteHandler) -> frozenset[Role] | None:
    """The roles the route's guards let through, or None when no guard looks at the role.

    Each plain (synchronous) guard of the route and its layers is asked about a caller of every
    role: one that turns some away with Forbidden is a role guard. (The app's own guard is async
    and about tokens; it is not asked.) A guard that fails otherwise is counted as refusing."""
    allowed = frozenset(Role)
    found = False
    for layer in handler.ownership_layers:
        for guard in getattr(layer, "guards", None) or []:
            if inspect.iscoroutinefunction(guard):
                continue
            passing = frozenset(role for role in Role if _passes(guard, handler, role))
            if passing != frozenset(Role):
                found = True
                allowed &= passing
    return allowed if found else None


def _passes(guard: Callable[..., Any], handler: HTTPRouteHandler, role: Role) -> bool:
    caller = Caller(
        user_id=uuid.UUID(int=1),
        role=role,
        org_unit_id=uuid.UUID(int=2),
        session_id=uuid.UUID(int=3),
        device_id="docs-probe",
    )
    connection = types.SimpleNamespace(scope={"user": caller})
    try:
        result = guard(connection, handler)
    except Forbidden:
        return False
    except Exception:
        return False  # unknown guard: it may refuse, so document 403
    if inspect.isawaitable(result):  # an async guard hidden behind a sync callable
        if inspect.iscoroutine(result):
            result.close()
        return False
    return True


def _docstring(handler: HTTPRouteHandler) -> tuple[str, str]:
    doc = inspect.cleandoc(unwrap_partial(handler.fn).__doc__ or "")
    first, _, rest = doc.partition("\n")
    summary = first.strip()
    if summary.endswith(".") and not summary.endswith(".."):
        summary = summary[:-1]
    return summary, rest.strip()


def _who(public: bool, roles: frozenset[Role] | None) -> str:
    if public:
        return "No sign-in needed."
    if roles is None:
        return "Any signed-in user."
    return "Roles: " + ", ".join(f"`{r.value}`" for r in sorted(roles)) + "."


def _own(handler: HTTPRouteHandler) -> dict[int, ResponseSpec]:
    """The route's own `responses=` entries (they win over the derived ones)."""
    return dict(handler.responses or {})


def _body_type(handler: HTTPRouteHandler) -> Any:
    field = handler.parsed_fn_signature.parameters.get("data")
    return None if field is None else next(_plain(field.annotation), None)


def _plain(annotation: Any) -> Iterator[Any]:
    """The types inside Annotated[...] and `X | None`, outermost first."""
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _plain(get_args(annotation)[0])
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            if arg is not type(None):
                yield from _plain(arg)
    else:
        yield annotation


def _examples(body_type: Any) -> dict[str, Example] | None:
    found: Mapping[str, BodyExample] | None = REQUEST_EXAMPLES.get(body_type)
    if not found:
        return None
    return {
        name: Example(summary=e.summary, description=e.description, value=e.value)
        for name, e in found.items()
    }


def _operation_class(
    *, public: bool, optional_body: bool, examples: dict[str, Example] | None
) -> type[Operation]:
    """Litestar drops an empty `security`, has no request-body examples and marks every body
    required: this class adds `security: []` to public operations and the examples to the
    request body, which it marks optional when the handler's `data` is."""

    @dataclasses.dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if public:
                self.security = []
            if isinstance(self.request_body, RequestBody):
                if optional_body:
                    self.request_body.required = False
                for media in self.request_body.content.values():
                    media.examples = dict(examples) if examples else None

    return DocumentedOperation

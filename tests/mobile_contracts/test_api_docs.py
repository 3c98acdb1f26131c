"""The API reference an app developer reads: summaries, security, each operation's errors and
request examples, all derived in one place (`workbench.http.openapi`)."""

from __future__ import annotations

import inspect
from typing import Any

import jsonschema
import msgspec
import pytest
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from mobile_contracts.examples import REQUEST_EXAMPLES
from mobile_contracts.export import current_document, inert_app
from workbench.http.auth import PUBLIC

METHODS = ("get", "put", "post", "delete", "patch")
PUBLIC_OPERATIONS = {
    "login", "refresh", "healthz", "readyz", "metrics", "trackBeacon",
    "offlinePackageKeys",  # public keys: a device checks packages before anyone signs in
}  # fmt: skip
BEARER = [{"bearerAuth": []}]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return current_document()


@pytest.fixture(scope="module")
def handlers() -> dict[str, HTTPRouteHandler]:
    found = {}
    for route in inert_app().routes:
        if isinstance(route, HTTPRoute):
            for handler, _ in route.route_handler_map.values():
                if handler.resolve_include_in_schema():
                    assert isinstance(handler.operation_id, str)
                    found[handler.operation_id] = handler
    return found


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (METHOD, path, operation)."""
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def errors(op: dict[str, Any]) -> set[int]:
    return {int(status) for status in op["responses"] if int(status) >= 400}


def test_summary_is_the_docstring_first_line_and_description_the_rest(document, handlers):
    ops = operations(document)
    assert set(ops) == set(handlers)
    for operation_id, (_, _, op) in ops.items():
        doc = inspect.cleandoc(handlers[operation_id].fn.__doc__ or "")
        first, _, rest = doc.partition("\n")
        assert first.strip(), f"{operation_id}: the handler has no docstring"
        assert op["summary"] == first.strip().removesuffix("."), operation_id
        assert len(op["summary"]) <= 90, f"{operation_id}: summary too long for a list"
        assert "`" not in op["summary"], f"{operation_id}: summaries are plain text"
        assert op["description"].startswith(rest.strip()), operation_id
        who = op["description"].rsplit("\n\n", 1)[-1]
        assert who.startswith(("No sign-in needed", "Any signed-in user", "Roles: ")), operation_id


def test_bearer_scheme_is_declared_and_explains_how_to_get_a_token(document):
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "JWT"
    assert "POST /api/v1/auth/login" in scheme["description"]
    assert document["security"] == BEARER


def test_public_operations_need_no_token_and_the_others_the_bearer_one(document, handlers):
    ops = operations(document)
    public = {name for name, handler in handlers.items() if handler.opt.get(PUBLIC)}
    assert public == PUBLIC_OPERATIONS
    for operation_id, (_, _, op) in ops.items():
        if operation_id in PUBLIC_OPERATIONS:
            assert op["security"] == [], operation_id
            assert 401 not in errors(op) or operation_id in {"login", "refresh"}, operation_id
        else:
            assert op["security"] == BEARER, operation_id
            assert {400, 401, 426, 503} <= errors(op), operation_id


def test_errors_follow_from_what_the_route_is(document):
    for operation_id, (_, path, op) in operations(document).items():
        has_body = "requestBody" in op
        has_params = bool(op.get("parameters")) or "{" in path
        found = errors(op)
        assert {400, 426} <= found, operation_id
        assert (422 in found) == (has_body or has_params), operation_id
        assert (413 in found) == has_body, operation_id
        if "{" in path:
            assert 404 in found, operation_id
        for status, response in op["responses"].items():
            if int(status) >= 400 and (operation_id, status) != ("readyz", "503"):
                media = response["content"]["application/problem+json"]
                assert media["schema"] == {"$ref": "#/components/schemas/Problem"}


EXPECTED_ERRORS = {
    # public, with a body: no 401 from the guard, but wrong passwords and the rate limit
    "login": {400, 401, 403, 409, 413, 422, 426, 429, 503},
    "refresh": {400, 401, 403, 413, 422, 426, 503},
    "healthz": {400, 426},
    "metrics": {400, 426},
    "readyz": {400, 426, 503},
    # signed in, nothing else
    "getMe": {400, 401, 403, 426, 503},
    # a role guard and a path parameter
    "getTask": {400, 401, 403, 404, 422, 426, 503},
    "startTask": {400, 401, 403, 404, 409, 422, 426, 503},
    # no path parameter, yet 404 (template, org unit) and 409 (idempotency key)
    "dispatchTasks": {400, 401, 403, 404, 409, 413, 422, 426, 503},
    # a revoked device gets `wipe: true` with 200 here, not 403
    "syncPull": {400, 401, 409, 413, 422, 426, 503},
    "listCustomers": {400, 401, 403, 422, 426, 503},
    "attachToTask": {400, 401, 403, 404, 409, 413, 422, 426, 503},
    "registerDevice": {400, 401, 403, 404, 413, 422, 426, 503},
}


@pytest.mark.parametrize("operation_id", sorted(EXPECTED_ERRORS))
def test_error_lists_of_representative_operations(document, operation_id):
    _, _, op = operations(document)[operation_id]
    assert errors(op) == EXPECTED_ERRORS[operation_id]


def test_role_guards_are_documented_with_their_roles(document):
    ops = operations(document)
    dispatch = ops["dispatchTasks"][2]
    assert "allowed: `admin`, `branch_head`" in dispatch["responses"]["403"]["description"]
    assert dispatch["description"].endswith("Roles: `admin`, `branch_head`.")
    feed = ops["upsertCustomers"][2]  # the guard sits on the controller
    assert feed["description"].endswith("Roles: `admin`.")
    me = ops["getMe"][2]
    assert "role" not in me["responses"]["403"]["description"]
    assert me["description"].endswith("Any signed-in user.")


MAIN_BODIES = {
    "login", "refresh", "upsertCustomers", "addNote", "createTaskTemplate", "dispatchTasks",
    "submitTask", "requestConfirmation", "syncPull", "syncPush", "registerDevice",
    "setNotificationPreferences",
}  # fmt: skip


def test_main_request_bodies_have_examples_valid_against_the_schema(document):
    validated = set()
    for operation_id, (_, _, op) in operations(document).items():
        for media in op.get("requestBody", {}).get("content", {}).values():
            examples = media.get("examples") or {}
            schema = {**media["schema"], "components": document["components"]}
            for name, example in examples.items():
                assert example["summary"], (operation_id, name)
                jsonschema.validate(
                    example["value"],
                    schema,
                    cls=jsonschema.Draft202012Validator,
                    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
                )
            if examples:
                validated.add(operation_id)
    assert validated >= MAIN_BODIES


@pytest.mark.parametrize("body_type", list(REQUEST_EXAMPLES), ids=lambda t: t.__name__)
def test_examples_decode_as_the_api_decodes_them(body_type):
    for name, example in REQUEST_EXAMPLES[body_type].items():
        try:
            msgspec.json.decode(msgspec.json.encode(example.value), type=body_type)
        except msgspec.ValidationError as exc:
            pytest.fail(f"{body_type.__name__} example {name!r}: {exc}")


def test_every_example_is_shown_by_some_operation(document):
    shown = {
        example["summary"]
        for _, _, op in operations(document).values()
        for media in op.get("requestBody", {}).get("content", {}).values()
        for example in (media.get("examples") or {}).values()
    }
    written = {e.summary for examples in REQUEST_EXAMPLES.values() for e in examples.values()}
    assert written - shown == set()


def test_a_body_the_handler_may_go_without_is_optional(document):
    ops = operations(document)
    for operation_id in ("cancelTask", "requestConfirmation"):
        assert ops[operation_id][2]["requestBody"]["required"] is False, operation_id
    for operation_id in MAIN_BODIES - {"requestConfirmation"}:
        assert ops[operation_id][2]["requestBody"]["required"] is True, operation_id


def test_the_event_stream_is_documented_as_one(document):
    _, _, op = operations(document)["syncEvents"]
    assert list(op["responses"]["200"]["content"]) == ["text/event-stream"]

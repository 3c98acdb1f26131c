"""Tests for the OpenAPI breaking-change checker used to protect released mobile apps."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mobile_contracts.compat import Change, breaking_changes, main

Doc = dict[str, Any]

LOGIN = "/api/v1/auth/login"
DEVICES = "/api/v1/devices"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


def obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": sorted(required or props)}


STR = {"type": "string"}
INT = {"type": "integer"}
UUID = {"type": "string", "format": "uuid"}


def json_content(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": schema}}}


def realistic() -> Doc:
    """A document shaped like Litestar's output: $ref components, arrays, nullables, enums."""
    problem = json_content(ref("Problem"), "application/problem+json")
    return {
        "openapi": "3.1.0",
        "info": {"title": "RM Workbench", "version": "1.0.0"},
        "paths": {
            LOGIN: {
                "post": {
                    "operationId": "ApiV1AuthLoginLogin",
                    "requestBody": {"required": True, **json_content(ref("LoginRequest"))},
                    "responses": {
                        "201": {"description": "Created", **json_content(ref("TokenPair"))},
                        "401": {"description": "Unauthorized", **problem},
                    },
                }
            },
            DEVICES: {
                "get": {
                    "parameters": [
                        {
                            "name": "cursor",
                            "in": "query",
                            "required": False,
                            "schema": nullable(STR),
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "default": 20},
                        },
                        {"name": "X-App-Version", "in": "header", "schema": STR},
                    ],
                    "responses": {"200": {"description": "OK", **json_content(ref("PageDevice"))}},
                }
            },
            "/api/v1/devices/{device_id}": {
                "parameters": [
                    {"name": "device_id", "in": "path", "required": True, "schema": STR}
                ],
                "delete": {
                    "responses": {
                        "200": {"description": "OK", **json_content(ref("DeviceRevoked"))},
                        "404": {"description": "Not found", **problem},
                    }
                },
            },
            "/api/v1/org-units/tree": {
                "get": {"responses": {"200": {"$ref": "#/components/responses/OrgTree"}}}
            },
        },
        "components": {
            "responses": {"OrgTree": {"description": "OK", **json_content(ref("OrgNode"))}},
            "schemas": {
                "Platform": {"type": "string", "enum": ["ios", "android", "harmony", "web"]},
                "Role": {"type": "string", "enum": ["rm", "branch_head", "admin"]},
                "DeviceInfo": {
                    "type": "object",
                    "properties": {
                        "device_id": {"type": "string", "minLength": 8, "maxLength": 128},
                        "platform": ref("Platform"),
                        "model": {**nullable(STR), "maxLength": 100},
                        "app_version": {**nullable(STR), "maxLength": 32},
                    },
                    "required": ["device_id", "platform"],
                },
                "LoginRequest": obj(login=STR, password=STR, device=ref("DeviceInfo")),
                "UserSummary": obj(id=UUID, name=STR, role=ref("Role"), org_unit_id=UUID),
                "TokenPair": obj(
                    ["access_token", "expires_in", "refresh_token", "user"],
                    access_token=STR,
                    refresh_token=STR,
                    expires_in=INT,
                    token_type={"type": "string", "default": "Bearer"},
                    user=ref("UserSummary"),
                ),
                "Device": obj(
                    device_id=STR,
                    user_id=UUID,
                    platform=ref("Platform"),
                    model=nullable(STR),
                    last_seen_at={"type": "string", "format": "date-time"},
                    revoked_at=nullable({"type": "string", "format": "date-time"}),
                    tags={"type": "array", "items": STR},
                    extra={"type": "object", "additionalProperties": INT},
                ),
                "PageDevice": obj(
                    ["items"],
                    items={"type": "array", "items": ref("Device")},
                    next_cursor=nullable(STR),
                ),
                "DeviceRevoked": obj(
                    device_id=STR, revoked_at={"type": "string"}, sessions_ended=INT
                ),
                "OrgNode": obj(
                    id=UUID,
                    name=STR,
                    parent=nullable(ref("OrgNode")),
                    children={"type": "array", "items": ref("OrgNode")},
                ),
                "FieldError": obj(path=STR, message=STR),
                "Problem": obj(
                    ["status", "title", "code"],
                    type=STR,
                    title=STR,
                    status=INT,
                    code=STR,
                    errors=nullable({"type": "array", "items": ref("FieldError")}),
                ),
            },
        },
    }


def schemas(doc: Doc) -> dict[str, Any]:
    return doc["components"]["schemas"]  # type: ignore[no-any-return]


def kinds(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.kind, c.where) for c in changes]


@pytest.fixture
def old() -> Doc:
    return realistic()


@pytest.fixture
def new() -> Doc:
    return realistic()


def test_identical_documents_have_no_breaking_changes(old: Doc) -> None:
    assert breaking_changes(old, old) == []
    assert breaking_changes(old, copy.deepcopy(old)) == []
    assert breaking_changes(old, json.loads(json.dumps(old))) == []


def test_path_removed(old: Doc, new: Doc) -> None:
    del new["paths"][DEVICES]
    assert kinds(breaking_changes(old, new)) == [("path.removed", DEVICES)]


def test_path_parameter_rename_keeps_the_path(old: Doc, new: Doc) -> None:
    item = new["paths"].pop("/api/v1/devices/{device_id}")
    item["parameters"][0]["name"] = "id"
    new["paths"]["/api/v1/devices/{id}"] = item
    assert breaking_changes(old, new) == []


def test_operation_removed(old: Doc, new: Doc) -> None:
    new["paths"][DEVICES]["post"] = new["paths"][DEVICES].pop("get")
    assert kinds(breaking_changes(old, new)) == [("operation.removed", f"GET {DEVICES}")]


def test_response_field_removed_through_ref(old: Doc, new: Doc) -> None:
    del schemas(new)["UserSummary"]["properties"]["id"]
    schemas(new)["UserSummary"]["required"].remove("id")
    assert kinds(breaking_changes(old, new)) == [
        ("response.field_removed", f"POST {LOGIN} response 201 $.user.id")
    ]


def test_response_field_removed_in_array_items_and_nullable(old: Doc, new: Doc) -> None:
    del schemas(new)["Device"]["properties"]["model"]
    del schemas(new)["OrgNode"]["properties"]["name"]
    assert kinds(breaking_changes(old, new)) == [
        ("response.field_removed", f"GET {DEVICES} response 200 $.items[*].model"),
        ("response.field_removed", "GET /api/v1/org-units/tree response 200 $.name"),
    ]


def test_response_field_removed_inside_one_of_member(old: Doc, new: Doc) -> None:
    schemas(old)["Wrapper"] = obj(value=nullable(ref("FieldError")))
    schemas(new)["Wrapper"] = obj(value=nullable(obj(path=STR)))
    for doc in (old, new):
        doc["paths"]["/w"] = {"get": {"responses": {"200": json_content(ref("Wrapper"))}}}
    assert kinds(breaking_changes(old, new)) == [
        ("response.field_removed", "GET /w response 200 $.value.message")
    ]


def test_problem_json_success_body_is_checked(old: Doc, new: Doc) -> None:
    for doc in (old, new):
        doc["paths"]["/p"] = {
            "get": {"responses": {"200": json_content(ref("Problem"), "application/problem+json")}}
        }
    del schemas(new)["Problem"]["properties"]["code"]
    assert kinds(breaking_changes(old, new)) == [
        ("response.field_removed", "GET /p response 200 $.code")
    ]


def test_error_responses_are_ignored(old: Doc, new: Doc) -> None:
    del new["paths"][LOGIN]["post"]["responses"]["401"]
    assert breaking_changes(old, new) == []


def test_request_field_removed_is_not_breaking(old: Doc, new: Doc) -> None:
    del schemas(new)["DeviceInfo"]["properties"]["model"]
    del schemas(new)["LoginRequest"]["properties"]["password"]
    schemas(new)["LoginRequest"]["required"].remove("password")
    assert breaking_changes(old, new) == []


def test_request_required_added_in_nested_body(old: Doc, new: Doc) -> None:
    schemas(new)["DeviceInfo"]["properties"]["os_version"] = STR
    schemas(new)["DeviceInfo"]["required"].append("os_version")
    schemas(new)["DeviceInfo"]["required"].append("model")  # was optional
    assert kinds(breaking_changes(old, new)) == [
        ("request.required_added", f"POST {LOGIN} request $.device.model"),
        ("request.required_added", f"POST {LOGIN} request $.device.os_version"),
    ]


def test_request_required_added_for_parameters(old: Doc, new: Doc) -> None:
    params = new["paths"][DEVICES]["get"]["parameters"]
    params.append({"name": "org_unit_id", "in": "query", "required": True, "schema": UUID})
    params[1]["required"] = True  # limit: optional -> required
    assert kinds(breaking_changes(old, new)) == [
        ("request.required_added", f"GET {DEVICES} query limit"),
        ("request.required_added", f"GET {DEVICES} query org_unit_id"),
    ]


def test_request_body_becoming_required(old: Doc, new: Doc) -> None:
    new["paths"][DEVICES]["get"]["requestBody"] = {"required": True, **json_content(STR)}
    assert kinds(breaking_changes(old, new)) == [
        ("request.required_added", f"GET {DEVICES} request body")
    ]


def test_response_type_changed(old: Doc, new: Doc) -> None:
    schemas(new)["TokenPair"]["properties"]["expires_in"] = STR
    changes = breaking_changes(old, new)
    assert kinds(changes) == [("type.changed", f"POST {LOGIN} response 201 $.expires_in")]
    assert "integer" in changes[0].detail
    assert "string" in changes[0].detail


def test_response_field_becoming_nullable_is_breaking(old: Doc, new: Doc) -> None:
    schemas(new)["UserSummary"]["properties"]["name"] = {"type": ["string", "null"]}
    schemas(new)["Device"]["properties"]["last_seen_at"] = nullable(STR)
    assert kinds(breaking_changes(old, new)) == [
        ("type.changed", f"POST {LOGIN} response 201 $.user.name"),
        ("type.changed", f"GET {DEVICES} response 200 $.items[*].last_seen_at"),
    ]


def test_response_field_becoming_non_nullable_is_fine(old: Doc, new: Doc) -> None:
    schemas(new)["Device"]["properties"]["model"] = STR
    assert breaking_changes(old, new) == []


def test_response_integer_to_number_is_breaking(old: Doc, new: Doc) -> None:
    schemas(new)["DeviceRevoked"]["properties"]["sessions_ended"] = {"type": "number"}
    assert kinds(breaking_changes(old, new)) == [
        ("type.changed", "DELETE /api/v1/devices/{device_id} response 200 $.sessions_ended")
    ]


def test_request_type_narrowed_is_breaking(old: Doc, new: Doc) -> None:
    schemas(new)["DeviceInfo"]["properties"]["model"] = STR  # no longer accepts null
    schemas(new)["LoginRequest"]["properties"]["login"] = INT
    assert kinds(breaking_changes(old, new)) == [
        ("type.changed", f"POST {LOGIN} request $.login"),
        ("type.changed", f"POST {LOGIN} request $.device.model"),
    ]


def test_parameter_type_changed(old: Doc, new: Doc) -> None:
    new["paths"][DEVICES]["get"]["parameters"][1]["schema"] = STR
    assert kinds(breaking_changes(old, new)) == [("type.changed", f"GET {DEVICES} query limit")]


def test_object_turned_into_scalar_reports_once(old: Doc, new: Doc) -> None:
    schemas(new)["TokenPair"]["properties"]["user"] = UUID
    assert kinds(breaking_changes(old, new)) == [
        ("type.changed", f"POST {LOGIN} response 201 $.user")
    ]


def test_request_enum_narrowed(old: Doc, new: Doc) -> None:
    schemas(new)["Platform"]["enum"].remove("harmony")
    changes = breaking_changes(old, new)
    # Platform is sent in the login request and returned in the device list.
    assert kinds(changes) == [("enum.narrowed", f"POST {LOGIN} request $.device.platform")]
    assert "harmony" in changes[0].detail


def test_request_enum_introduced_on_free_string_is_narrowing(old: Doc, new: Doc) -> None:
    new["paths"][DEVICES]["get"]["parameters"][2]["schema"] = {"type": "string", "enum": ["1"]}
    assert kinds(breaking_changes(old, new)) == [
        ("enum.narrowed", f"GET {DEVICES} header X-App-Version")
    ]


def test_response_enum_widened(old: Doc, new: Doc) -> None:
    schemas(new)["Role"]["enum"].append("auditor")
    changes = breaking_changes(old, new)
    assert kinds(changes) == [("enum.widened", f"POST {LOGIN} response 201 $.user.role")]
    assert "auditor" in changes[0].detail


def test_request_enum_widened_is_fine(old: Doc, new: Doc) -> None:
    schemas(new)["LoginRequest"]["properties"]["locale"] = {"type": "string", "enum": ["en"]}
    schemas(old)["LoginRequest"]["properties"]["locale"] = {"type": "string", "enum": ["en"]}
    schemas(new)["LoginRequest"]["properties"]["locale"]["enum"].append("zh")
    assert breaking_changes(old, new) == []


def test_response_status_removed(old: Doc, new: Doc) -> None:
    responses = new["paths"][LOGIN]["post"]["responses"]
    responses["200"] = responses.pop("201")
    assert kinds(breaking_changes(old, new)) == [
        ("response.status_removed", f"POST {LOGIN} response 201")
    ]


def test_compatible_evolutions_report_nothing(old: Doc, new: Doc) -> None:
    s = schemas(new)
    s["DeviceInfo"]["properties"]["os_version"] = nullable(STR)  # new optional request field
    s["TokenPair"]["properties"]["session_id"] = UUID  # new response field
    s["TokenPair"]["required"].append("session_id")
    s["Device"]["properties"]["push_enabled"] = {"type": "boolean"}
    s["LoginRequest"]["properties"]["login"] = {"type": ["string", "integer"]}  # widened
    s["DeviceInfo"]["required"].remove("platform")  # relaxed requirement
    new["paths"]["/api/v1/me"] = {"get": {"responses": {"200": json_content(ref("UserSummary"))}}}
    new["paths"][DEVICES]["get"]["parameters"].append(
        {"name": "platform", "in": "query", "required": False, "schema": ref("Platform")}
    )
    new["paths"][LOGIN]["post"]["responses"]["200"] = json_content(ref("TokenPair"))
    assert breaking_changes(old, new) == []


def test_request_integer_widened_to_number_is_fine(old: Doc, new: Doc) -> None:
    new["paths"][DEVICES]["get"]["parameters"][1]["schema"] = {"type": "number"}
    assert breaking_changes(old, new) == []


def test_recursive_schema_terminates_and_reports_once(old: Doc, new: Doc) -> None:
    del schemas(new)["OrgNode"]["properties"]["id"]
    assert kinds(breaking_changes(old, new)) == [
        ("response.field_removed", "GET /api/v1/org-units/tree response 200 $.id")
    ]


def test_shared_component_reported_at_each_location(old: Doc, new: Doc) -> None:
    schemas(old)["Pair"] = obj(a=ref("FieldError"), b=ref("FieldError"))
    schemas(new)["Pair"] = obj(a=ref("FieldError"), b=ref("FieldError"))
    for doc in (old, new):
        doc["paths"]["/pair"] = {"get": {"responses": {"200": json_content(ref("Pair"))}}}
    del schemas(new)["FieldError"]["properties"]["path"]
    assert kinds(breaking_changes(old, new)) == [
        ("response.field_removed", "GET /pair response 200 $.a.path"),
        ("response.field_removed", "GET /pair response 200 $.b.path"),
    ]


def test_cyclic_refs_and_self_referencing_composition_do_not_loop() -> None:
    def doc(extra: dict[str, Any]) -> Doc:
        return {
            "paths": {"/x": {"get": {"responses": {"200": json_content(ref("A"))}}}},
            "components": {
                "schemas": {
                    "A": {"$ref": "#/components/schemas/B"},
                    "B": {"$ref": "#/components/schemas/A"},
                    "C": {"anyOf": [ref("C"), obj(next=ref("C"), **extra)]},
                }
            },
        }

    assert breaking_changes(doc({"v": STR}), doc({"v": STR})) == []
    old, new = doc({"v": STR}), doc({})
    old["paths"]["/x"]["get"]["responses"]["200"] = json_content(ref("C"))
    new["paths"]["/x"]["get"]["responses"]["200"] = json_content(ref("C"))
    assert kinds(breaking_changes(old, new)) == [
        ("response.field_removed", "GET /x response 200 $.v")
    ]


def test_cli_prints_changes_and_sets_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: Doc, new: Doc
) -> None:
    old_file, new_file = tmp_path / "old.json", tmp_path / "new.json"
    old_file.write_text(json.dumps(old))
    new_file.write_text(json.dumps(old))
    assert main([str(old_file), str(new_file)]) == 0
    assert capsys.readouterr().out == ""

    del new["paths"][DEVICES]
    new_file.write_text(json.dumps(new))
    assert main([str(old_file), str(new_file)]) == 1
    assert capsys.readouterr().out.splitlines() == [f"path.removed: {DEVICES}: path removed"]


def test_all_of_with_annotation_member_and_boolean_schemas(old: Doc, new: Doc) -> None:
    for doc in (old, new):
        schemas(doc)["Tagged"] = {
            "allOf": [ref("FieldError"), {"description": "annotated"}],
            "properties": {"any": True, "meta": {"type": "object", "additionalProperties": False}},
        }
        doc["paths"]["/t"] = {"get": {"responses": {"200": json_content(ref("Tagged"))}}}
    assert breaking_changes(old, new) == []
    schemas(new)["FieldError"]["properties"]["message"] = INT
    assert kinds(breaking_changes(old, new)) == [("type.changed", "GET /t response 200 $.message")]


def test_openapi_30_nullable_flag_counts_as_null(old: Doc, new: Doc) -> None:
    schemas(new)["UserSummary"]["properties"]["name"] = {"type": "string", "nullable": True}
    assert kinds(breaking_changes(old, new)) == [
        ("type.changed", f"POST {LOGIN} response 201 $.user.name")
    ]

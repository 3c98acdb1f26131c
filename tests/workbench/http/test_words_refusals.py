"""Every refused value is said in words that name what is accepted, at the same path as before:
never the decoder's own phrasing ("Invalid RFC3339 encoded datetime", "Expected `str` of length
>= 8", "Invalid enum value 'x'", "Object missing required field `x`"), which an app developer
or an RM reading the 422 could not act on. Bodies and query and header parameters alike."""

from __future__ import annotations

from typing import Any

import pytest

from mobile_contracts.v1.brochures import BrochureStatus
from mobile_contracts.v1.customers import NoteKind, ProductRisk
from mobile_contracts.v1.identity import LoginRequest, Platform, Role
from mobile_contracts.v1.tasks import TaskStatus
from tests.customers_data import headers_of
from tests.helpers import device
from tests.workbench.http.test_problems import assert_problem
from workbench.http.problems import in_words

pytestmark = pytest.mark.usefixtures("demo_bank")

DATETIME = "must be a date and time with an offset, like 2026-12-01T09:00:00+08:00"
UUID = "must be a UUID like 3f2b8c1e-9d4a-4f6b-8e2d-7a1c5b9e0f42"
# The decoder's words, none of which may reach a client.
ITS_OWN_WORDS = (
    "RFC3339", "RFC 3339", "Expected `", "Invalid enum value", "Object missing", "Object contains",
)  # fmt: skip


def one_of(values: Any) -> str:
    return "must be one of: " + ", ".join(v.value for v in values)


def sign_in(**changes: Any) -> dict[str, Any]:
    return {"login": "rm01", "password": "workbench-demo", "device": device(), **changes}


def new_user(**changes: Any) -> dict[str, Any]:
    body = {"login": "new.rm", "name": "新客户经理", "role": "rm", "password": "long-enough-1"}
    return {**body, **changes}


SHORT_ID = {"device_id": "d1", "platform": "ios"}  # a device id is 8 characters or more
QUIET_TZ = {"start": "22:00", "end": "08:00", "tz": "Asia/Shanghai"}  # `time_zone`, misspelt
# (who, method, path, query or JSON body, headers) -> (path of the error, its words)
CASES: dict[str, tuple[tuple[Any, ...], tuple[str, str]]] = {
    "a time that is no time (query)": (
        ("rm01", "GET", "/api/v1/tasks", {"due_before": "next friday"}, {}),
        ("query.due_before", DATETIME),
    ),
    "a value of no enum (query)": (
        ("rm01", "GET", "/api/v1/tasks", {"status": "finished"}, {}),
        ("query.status", one_of(TaskStatus)),
    ),
    "one bad item of a list (query)": (
        ("marketing", "GET", "/api/v1/studio/brochures", {"status": ["draft", "gone"]}, {}),
        ("query.status", one_of(BrochureStatus)),
    ),
    "a period bound that is no date (query)": (
        (
            "bh.east",
            "GET",
            "/api/v1/team/progress",
            {"from": "2026-13-45", "to": "2026-12-05"},
            {},
        ),
        ("query.from", "must be a date like 2026-12-01 or a time like 2026-12-01T08:00:00+08:00"),
    ),
    "a word for a number (query)": (
        ("rm01", "GET", "/api/v1/tasks", {"limit": "ten"}, {}),
        ("query.limit", "must be a whole number"),
    ),
    "a number under its floor (query)": (
        ("rm01", "GET", "/api/v1/tasks", {"limit": "0"}, {}),
        ("query.limit", "must be at least 1"),
    ),
    "a number over its ceiling (query)": (
        ("rm01", "GET", "/api/v1/notifications", {"limit": "201"}, {}),
        ("query.limit", "must be at most 200"),
    ),
    "a word for true or false (query)": (
        ("rm01", "GET", "/api/v1/notifications", {"unread": "maybe"}, {}),
        ("query.unread", "must be true or false"),
    ),
    "a UUID that is none (query)": (
        ("rm01", "GET", "/api/v1/brochures", {"customer_id": "C1"}, {}),
        ("query.customer_id", UUID),
    ),
    "a risk level of no scale (query)": (
        ("rm01", "GET", "/api/v1/brochures", {"risk_level": "R9"}, {}),
        ("query.risk_level", one_of(ProductRisk)),
    ),
    "a time that is no time (body)": (
        ("admin", "POST", "/api/v1/dispatches", {"due_at": "next friday"}, {}),
        ("$.due_at", DATETIME),
    ),
    "a number under its floor (body)": (
        ("admin", "POST", "/api/v1/dispatches", {"per_rm_cap": 0}, {}),
        ("$.per_rm_cap", "must be at least 1"),
    ),
    "a text too short (body)": (
        (
            None,
            "POST",
            "/api/v1/auth/login",
            sign_in(device={"device_id": "d1", "platform": "ios"}),
            {},
        ),
        ("$.device.device_id", "must be at least 8 characters"),
    ),
    "a password too short (body)": (
        ("admin", "POST", "/api/v1/admin/users", new_user(password="short"), {}),
        ("$.password", "must be at least 8 characters"),
    ),
    "a text too long (body)": (
        (None, "POST", "/api/v1/auth/login", sign_in(login="x" * 257), {}),
        ("$.login", "must be at most 256 characters"),
    ),
    "a value of no enum (body)": (
        (None, "POST", "/api/v1/auth/login", sign_in(device=device(platform="symbian")), {}),
        ("$.device.platform", one_of(Platform)),
    ),
    "a role of no enum (body)": (
        ("admin", "POST", "/api/v1/admin/users", new_user(role="boss"), {}),
        ("$.role", one_of(Role)),
    ),
    "a list for an object (body)": (
        (None, "POST", "/api/v1/auth/login", sign_in(device=[]), {}),
        ("$.device", "must be an object"),
    ),
    "null for a text (body)": (
        (None, "POST", "/api/v1/auth/login", sign_in(login=None), {}),
        ("$.login", "must be text, not null"),
    ),
    "a field left out (body)": (
        (None, "POST", "/api/v1/auth/login", {"login": "rm01", "device": device()}, {}),
        ("$.password", "is required"),
    ),
    "a field not taken (body)": (
        ("admin", "POST", "/api/v1/admin/users", new_user(active=False), {}),
        ("$.active", "is not a field this request takes"),
    ),
    "a nested field not taken (body)": (
        ("rm01", "PUT", "/api/v1/me/notification-preferences", {"quiet_hours": QUIET_TZ}, {}),
        ("$.quiet_hours.tz", "is not a field this request takes"),
    ),
    "a header too long": (
        ("rm01", "POST", "/api/v1/shares", {}, {"Idempotency-Key": "k" * 201}),
        ("header.Idempotency-Key", "must be at most 200 characters"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_refused_value_is_said_in_words_at_its_path(client, db, case):
    (who, method, url, sent, extra_headers), (path, words) = CASES[case]
    headers = {**(await headers_of(client, who) if who else {}), **extra_headers}
    if method == "GET":
        response = await client.get(url, params=sent, headers=headers)
    else:
        response = await client.request(method, url, json=sent, headers=headers)
    body = assert_problem(response, 422, "request.validation_failed")
    assert {"path": path, "message": words} in body["errors"], body
    assert not [said for said in ITS_OWN_WORDS if said in response.text], response.text
    assert f"{path}: {words}" in body["detail"]


async def test_a_bank_feed_row_is_refused_in_the_same_words(client):
    # A holding's `as_of` that is no date, in a feed: refused in words whether the feed answers
    # the whole body 422 or rejects the row alone.
    admin = await headers_of(client, "admin")
    row = {"customer_external_id": "C1", "product_code": "P1", "amount": "1", "as_of": "today"}
    response = await client.post(
        "/api/v1/integration/holdings:bulk-upsert", json={"holdings": [row]}, headers=admin
    )
    assert response.status_code in (200, 422), response.text
    assert "must be a date like 2026-12-01" in response.text
    assert not [said for said in ITS_OWN_WORDS if said in response.text], response.text


@pytest.mark.parametrize(
    ("refusal", "at", "words"),
    [
        ("Object missing required field `note`", "$.values", "is required"),
        ("Object contains unknown field `tz`", None, "is not a field this request takes"),
        ("Expected `array` of length <= 3", "$.photos", "must have at most 3 items"),
        ("Expected `array` of at least length 1, got 0", "$.ids", "must not be empty"),
        ("Expected `object` of length >= 2", "$.values", "must have at least 2 entries"),
        ("Expected `int` that's a multiple of 5", "$.n", "must be a multiple of 5"),
        ("Expected `float` >= 0.0", "$.lat", "must be at least 0"),
        ("Expected `datetime` with a timezone component", "$.at", DATETIME),
        ("Invalid RFC3339 encoded date", "$.as_of", "must be a date like 2026-12-01"),
        ("Expected `int | null`, got `str`", "$.cap", "must be a whole number or null"),
        ("Invalid enum value 'x'", "$.state", "is not one of the values this field takes"),
    ],
)
def test_an_offline_refusal_is_said_in_words(refusal, at, words):
    # As an offline change's refusal reads (`detail`): the words, then where (the field itself
    # for one left out or not taken).
    sent = f"{refusal} - at `{at}`" if at else refusal
    field = refusal.split("`")[1] if refusal.startswith("Object") else None
    where = f"{at or '$'}.{field}" if field else at
    assert in_words(sent) == f"{words} - at `{where}`"


def test_an_offline_refusal_names_the_values_of_the_type_it_was_read_as():
    said = in_words("Invalid enum value 'x' - at `$.device.platform`", LoginRequest)
    assert said == f"{one_of(Platform)} - at `$.device.platform`"


async def test_an_offline_mutation_of_a_value_of_no_enum_names_the_values(client):
    # The push read the args as its operation's type: the refusal names what the field takes,
    # as POST /customers/{id}/notes does for the same value.
    rm01 = await headers_of(client, "rm01")
    note = {
        "customer_id": "3f2b8c1e-0000-4000-8000-000000000001",
        "id": "3f2b8c1e-0000-4000-8000-000000000002",
        "text": "拜访",
        "kind": "meeting",
    }
    body = {"client_id": "phone", "mutations": [{"id": 1, "name": "note.add", "args": note}]}
    response = await client.post("/api/v1/sync/push", json=body, headers=rm01)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    assert result["detail"] == f"{one_of(NoteKind)} - at `$.kind`"

"""Keyset cursors: a cursor the server could not have made is a 400 `request.bad_cursor` naming
the parameter, on every list; never a database error, never the first page."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.customers_data import customer_row, headers_of

pytestmark = pytest.mark.usefixtures("demo_bank")
API = "/api/v1"
SOME_ID = str(uuid.uuid4())


def cursor_of(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


# Lists keyed by (time, id): the timeline, notifications, the task inbox, shares.
TIME_LISTS = [
    "/customers/{customer}/timeline",
    "/notifications",
    "/tasks",
    "/shares",
]
BAD_TIMES = [
    "0001-01-01T00:00:00+01:00",  # no such time in UTC
    "9999-12-31T23:59:59-01:00",  # nor this one
    "1999-12-31T23:59:59Z",  # before the business years
    "3000-01-01T00:00:00Z",  # after them
    "2026-12-01T00:00:00",  # no offset: the server always writes one
]
# The customer list is keyed by (aum, id): an amount column, numeric(20, 2).
BAD_AMOUNTS = ["1e999999", "NaN", "-Infinity", "sNaN", "1e18", "100.001"]


@pytest.fixture
async def lists(client, db) -> dict[str, Any]:
    admin = await headers_of(client, "admin")
    created = await client.post(
        f"{API}/integration/customers:bulk-upsert",
        json={"customers": [customer_row("P-1", name="钱七", seq=7)]},
        headers=admin,
    )
    assert created.status_code == 200, created.text
    customer = await db.fetchval("select id from customers where external_id = 'P-1'")
    return {"admin": admin, "rm01": await headers_of(client, "rm01"), "customer": customer}


def assert_bad_cursor(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "request.bad_cursor", body
    assert [e["path"] for e in body["errors"]] == ["query.cursor"], body


@pytest.mark.parametrize("path", TIME_LISTS)
@pytest.mark.parametrize("time", BAD_TIMES)
async def test_a_time_no_cursor_holds_is_a_bad_cursor(client, lists, path, time):
    url = API + path.format(customer=lists["customer"])
    cursor = cursor_of([time, SOME_ID])
    assert_bad_cursor(await client.get(url, params={"cursor": cursor}, headers=lists["rm01"]))


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
async def test_an_amount_no_cursor_holds_is_a_bad_cursor(client, lists, amount):
    cursor = cursor_of([amount, SOME_ID])
    response = await client.get(
        f"{API}/customers", params={"cursor": cursor}, headers=lists["rm01"]
    )
    assert_bad_cursor(response)


async def test_text_with_a_nul_in_a_cursor_is_a_bad_cursor(client, lists):
    cursor = cursor_of(["2026-12-01T00:00:00Z", "phone\u00001"])
    response = await client.get(
        f"{API}/admin/devices", params={"cursor": cursor}, headers=lists["admin"]
    )
    assert_bad_cursor(response)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/customers", ["2026-12-01T00:00:00Z", SOME_ID]),  # a time where an amount goes
        ("/customers/{customer}/timeline", ["1000.00", SOME_ID]),  # and the other way round
        ("/tasks", ["2026-12-01T00:00:00Z", "not-an-id"]),
        ("/notifications", ["2026-12-01T00:00:00Z"]),
    ],
)
async def test_a_key_of_another_shape_is_a_bad_cursor(client, lists, path, key):
    url = API + path.format(customer=lists["customer"])
    response = await client.get(url, params={"cursor": cursor_of(key)}, headers=lists["rm01"])
    assert_bad_cursor(response)


async def test_the_cursors_the_server_gives_still_page(client, db, lists):
    admin = lists["admin"]
    rows = [customer_row(f"P-{n}", name="钱七", seq=10 + n, aum=f"{n}000.50") for n in range(2, 5)]
    created = await client.post(
        f"{API}/integration/customers:bulk-upsert", json={"customers": rows}, headers=admin
    )
    assert created.status_code == 200, created.text
    seen, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = await client.get(f"{API}/customers", params=params, headers=lists["rm01"])
        assert page.status_code == 200, page.text
        seen += [c["id"] for c in page.json()["items"]]
        if not (cursor := page.json()["next_cursor"]):
            break
    assert len(seen) == len(set(seen)) == 4


async def test_a_cursor_of_another_list_is_refused_by_name(client, db):
    # Both lists are keyed by (time, id): without the list named in the cursor, the shares'
    # next_cursor sent to the notifications started a page at a position of another order.
    admin = await headers_of(client, "admin")
    rows = [customer_row(f"C-P{i}", name="王五", owner="rm01", seq=i) for i in range(3)]
    fed = await client.post(
        f"{API}/integration/customers:bulk-upsert", json={"customers": rows}, headers=admin
    )
    assert fed.status_code == 200, fed.text
    rm01 = await headers_of(client, "rm01")
    page = await client.get(f"{API}/customers", params={"limit": 1}, headers=rm01)
    cursor = page.json()["next_cursor"]
    assert cursor
    # The same list takes it back, whatever else the request says.
    again = await client.get(f"{API}/customers", params={"limit": 1, "cursor": cursor},
                             headers=rm01)  # fmt: skip
    assert again.status_code == 200, again.text
    elsewhere = await client.get(f"{API}/tasks", params={"cursor": cursor}, headers=rm01)
    assert elsewhere.status_code == 400, elsewhere.text
    body = elsewhere.json()
    assert body["code"] == "request.bad_cursor"
    assert body["errors"] == [
        {
            "path": "query.cursor",
            "message": "a cursor of another list: pass back the next_cursor this list answered",
        }
    ]


async def test_a_cursor_made_before_lists_named_theirs_still_pages(client):
    # An app paging across the deploy holds a bare key: it is still read.
    rm01 = await headers_of(client, "rm01")
    bare = cursor_of(["2026-11-01T00:00:00+00:00", SOME_ID])
    answer = await client.get(f"{API}/notifications", params={"cursor": bare}, headers=rm01)
    assert answer.status_code == 200, answer.text

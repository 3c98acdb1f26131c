"""Bad input is a 4xx problem naming where it was, and changes nothing; never a 500. A bank feed
or an offline push rejects only its bad rows, and the good ones still land."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import pytest

from tests.customers_data import customer_row, headers_of, holding_row, product_row
from tests.tasks_data import create_template, field
from workbench.seed import DEMO_PASSWORD

pytestmark = pytest.mark.usefixtures("demo_bank")
FEEDS = "/api/v1/integration"


def refused(response: Any, path: str, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert path in [e["path"] for e in body.get("errors", [])], body
    return body


async def test_deeply_nested_json_is_refused_at_once(client):
    started = time.monotonic()
    response = await client.post(
        "/api/v1/auth/login",
        content=b"[" * 10_000 + b"]" * 10_000,
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (413, 422), response.text
    assert response.json()["code"] == "request.validation_failed"
    assert time.monotonic() - started < 30  # not a timing claim: it must simply come back


async def test_a_raw_nul_byte_in_json_is_not_json(client):
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"login": "rm\x0001", "password": "x", "device": {"device_id": "d", '
        b'"platform": "ios"}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "request.validation_failed"


async def test_a_missing_or_wrong_body_is_named_as_the_body(client, db):
    rm01 = await headers_of(client, "rm01")
    json_type = {**rm01, "content-type": "application/json"}
    before = await db.fetchval("select count(*) from shares")
    cases = {
        b"": ("$", "a JSON body is required"),
        b"null": ("$", "must be an object, not null"),
        b"[]": ("$", "must be an object"),
        # A field left out is located at the field, as any other bad field is.
        b"{}": ("$.channel", "is required"),
    }
    for body, (path, message) in cases.items():
        response = await client.post("/api/v1/shares", content=body, headers=json_type)
        problem = refused(response, path)
        assert problem["errors"] == [{"path": path, "message": message}], body
    assert await db.fetchval("select count(*) from shares") == before


async def test_a_field_left_out_is_named_where_it_is_missing(client):
    response = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": "rt_x"}, headers={"x-device-id": "d1"}
    )
    problem = refused(response, "$.device_id")
    assert problem["errors"] == [{"path": "$.device_id", "message": "is required"}]
    nested = await client.post(
        "/api/v1/auth/login", json={"login": "rm01", "password": "x", "device": {}}
    )
    assert refused(nested, "$.device.device_id")["errors"][0]["message"] == "is required"


async def test_a_nul_character_anywhere_is_refused_by_name(client, db):
    admin = await headers_of(client, "admin")
    rm01 = await headers_of(client, "rm01")
    refused(await client.get("/api/v1/customers?tag=a%00", headers=rm01), "query.tag")
    refused(await client.get("/api/v1/customers?q=%00", headers=rm01), "query.q")
    templates_before = await db.fetchval("select count(*) from task_templates")
    refused(
        await client.post(
            "/api/v1/task-templates",
            json={"name": "拜访\u0000", "form": {"fields": []}},
            headers=admin,
        ),
        "$.name",
    )
    assert await db.fetchval("select count(*) from task_templates") == templates_before
    template = await create_template(client, admin, field("note", "text"))
    refused(
        await client.post(
            "/api/v1/dispatches",
            json={
                "template_id": template["id"],
                "title": "月度\u0000拜访",
                "due_at": "2027-01-01T00:00:00Z",
                "org_unit_id": template["owner_unit_id"],
            },
            headers=admin,
        ),
        "$.title",
    )
    refused(await client.delete("/api/v1/devices/phone%00one", headers=rm01), "path.device_id")
    refused(
        await client.post(
            "/api/v1/sync/push",
            json={"client_id": "tab\u0000let", "mutations": []},
            headers=rm01,
        ),
        "$.client_id",
    )


async def test_a_feed_rejects_only_its_rows_with_a_nul(client, db):
    admin = await headers_of(client, "admin")
    response = await client.post(
        f"{FEEDS}/customers:bulk-upsert",
        json={
            "customers": [
                customer_row("NUL-1", name="王一", seq=1),
                customer_row("NUL-2", name="李\u0000二", seq=2),
                customer_row("NUL-3", name="张三", seq=3),
            ]
        },
        headers=admin,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["inserted"] == 2
    assert [(r["index"], r["code"]) for r in answer["rejected"]] == [(1, "request.nul_character")]
    assert "$.customers[1].name" in answer["rejected"][0]["detail"]
    stored = await db.fetch("select external_id from customers order by external_id")
    assert [r["external_id"] for r in stored] == ["NUL-1", "NUL-3"]

    products = await client.post(
        f"{FEEDS}/products:bulk-upsert",
        json={"products": [product_row("P-OK"), product_row("P-\u0000")]},
        headers=admin,
    )
    assert products.status_code == 200, products.text
    assert [r["index"] for r in products.json()["rejected"]] == [1]
    holdings = await client.post(
        f"{FEEDS}/holdings:bulk-upsert",
        json={
            "holdings": [
                holding_row("NUL-1", "P-OK", 100, "2026-12-01"),
                {**holding_row("NUL-3", "P-OK", 100, "2026-12-01"), "product_code": "P\u0000"},
            ]
        },
        headers=admin,
    )
    assert holdings.status_code == 200, holdings.text
    assert holdings.json()["inserted"] == 1
    assert [r["index"] for r in holdings.json()["rejected"]] == [1]

    events = await client.post(
        f"{FEEDS}/events",
        json={
            "events": [
                {"kind": "deposit", "customer_external_id": "NUL-1",
                 "occurred_at": "2026-12-01T08:00:00Z", "data": {"amount": 1}},
                {"kind": "deposit", "customer_external_id": "NUL-3",
                 "occurred_at": "2026-12-01T08:00:00Z", "data": {"memo": "\u0000"}},
            ]
        },
        headers=admin,
    )  # fmt: skip
    assert events.status_code == 200, events.text
    assert events.json()["accepted"] == 1
    assert [(r["index"], r["code"]) for r in events.json()["rejected"]] == [
        (1, "request.nul_character")
    ]


async def test_an_offline_mutation_with_a_nul_is_rejected_and_the_others_apply(client, db):
    admin = await headers_of(client, "admin")
    rm01 = await headers_of(client, "rm01")
    created = await client.post(
        f"{FEEDS}/customers:bulk-upsert",
        json={"customers": [customer_row("M-1", name="赵六", seq=6)]},
        headers=admin,
    )
    assert created.status_code == 200, created.text
    customer_id = await db.fetchval("select id from customers where external_id = 'M-1'")

    def note(n: int, text: str) -> dict[str, Any]:
        return {
            "id": n,
            "name": "note.add",
            "args": {"customer_id": str(customer_id), "text": text, "kind": "visit",
                     "id": f"0193a0a0-0000-7000-8000-00000000000{n}"},
        }  # fmt: skip

    response = await client.post(
        "/api/v1/sync/push",
        json={"client_id": "phone-1",
              "mutations": [note(1, "好"), note(2, "坏\u0000"), note(3, "也好")]},
        headers=rm01,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["code"] == "request.nul_character"
    assert response.json()["last_mutation_id"] == 3


async def test_numbers_beyond_their_column_are_refused_by_name(client):
    admin = await headers_of(client, "admin")
    rm01 = await headers_of(client, "rm01")
    refused(await client.get("/api/v1/customers?min_aum=1e999999", headers=rm01), "query.min_aum")
    template = await create_template(client, admin, field("note", "text"))
    refused(
        await client.get(
            f"/api/v1/task-templates/{template['id']}?version=2147483648", headers=admin
        ),
        "query.version",
    )
    # A feed's row holding one is rejected alone, naming the field (the others would land).
    for kind, body, path in [
        (
            "customers",
            b'{"customers": [{"external_id": "BIG", "name": "\\u5927", "id_number": '
            b'"110101199003070011", "phone": "13800000000", "owner_login": "rm01", '
            b'"risk_level": "C3", "aum": 1e400}]}',
            "$.aum",
        ),
        (
            "customers",
            msgspec.json.encode(
                {"customers": [{**customer_row("BIG", name="大户", seq=9), "aum": "1e400"}]}
            ),
            "$.aum",
        ),
        (
            "holdings",
            b'{"holdings": [{"customer_external_id": "X", "product_code": "P", '
            b'"as_of": "2026-12-01", "amount": 1' + b"0" * 400 + b"}]}",
            "$.amount",
        ),
    ]:
        answer = await client.post(
            f"{FEEDS}/{kind}:bulk-upsert",
            content=body,
            headers={**admin, "content-type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        [rejected] = answer.json()["rejected"]
        assert (rejected["index"], rejected["code"]) == (0, "row.invalid")
        assert rejected["detail"].startswith(f"{path}: ")
        assert "10^18" in rejected["detail"]


async def test_null_where_a_value_is_required_is_refused(client):
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("note", "text"))
    body = {
        "name": "大额转出",
        "event_kind": "transfer_out",
        "field": "amount",
        "op": "gte",
        "value": None,
        "template_id": template["id"],
        "within_days": 7,
    }
    refused(await client.post("/api/v1/task-rules", json=body, headers=admin), "$.value")
    assert (
        await client.post("/api/v1/task-rules", json={**body, "value": 500000}, headers=admin)
    ).status_code == 201


async def test_a_customer_page_answers_bad_input_with_a_page(client, db):
    rm01 = await headers_of(client, "rm01")
    admin = await headers_of(client, "admin")
    await client.post(
        f"{FEEDS}/customers:bulk-upsert",
        json={"customers": [customer_row("V-1", name="钱七", seq=7)]},
        headers=admin,
    )
    customer_id = await db.fetchval("select id from customers where external_id = 'V-1'")
    invite = await client.post(
        f"/api/v1/customers/{customer_id}/verification-invites", headers=rm01
    )
    page = "/v/" + invite.json()["url"].rsplit("/v/", 1)[1]
    answer = await client.post(
        page,
        content=b"name=%E9%92%B1%00&id_number=1&phone=2",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "提交的内容无效" in answer.text
    # Nothing was counted against the link: the right answers still verify.
    assert (await client.get(page)).status_code == 200
    assert DEMO_PASSWORD  # the demo bank is in place

"""A value refused by a contract pattern is answered in words ("must be an amount like 50000"),
at the same path as before, never with the regular expression (which app developers and RMs
were shown: `Expected `str` matching regex '^(?:[0-9]{1,18}...'`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import pytest
from litestar import get, post
from litestar.params import JSONBody, Parameter
from litestar.testing import AsyncTestClient

from tests.customers_data import headers_of
from tests.tasks_data import TEMPLATES, field, form
from tests.workbench.http.test_problems import assert_problem
from workbench.app import create_app
from workbench.http.auth import PUBLIC

pytestmark = pytest.mark.usefixtures("demo_bank")

AMOUNT = "must be an amount like 50000 or 50000.25 (digits, at most 2 decimals)"
DAY = "must be a date like 2026-12-01 or a time like 2026-12-01T08:00:00+08:00"
KEY = "must be 1 to 40 lowercase letters, digits and _, starting with a letter"


def errors_of(response: Any) -> list[dict[str, str]]:
    body = assert_problem(response, 422, "request.validation_failed")
    assert "regex" not in response.text, response.text
    assert "(?:" not in response.text, response.text
    assert body["detail"] == "; ".join(f"{e['path']}: {e['message']}" for e in body["errors"])
    return body["errors"]


@pytest.mark.parametrize("amount", ["1e3", "-1", "abc", "1.234"])
async def test_an_amount_filter_not_an_amount_says_what_an_amount_is(client, amount):
    rm = await headers_of(client, "rm01")
    response = await client.get("/api/v1/customers", params={"min_aum": amount}, headers=rm)
    assert errors_of(response) == [{"path": "query.min_aum", "message": AMOUNT}]


async def test_a_period_not_written_as_a_date_says_what_a_date_is(client):
    east = await headers_of(client, "bh.east")
    response = await client.get(
        "/api/v1/team/progress", params={"from": "20261201", "to": "20261205"}, headers=east
    )
    assert errors_of(response) == [
        {"path": "query.from", "message": DAY},
        {"path": "query.to", "message": DAY},
    ]


@pytest.mark.parametrize("key", ["a b", "😀", "Visit", "1st"])
async def test_a_form_field_key_that_is_no_key_says_what_a_key_is(client, db, key):
    admin = await headers_of(client, "admin")
    templates = await db.fetchval("select count(*) from task_templates")
    fields = [field("notes", "text"), field(key, "text")]
    response = await client.post(
        TEMPLATES, json={"name": "回访", "form": form(*fields)}, headers=admin
    )
    assert errors_of(response) == [{"path": "$.form.fields[1].key", "message": KEY}]
    assert await db.fetchval("select count(*) from task_templates") == templates


class _Coded(msgspec.Struct):
    code: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]


@get("/test/coded", opt={PUBLIC: True}, sync_to_thread=False)
def _coded_query(code: Annotated[str, Parameter(pattern="^[A-Z]{3}$")]) -> str:
    return code


@post("/test/coded", opt={PUBLIC: True}, sync_to_thread=False)
def _coded_body(data: JSONBody[_Coded]) -> str:
    return data.code


async def test_a_pattern_without_words_is_a_wrong_format_without_the_pattern(settings):
    app = create_app(settings)
    app.register(_coded_query)
    app.register(_coded_body)
    async with AsyncTestClient(app) as client:
        query = await client.get("/test/coded", params={"code": "abc"})
        assert errors_of(query) == [{"path": "query.code", "message": "has the wrong format"}]
        body = await client.post("/test/coded", json={"code": "abc"})
        assert errors_of(body) == [{"path": "$.code", "message": "has the wrong format"}]

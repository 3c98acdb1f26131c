"""A retried batch whose first answer was lost answers `duplicate` for a share it made, with the
share in `result` as the first answer had it: shares are no sync entity, so that answer is the
app's only way to the link it made offline. The retry makes nothing (no second share, no second
link), and a share gone since answers `duplicate` alone."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of, product_row
from tests.sync.sync_data import PUSH
from tests.sync.test_brochures import CODE, add_brochure
from tests.sync.test_survey_sync import add_survey

pytestmark = pytest.mark.usefixtures("demo_bank")


async def push(client: Any, headers: dict[str, str], *mutations: dict[str, Any]) -> list[Any]:
    body = {
        "client_id": "phone",
        "mutations": [{"id": n, "name": "share.create", "args": args}
                      for n, args in enumerate(mutations, start=1)],
    }  # fmt: skip
    response = await client.post(PUSH, json=body, headers=headers)
    assert response.status_code == 200, response.text
    results: list[Any] = response.json()["results"]
    return results


@pytest.fixture
async def customer(client: Any, db: Any) -> uuid.UUID:
    """rm01's customer, whom the demo product suits."""
    admin = await headers_of(client, "admin")
    await feed(client, admin, "products", [product_row(CODE, category="wealth", risk_level="R2")])
    await feed(client, admin, "customers", [customer_row("C-1", name="王芳", owner="rm01")])
    return (await customer_ids(db))["C-1"]


async def test_a_retried_share_answers_duplicate_with_the_share_it_made(client, db, customer):
    brochure = await add_brochure(db, "稳享90天")
    survey = await add_survey(db, "客户满意度")
    rm01 = await headers_of(client, "rm01")
    brochure_share = {"client_ref": str(uuid.uuid4()), "brochure_id": brochure,
                      "channel": "wechat", "customer_id": str(customer)}  # fmt: skip
    survey_share = {"client_ref": str(uuid.uuid4()), "survey_id": str(survey),
                    "channel": "sms", "customer_id": str(customer)}  # fmt: skip
    first = await push(client, rm01, brochure_share, survey_share)
    assert [r["status"] for r in first] == ["applied", "applied"]
    assert "/s/" in first[0]["result"]["url"]
    assert "/f/" in first[1]["result"]["url"]

    again = await push(client, rm01, brochure_share, survey_share)
    assert again == [
        {"id": 1, "status": "duplicate", "result": first[0]["result"]},
        {"id": 2, "status": "duplicate", "result": first[1]["result"]},
    ]
    assert await db.fetchval("select count(*) from shares") == 1
    assert await db.fetchval("select count(*) from survey_invitations") == 1
    assert await db.fetchval("select count(*) from survey_share_refs") == 1

    # The brochure is no longer live: the share it made is still the answer.
    await db.execute("update brochure_versions set status = 'unpublished'")
    assert (await push(client, rm01, brochure_share))[0] == again[0]


async def test_a_retried_share_that_is_gone_answers_duplicate_alone(client, db, customer):
    brochure = await add_brochure(db, "稳享90天")
    rm01 = await headers_of(client, "rm01")
    args = {"client_ref": str(uuid.uuid4()), "brochure_id": brochure, "channel": "qr",
            "customer_id": str(customer)}  # fmt: skip
    assert [r["status"] for r in await push(client, rm01, args)] == ["applied"]
    await db.execute("delete from shares")
    assert await push(client, rm01, args) == [{"id": 1, "status": "duplicate"}]
    assert await db.fetchval("select count(*) from shares") == 0

"""The conversions feed checks each row on its own, its types too: a conversion with a value of
the wrong type, an amount no column holds, a time without an offset or a field left out is
rejected alone (`row.invalid`, naming the field in words) and the others land, idempotently;
only a body that is no feed is refused whole."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import FEEDS, customer_row, feed, headers_of, product_row
from tests.test_feed_rows_customers import reads_in_words

pytestmark = pytest.mark.usefixtures("demo_bank")

CONVERSIONS = f"{FEEDS}/conversions"


def conversion(n: int, **overrides: Any) -> dict[str, Any]:
    return {"external_id": f"B-{n}", "customer_external_id": "C1", "product_code": "WM90",
            "kind": "purchase", "amount": f"{1000 + n}.00",
            "occurred_at": f"2026-11-20T10:{n:02d}:00+08:00", **overrides}  # fmt: skip


async def test_a_conversion_of_the_wrong_type_is_rejected_alone(client, db):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("C1", name="王小明", seq=1)])
    await feed(client, admin, "products", [product_row("WM90")])
    rows: list[Any] = [conversion(n) for n in range(8)]
    rows[1] = conversion(1, amount="abc")
    rows[2] = conversion(2, occurred_at="2026-11-20T10:02:00")  # no offset
    rows[4] = {k: v for k, v in conversion(4).items() if k != "customer_external_id"}
    rows[5] = conversion(5, amount="1" * 19)  # no column holds it
    rows[6] = conversion(6, kind="refund")  # a value: rejected as before

    answer = await client.post(CONVERSIONS, json={"conversions": rows}, headers=admin)

    assert answer.status_code == 200, answer.text
    result = answer.json()
    rejected = result.pop("rejected")
    assert result == {"inserted": 3, "attributed": 0, "unchanged": 0}
    assert [(r["index"], r["code"]) for r in rejected] == [
        (1, "row.invalid"),
        (2, "row.invalid"),
        (4, "row.invalid"),
        (5, "row.invalid"),
        (6, "conversion.bad_kind"),
    ]
    assert reads_in_words(rejected[0]["detail"], "$.amount", "number"), rejected
    assert reads_in_words(rejected[1]["detail"], "$.occurred_at", "offset"), rejected
    assert reads_in_words(rejected[2]["detail"], "$.customer_external_id", "required"), rejected
    assert reads_in_words(rejected[3]["detail"], "$.amount", "10^18"), rejected
    query = "select external_id, amount, occurred_at from conversions order by 1"
    landed = [tuple(r.values()) for r in await db.fetch(query)]
    assert [r[0] for r in landed] == ["B-0", "B-3", "B-7"]

    again = await client.post(CONVERSIONS, json={"conversions": rows}, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == {"inserted": 0, "attributed": 0, "unchanged": 3, "rejected": rejected}
    assert [tuple(r.values()) for r in await db.fetch(query)] == landed


async def test_a_conversions_body_that_is_no_feed_is_refused_whole(client, db):
    admin = await headers_of(client, "admin")
    for body, path in [
        ([conversion(0)], "$"),
        ({"conversions": None}, "$.conversions"),
        ({"conversions": [conversion(0)] * 10_001}, "$.conversions"),
        ({"conversions": "all of them"}, "$.conversions"),
    ]:
        answer = await client.post(CONVERSIONS, json=body, headers=admin)
        assert answer.status_code == 422, answer.text[:300]
        assert answer.json()["code"] == "request.validation_failed"
        assert [e["path"] for e in answer.json()["errors"]] == [path]
    assert await db.fetchval("select count(*) from conversions") == 0

"""The customer, holdings and product feeds check each row on its own, its types too: a row with
a value of the wrong type, or a field left out, is rejected alone (`row.invalid`, naming the
field in words) and the good rows land; only a body that is no feed at all is refused whole."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import FEEDS, customer_row, feed, headers_of, holding_row, product_row

pytestmark = pytest.mark.usefixtures("demo_bank")

NAMES = "赵钱孙李周吴郑王"


def eight_customers() -> list[dict[str, Any]]:
    return [customer_row(f"R-{n}", name=f"{NAMES[n]}小明", seq=n, aum=1000 + n) for n in range(8)]


async def stored(db: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in await db.fetch(sql)]


def without(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key}


def reads_in_words(detail: str, path: str, *words: str) -> bool:
    """Whether a rejection's detail names the field at `path` within the row and says what is
    wrong in words, as the API's errors do (`$.aum: must be a number like 12.5`): with `words`,
    and never in the decoder's own terms (which quote types: "Expected `str`, got `int`")."""
    field, _, said = detail.partition(": ")
    return field == path and all(w in said for w in words) and "`" not in said


@pytest.mark.parametrize(
    ("spoil", "path", "words"),
    [
        (lambda row: {**row, "aum": "abc"}, "$.aum", "number"),
        (lambda row: without(row, "id_number"), "$.id_number", "required"),
        (lambda row: {**row, "risk_level": 5}, "$.risk_level", "text"),
        (lambda row: {**row, "tags": ["vip", 7]}, "$.tags[1]", "text"),
        (lambda row: {**row, "aum": "1e400"}, "$.aum", "10^18"),
        (lambda row: None, "$", "object"),
    ],
    ids=["aum-text", "no-id-number", "risk-number", "tag-number", "aum-too-big", "null-row"],
)
async def test_a_customer_row_of_the_wrong_type_is_rejected_alone(client, db, spoil, path, words):
    admin = await headers_of(client, "admin")
    rows: list[Any] = eight_customers()
    sent = rows[4]
    rows[4] = spoil(sent)
    answer = await client.post(
        f"{FEEDS}/customers:bulk-upsert", json={"customers": rows}, headers=admin
    )

    assert answer.status_code == 200, answer.text
    result = answer.json()
    rejected = result.pop("rejected")
    assert result == {"inserted": 7, "updated": 0, "unchanged": 0}
    assert [(r["index"], r["code"]) for r in rejected] == [(4, "row.invalid")]
    assert reads_in_words(rejected[0]["detail"], path, words), rejected
    # Nothing of the row is said back: not its name, ID number or phone.
    for value in (sent["name"], sent["id_number"], sent["phone"]):
        assert value not in answer.text
    query = "select external_id, updated_at, name_enc, aum from customers order by 1"
    landed = await stored(db, query)
    assert [r[0] for r in landed] == [f"R-{n}" for n in (0, 1, 2, 3, 5, 6, 7)]

    # Sent again: the good rows are unchanged, the bad one rejected again, nothing written.
    again = await feed(client, admin, "customers", rows)
    assert again == {"inserted": 0, "updated": 0, "unchanged": 7, "rejected": rejected}
    assert await stored(db, query) == landed


async def test_rejections_of_every_kind_keep_their_feed_index(client, db):
    admin = await headers_of(client, "admin")
    rows: list[Any] = eight_customers()
    rows[1] = {**rows[1], "phone": 13800000001}  # the wrong type
    rows[2] = {**rows[2], "owner_login": "nobody"}  # a value no user has
    rows[3] = {**rows[3], "name": "李\u0000四"}  # a NUL: no column holds it
    rows[5] = {**rows[5], "aum": ["1"]}  # the wrong type
    rows[6] = {**rows[0], "name": "赵大明"}  # R-0 again
    result = await feed(client, admin, "customers", rows)

    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (1, "row.invalid"),
        (2, "customer.unknown_owner"),
        (3, "request.nul_character"),
        (5, "row.invalid"),
        (6, "customer.duplicate_in_feed"),
    ]
    details = [r["detail"] for r in result["rejected"]]
    assert reads_in_words(details[0], "$.phone", "text"), details
    assert "$.customers[3].name" in details[2]
    assert reads_in_words(details[3], "$.aum", "number"), details
    assert result["inserted"] == 3
    landed = await db.fetch("select external_id from customers order by 1")
    assert [r["external_id"] for r in landed] == ["R-0", "R-4", "R-7"]


async def test_holding_and_product_rows_of_the_wrong_type_are_rejected_alone(client, db):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", eight_customers())
    products: list[Any] = [product_row(f"P-{n}") for n in range(5)]
    products[1] = {**products[1], "max_holding": "lots"}
    products[3] = {**products[3], "active": "maybe"}
    result = await feed(client, admin, "products", products)
    assert [(r["index"], r["code"]) for r in result.pop("rejected")] == [
        (1, "row.invalid"),
        (3, "row.invalid"),
    ]
    assert result == {"inserted": 3, "updated": 0, "unchanged": 0}
    assert await db.fetchval("select array_agg(code order by code) from products") == [
        "P-0",
        "P-2",
        "P-4",
    ]

    holdings: list[Any] = [holding_row(f"R-{n}", "P-0", 100 + n, "2024-06-30") for n in range(8)]
    holdings[2] = {**holdings[2], "as_of": "bad"}
    holdings[6] = {**holdings[6], "amount": True}
    result = await feed(client, admin, "holdings", holdings)
    rejected = result.pop("rejected")
    assert [(r["index"], r["code"]) for r in rejected] == [(2, "row.invalid"), (6, "row.invalid")]
    assert reads_in_words(rejected[0]["detail"], "$.as_of", "date"), rejected
    assert reads_in_words(rejected[1]["detail"], "$.amount", "number"), rejected
    assert result == {"inserted": 6, "updated": 0, "unchanged": 0}
    query = "select c.external_id, h.amount from holdings h join customers c on c.id = customer_id"
    landed = sorted(await stored(db, query))
    assert [r[0] for r in landed] == [f"R-{n}" for n in (0, 1, 3, 4, 5, 7)]
    again = await feed(client, admin, "holdings", holdings)
    assert again == {"inserted": 0, "updated": 0, "unchanged": 6, "rejected": rejected}
    assert sorted(await stored(db, query)) == landed


@pytest.mark.parametrize("kind", ["customers", "holdings", "products"])
async def test_a_body_that_is_no_feed_is_still_refused_whole(client, db, kind):
    admin = await headers_of(client, "admin")
    json_type = {**admin, "content-type": "application/json"}
    good = {
        "customers": customer_row("R-0", name="赵小明", seq=0),
        "holdings": holding_row("R-0", "P-0", 1, "2024-06-30"),
        "products": product_row("P-0"),
    }[kind]
    cases: list[tuple[bytes | dict[str, Any] | list[Any], str, str]] = [
        ([good], "$", "object"),
        ({kind: {"0": good}}, f"$.{kind}", ""),
        ({kind: None}, f"$.{kind}", ""),
        ({}, f"$.{kind}", "required"),
        ({kind: [good] * 10_001}, f"$.{kind}", "10000"),
        (b'{"%s": [{' % kind.encode(), "$", "JSON"),
    ]
    for body, path, words in cases:
        if isinstance(body, bytes):
            answer = await client.post(
                f"{FEEDS}/{kind}:bulk-upsert", content=body, headers=json_type
            )
        else:
            answer = await client.post(f"{FEEDS}/{kind}:bulk-upsert", json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text[:300])
        problem = answer.json()
        assert problem["code"] == "request.validation_failed"
        [error] = problem["errors"]
        assert error["path"] == path, (str(body)[:100], error)
        assert words in error["message"], (str(body)[:100], error)
    assert await db.fetchval("select count(*) from customers") == 0
    assert await db.fetchval("select count(*) from products") == 0

"""Text made only of characters drawn blank (Hangul fillers, the blank Braille pattern) shows
nothing, as spaces do: no blank note, customer or product name. A tag is measured trimmed, as a
segment is."""

from __future__ import annotations

import pytest

from tests.customers_data import CUSTOMERS, customer_row, feed, headers_of, product_row
from workbench.visible import shows_something

pytestmark = pytest.mark.usefixtures("demo_bank")

BLANK = {
    "hangul filler": "\u3164",
    "hangul choseong filler": "\u115f",
    "hangul jungseong filler": "\u1160",
    "half-width hangul filler": "\uffa0",
    "braille blank": "\u2800",
    "fillers and spaces": "\u3164 \u2800\u3000\u200b",
}


@pytest.mark.parametrize("text", BLANK.values(), ids=BLANK.keys())
async def test_a_note_drawn_blank_is_422(client, db, text) -> None:
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("B-1", name="张三", seq=1)])
    customer = await db.fetchval("select id from customers where external_id = 'B-1'")
    rm01 = await headers_of(client, "rm01")
    response = await client.post(
        f"{CUSTOMERS}/{customer}/notes", json={"kind": "visit", "text": text}, headers=rm01
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "note.blank_text"
    assert await db.fetchval("select count(*) from customer_timeline") == 0


async def test_names_drawn_blank_are_rejected_in_the_feeds(client, db) -> None:
    admin = await headers_of(client, "admin")
    result = await feed(
        client, admin, "customers",
        [customer_row(f"B-{n}", name=text, seq=n) for n, text in enumerate(BLANK.values())]
        + [customer_row("B-OK", name="\u3164张三", seq=99)],
    )  # fmt: skip
    assert result["inserted"] == 1
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (n, "customer.bad_name") for n in range(len(BLANK))
    ]
    assert [r["external_id"] for r in await db.fetch("select external_id from customers")] == [
        "B-OK"
    ]
    products = await feed(
        client, admin, "products", [product_row("P-1", name="\u3164\u3164"), product_row("P-2")]
    )
    assert [(r["index"], r["code"]) for r in products["rejected"]] == [(0, "product.bad_name")]


def test_letters_beside_fillers_still_show_something() -> None:
    assert not shows_something("\u3164\u3164\u3164")
    assert shows_something("\u3164a")
    assert shows_something("한")  # a Hangul syllable is drawn
    assert shows_something("\u2801")  # a Braille pattern with a dot


async def test_a_tag_is_measured_trimmed(client, db) -> None:
    admin = await headers_of(client, "admin")
    fits = "  " + "a" * 39 + "  "
    too_long = " " + "b" * 41 + " "
    result = await feed(
        client, admin, "customers",
        [customer_row("T-1", name="张三", seq=1, tags=[fits, "vip"]),
         customer_row("T-2", name="李四", seq=2, tags=[too_long])],
    )  # fmt: skip
    assert result["inserted"] == 1, result
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [(1, "customer.bad_tags")]
    tags = await db.fetchval("select tags from customers where external_id = 'T-1'")
    assert sorted(tags) == ["a" * 39, "vip"]

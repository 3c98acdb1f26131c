"""A blank segment (spaces of any width only) is no segment: stored and shown as null, as one left
out or sent empty, so the same record sent in either spelling is `unchanged`."""

from __future__ import annotations

import pytest

from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of

pytestmark = pytest.mark.usefixtures("demo_bank")


BLANK = {"spaces": "   ", "ideographic": "\u3000", "mixed": " \t\n"}


@pytest.mark.parametrize("blank", BLANK.values(), ids=BLANK.keys())
async def test_a_blank_segment_is_none_and_resending_it_changes_nothing(client, db, blank):
    admin = await headers_of(client, "admin")
    row = customer_row("S-1", name="张三", segment=blank)
    first = await feed(client, admin, "customers", [row])
    assert (first["inserted"], first["rejected"]) == (1, [])
    assert await db.fetchval("select segment from customers where external_id = 'S-1'") is None
    customer = (await customer_ids(db, ["S-1"]))["S-1"]
    rm01 = await headers_of(client, "rm01")
    shown = await client.get(f"{CUSTOMERS}/{customer}", headers=rm01)
    assert shown.status_code == 200, shown.text
    assert shown.json()["segment"] is None

    # The same record, the segment left out, empty, then blank again: nothing to write.
    for segment in (None, "", blank):
        row = customer_row("S-1", name="张三", segment=segment)
        again = await feed(client, admin, "customers", [row])
        assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 1), segment

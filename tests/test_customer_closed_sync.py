"""What leaves the RM's device, and comes back, through the bank's feeds: a customer who left
the bank (closed) leaves it with their holdings and notes, and returns with them when reopened;
a position sold (`amount: "0"`) leaves the 360° view, the recommendations' "holds" and the
device, and returns with a later non-zero amount (an older row never brings it back)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import (
    CUSTOMERS,
    customer_ids,
    customer_row,
    feed,
    headers_of,
    holding_row,
    product_row,
)
from tests.sync.sync_data import App, fresh_state, ops

pytestmark = pytest.mark.usefixtures("demo_bank")

WANG = customer_row("C-1", name="王芳", owner="rm01", seq=1, aum=9000)
LI = customer_row("C-2", name="李雷", owner="rm01", seq=2, aum=100)


@pytest.fixture
async def admin(client: Any) -> dict[str, str]:
    admin = await headers_of(client, "admin")
    products = [product_row("FUND1"), product_row("BOND1", category="bond")]
    assert (await feed(client, admin, "products", products))["rejected"] == []
    assert (await feed(client, admin, "customers", [WANG, LI]))["rejected"] == []
    result = await feed(client, admin, "holdings", [
        holding_row("C-1", "FUND1", 1000, "2026-01-05"),
        holding_row("C-1", "BOND1", 2000, "2026-01-05"),
        holding_row("C-2", "FUND1", 3000, "2026-01-05"),
    ])  # fmt: skip
    assert result["rejected"] == []
    return admin


async def add_note(client: Any, headers: dict[str, str], customer: Any, text: str) -> str:
    response = await client.post(
        f"{CUSTOMERS}/{customer}/notes", json={"text": text, "kind": "visit"}, headers=headers
    )
    assert response.status_code == 201, response.text
    note_id: str = response.json()["id"]
    return note_id


async def test_a_closed_customer_leaves_the_device_and_a_reopened_one_comes_back(
    client: Any, db: Any, admin: Any
) -> None:
    rm01 = await headers_of(client, "rm01")
    ids = await customer_ids(db)
    wang, li = str(ids["C-1"]), str(ids["C-2"])
    note = await add_note(client, rm01, wang, "拜访顺利")
    app = App(client, rm01, db)
    await app.sync()
    assert set(app.rows("customer")) == {wang, li}
    held = {f"{wang}:FUND1", f"{wang}:BOND1", f"{li}:FUND1"}
    assert set(app.rows("holding")) == held
    assert set(app.rows("note")) == {note}

    await feed(client, admin, "customers", [{**WANG, "status": "closed"}])
    changes = await app.sync()
    assert ("customer", "delete", wang) in ops(changes)
    assert not any(op == "upsert" for _, op, _ in ops(changes))
    assert set(app.rows("customer")) == {li}
    assert set(app.rows("holding")) == {f"{li}:FUND1"}
    assert app.rows("note") == {}
    assert app.local == await fresh_state(client, rm01, db=db)  # a new install holds the same

    # A holding fed while closed changes nothing on the device either.
    await feed(client, admin, "holdings", [holding_row("C-1", "FUND1", 1500, "2026-01-06")])
    assert not any(op == "upsert" for _, op, _ in ops(await app.sync()))

    await feed(client, admin, "customers", [WANG])
    back = await app.sync()
    assert set(ops(back)) >= {
        ("customer", "upsert", wang), ("holding", "upsert", f"{wang}:FUND1"),
        ("holding", "upsert", f"{wang}:BOND1"), ("note", "upsert", note),
    }  # fmt: skip
    assert set(app.rows("customer")) == {wang, li}
    assert set(app.rows("holding")) == held
    assert app.rows("holding")[f"{wang}:FUND1"]["amount"] == "1500.00"
    assert set(app.rows("note")) == {note}
    assert app.local == await fresh_state(client, rm01, db=db)


async def holdings_shown(client: Any, headers: dict[str, str], customer: Any) -> dict[str, str]:
    view = await client.get(f"{CUSTOMERS}/{customer}", headers=headers)
    assert view.status_code == 200, view.text
    return {h["product_code"]: h["amount"] for h in view.json()["holdings"]}


async def test_a_sold_position_leaves_the_view_and_the_device_and_a_new_one_comes_back(
    client: Any, db: Any, admin: Any
) -> None:
    rm01 = await headers_of(client, "rm01")
    wang = str((await customer_ids(db))["C-1"])
    rules = [{"name": "持债客户看基金", "weight": 5, "when": {"holds_category": "bond"},
              "recommend": {"product_code": "FUND1"}}]  # fmt: skip
    saved = await client.put(
        "/api/v1/admin/recommendation-rules", json={"rules": rules}, headers=admin
    )
    assert saved.status_code == 200, saved.text
    app = App(client, rm01, db)
    await app.sync()
    assert await holdings_shown(client, rm01, wang) == {"BOND1": "2000.00", "FUND1": "1000.00"}
    assert await recommended(client, rm01, wang) == {"FUND1": 5, "BOND1": 0}

    sold = await feed(client, admin, "holdings", [holding_row("C-1", "BOND1", 0, "2026-01-06")])
    assert sold["updated"] == 1
    assert await holdings_shown(client, rm01, wang) == {"FUND1": "1000.00"}
    assert await recommended(client, rm01, wang) == {"FUND1": 0, "BOND1": 0}  # holds no bond
    assert ops(await app.sync()) == [("holding", "delete", f"{wang}:BOND1")]
    assert set(app.rows("holding")) == {f"{wang}:FUND1", f"{app_li(app)}:FUND1"}
    assert app.local == await fresh_state(client, rm01, db=db)

    # An older position arriving late never brings it back; a newer one does.
    late = await feed(client, admin, "holdings", [holding_row("C-1", "BOND1", 800, "2026-01-04")])
    assert late["unchanged"] == 1
    assert await holdings_shown(client, rm01, wang) == {"FUND1": "1000.00"}
    assert ops(await app.sync()) == []
    again = await feed(client, admin, "holdings", [holding_row("C-1", "BOND1", 700, "2026-01-07")])
    assert again["updated"] == 1
    assert await holdings_shown(client, rm01, wang) == {"BOND1": "700.00", "FUND1": "1000.00"}
    assert ops(await app.sync()) == [("holding", "upsert", f"{wang}:BOND1")]
    assert app.rows("holding")[f"{wang}:BOND1"]["amount"] == "700.00"


def app_li(app: App) -> str:
    """The id of the other customer (李雷) on the device."""
    [li] = [c for c, row in app.rows("customer").items() if row["aum"] == "100.00"]
    return li


async def recommended(client: Any, headers: dict[str, str], customer: Any) -> dict[str, int]:
    page = await client.get(f"{CUSTOMERS}/{customer}/recommendations", headers=headers)
    assert page.status_code == 200, page.text
    return {item["product_code"]: item["score"] for item in page.json()["items"]}

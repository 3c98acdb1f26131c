"""Each change is recorded once per partition it touches: a holdings feed that updates a holding
writes one change for its customer's owner (a 24,000-row feed is 24,000 changes to catch up
with, not twice that), and a holding moved to another RM's customer is a delete for the old
owner and the row for the new one; a work order updated in place is one change for each of its
holders."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import (
    customer_ids,
    customer_row,
    feed,
    headers_of,
    holding_row,
    product_row,
)
from tests.sync.sync_data import App, fresh_state, ops
from tests.sync.test_work_order_sync import open_desk
from tests.tasks_data import user

pytestmark = pytest.mark.usefixtures("demo_bank")

Change = tuple[uuid.UUID, str, str]


async def changes(db: Any) -> list[Change]:
    rows = await db.fetch("select user_id, entity, entity_key from sync_log order by txid, seq")
    return [(r["user_id"], r["entity"], r["entity_key"]) for r in rows]


async def test_an_updated_holding_is_one_change_for_its_owner(client, db):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "products", [product_row("BOND01"), product_row("GOLD01")])
    await feed(client, admin, "customers", [customer_row("C-8", name="钱多多", owner="rm08")])
    await feed(client, admin, "holdings", [
        holding_row("C-8", "BOND01", 1000, "2026-11-01"),
        holding_row("C-8", "GOLD01", 2000, "2026-11-01"),
    ])  # fmt: skip
    customer = await db.fetchval("select id from customers where external_id = 'C-8'")
    rm08 = App(client, await headers_of(client, "rm08"), db)
    await rm08.sync()

    await db.execute("delete from sync_log")
    await feed(client, admin, "holdings", [
        holding_row("C-8", "BOND01", 1500, "2026-11-02"),
        holding_row("C-8", "GOLD01", 2500, "2026-11-02"),
    ])  # fmt: skip
    assert sorted(await changes(db)) == [
        (user("rm08"), "holding", f"{customer}:BOND01"),
        (user("rm08"), "holding", f"{customer}:GOLD01"),
    ]
    # The app catches up in one page of two.
    caught_up = await rm08.sync(limit=2)
    assert sorted(ops(caught_up)) == [
        ("holding", "upsert", f"{customer}:BOND01"), ("holding", "upsert", f"{customer}:GOLD01")
    ]  # fmt: skip
    assert rm08.rows("holding")[f"{customer}:BOND01"]["amount"] == "1500.00"


async def test_a_holding_moved_to_another_rms_customer_leaves_one_device_and_reaches_the_other(
    client, db
):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "products", [product_row("BOND01")])
    await feed(client, admin, "customers", [
        customer_row("C-1", name="王芳", owner="rm01", seq=1),
        customer_row("C-8", name="钱多多", owner="rm08", seq=2),
    ])  # fmt: skip
    await feed(client, admin, "holdings", [holding_row("C-1", "BOND01", 1000, "2026-11-01")])
    ids = await customer_ids(db)
    rm01 = App(client, await headers_of(client, "rm01"), db)
    rm08 = App(client, await headers_of(client, "rm08"), db)
    await rm01.sync()
    await rm08.sync()

    await db.execute("delete from sync_log")
    # A correction made in the database: the position was the other customer's.
    await db.execute("update holdings set customer_id = $1 where customer_id = $2", ids["C-8"],
                     ids["C-1"])  # fmt: skip
    old, new = f"{ids['C-1']}:BOND01", f"{ids['C-8']}:BOND01"
    assert sorted(await changes(db)) == sorted(
        [(user("rm01"), "holding", old), (user("rm08"), "holding", new)]
    )
    assert ops(await rm01.sync()) == [("holding", "delete", old)]
    assert ops(await rm08.sync()) == [("holding", "upsert", new)]
    for app in (rm01, rm08):
        assert app.local == await fresh_state(client, app.headers, db=db)


async def test_a_work_order_updated_in_place_is_one_change_for_each_holder(client, db, settings):
    desk = await open_desk(client, db, settings)
    await db.execute("delete from sync_log")
    await db.execute(
        "update work_orders set due_at = due_at + interval '1 hour' where id = $1", desk.order
    )
    assert sorted(await changes(db)) == sorted(
        [(user("rm01"), "work_order", str(desk.order)),
         (user("bh.east"), "work_order", str(desk.order))]
    )  # fmt: skip

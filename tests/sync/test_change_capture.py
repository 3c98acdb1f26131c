"""Change capture for offline sync: every write to a synced table, whatever wrote it (a bank
feed, the API, a worker, manual SQL), leaves a change with who could see the row before and
who can see it after, in an order no concurrent commit can break; a rolled-back write leaves
nothing."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from sync.jobs import purge_changes
from tests.customers_data import customer_row, feed, headers_of, holding_row, product_row
from tests.tasks_data import create_template, issue
from workbench.db import create_pool
from workbench.ids import uuid5_for

pytestmark = pytest.mark.usefixtures("demo_bank")


def user(login: str) -> uuid.UUID:
    return uuid5_for(f"user:{login}")


async def changes(db: asyncpg.Connection, entity: str | None = None) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "select entity, entity_key, deleted, before_users, after_users, public"
        " from sync_changes where $1::text is null or entity = $1 order by txid, seq",
        entity,
    )
    return [dict(r) for r in rows]


async def clear(db: asyncpg.Connection) -> None:
    await db.execute("delete from sync_changes")


@pytest.fixture
async def admin(client: Any) -> dict[str, str]:
    return await headers_of(client, "admin")


@pytest.fixture
async def customer(client: Any, db: asyncpg.Connection, admin: dict[str, str]) -> uuid.UUID:
    await feed(client, admin, "products", [product_row("FUND1"), product_row("FUND2")])
    await feed(client, admin, "customers", [customer_row("C-1", name="王芳", owner="rm01")])
    await feed(
        client, admin, "holdings",
        [holding_row("C-1", "FUND1", 1000, "2026-11-01"),
         holding_row("C-1", "FUND2", 2000, "2026-11-01")],
    )  # fmt: skip
    customer_id: uuid.UUID = await db.fetchval("select id from customers where external_id = 'C-1'")
    return customer_id


async def test_a_fed_customer_and_its_holdings_are_changes_for_their_owner(db, customer):
    assert await changes(db, "customer") == [
        {"entity": "customer", "entity_key": str(customer), "deleted": False,
         "before_users": [], "after_users": [user("rm01")], "public": False},
    ]  # fmt: skip
    holdings = await changes(db, "holding")
    assert sorted(h["entity_key"] for h in holdings) == [f"{customer}:FUND1", f"{customer}:FUND2"]
    assert all(h["after_users"] == [user("rm01")] for h in holdings)


async def test_moving_a_customer_to_another_rm_moves_its_holdings_too(client, db, admin, customer):
    await clear(db)
    await feed(client, admin, "customers", [customer_row("C-1", name="王芳", owner="rm02")])
    moved = await changes(db)
    assert {(c["entity"], c["entity_key"]) for c in moved} == {
        ("customer", str(customer)), ("holding", f"{customer}:FUND1"),
        ("holding", f"{customer}:FUND2"),
    }  # fmt: skip
    for change in moved:
        assert change["before_users"] == [user("rm01")]
        assert change["after_users"] == [user("rm02")]


async def test_an_unchanged_feed_row_writes_nothing_and_so_records_nothing(
    client, db, admin, customer
):
    await clear(db)
    await feed(client, admin, "customers", [customer_row("C-1", name="王芳", owner="rm01")])
    assert await changes(db) == []


async def test_manual_sql_is_captured_like_every_other_write(db, customer):
    await clear(db)
    await db.execute("update customers set owner_id = $2 where id = $1", customer, user("rm03"))
    await db.execute(
        "delete from holdings where customer_id = $1 and product_code = 'FUND1'", customer
    )
    await db.execute("delete from customers where id = $1", customer)  # cascades to holdings
    recorded = await changes(db)
    assert [(c["entity"], c["deleted"]) for c in recorded[:4]] == [
        ("customer", False), ("holding", False), ("holding", False),  # the move
        ("holding", True),                                            # FUND1 deleted
    ]  # fmt: skip
    # The customer goes, and its last holding with it (a client drops a customer's holdings
    # with the customer).
    assert sorted((c["entity"], c["deleted"]) for c in recorded[4:]) == [
        ("customer", True), ("holding", True)
    ]  # fmt: skip
    gone = next(c for c in recorded[4:] if c["entity"] == "customer")
    assert gone["before_users"] == [user("rm03")]
    assert gone["after_users"] == []


async def test_a_rolled_back_write_leaves_no_change(db, customer):
    await clear(db)

    async def failing_request() -> None:
        async with db.transaction():
            await db.execute(
                "update customers set owner_id = $2 where id = $1", customer, user("rm02")
            )
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        await failing_request()
    assert await changes(db) == []


async def test_dispatched_tasks_and_their_transitions_are_changes_for_the_assignee(
    client, db, admin
):
    template = await create_template(client, admin, name="Visit")
    await clear(db)
    tasks = await issue(client, db, admin, template["id"], org_unit="team-east-1")
    created = await changes(db, "task")
    assert {c["entity_key"] for c in created} == {str(t) for t in tasks.values()}
    assert {c["after_users"][0] for c in created} == {user(login) for login in tasks}
    assert all(c["before_users"] == [] for c in created)

    await clear(db)
    rm, task = next(iter(tasks.items()))
    response = await client.post(
        f"/api/v1/tasks/{task}/start", headers=await headers_of(client, rm)
    )
    assert response.status_code == 200, response.text
    assert await changes(db, "task") == [
        {"entity": "task", "entity_key": str(task), "deleted": False,
         "before_users": [user(rm)], "after_users": [user(rm)], "public": False},
    ]  # fmt: skip


async def test_products_and_template_versions_are_public_changes(client, db, admin):
    await clear(db)
    await feed(client, admin, "products", [product_row("FUND9")])
    template = await create_template(client, admin, name="Call")
    public = await changes(db)
    assert [(c["entity"], c["entity_key"], c["public"]) for c in public] == [
        ("product", "FUND9", True), ("task_template", template["id"], True)
    ]  # fmt: skip


async def test_changes_of_one_transaction_keep_their_order_and_share_its_id(db, customer):
    await clear(db)
    async with db.transaction():
        for owner in ("rm02", "rm03", "rm04"):
            await db.execute(
                "update customers set owner_id = $2 where id = $1", customer, user(owner)
            )
    rows = await db.fetch(
        "select txid, after_users from sync_changes where entity = 'customer' order by txid, seq"
    )
    assert len({r["txid"] for r in rows}) == 1
    assert [r["after_users"] for r in rows] == [[user("rm02")], [user("rm03")], [user("rm04")]]


async def test_re_encrypting_a_customer_under_a_new_key_is_not_a_change(db, customer):
    await clear(db)
    await db.execute(
        "update customers set name_enc = name_enc || '\\x00'::bytea, updated_at = now()"
        " where id = $1",
        customer,
    )
    assert await changes(db) == []


async def test_the_daily_purge_keeps_the_retention_window_of_changes(db, customer, settings):
    await db.execute(
        "update sync_changes set changed_at = now() - interval '91 days' where entity = 'holding'"
    )
    kept = await db.fetchval("select count(*) from sync_changes where entity <> 'holding'")
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        purged = await purge_changes({"pool": pool, "settings": settings})
        assert purged == 2
        assert await purge_changes({"pool": pool, "settings": settings}) == 0  # idempotent
    finally:
        await pool.close()
    assert await db.fetchval("select count(*) from sync_changes") == kept
    assert await changes(db, "holding") == []

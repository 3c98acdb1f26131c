"""Change capture for offline sync: every write to a synced table, whatever wrote it (a bank
feed, the API, a worker, manual SQL), leaves one `sync_log` row per user partition it changes
(the customer's owner before and after, the task's assignee, the branch heads an RM leaves, the
notification's user; everyone for products and templates), in an order no concurrent commit can
break; a rolled-back write, an unchanged row and a re-encryption leave nothing; the daily purge
keeps the retention window."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from sync.jobs import purge_changes
from tests.customers_data import customer_row, feed, headers_of, holding_row, product_row
from tests.sync.sync_data import NIL, json_codecs, tell
from tests.tasks_data import create_template, issue, unit, user
from workbench.db import create_pool
from workbench.notifications.service import notify

pytestmark = pytest.mark.usefixtures("demo_bank")

Change = tuple[uuid.UUID, str, str]  # (user_id, entity, entity_key)


async def changes(db: asyncpg.Connection, entity: str | None = None) -> list[Change]:
    """The recorded changes in their order."""
    rows = await db.fetch(
        "select user_id, entity, entity_key from sync_log"
        " where $1::text is null or entity = $1 order by txid, seq",
        entity,
    )
    return [(r["user_id"], r["entity"], r["entity_key"]) for r in rows]


async def clear(db: asyncpg.Connection) -> None:
    await db.execute("delete from sync_log")


@pytest.fixture
async def admin(client: Any) -> dict[str, str]:
    return await headers_of(client, "admin")


@pytest.fixture
async def customer(client: Any, db: asyncpg.Connection, admin: dict[str, str]) -> uuid.UUID:
    """rm01's customer C-1 holding FUND1 and FUND2."""
    await feed(client, admin, "products", [product_row("FUND1"), product_row("FUND2")])
    await feed(client, admin, "customers", [customer_row("C-1", name="王芳", owner="rm01")])
    await feed(
        client, admin, "holdings",
        [holding_row("C-1", "FUND1", 1000, "2026-11-01"),
         holding_row("C-1", "FUND2", 2000, "2026-11-01")],
    )  # fmt: skip
    customer_id: uuid.UUID = await db.fetchval("select id from customers where external_id = 'C-1'")
    return customer_id


async def add_note(client: Any, headers: dict[str, str], customer: uuid.UUID, text: str) -> str:
    response = await client.post(
        f"/api/v1/customers/{customer}/notes", json={"text": text, "kind": "call"}, headers=headers
    )
    assert response.status_code == 201, response.text
    note_id: str = response.json()["id"]
    return note_id


async def test_a_fed_customer_and_its_holdings_are_changes_for_their_owner(db, customer):
    assert await changes(db, "customer") == [(user("rm01"), "customer", str(customer))]
    assert sorted(await changes(db, "holding")) == [
        (user("rm01"), "holding", f"{customer}:FUND1"),
        (user("rm01"), "holding", f"{customer}:FUND2"),
    ]


async def test_moving_a_customer_to_another_rm_moves_its_holdings_and_notes_too(
    client, db, admin, customer
):
    note = await add_note(client, await headers_of(client, "rm01"), customer, "电话沟通")
    await clear(db)
    await feed(client, admin, "customers", [customer_row("C-1", name="王芳", owner="rm02")])
    keys = {("customer", str(customer)), ("holding", f"{customer}:FUND1"),
            ("holding", f"{customer}:FUND2"), ("note", note)}  # fmt: skip
    assert sorted(await changes(db)) == sorted(
        (who, entity, key) for who in (user("rm01"), user("rm02")) for entity, key in keys
    )


async def test_an_unchanged_feed_row_writes_nothing_and_so_records_nothing(
    client, db, admin, customer
):
    await clear(db)
    await feed(client, admin, "customers", [customer_row("C-1", name="王芳", owner="rm01")])
    await feed(client, admin, "holdings", [holding_row("C-1", "FUND1", 1000, "2026-11-01")])
    assert await changes(db) == []


async def test_manual_sql_is_captured_like_every_other_write(db, customer):
    await clear(db)
    await db.execute("update customers set owner_id = $2 where id = $1", customer, user("rm03"))
    moved = await changes(db)
    assert sorted(moved) == sorted(
        (who, entity, key)
        for who in (user("rm01"), user("rm03"))
        for entity, key in (("customer", str(customer)), ("holding", f"{customer}:FUND1"),
                            ("holding", f"{customer}:FUND2"))
    )  # fmt: skip

    await clear(db)
    await db.execute(
        "delete from holdings where customer_id = $1 and product_code = 'FUND1'", customer
    )
    assert await changes(db) == [(user("rm03"), "holding", f"{customer}:FUND1")]

    await clear(db)
    await db.execute("delete from customers where id = $1", customer)  # cascades to holdings
    # The customer goes; the app drops its holdings and notes with it.
    assert (user("rm03"), "customer", str(customer)) in await changes(db)
    assert {who for who, _, _ in await changes(db)} == {user("rm03")}


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
    assert sorted(await changes(db, "task")) == sorted(
        (user(login), "task", str(task)) for login, task in tasks.items()
    )

    await clear(db)
    response = await client.post(
        f"/api/v1/tasks/{tasks['rm01']}/start", headers=await headers_of(client, "rm01")
    )
    assert response.status_code == 200, response.text
    assert await changes(db, "task") == [(user("rm01"), "task", str(tasks["rm01"]))]

    await clear(db)
    await db.execute("update tasks set assignee_id = $2 where id = $1", tasks["rm01"], user("rm03"))
    assert sorted(await changes(db)) == sorted(
        [(user("rm01"), "task", str(tasks["rm01"])), (user("rm03"), "task", str(tasks["rm01"]))]
    )


async def test_products_and_template_versions_are_changes_for_everyone(client, db, admin):
    await clear(db)
    await feed(client, admin, "products", [product_row("FUND9")])
    template = await create_template(client, admin, name="Call")
    assert await changes(db) == [
        (NIL, "product", "FUND9"), (NIL, "task_template", template["id"])
    ]  # fmt: skip
    await clear(db)
    edited = await client.put(
        f"/api/v1/task-templates/{template['id']}",
        json={"name": "Call v2", "form": {"fields": [{"key": "n", "label": "N", "type": "text"}]}},
        headers=admin,
    )
    assert edited.status_code == 200, edited.text
    assert set(await changes(db)) == {(NIL, "task_template", template["id"])}


async def test_a_note_is_a_change_for_the_customers_owner(client, db, customer):
    await clear(db)
    note = await add_note(client, await headers_of(client, "rm01"), customer, "客户来电")
    assert await changes(db) == [(user("rm01"), "note", note)]
    # Re-encrypting its text (rotate-keys) is not a change for the app.
    await clear(db)
    await db.execute(
        "update customer_timeline set text_enc = text_enc || '\\x00'::bytea where id = $1",
        uuid.UUID(note),
    )
    assert await changes(db) == []


async def test_a_notification_is_a_change_for_its_user_once_it_is_listed(db):
    notification = await tell(db, user("rm01"), 1)
    assert await changes(db) == [(user("rm01"), "notification", str(notification))]

    await clear(db)
    await json_codecs(db)
    later = await notify(
        db, user_id=user("rm01"), category="customer.verified", title="t", body="b",
        dedupe_key="later", send_at=datetime.now(UTC) + timedelta(days=1),
    )  # fmt: skip
    assert later is not None
    assert await changes(db) == []  # not listed before its time

    await db.execute("update notifications set read_at = now() where id = $1", notification)
    assert await changes(db) == [(user("rm01"), "notification", str(notification))]


async def test_an_rm_moving_to_another_unit_records_their_tasks_for_the_branch_head_left(
    client, db, admin
):
    template = await create_template(client, admin, name="Visit")
    tasks = await issue(client, db, admin, template["id"], org_unit="team-east-1")
    await clear(db)
    await db.execute("update users set name = 'Renamed' where id = $1", user("rm01"))
    assert await changes(db) == []  # not a move

    await db.execute(
        "update users set org_unit_id = $2 where id = $1", user("rm01"), unit("team-west-1")
    )
    assert sorted(await changes(db)) == sorted(
        [(user("bh.east"), "task", str(tasks["rm01"])), (user("rm01"), "task", str(tasks["rm01"]))]
    )


async def test_changes_of_one_transaction_keep_their_order_and_share_its_id(db, customer):
    await clear(db)
    async with db.transaction():
        for owner in ("rm02", "rm03", "rm04"):
            await db.execute(
                "update customers set owner_id = $2 where id = $1", customer, user(owner)
            )
    rows = await db.fetch(
        "select txid, user_id from sync_log where entity = 'customer' order by txid, seq"
    )
    assert len({r["txid"] for r in rows}) == 1
    users = [r["user_id"] for r in rows]
    assert [set(users[i : i + 2]) for i in range(0, len(users), 2)] == [
        {user("rm01"), user("rm02")}, {user("rm02"), user("rm03")}, {user("rm03"), user("rm04")}
    ]  # fmt: skip


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
        "update sync_log set changed_at = now() - interval '91 days' where entity = 'holding'"
    )
    kept = [change for change in await changes(db) if change[1] != "holding"]
    assert [entity for _, entity, _ in kept] == ["product", "product", "customer"]
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        purged = await purge_changes({"pool": pool, "settings": settings})
        assert purged == 2
        assert await purge_changes({"pool": pool, "settings": settings}) == 0  # idempotent
    finally:
        await pool.close()
    assert await changes(db) == kept

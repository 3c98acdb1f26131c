"""Bank feeds: idempotent bulk upserts of customers, holdings and products, row-level rejects."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec
import pytest

from mobile_contracts.v1 import customers as wire
from tests.customers_data import (
    CUSTOMERS,
    FEEDS,
    customer_ids,
    customer_row,
    feed,
    headers_of,
    holding_row,
    id_number,
    phone,
    product_row,
    with_wrong_check_digit,
)
from tests.tasks_data import create_template, issue_tasks
from tests.workbench.customers.lock_waits import until_waiting_for_locks
from workbench.customers import feeds, queries
from workbench.db import use_json_codecs
from workbench.ids import uuid5_for
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")


def user_id(login_name: str) -> Any:
    return uuid5_for(f"user:{login_name}")


async def snapshot_customers(db: Any) -> dict[str, tuple[Any, ...]]:
    rows = await db.fetch(
        "select external_id, owner_id, updated_at, name_enc, id_number_enc, phone_enc,"
        " name_bidx, phone_bidx, id_number_bidx, risk_level, segment, tags, aum from customers"
    )
    return {r["external_id"]: tuple(r.values()) for r in rows}


def rejected_codes(result: dict[str, Any]) -> list[tuple[int, str]]:
    for row in result["rejected"]:
        assert row["detail"], row
    return [(r["index"], r["code"]) for r in result["rejected"]]


THREE = [
    customer_row("C-1", name="张小三", seq=1, aum=100, tags=["vip"], segment="private"),
    customer_row("C-2", name="李四", seq=2, owner="rm02", risk_level="C1"),
    customer_row("C-3", name="欧阳娜娜", seq=3, owner="rm05", aum="2500.50"),
]


async def test_customer_feed_inserts_then_resend_changes_nothing(client, db):
    admin = await headers_of(client, "admin")
    first = await feed(client, admin, "customers", THREE)
    assert first == {"inserted": 3, "updated": 0, "unchanged": 0, "rejected": []}
    before = await snapshot_customers(db)
    assert set(before) == {"C-1", "C-2", "C-3"}

    again = await feed(client, admin, "customers", THREE)
    assert again == {"inserted": 0, "updated": 0, "unchanged": 3, "rejected": []}
    # Nothing was rewritten: same ciphertexts (a re-encryption would differ), same updated_at.
    assert await snapshot_customers(db) == before

    # The same data written differently (phone format, outer spaces, login case) is still
    # tag order) is still the same customer and still unchanged.
    reformatted = [dict(r) for r in THREE]
    reformatted[0]["phone"] = "+86 " + phone(1)[:3] + "-" + phone(1)[3:7] + " " + phone(1)[7:]
    reformatted[1]["name"] = "  李四 "
    reformatted[2]["owner_login"] = "RM05"
    assert (await feed(client, admin, "customers", reformatted))["unchanged"] == 3
    assert await snapshot_customers(db) == before

    # One real change: only that row is written.
    changed = [dict(r) for r in THREE]
    changed[1]["aum"] = "999"
    result = await feed(client, admin, "customers", changed)
    assert result == {"inserted": 0, "updated": 1, "unchanged": 2, "rejected": []}
    after = await snapshot_customers(db)
    assert after["C-1"] == before["C-1"]
    assert after["C-3"] == before["C-3"]
    assert after["C-2"] != before["C-2"]
    assert str(await db.fetchval("select aum from customers where external_id = 'C-2'")) == "999.00"


async def test_product_and_holding_feeds_are_idempotent(client, db):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", THREE)
    products = [
        product_row("FUND-A", name="稳健理财A", risk_level="R2", max_holding=1_000_000),
        product_row("EQ.B_1", name="成长股票B", category="equity", risk_level="R4"),
    ]
    assert await feed(client, admin, "products", products) == {
        "inserted": 2, "updated": 0, "unchanged": 0, "rejected": [],
    }  # fmt: skip
    stamped = await db.fetch("select code, updated_at from products order by code")
    assert (await feed(client, admin, "products", products))["unchanged"] == 2
    assert await db.fetch("select code, updated_at from products order by code") == stamped
    renamed = [products[0], {**products[1], "name": "成长股票B（新）"}]
    result = await feed(client, admin, "products", renamed)
    assert (result["updated"], result["unchanged"]) == (1, 1)
    assert await db.fetchval("select name from products where code = 'EQ.B_1'") == "成长股票B（新）"

    holdings = [
        holding_row("C-1", "FUND-A", 5000, "2024-06-30"),
        holding_row("C-1", "EQ.B_1", "120.50", "2024-06-30"),
        holding_row("C-2", "FUND-A", 0, "2024-06-30"),
    ]
    assert await feed(client, admin, "holdings", holdings) == {
        "inserted": 3, "updated": 0, "unchanged": 0, "rejected": [],
    }  # fmt: skip
    stamped = await db.fetch(
        "select customer_id, product_code, amount, as_of, updated_at from holdings order by 1, 2"
    )
    assert (await feed(client, admin, "holdings", holdings))["unchanged"] == 3
    assert (
        await db.fetch(
            "select customer_id, product_code, amount, as_of, updated_at from holdings"
            " order by 1, 2"
        )
        == stamped
    )


async def test_bad_customer_rows_are_rejected_with_index_and_code_good_rows_land(client, db):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("OLD-1", name="周八", seq=50, aum=10)])
    before_old = (await snapshot_customers(db))["OLD-1"]
    rows = [
        customer_row("G-0", name="好客户甲", seq=10),  # 0 good
        customer_row("B-1", name="坏身份证", id_no=with_wrong_check_digit(id_number(11))),
        customer_row("B-2", name="坏手机", seq=12, mobile="12812345678"),
        customer_row("B-3", name="无此人", seq=13, owner="nobody"),
        customer_row("B-4", name="行长名下", seq=14, owner="bh.east"),
        customer_row("G-5", name="好客户乙", seq=15, owner="rm06"),  # 5 good
        customer_row("B-6", name="风险错", seq=16, risk_level="C6"),
        customer_row("B-7", name="负资产", seq=17, aum=-1),
        customer_row("B-8", name="标签多", seq=18, tags=[f"t{i}" for i in range(31)]),
        customer_row("G-0", name="重复的", seq=19),  # duplicate of row 0
        customer_row("B-10", name="管理员名下", seq=20, owner="admin"),
        customer_row("B-11", name="短手机", seq=21, mobile="1381234567"),
        customer_row("B-12", name="十五位", seq=22, id_no="110101900307123"),
        customer_row("B-13", name="   ", seq=23),
        # An existing customer sent with a bad phone is rejected and left as it was.
        customer_row("OLD-1", name="周八", seq=50, aum=99, mobile="phone?"),
        customer_row("G-15", name="好客户丙", seq=25, tags=[f"t{i}" for i in range(30)]),
        customer_row("G-16", name="好客户丁", seq=26, owner=" RM02 "),  # a login as typed
    ]
    result = await feed(client, admin, "customers", rows)
    assert rejected_codes(result) == [
        (1, "customer.bad_id_number"),
        (2, "customer.bad_phone"),
        (3, "customer.unknown_owner"),
        (4, "customer.owner_not_rm"),
        (6, "customer.bad_risk_level"),
        (7, "customer.bad_aum"),
        (8, "customer.bad_tags"),
        (9, "customer.duplicate_in_feed"),
        (10, "customer.owner_not_rm"),
        (11, "customer.bad_phone"),
        (12, "customer.bad_id_number"),
        (13, "customer.bad_name"),
        (14, "customer.bad_phone"),
    ]
    assert (result["inserted"], result["updated"], result["unchanged"]) == (4, 0, 0)
    stored = await customer_ids(db)
    assert set(stored) == {"OLD-1", "G-0", "G-5", "G-15", "G-16"}
    assert (await snapshot_customers(db))["OLD-1"] == before_old
    # The first of the duplicates is the one that landed.
    assert await db.fetchval("select aum from customers where external_id = 'G-0'") == 0
    assert await db.fetchval("select owner_id from customers where external_id = 'G-5'") == user_id(
        "rm06"
    )


async def test_a_name_segment_or_tag_that_reads_otherwise_is_rejected_alone(client, db):
    """A customer's name, segment and tags are shown as stored (the app's list and 360° view, a
    download's file name): a line break, a tab or a direction override makes them read otherwise
    than they say, and invisible characters alone show a blank row. The row is rejected, with
    why; the others land."""
    admin = await headers_of(client, "admin")
    rows = [
        customer_row("G-0", name="好客户甲", seq=30, segment="private", tags=["vip"]),  # 0 good
        customer_row("B-1", name='张\r\n三"; filename=evil.exe', seq=31),
        customer_row("B-2", name="张\u202e三四", seq=32),  # reads backwards
        customer_row("B-3", name="\u200b\u200d", seq=33),  # zero-width only
        customer_row("B-4", name="张\t三", seq=34),
        customer_row("B-5", name="李五", seq=35, segment="private\nbanking"),
        customer_row("B-6", name="李六", seq=36, segment="\u200b"),
        customer_row("B-7", name="李七", seq=37, tags=["vip", "a\u2066b"]),
        customer_row("B-8", name="李八", seq=38, tags=["vip", "\ufeff"]),
        # Outer spaces and line breaks are trimmed, as before: these land.
        customer_row("G-9", name="  王九\r\n", seq=39, segment=" mass\n", tags=[" t1 ", "  "]),
    ]
    result = await feed(client, admin, "customers", rows)
    assert rejected_codes(result) == [
        (1, "customer.bad_name"),
        (2, "customer.bad_name"),
        (3, "customer.bad_name"),
        (4, "customer.bad_name"),
        (5, "customer.bad_segment"),
        (6, "customer.bad_segment"),
        (7, "customer.bad_tags"),
        (8, "customer.bad_tags"),
    ]
    details = {r["index"]: r["detail"] for r in result["rejected"]}
    assert "control character" in details[1]
    assert "direction override" in details[2]
    assert "shows nothing" in details[3]
    assert details[7].startswith("tag 2 ")
    assert "evil" not in json.dumps(result)  # what was sent is not echoed back
    assert (result["inserted"], result["updated"], result["unchanged"]) == (2, 0, 0)
    assert set(await customer_ids(db)) == {"G-0", "G-9"}
    stored = await db.fetchrow("select segment, tags from customers where external_id = 'G-9'")
    assert (stored["segment"], list(stored["tags"])) == ("mass", ["t1"])


async def test_bad_holding_and_product_rows_are_rejected_good_rows_land(client, db):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", THREE)
    products = [
        product_row("P-OK", risk_level="r3"),  # 0 good (risk level is case-insensitive)
        product_row("bad code"),
        product_row("P-RISK", risk_level="R6"),
        product_row("P-OK", name="again"),
        product_row("x" * 41),
        product_row("P-CAP", max_holding=0),
        product_row("P-NAME", name="   "),
        product_row("P-OK2", category="deposit", risk_level="R1"),  # 7 good
        product_row("P-C", risk_level="C3"),
        product_row("产品123"),  # letters, but not ones the code column takes
        product_row("P²"),
        product_row("P-TINY", max_holding="0.001"),  # positive, but 0.00 as stored
    ]
    result = await feed(client, admin, "products", products)
    assert rejected_codes(result) == [
        (1, "product.bad_code"),
        (2, "product.bad_risk_level"),
        (3, "product.duplicate_in_feed"),
        (4, "product.bad_code"),
        (5, "product.bad_max_holding"),
        (6, "product.bad_name"),
        (8, "product.bad_risk_level"),
        (9, "product.bad_code"),
        (10, "product.bad_code"),
        (11, "product.bad_max_holding"),
    ]
    assert result["inserted"] == 2
    rows = await db.fetch("select code, risk_level from products order by code")
    assert [(r["code"], r["risk_level"]) for r in rows] == [("P-OK", 3), ("P-OK2", 1)]

    holdings = [
        holding_row("C-1", "P-OK", 100, "2024-01-31"),  # 0 good
        holding_row("NO-SUCH", "P-OK", 100, "2024-01-31"),
        holding_row("C-1", "P-RISK", 100, "2024-01-31"),
        holding_row("C-2", "P-OK", -5, "2024-01-31"),
        holding_row("C-1", "P-OK", 200, "2024-02-29"),
        holding_row("C-3", "P-OK2", "0.01", "2024-01-31"),  # 5 good
    ]
    result = await feed(client, admin, "holdings", holdings)
    assert rejected_codes(result) == [
        (1, "holding.unknown_customer"),
        (2, "holding.unknown_product"),
        (3, "holding.bad_amount"),
        (4, "holding.duplicate_in_feed"),
    ]
    assert result["inserted"] == 2
    stored = await db.fetch(
        "select c.external_id, h.product_code, h.amount::text as amount from holdings h"
        " join customers c on c.id = h.customer_id order by 1"
    )
    assert [tuple(r.values()) for r in stored] == [
        ("C-1", "P-OK", "100.00"),
        ("C-3", "P-OK2", "0.01"),
    ]


async def list_ids(client: Any, headers: dict[str, str]) -> set[str]:
    response = await client.get(CUSTOMERS, params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_owner_change_moves_the_customer_and_is_on_the_timeline(client, db):
    admin = await headers_of(client, "admin")
    rm01 = await headers_of(client, "rm01")
    rm02 = await headers_of(client, "rm02")
    rows = [customer_row("M-1", name="张小三", seq=1), customer_row("M-2", name="李四", seq=2)]
    await feed(client, admin, "customers", rows)
    ids = await customer_ids(db)
    moving = str(ids["M-1"])
    assert await list_ids(client, rm01) == {moving, str(ids["M-2"])}
    assert await list_ids(client, rm02) == set()

    moved = [{**rows[0], "owner_login": "rm02"}, rows[1]]
    result = await feed(client, admin, "customers", moved)
    assert result == {"inserted": 0, "updated": 1, "unchanged": 1, "rejected": []}

    assert await list_ids(client, rm01) == {str(ids["M-2"])}
    gone = await client.get(f"{CUSTOMERS}/{moving}", headers=rm01)
    assert gone.status_code == 404
    assert gone.json()["code"] == "customer.not_found"
    assert await list_ids(client, rm02) == {moving}
    detail = await client.get(f"{CUSTOMERS}/{moving}", headers=rm02)
    assert detail.status_code == 200
    assert detail.json()["owner_id"] == str(user_id("rm02"))

    timeline = (await client.get(f"{CUSTOMERS}/{moving}/timeline", headers=rm02)).json()
    owner_changes = [e for e in timeline["items"] if e["kind"] == "owner.changed"]
    assert len(owner_changes) == 1
    assert owner_changes[0]["data"] == {"from": str(user_id("rm01")), "to": str(user_id("rm02"))}

    # Re-sending the moved feed changes nothing and records no second move.
    assert (await feed(client, admin, "customers", moved))["unchanged"] == 2
    assert (
        await db.fetchval("select count(*) from customer_timeline where kind = 'owner.changed'")
        == 1
    )
    # A change that is not a move (aum) records no move either.
    await feed(client, admin, "customers", [{**moved[0], "aum": "5"}])
    assert (
        await db.fetchval("select count(*) from customer_timeline where kind = 'owner.changed'")
        == 1
    )


async def test_a_moved_customers_pending_tasks_go_to_the_new_rm(client, db):
    # The former RM can no longer open the customer; a follow-up nobody started is the new RM's.
    admin = await headers_of(client, "admin")
    rows = [customer_row("T-1", name="王芳", seq=1), customer_row("T-2", name="赵敏", seq=2)]
    await feed(client, admin, "customers", rows)
    ids = await customer_ids(db)
    template = await create_template(client, admin, reminders=[{"minutes_before_due": 60}])
    due = datetime.now(UTC) + timedelta(days=3)
    tasks = await issue_tasks(
        client, db, admin, template["id"], customer_ids=[ids["T-1"], ids["T-2"]], due_at=due
    )
    again = await issue_tasks(
        client, db, admin, template["id"], customer_ids=[ids["T-1"]], due_at=due
    )
    by_customer = {c: t for _, t, c in tasks}
    pending, untouched, started = by_customer[ids["T-1"]], by_customer[ids["T-2"]], again[0][1]
    rm01 = await headers_of(client, "rm01")
    assert (await client.post(f"/api/v1/tasks/{started}/start", headers=rm01)).status_code == 200

    moved = [{**rows[0], "owner_login": "rm02"}, rows[1]]
    await feed(client, admin, "customers", moved)

    owners = dict(await db.fetch("select id, assignee_id from tasks"))
    assert owners[pending] == user_id("rm02")
    assert owners[started] == user_id("rm01")  # their draft may be on their phone: they finish it
    assert owners[untouched] == user_id("rm01")  # not moved
    reminders = await db.fetch(
        "select user_id from task_reminders where task_id = $1 and status = 'pending'", pending
    )
    assert reminders
    assert {r["user_id"] for r in reminders} == {user_id("rm02")}
    rm02 = await headers_of(client, "rm02")
    inbox = await client.get("/api/v1/tasks?status=pending", headers=rm02)
    assert str(pending) in {t["id"] for t in inbox.json()["items"]}
    assert (await client.get(f"/api/v1/tasks/{pending}", headers=rm01)).status_code == 404


async def test_older_holding_never_overwrites_a_newer_one(client, db):
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", THREE)
    await feed(client, admin, "products", [product_row("FUND-A")])
    await feed(client, admin, "holdings", [holding_row("C-1", "FUND-A", 100, date(2024, 6, 30))])

    async def stored() -> tuple[str, date]:
        row = await db.fetchrow("select amount::text as amount, as_of from holdings")
        return row["amount"], row["as_of"]

    late = await feed(client, admin, "holdings", [holding_row("C-1", "FUND-A", 50, "2024-06-01")])
    assert (late["inserted"], late["updated"], late["rejected"]) == (0, 0, [])
    assert await stored() == ("100.00", date(2024, 6, 30))

    same_day = await feed(
        client, admin, "holdings", [holding_row("C-1", "FUND-A", 80, "2024-06-30")]
    )
    assert same_day["updated"] == 1
    assert await stored() == ("80.00", date(2024, 6, 30))

    newer = await feed(client, admin, "holdings", [holding_row("C-1", "FUND-A", 70, "2024-07-31")])
    assert newer["updated"] == 1
    assert await stored() == ("70.00", date(2024, 7, 31))


async def test_a_holding_dated_in_the_future_or_before_2000_is_rejected(client, db):
    # an older as_of never overwrites a newer: a typo'd 9999 would have held the position forever
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", THREE)
    await feed(client, admin, "products", [product_row("FUND-A"), product_row("FUND-B")])
    today = date.today()
    result = await feed(
        client,
        admin,
        "holdings",
        [
            holding_row("C-1", "FUND-A", 100, "9999-12-31"),
            holding_row("C-1", "FUND-B", 100, "0001-01-01"),
            holding_row("C-2", "FUND-A", 100, date(today.year + 1, 1, 1)),
            holding_row("C-2", "FUND-B", 100, "1999-12-31"),
            holding_row("C-3", "FUND-A", 100, today),
        ],
    )
    assert rejected_codes(result) == [
        (0, "holding.bad_as_of"),
        (1, "holding.bad_as_of"),
        (2, "holding.bad_as_of"),
        (3, "holding.bad_as_of"),
    ]
    assert result["inserted"] == 1
    assert "2000-01-01" in result["rejected"][0]["detail"]

    corrected = await feed(client, admin, "holdings", [holding_row("C-1", "FUND-A", 90, today)])
    assert corrected["inserted"] == 1
    stored = await db.fetch(
        "select c.external_id, h.amount::text as amount from holdings h"
        " join customers c on c.id = h.customer_id order by 1"
    )
    assert [tuple(r.values()) for r in stored] == [("C-1", "90.00"), ("C-3", "100.00")]


def big_feed(count: int) -> list[dict[str, Any]]:
    owners = [f"rm{i:02}" for i in range(1, 9)]
    return [
        customer_row(
            f"BULK-{i:06}",
            name=f"批量客户{i}",
            seq=i,
            owner=owners[i % 8],
            risk_level=f"C{i % 5 + 1}",
            segment="mass-affluent",
            tags=["prefers-wechat-contact", "monthly-salary-payroll"],
            aum=i * 10,
        )
        for i in range(count)
    ]


async def test_a_feed_of_10000_customers_is_accepted_in_one_request(client, db, settings):
    admin = await headers_of(client, "admin")
    rows = big_feed(10_000)
    body = json.dumps({"customers": rows}).encode()
    # Bigger than the default body limit: the feed endpoints allow more.
    assert len(body) > settings.max_body_bytes
    response = await client.post(
        f"{FEEDS}/customers:bulk-upsert",
        content=body,
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text[:500]
    assert response.json() == {"inserted": 10_000, "updated": 0, "unchanged": 0, "rejected": []}
    assert await db.fetchval("select count(*) from customers") == 10_000
    assert (
        await db.fetchval("select count(*) from customers where owner_id = $1", user_id("rm03"))
        == 1250
    )


async def test_more_than_10000_rows_is_422_and_writes_nothing(client, db):
    admin = await headers_of(client, "admin")
    response = await client.post(
        f"{FEEDS}/customers:bulk-upsert", json={"customers": big_feed(10_001)}, headers=admin
    )
    assert response.status_code == 422, response.text[:500]
    assert response.json()["code"] == "request.validation_failed"
    assert await db.fetchval("select count(*) from customers") == 0
    too_many = [holding_row("C-1", "P", 1, "2024-01-01")] * 10_001
    response = await client.post(
        f"{FEEDS}/holdings:bulk-upsert", json={"holdings": too_many}, headers=admin
    )
    assert response.status_code == 422
    products = [product_row(f"P{i}") for i in range(10_001)]
    response = await client.post(
        f"{FEEDS}/products:bulk-upsert", json={"products": products}, headers=admin
    )
    assert response.status_code == 422
    assert await db.fetchval("select count(*) from products") == 0


@pytest.mark.parametrize("who", ["rm01", "bh.east", "marketing", "compliance"])
async def test_feeds_are_for_admins_only(client, db, who):
    headers = await headers_of(client, who)
    bodies = {
        "customers": [customer_row("X-1", name="张三", seq=1)],
        "products": [product_row("P-1")],
        "holdings": [holding_row("X-1", "P-1", 1, "2024-01-01")],
    }
    for kind, rows in bodies.items():
        response = await client.post(
            f"{FEEDS}/{kind}:bulk-upsert", json={kind: rows}, headers=headers
        )
        assert response.status_code == 403, (kind, response.text)
        assert response.json()["code"] == "auth.forbidden"
    assert await db.fetchval("select count(*) from customers") == 0
    assert await db.fetchval("select count(*) from products") == 0
    anonymous = await client.post(
        f"{FEEDS}/customers:bulk-upsert", json={"customers": bodies["customers"]}
    )
    assert anonymous.status_code == 401


async def test_feed_body_limit_is_above_the_default_limit(client, settings):
    admin = await headers_of(client, "admin")
    # ~3 MB of products: more than the default 2 MB, well within the feed limit.
    products = [
        product_row(f"P{i:05}", name="理财产品" + "说明" * 40, category="fund")
        for i in range(9_000)
    ]
    body = json.dumps({"products": products}, ensure_ascii=False).encode()
    assert len(body) > settings.max_body_bytes
    headers = {**admin, "Content-Type": "application/json"}
    accepted = await client.post(f"{FEEDS}/products:bulk-upsert", content=body, headers=headers)
    assert accepted.status_code == 200, accepted.text[:500]
    assert accepted.json()["inserted"] == 9_000
    # Elsewhere the default limit holds: the same size is refused.
    rules = {
        "rules": [
            {"name": "x" * 100, "when": {"tag": "t" * 40}, "recommend": {"category": "fund"},
             "weight": 1}
        ] * 500,
        "padding": "p" * settings.max_body_bytes,
    }  # fmt: skip
    refused = await client.put(
        "/api/v1/admin/recommendation-rules",
        content=json.dumps(rules).encode(),
        headers=headers,
    )
    assert refused.status_code == 413
    assert refused.json()["code"] == "request.too_large"
    # The feeds have a limit too, only a larger one.
    huge = b'{"products": [], "padding": "' + b"p" * 40_000_000 + b'"}'
    refused = await client.post(f"{FEEDS}/products:bulk-upsert", content=huge, headers=headers)
    assert refused.status_code == 413
    assert refused.json()["code"] == "request.too_large"


async def test_an_amount_that_rounds_out_of_range_is_named_not_a_database_refusal(client, db):
    admin = await headers_of(client, "admin")
    big = customer_row("C-BIG", name="王大", seq=9, aum="999999999999999999.995")
    # The row is rejected alone, naming its field; the good row lands.
    result = await feed(client, admin, "customers", [big, customer_row("C-OK", name="王小", seq=8)])
    assert result["inserted"] == 1
    [rejected] = result["rejected"]
    assert (rejected["index"], rejected["code"]) == (0, "row.invalid")
    assert rejected["detail"].startswith("$.aum: ")
    assert "10^18" in rejected["detail"]
    assert await db.fetchval("select count(*) from customers where external_id = 'C-BIG'") == 0


async def test_two_feeds_of_the_same_holdings_at_once_never_deadlock(client, db, settings):
    # Two feeds write the same holdings at the same moment, one in the other's reverse order
    # (on two connections, as two API processes would): rows are written in one order whatever
    # the feed's, so neither waits on the other in a cycle (PostgreSQL would abort one: a 500).
    admin = await headers_of(client, "admin")
    await feed(client, admin, "products", [product_row(f"P-{k}") for k in range(3)])
    customers = [customer_row(f"X-{n:04d}", name="赵钱", seq=100 + n) for n in range(1000)]
    await feed(client, admin, "customers", customers)
    ids = await customer_ids(db)
    pairs = [(ids[c["external_id"]], f"P-{k}") for c in customers for k in range(3)]
    first, second = (
        await asyncpg.connect(settings.database_url),
        await asyncpg.connect(settings.database_url),
    )
    try:
        for round_ in range(1, 4):
            await asyncio.gather(
                _write_holdings(first, pairs, round_), _write_holdings(second, pairs[::-1], round_)
            )
    finally:
        await first.close()
        await second.close()
    assert await db.fetchval("select count(*) from holdings where amount = 3") == 3000


async def _write_holdings(conn: Any, rows: list[Any], round_: int) -> None:
    async with conn.transaction():
        await queries.upsert_holdings(
            conn,
            customer_ids=[c for c, _ in rows],
            product_codes=[p for _, p in rows],
            amounts=[Decimal(round_)] * len(rows),
            as_ofs=[date(2026, 1, round_)] * len(rows),
        )


async def test_a_name_corrected_only_in_case_is_stored_and_reaches_the_rm(client, db):
    admin = await headers_of(client, "admin")
    rm01 = await headers_of(client, "rm01")
    first = await feed(client, admin, "customers", [customer_row("EN-1", name="zhang wei", seq=7)])
    assert first["inserted"] == 1
    [customer] = (await customer_ids(db, ["EN-1"])).values()
    view = f"{CUSTOMERS}/{customer}"
    assert (await client.get(view, headers=rm01)).json()["name"].startswith("z")
    logged = await db.fetchval("select count(*) from sync_log where entity_key = $1", str(customer))

    corrected = [customer_row("EN-1", name="Zhang Wei", seq=7)]
    result = await feed(client, admin, "customers", corrected)
    assert (result["updated"], result["unchanged"]) == (1, 0)
    assert (await client.get(view, headers=rm01)).json()["name"].startswith("Z")
    # The RM's devices are told (a change to pull), and the same name again changes nothing.
    after = await db.fetchval("select count(*) from sync_log where entity_key = $1", str(customer))
    assert after == logged + 1
    assert (await feed(client, admin, "customers", corrected))["unchanged"] == 1


async def test_a_customer_stored_before_the_name_check_is_not_rewritten_by_a_same_feed(client, db):
    admin = await headers_of(client, "admin")
    row = customer_row("OLD-N", name="钱九", seq=8)
    await feed(client, admin, "customers", [row])
    await db.execute("update customers set name_check = null where external_id = 'OLD-N'")
    assert (await feed(client, admin, "customers", [row]))["unchanged"] == 1


async def test_every_feed_key_is_trimmed_before_use(client, db):
    # One rule for the keys of every feed (external ids, product codes, logins): the spaces
    # around them are no part of them.
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [customer_row("QA-1", name="张三", seq=1)])
    await feed(client, admin, "products", [product_row("DEP1Y")])
    moved = customer_row(" QA-1 ", name="张三", seq=1, owner=" rm02 ", aum=5)
    result = await feed(client, admin, "customers", [moved])
    assert result == {"inserted": 0, "updated": 1, "unchanged": 0, "rejected": []}
    [(external_id, owner)] = await db.fetch("select external_id, owner_id from customers")
    assert (external_id, owner) == ("QA-1", user_id("rm02"))

    again = await feed(client, admin, "products", [product_row(" DEP1Y\t", name="Product DEP1Y")])
    assert again["unchanged"] == 1
    holding = holding_row(" QA-1", " DEP1Y", 100, "2024-06-30")
    assert (await feed(client, admin, "holdings", [holding]))["inserted"] == 1

    conversion = {
        "external_id": " CONV-1 ", "customer_external_id": "QA-1 ", "product_code": " DEP1Y",
        "kind": "purchase", "amount": "100.00", "occurred_at": "2024-07-01T10:00:00+08:00",
    }  # fmt: skip
    url = f"{FEEDS}/conversions"
    first = await client.post(url, json={"conversions": [conversion]}, headers=admin)
    assert first.status_code == 200, first.text
    assert (first.json()["inserted"], first.json()["rejected"]) == (1, [])
    resent = {**conversion, "external_id": "CONV-1"}
    second = await client.post(url, json={"conversions": [resent]}, headers=admin)
    assert (second.json()["inserted"], second.json()["unchanged"]) == (0, 1)
    stored = await db.fetchrow("select external_id, product_code from conversions")
    assert tuple(stored.values()) == ("CONV-1", "DEP1Y")

    # A key of spaces only is no key: the row is rejected, never stored empty.
    blank = [customer_row("   ", name="李四", seq=2)]
    assert rejected_codes(await feed(client, admin, "customers", blank)) == [
        (0, "customer.bad_external_id")
    ]
    blank_conversion = {**conversion, "external_id": "  "}
    refused = await client.post(url, json={"conversions": [blank_conversion]}, headers=admin)
    assert rejected_codes(refused.json()) == [(0, "conversion.bad_external_id")]
    assert await db.fetchval("select count(*) from customers") == 1
    assert await db.fetchval("select count(*) from conversions") == 1


async def test_a_key_padded_past_64_characters_names_its_customer(client, db):
    # A bank system exporting a fixed-width column pads its keys with spaces: a 64-character id
    # padded to 80 is that id; one still over 64 once trimmed is rejected alone, the feed goes on.
    admin = await headers_of(client, "admin")
    long_id = "K" * 64
    rows = [
        customer_row(long_id.ljust(80), name="张三", seq=1),
        customer_row("L" * 65, name="李四", seq=2),
        customer_row("QA-3", name="王五", seq=3),
    ]
    result = await feed(client, admin, "customers", rows)
    assert (result["inserted"], rejected_codes(result)) == (2, [(1, "customer.bad_external_id")])
    stored = await db.fetch("select external_id from customers order by external_id")
    assert [r["external_id"] for r in stored] == [long_id, "QA-3"]
    holding = holding_row(f"  {long_id}  ", "DEP1Y", 100, "2024-06-30")
    await feed(client, admin, "products", [product_row("DEP1Y")])
    assert (await feed(client, admin, "holdings", [holding]))["inserted"] == 1


async def test_two_feeds_moving_the_same_customers_at_once_take_turns(client, db, settings):
    # 300 customers of rm08 with a pending task each; two feeds at once (two API processes)
    # move them, one to rm06 and one to rm07. Whichever commits last owns them: the tasks follow
    # that owner, and each customer's timeline reads rm08 -> the first -> the last.
    admin = await headers_of(client, "admin")
    rows = [customer_row(f"MV-{n:04d}", name="周吴", seq=n, owner="rm08") for n in range(300)]
    await feed(client, admin, "customers", rows)
    ids = await customer_ids(db)
    template = await create_template(client, admin)
    due = datetime.now(UTC) + timedelta(days=3)
    await issue_tasks(
        client, db, admin, template["id"], customer_ids=list(ids.values()), due_at=due
    )
    assert await db.fetchval("select count(*) from tasks where status = 'pending'") == 300

    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)

    async def move(conn: Any, owner: str) -> Any:
        moved = [msgspec.convert({**r, "owner_login": owner}, wire.CustomerFeedRow) for r in rows]
        async with conn.transaction():
            return await feeds.upsert_customers(conn, vault=vault, rows=moved)

    first, second = [await asyncpg.connect(settings.database_url) for _ in range(2)]
    try:
        for conn in (first, second):
            await use_json_codecs(conn)
        # The customers are held until both feeds wait for them, so that they do run at once.
        async with db.transaction():
            await db.execute("select 1 from customers for update")
            moving = asyncio.gather(move(first, "rm06"), move(second, "rm07"))
            await until_waiting_for_locks(db, 2)
        results = await moving
    finally:
        await first.close()
        await second.close()
    assert [r.updated for r in results] == [300, 300]
    [final] = {r["owner_id"] for r in await db.fetch("select owner_id from customers")}
    last, between = ("rm06", "rm07") if final == user_id("rm06") else ("rm07", "rm06")
    tasks = await db.fetch("select id, customer_id, assignee_id from tasks")
    assert {t["assignee_id"] for t in tasks} == {final}
    changes = await db.fetch(
        "select customer_id, data->>'from' as before, data->>'to' as after"
        " from customer_timeline where kind = 'owner.changed' order by customer_id, occurred_at"
    )
    chains: dict[Any, list[tuple[str, str]]] = {}
    for change in changes:
        chains.setdefault(change["customer_id"], []).append((change["before"], change["after"]))
    expected = [
        (str(user_id("rm08")), str(user_id(between))),
        (str(user_id(between)), str(user_id(last))),
    ]
    assert chains == dict.fromkeys(ids.values(), expected)
    # The RM who owns them now opens the customers and their tasks; the one in between neither.
    for login, status in ((last, 200), (between, 404)):
        headers = await headers_of(client, login)
        for path in (f"{CUSTOMERS}/{tasks[0]['customer_id']}", f"/api/v1/tasks/{tasks[0]['id']}"):
            assert (await client.get(path, headers=headers)).status_code == status, path


async def test_an_invisible_character_in_a_key_or_a_product_name_is_rejected_alone(client, db):
    # "QA-Z" + a zero-width space made a second customer no one could tell from "QA-Z"; a
    # product name with a direction override read backwards on the share page.
    admin = await headers_of(client, "admin")
    rows = [
        customer_row("QA-Z", name="张三", seq=1),
        customer_row("QA-Z\u200b", name="李四", seq=2),
        customer_row("QA-\u0007", name="王五", seq=3),
        # Drawn blank: a combining grapheme joiner, a variation selector.
        customer_row("QA-Z\u034f", name="赵六", seq=4),
        customer_row("QA-Z\ufe0f", name="钱七", seq=5),
    ]
    result = await feed(client, admin, "customers", rows)
    assert (result["inserted"], rejected_codes(result)) == (
        1, [(n, "customer.bad_external_id") for n in (1, 2, 3, 4)]
    )  # fmt: skip
    products = [product_row("OK1"), product_row("BAD1", name="稳健\u202e理财"),
                product_row("BAD2", name="\u200b")]  # fmt: skip
    done = await feed(client, admin, "products", products)
    assert (done["inserted"], rejected_codes(done)) == (
        1, [(1, "product.bad_name"), (2, "product.bad_name")]
    )  # fmt: skip
    assert await db.fetchval("select count(*) from products where code like 'BAD%'") == 0

"""A customer who leaves the bank: the customer feed sends them with `status: "closed"`. They
leave the RM's daily work (the list, search, the 360° view and what hangs off it, dispatches),
their tasks not started are cancelled (客户已销户), started ones stay with the RM; their history
is kept. Sent again as `active`, they are back."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.customers_data import (
    CUSTOMERS,
    customer_ids,
    customer_row,
    feed,
    headers_of,
    id_number,
    phone,
)
from tests.tasks_data import create_template, dispatch, issue_tasks
from workbench.customers.csv_import import import_customers
from workbench.db import create_pool
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

WANG = customer_row("Q-1", name="王小明", owner="rm01", seq=1, aum=500000)
LI = customer_row("Q-2", name="李雷", owner="rm01", seq=2, aum=1000)


def closed(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "status": "closed"}


async def listed(client: Any, headers: dict[str, str], query: str = "") -> list[str]:
    response = await client.get(f"{CUSTOMERS}{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def customer_reads(client: Any, headers: dict[str, str], customer: uuid.UUID) -> list[int]:
    """The statuses of the 360° view, the timeline, the recommendations and a note (RMs)."""
    statuses = [
        (await client.get(f"{CUSTOMERS}/{customer}{path}", headers=headers)).status_code
        for path in ("", "/timeline", "/recommendations")
    ]
    return statuses


async def test_a_closed_customer_leaves_the_list_search_and_view_and_comes_back_reopened(
    client: Any, db: Any
) -> None:
    admin = await headers_of(client, "admin")
    rm01, head = await headers_of(client, "rm01"), await headers_of(client, "bh.east")
    assert (await feed(client, admin, "customers", [WANG, LI]))["inserted"] == 2
    ids = await customer_ids(db)
    wang, li = str(ids["Q-1"]), str(ids["Q-2"])
    assert await listed(client, rm01) == [wang, li]

    result = await feed(client, admin, "customers", [closed(WANG), LI])
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 1, 1)
    assert result["rejected"] == []
    # The same closed row again changes nothing.
    again = await feed(client, admin, "customers", [closed(WANG)])
    assert (again["updated"], again["unchanged"]) == (0, 1)

    for who in (rm01, head):
        assert await listed(client, who) == [li]
        assert await listed(client, who, "?q=王小明") == []
        assert await listed(client, who, f"?q={WANG['phone']}") == []
        assert await customer_reads(client, who, ids["Q-1"]) == [404, 404, 404]
        assert await customer_reads(client, who, ids["Q-2"]) == [200, 200, 200]
    note = await client.post(
        f"{CUSTOMERS}/{wang}/notes", json={"text": "回访", "kind": "call"}, headers=rm01
    )
    assert (note.status_code, note.json()["code"]) == (404, "customer.not_found")
    invite = await client.post(f"{CUSTOMERS}/{wang}/verification-invites", headers=rm01)
    assert invite.status_code == 404

    # The record is kept (its personal data still encrypted only), and the account reopened
    # brings the customer back, with the history of both.
    assert await db.fetchval("select closed_at is not null from customers where id = $1", wang)
    reopened = await feed(client, admin, "customers", [WANG])
    assert (reopened["updated"], reopened["unchanged"]) == (1, 0)
    assert await listed(client, rm01) == [wang, li]
    assert await listed(client, rm01, "?q=王小明") == [wang]
    assert await customer_reads(client, head, ids["Q-1"]) == [200, 200, 200]
    view = await client.get(f"{CUSTOMERS}/{wang}", headers=rm01)
    kinds = [entry["kind"] for entry in view.json()["timeline"]["items"]]
    assert kinds == ["customer.reopened", "customer.closed"]


async def test_a_customer_fed_closed_the_first_time_is_kept_but_never_listed(
    client: Any, db: Any
) -> None:
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    result = await feed(client, admin, "customers", [closed(WANG), LI])
    assert (result["inserted"], result["rejected"]) == (2, [])
    ids = await customer_ids(db)
    assert await listed(client, rm01) == [str(ids["Q-2"])]
    assert (await feed(client, admin, "customers", [closed(WANG)]))["unchanged"] == 1


async def test_a_status_the_feed_does_not_know_rejects_the_row_alone(client: Any, db: Any) -> None:
    admin = await headers_of(client, "admin")
    result = await feed(client, admin, "customers", [{**WANG, "status": "dormant"}, LI])
    assert result["inserted"] == 1
    [rejected] = result["rejected"]
    assert (rejected["index"], rejected["code"]) == (0, "row.invalid")
    assert rejected["detail"].startswith("$.status")
    assert "dormant" not in rejected["detail"]


async def test_closing_cancels_the_pending_tasks_and_leaves_the_started_ones(
    client: Any, db: Any
) -> None:
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    await feed(client, admin, "customers", [WANG, LI])
    ids = await customer_ids(db)
    template = await create_template(client, admin, reminders=[{"minutes_before_due": 60}])
    due = await db.fetchval("select now() + interval '3 days'")
    first = await issue_tasks(client, db, admin, template["id"], customer_ids=[ids["Q-1"]],
                              due_at=due)  # fmt: skip
    second = await issue_tasks(client, db, admin, template["id"], customer_ids=[ids["Q-1"]],
                               due_at=due + timedelta(hours=1))  # fmt: skip
    others = await issue_tasks(client, db, admin, template["id"], customer_ids=[ids["Q-2"]],
                               due_at=due)  # fmt: skip
    [(_, pending, _)], [(_, started, _)], [(_, other, _)] = first, second, others
    response = await client.post(f"/api/v1/tasks/{started}/start", headers=rm01)
    assert response.status_code == 200, response.text

    await feed(client, admin, "customers", [closed(WANG)])

    shown = await client.get(f"/api/v1/tasks/{pending}", headers=rm01)
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "cancelled"
    row = await db.fetchrow("select cancel_reason, cancelled_at from tasks where id = $1", pending)
    assert row["cancel_reason"] == "客户已销户"
    assert row["cancelled_at"] is not None
    assert await reminder_statuses(db, pending) == {"cancelled"}
    inbox = await client.get("/api/v1/tasks", headers=rm01)
    assert str(pending) not in [t["id"] for t in inbox.json()["items"]]
    # The started one stays with the RM to finish, its reminders too; the other customer's too.
    for task in (started, other):
        assert await db.fetchval("select status from tasks where id = $1", task) in (
            "pending", "in_progress",
        )  # fmt: skip
        assert await reminder_statuses(db, task) == {"pending"}

    # Reopened, nothing comes back by itself: a cancelled task stays cancelled.
    await feed(client, admin, "customers", [WANG])
    assert await db.fetchval("select status from tasks where id = $1", pending) == "cancelled"


async def reminder_statuses(db: Any, task_id: uuid.UUID) -> set[str]:
    rows = await db.fetch("select status from task_reminders where task_id = $1", task_id)
    return {r["status"] for r in rows}


async def test_a_closed_customer_is_no_dispatch_target(client: Any, db: Any) -> None:
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [closed(WANG), LI])
    ids = await customer_ids(db)
    template = await create_template(client, admin)

    result = await dispatch(client, admin, template["id"], customer_ids=[ids["Q-1"], ids["Q-2"]])
    assert (result["created"], result["not_found"], result["no_active_rm"]) == (1, 1, 0)
    about = await db.fetch("select customer_id from tasks where dispatch_id = $1", result["id"])
    assert [r["customer_id"] for r in about] == [ids["Q-2"]]

    # Reopened, the same customer is a target again.
    await feed(client, admin, "customers", [WANG])
    again = await dispatch(client, admin, template["id"], customer_ids=[ids["Q-1"]])
    assert (again["created"], again["not_found"]) == (1, 0)


async def test_a_verification_link_of_a_customer_who_left_says_it_expired(
    client: Any, db: Any
) -> None:
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    await feed(client, admin, "customers", [WANG])
    customer = (await customer_ids(db))["Q-1"]
    made = await client.post(f"{CUSTOMERS}/{customer}/verification-invites", headers=rm01)
    assert made.status_code == 201, made.text
    link = "/v/" + made.json()["url"].split("/v/", 1)[1]
    assert (await client.get(link)).status_code == 200

    await feed(client, admin, "customers", [closed(WANG)])
    assert (await client.get(link)).status_code == 410
    answers = {"name": WANG["name"], "id_number": WANG["id_number"], "phone": WANG["phone"]}
    posted = await client.post(link, data=answers)
    assert posted.status_code == 410, posted.text
    assert await db.fetchval("select verified_at from customers where id = $1", customer) is None
    # Reopened, the customer keeps the link they were told had expired expired: the RM invites
    # them again.
    await feed(client, admin, "customers", [WANG])
    assert (await client.get(link)).status_code == 410
    again = await client.post(f"{CUSTOMERS}/{customer}/verification-invites", headers=rm01)
    assert again.status_code == 201, again.text


async def test_a_csv_file_closes_and_reopens_by_its_status_column(
    client: Any, db: Any, settings: Any, tmp_path: Any
) -> None:
    rm01 = await headers_of(client, "rm01")
    header = "external_id,name,id_number,phone,owner_login,risk_level,status\n"
    csv_file = tmp_path / "customers.csv"
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    pool = await create_pool(settings.database_url, max_size=2)
    try:

        async def imported(*statuses: str) -> tuple[Any, list[Any]]:
            lines = [f"CSV-{n},客户{n},{id_number(n)},{phone(n)},rm01,C2,{status}\n"
                     for n, status in enumerate(statuses, start=1)]  # fmt: skip
            csv_file.write_text(header + "".join(lines), encoding="utf-8")
            return await import_customers(pool, vault=vault, path=csv_file)

        totals, rejected = await imported("", "Closed", "active")
        assert (totals.inserted, rejected) == (3, [])
        ids = await customer_ids(db)
        assert sorted(await listed(client, rm01)) == sorted(str(ids[e]) for e in ("CSV-1", "CSV-3"))
        totals, rejected = await imported("closed", "", "ACTIVE")
        assert (totals.updated, totals.unchanged, rejected) == (2, 1, [])
        assert sorted(await listed(client, rm01)) == sorted(str(ids[e]) for e in ("CSV-2", "CSV-3"))
        _, rejected = await imported("gone")
        assert [(line, code) for line, code, _ in rejected] == [(2, "customer.unreadable")]
    finally:
        await pool.close()

"""A started task stays with the RM who started it when a feed moves its customer to another RM,
and its form can still be submitted naming that customer (online and from offline sync); other
customers that are not the RM's stay refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.sync.sync_data import PUSH
from tests.tasks_data import TASKS, create_template, field, issue_tasks, user

pytestmark = pytest.mark.usefixtures("demo_bank")

ROWS = {"M1": ("rm05", 1), "M2": ("rm05", 2), "O1": ("rm06", 3)}


async def _started_task_of_a_moved_customer(client: Any, db: Any) -> dict[str, Any]:
    """rm05 starts a task about M1 and M2 (one each); a feed then moves both to rm06."""
    admin = await headers_of(client, "admin")
    rows = [customer_row(e, name=f"客户{seq}", owner=o, seq=seq) for e, (o, seq) in ROWS.items()]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    ids = await customer_ids(db, list(ROWS))
    template = await create_template(
        client, admin, field("who", "customer", required=True), field("notes", "text"),
        name="Visit",
    )  # fmt: skip
    tasks = await issue_tasks(
        client, db, admin, template["id"], customer_ids=[ids["M1"], ids["M2"]]
    )
    by_customer = {customer: task for login, task, customer in tasks if login == "rm05"}
    rm05 = await headers_of(client, "rm05")
    for task in by_customer.values():
        started = await client.post(f"{TASKS}/{task}/start", headers=rm05)
        assert started.status_code == 200, started.text
    moved = [customer_row(e, name=f"客户{ROWS[e][1]}", owner="rm06", seq=ROWS[e][1])
             for e in ("M1", "M2")]  # fmt: skip
    assert (await feed(client, admin, "customers", moved))["rejected"] == []
    owners = await db.fetch("select owner_id from customers where id = any($1)", list(by_customer))
    assert [r["owner_id"] for r in owners] == [user("rm06")] * 2
    assignees = await db.fetch("select assignee_id from tasks where id = any($1)",
                               list(by_customer.values()))  # fmt: skip
    assert [r["assignee_id"] for r in assignees] == [user("rm05")] * 2  # started: stay rm05's
    return {"ids": ids, "tasks": by_customer, "rm05": rm05}


async def test_a_started_task_is_submitted_naming_its_own_customer_after_a_move(client, db):
    s = await _started_task_of_a_moved_customer(client, db)
    ids, rm05 = s["ids"], s["rm05"]
    task = s["tasks"][ids["M1"]]

    # Another customer that is not rm05's is still refused: M2 (moved to rm06) is not this
    # task's customer, nor is O1 (rm06's all along).
    for other in (ids["M2"], ids["O1"]):
        refused = await client.post(
            f"{TASKS}/{task}/submit", json={"values": {"who": str(other)}}, headers=rm05
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "task.invalid_submission"
        assert refused.json()["errors"] == [
            {"path": "$.values.who", "message": "not one of your customers"}
        ]

    done = await client.post(
        f"{TASKS}/{task}/submit", json={"values": {"who": str(ids["M1"])}}, headers=rm05
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert done.json()["values"]["who"] == str(ids["M1"])


async def test_an_offline_draft_naming_the_tasks_customer_is_applied_after_a_move(client, db):
    s = await _started_task_of_a_moved_customer(client, db)
    ids, rm05 = s["ids"], s["rm05"]
    task = s["tasks"][ids["M2"]]
    body = {
        "client_id": "phone",
        "mutations": [
            {"id": 1, "name": "task.submit",
             "args": {"task_id": str(task), "values": {"who": str(ids["M2"])}}},
        ],
    }  # fmt: skip
    response = await client.post(PUSH, json=body, headers=rm05)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["status"] == "applied", result
    assert result["result"]["status"] == "done"
    assert await db.fetchval("select status from tasks where id = $1", task) == "done"

"""A customer who leaves the bank takes their tasks' reminders with them: the RM's phone is not
reminded of a visit to a customer who closed their accounts, even of a reminder already in the
push outbox, while the reminders of their other customers' tasks are sent as ever. Through the
worker's reminder job, the push outbox and the fake APNs, as the RM's phone sees it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from push import jobs
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.push import conftest as push_fixtures
from tests.push_data import register
from tests.tasks_data import create_template, issue_tasks

# The push tests' fixtures: the fake APNs/FCM/HMS and a Deliverer wired like the worker's.
deliverer = push_fixtures.deliverer
fake = push_fixtures.fake
make_deliverer = push_fixtures.make_deliverer
pool = push_fixtures.pool
push_settings = push_fixtures.push_settings
redis = push_fixtures.redis

pytestmark = pytest.mark.usefixtures("demo_bank")

ROWS = [
    customer_row("R-1", name="王小明", owner="rm01", seq=1),
    customer_row("R-2", name="李雷", owner="rm01", seq=2),
]


async def test_no_reminder_of_a_closed_customers_task_reaches_the_phone(
    client: Any, db: Any, pool: Any, push_settings: Any, deliverer: Any, fake: Any
) -> None:
    await register(client, "rm01", platform="ios", provider="apns", token="f" * 64)
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", ROWS)
    ids = await customer_ids(db)
    template = await create_template(client, admin, reminders=[{"minutes_before_due": 60}])
    # Due in 50 minutes: the 60-minute reminder of each task is due at once.
    due = (await db.fetchval("select now()") + timedelta(minutes=50)).replace(microsecond=0)
    tasks = await issue_tasks(client, db, admin, template["id"], due_at=due,
                              customer_ids=[ids["R-1"], ids["R-2"]])  # fmt: skip
    assert len(tasks) == 2
    # The worker's job has put both reminders into the outbox, not sent yet.
    assert await jobs.queue_reminders({"pool": pool, "settings": push_settings}) == 2

    closed = {**ROWS[0], "status": "closed"}
    assert (await feed(client, admin, "customers", [closed]))["updated"] == 1

    await jobs.queue_reminders({"pool": pool, "settings": push_settings})
    await deliverer.run_round()
    assert [s.body["aps"]["alert"]["title"] for s in fake.sent] == ["任务即将到期"]
    # The one sent is of the customer still with the bank.
    [(task, customer)] = [(t, c) for _, t, c in tasks if c == ids["R-2"]]
    assert await db.fetchval("select status from tasks where id = $1", task) == "pending"
    assert customer == ids["R-2"]
    gone = await db.fetch(
        "select n.push_status from notifications n"
        " join tasks t on t.id = (n.data->>'task_id')::uuid"
        " where t.customer_id = $1",
        ids["R-1"],
    )
    assert [r["push_status"] for r in gone] == ["withdrawn"]  # queued, then withdrawn

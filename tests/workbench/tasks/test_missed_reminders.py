"""A task created (or moved) inside its reminder window: the before-due reminders whose time
has already passed are not all lost, nor all sent: the RM gets one "任务即将到期" at once (the
closest passed offset), then the rest as ever, before the task is due. Through the worker's
reminder job, the push outbox and the fake APNs, as the RM's phone sees it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from push import jobs
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.push import conftest as push_fixtures
from tests.push_data import register
from tests.tasks_data import create_template, issue

# The push tests' fixtures: the fake APNs/FCM/HMS and a Deliverer wired like the worker's.
deliverer = push_fixtures.deliverer
fake = push_fixtures.fake
make_deliverer = push_fixtures.make_deliverer
pool = push_fixtures.pool
push_settings = push_fixtures.push_settings
redis = push_fixtures.redis

pytestmark = pytest.mark.usefixtures("demo_bank")

OFFSETS = [{"minutes_before_due": 1440}, {"minutes_before_due": 60}]
TOKEN = "f" * 64


async def db_now(db: Any) -> datetime:
    now: datetime = await db.fetchval("select now()")
    return now


async def reminders_of(db: Any, task_id: uuid.UUID) -> dict[tuple[str, int], Any]:
    rows = await db.fetch(
        "select kind, offset_minutes, send_at from task_reminders"
        " where task_id = $1 and status = 'pending'",
        task_id,
    )
    return {(r["kind"], r["offset_minutes"]): r["send_at"] for r in rows}


async def what_the_phone_shows(workers: Any, settings: Any, sender: Any, phone: Any) -> list[str]:
    """The worker's reminder job runs, then a delivery round: the alert titles pushed."""
    await jobs.queue_reminders({"pool": workers, "settings": settings})
    await sender.run_round()
    return [s.body["aps"]["alert"]["title"] for s in phone.sent]


async def rm01_task(client: Any, db: Any, *, due_in: timedelta) -> uuid.UUID:
    await register(client, "rm01", platform="ios", provider="apns", token=TOKEN)
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, reminders=OFFSETS)
    due = (await db_now(db) + due_in).replace(microsecond=0)
    tasks = await issue(client, db, admin, template["id"], due_at=due, org_unit="team-east-1")
    return tasks["rm01"]


async def test_a_task_dispatched_50_minutes_before_due_gets_one_reminder_now(
    client,
    db,
    pool,
    push_settings,
    deliverer,
    fake,
):
    task_id = await rm01_task(client, db, due_in=timedelta(minutes=50))
    reminders = await reminders_of(db, task_id)
    # One before-due reminder (the 60-minute one, the closest passed), now; not the 1440 one.
    assert set(reminders) == {("before_due", 60), ("at_due", 0)}
    assert reminders[("before_due", 60)] <= await db_now(db)
    assert await what_the_phone_shows(pool, push_settings, deliverer, fake) == ["任务即将到期"]
    # And nothing more until the due time.
    assert await what_the_phone_shows(pool, push_settings, deliverer, fake) == ["任务即将到期"]


async def test_only_the_passed_offsets_are_sent_now_the_rest_keep_their_time(
    client,
    db,
    pool,
    push_settings,
    deliverer,
    fake,
):
    task_id = await rm01_task(client, db, due_in=timedelta(hours=3))
    due = await db.fetchval("select due_at from tasks where id = $1", task_id)
    reminders = await reminders_of(db, task_id)
    assert set(reminders) == {("before_due", 1440), ("before_due", 60), ("at_due", 0)}
    assert reminders[("before_due", 1440)] <= await db_now(db)
    assert reminders[("before_due", 60)] == due - timedelta(hours=1)
    assert reminders[("at_due", 0)] == due
    assert await what_the_phone_shows(pool, push_settings, deliverer, fake) == ["任务即将到期"]


async def test_a_task_moved_to_50_minutes_ahead_gets_one_reminder_now(
    client,
    db,
    pool,
    push_settings,
    deliverer,
    fake,
):
    task_id = await rm01_task(client, db, due_in=timedelta(days=3))
    assert await what_the_phone_shows(pool, push_settings, deliverer, fake) == []
    new_due = (await db_now(db) + timedelta(minutes=50)).replace(microsecond=0)
    moved = await client.patch(
        f"/api/v1/tasks/{task_id}",
        json={"due_at": new_due.isoformat()},
        headers=await headers_of(client, "rm01"),
    )
    assert moved.status_code == 200, moved.text
    assert set(await reminders_of(db, task_id)) == {("before_due", 60), ("at_due", 0)}
    assert await what_the_phone_shows(pool, push_settings, deliverer, fake) == ["任务即将到期"]


async def test_a_rule_task_due_within_its_reminder_window_gets_one_reminder_now(
    client,
    db,
    pool,
    push_settings,
    deliverer,
    fake,
):
    await register(client, "rm01", platform="ios", provider="apns", token=TOKEN)
    admin = await headers_of(client, "admin")
    rows = [customer_row("M1", name="客户一", owner="rm01", seq=1)]
    assert (await feed(client, admin, "customers", rows))["rejected"] == []
    await customer_ids(db)
    template = await create_template(client, admin, reminders=OFFSETS)
    rule = {"name": "inflow", "event_kind": "deposit", "field": "amount", "op": "gt", "value": 0,
            "template_id": template["id"], "within_days": 7, "due_in_hours": 1}  # fmt: skip
    assert (await client.post("/api/v1/task-rules", json=rule, headers=admin)).status_code == 201
    events = {"events": [{"kind": "deposit", "customer_external_id": "M1",
                          "occurred_at": (await db_now(db)).isoformat(),
                          "data": {"amount": 10}}]}  # fmt: skip
    response = await client.post("/api/v1/integration/events", json=events, headers=admin)
    assert response.json()["tasks_created"] == 1
    task_id = await db.fetchval("select id from tasks")
    assert set(await reminders_of(db, task_id)) == {("before_due", 60), ("at_due", 0)}
    assert await what_the_phone_shows(pool, push_settings, deliverer, fake) == ["任务即将到期"]


async def test_a_task_due_with_every_reminder_ahead_is_unchanged(client, db):
    task_id = await rm01_task(client, db, due_in=timedelta(days=3))
    due = await db.fetchval("select due_at from tasks where id = $1", task_id)
    assert await reminders_of(db, task_id) == {
        ("before_due", 1440): due - timedelta(days=1),
        ("before_due", 60): due - timedelta(hours=1),
        ("at_due", 0): due,
    }

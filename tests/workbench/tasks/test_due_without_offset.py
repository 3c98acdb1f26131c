"""A due time written without a UTC offset is UTC wherever an app sends one: dispatching a task,
moving it (`PATCH /tasks/{id}` answered 422 "Expected datetime with a timezone component" for
the value a dispatch took), and filtering the inbox by it (read in the server's own zone)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import TASKS, create_template, issue

pytestmark = pytest.mark.usefixtures("demo_bank")


async def _task_due(client, db, due: datetime):
    """A task of rm01 dispatched with `due` as written (no offset), and rm01's headers."""
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin)
    tasks = await issue(client, db, admin, template["id"], org_unit="team-east-1", due_at=due)
    return tasks["rm01"], await headers_of(client, "rm01")


async def test_a_due_time_without_an_offset_is_utc_when_moved_as_when_dispatched(client, db):
    due = datetime.now(UTC).replace(microsecond=0, tzinfo=None) + timedelta(days=3)
    task_id, rm01 = await _task_due(client, db, due)
    stored = "select due_at from tasks where id = $1"
    assert await db.fetchval(stored, task_id) == due.replace(tzinfo=UTC)

    later = due + timedelta(days=2)
    response = await client.patch(
        f"{TASKS}/{task_id}", json={"due_at": later.isoformat()}, headers=rm01
    )
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["due_at"]) == later.replace(tzinfo=UTC)
    assert await db.fetchval(stored, task_id) == later.replace(tzinfo=UTC)
    at_due = "select send_at from task_reminders where task_id = $1 and kind = 'at_due'"
    assert await db.fetchval(at_due, task_id) == later.replace(tzinfo=UTC)


async def test_a_due_time_without_an_offset_in_the_past_is_refused_as_past(client, db):
    due = datetime.now(UTC).replace(microsecond=0, tzinfo=None) + timedelta(days=3)
    task_id, rm01 = await _task_due(client, db, due)
    past = datetime.now(UTC).replace(microsecond=0, tzinfo=None) - timedelta(minutes=5)
    response = await client.patch(
        f"{TASKS}/{task_id}", json={"due_at": past.isoformat()}, headers=rm01
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "task.due_in_past"


async def test_an_inbox_filter_without_an_offset_is_utc_whatever_the_servers_zone(
    client, db, monkeypatch
):
    due = datetime.now(UTC).replace(microsecond=0, tzinfo=None) + timedelta(days=3)
    task_id, rm01 = await _task_due(client, db, due)
    hour_after = (due + timedelta(hours=1)).isoformat()
    monkeypatch.setenv("TZ", "Asia/Shanghai")  # a server running in the bank's zone
    time.tzset()
    try:
        after = await client.get(TASKS, params={"due_after": hour_after}, headers=rm01)
        before = await client.get(TASKS, params={"due_before": hour_after}, headers=rm01)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert after.status_code == before.status_code == 200, (after.text, before.text)
    assert str(task_id) not in [t["id"] for t in after.json()["items"]]
    assert str(task_id) in [t["id"] for t in before.json()["items"]]

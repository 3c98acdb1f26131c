"""Task lifecycle: every transition, illegal ones answering 409 with the current status,
reminders stopped when a task closes, expiry by the worker job, and the customer's timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.tasks_data import (
    TASKS,
    create_template,
    field,
    issue,
    issue_tasks,
    stored_answers,
    task_state,
    user,
)
from workbench.db import create_pool
from workbench.settings import Settings
from workbench.tasks.jobs import expire_tasks

pytestmark = pytest.mark.usefixtures("demo_bank")

FIELDS = [field("notes", "text", required=True)]
GOOD = {"values": {"notes": "met the client"}}


@dataclass
class Flow:
    client: Any
    db: Any
    admin: dict[str, str]
    rm01: dict[str, str]
    plain: str  # template without customer confirmation
    confirmed: str  # template with it
    due_at: datetime
    settings: Settings

    async def task(self, *, confirm: bool = False) -> uuid.UUID:
        """A new pending task of rm01 (rm02 gets one too, from the same dispatch)."""
        template = self.confirmed if confirm else self.plain
        tasks = await issue(
            self.client, self.db, self.admin, template, org_unit="team-east-1", due_at=self.due_at
        )
        return tasks["rm01"]

    async def act(self, task_id: uuid.UUID, action: str, headers: dict[str, str] | None = None):
        body = GOOD if action == "submit" else None
        return await self.client.post(
            f"{TASKS}/{task_id}/{action}", json=body, headers=headers or self.rm01
        )

    async def to(self, status: str) -> uuid.UUID:
        """A task of rm01 brought to `status` through the API (submitted: set in the DB)."""
        task_id = await self.task(confirm=status == "awaiting_confirmation")
        steps = {
            "pending": [],
            "in_progress": ["start"],
            "submitted": ["start"],
            "awaiting_confirmation": ["start", "submit"],
            "done": ["start", "submit"],
            "cancelled": ["cancel"],
            "expired": [],
        }[status]
        for step in steps:
            response = await self.act(task_id, step)
            assert response.status_code == 200, response.text
        if status == "submitted":  # only a passing state inside one request: set it directly
            await self.db.execute(
                "update tasks set status = 'submitted', submitted_at = now() where id = $1",
                task_id,
            )
        if status == "expired":
            await self.db.execute(
                "update tasks set expires_at = now() - interval '1 minute' where id = $1", task_id
            )
            assert await run_expiry(self.settings) >= 1
        assert await self.db.fetchval("select status from tasks where id = $1", task_id) == status
        return task_id

    async def reminders(self, task_id: uuid.UUID) -> list[tuple[str, int, str]]:
        rows = await self.db.fetch(
            "select kind, offset_minutes, status from task_reminders where task_id = $1"
            " order by offset_minutes desc",
            task_id,
        )
        return [(r["kind"], r["offset_minutes"], r["status"]) for r in rows]


async def run_expiry(settings: Settings) -> int:
    """Run the worker job as the worker does: with a pool of its own and the settings."""
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        count: int = await expire_tasks({"pool": pool, "settings": settings})
    finally:
        await pool.close()
    return count


@pytest.fixture
async def flow(client, db, settings) -> Flow:
    admin = await headers_of(client, "admin")
    reminders = [{"minutes_before_due": 60}, {"minutes_before_due": 1440}]
    plain = await create_template(client, admin, *FIELDS, name="Plain", reminders=reminders)
    confirmed = await create_template(
        client,
        admin,
        *FIELDS,
        name="Confirmed",
        reminders=reminders,
        requires_customer_confirmation=True,
    )
    due_at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    rm01 = await headers_of(client, "rm01")
    return Flow(client, db, admin, rm01, plain["id"], confirmed["id"], due_at, settings)


# ---- forward transitions ---------------------------------------------------------------------


async def test_start_moves_a_pending_task_in_progress(flow):
    task_id = await flow.task()
    detail = await flow.client.get(f"{TASKS}/{task_id}", headers=flow.rm01)
    assert detail.status_code == 200, detail.text
    assert (detail.json()["status"], detail.json()["started_at"]) == ("pending", None)

    started = await flow.act(task_id, "start")
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "in_progress"
    assert started.json()["started_at"] is not None
    row = await task_state(flow.db, task_id)
    assert row["status"] == "in_progress"
    assert row["started_at"] is not None


async def test_starting_twice_is_a_conflict_with_the_current_status(flow):
    task_id = await flow.to("in_progress")
    before = await task_state(flow.db, task_id)
    again = await flow.act(task_id, "start")
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "task.illegal_transition"
    assert again.json()["current_status"] == "in_progress"
    assert await task_state(flow.db, task_id) == before


async def test_submitting_a_pending_task_is_a_conflict(flow):
    task_id = await flow.task()
    before = await task_state(flow.db, task_id)
    response = await flow.act(task_id, "submit")
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "task.illegal_transition"
    assert response.json()["current_status"] == "pending"
    assert await task_state(flow.db, task_id) == before
    assert before["form_values"] is None
    assert before["form_values_enc"] is None


async def test_a_valid_submission_without_confirmation_is_done(flow):
    task_id = await flow.to("in_progress")
    response = await flow.act(task_id, "submit")
    assert response.status_code == 200, response.text
    task = response.json()
    assert task["status"] == "done"
    assert task["requires_customer_confirmation"] is False
    assert task["values"] == GOOD["values"]
    assert task["submitted_at"] is not None
    assert task["done_at"] is not None
    row = await task_state(flow.db, task_id)
    assert row["status"] == "done"
    assert await stored_answers(flow.db, flow.settings, task_id) == GOOD["values"]
    # Done tasks leave the inbox.
    inbox = await flow.client.get(TASKS, headers=flow.rm01)
    assert str(task_id) not in [t["id"] for t in inbox.json()["items"]]


async def test_a_valid_submission_with_confirmation_awaits_the_customer(flow):
    task_id = await flow.task(confirm=True)
    assert (await flow.act(task_id, "start")).status_code == 200
    response = await flow.act(task_id, "submit")
    assert response.status_code == 200, response.text
    task = response.json()
    assert task["status"] == "awaiting_confirmation"
    assert task["requires_customer_confirmation"] is True
    assert task["values"] == GOOD["values"]
    assert task["submitted_at"] is not None
    assert task["done_at"] is None
    assert all(status == "pending" for _, _, status in await flow.reminders(task_id))
    for action in ("start", "submit"):
        refused = await flow.act(task_id, action)
        assert refused.status_code == 409, refused.text
        assert refused.json()["current_status"] == "awaiting_confirmation"


# ---- cancel ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "in_progress", "submitted", "awaiting_confirmation"])
async def test_every_open_state_can_be_cancelled(flow, status):
    task_id = await flow.to(status)
    response = await flow.client.post(
        f"{TASKS}/{task_id}/cancel", json={"reason": "customer moved away"}, headers=flow.rm01
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    # The reason is shown with the task (it was stored and never shown).
    assert response.json()["cancel_reason"] == "customer moved away"
    shown = await flow.client.get(f"{TASKS}/{task_id}", headers=flow.rm01)
    assert shown.json()["cancel_reason"] == "customer moved away"
    row = await flow.db.fetchrow(
        "select status, cancel_reason, cancelled_at from tasks where id = $1", task_id
    )
    assert row["status"] == "cancelled"
    assert row["cancel_reason"] == "customer moved away"
    assert all(status == "cancelled" for _, _, status in await flow.reminders(task_id))


async def test_cancel_without_a_body(flow):
    task_id = await flow.task()
    response = await flow.client.post(f"{TASKS}/{task_id}/cancel", headers=flow.rm01)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize("status", ["done", "cancelled", "expired"])
@pytest.mark.parametrize("action", ["start", "submit", "cancel"])
async def test_closed_tasks_refuse_every_transition(flow, status, action):
    task_id = await flow.to(status)
    before = await task_state(flow.db, task_id)
    reminders = await flow.reminders(task_id)
    response = await flow.act(task_id, action)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "task.illegal_transition"
    assert problem["current_status"] == status
    assert await task_state(flow.db, task_id) == before
    assert await flow.reminders(task_id) == reminders


# ---- who may act -----------------------------------------------------------------------------


async def test_branch_head_cancels_a_subtree_task_but_does_not_work_on_it(flow):
    task_id = await flow.task()
    head = await headers_of(flow.client, "bh.east")
    for action in ("start", "submit"):
        refused = await flow.act(task_id, action, headers=head)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "auth.forbidden"
    assert (await task_state(flow.db, task_id))["status"] == "pending"

    west = await headers_of(flow.client, "bh.west")
    hidden = await flow.act(task_id, "cancel", headers=west)
    assert hidden.status_code == 404, hidden.text
    colleague = await headers_of(flow.client, "rm02")
    hidden = await flow.act(task_id, "cancel", headers=colleague)
    assert hidden.status_code == 404, hidden.text
    assert (await task_state(flow.db, task_id))["status"] == "pending"

    cancelled = await flow.client.post(
        f"{TASKS}/{task_id}/cancel", json={"reason": "duplicate"}, headers=head
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert all(status == "cancelled" for _, _, status in await flow.reminders(task_id))


@pytest.mark.parametrize("who", ["marketing", "compliance", "admin"])
async def test_other_roles_cannot_act_on_tasks(flow, who):
    task_id = await flow.task()
    headers = await headers_of(flow.client, who)
    for action in ("start", "submit", "cancel"):
        refused = await flow.act(task_id, action, headers=headers)
        assert refused.status_code == 403, (action, refused.text)
    assert (await task_state(flow.db, task_id))["status"] == "pending"


# ---- reminders -------------------------------------------------------------------------------


async def test_reminders_are_recorded_and_done_cancels_the_pending_ones(flow):
    task_id = await flow.task()
    rows = await flow.db.fetch(
        "select kind, offset_minutes, send_at, status, user_id from task_reminders"
        " where task_id = $1 order by offset_minutes desc",
        task_id,
    )
    assert [(r["kind"], r["offset_minutes"], r["status"]) for r in rows] == [
        ("before_due", 1440, "pending"),
        ("before_due", 60, "pending"),
        ("at_due", 0, "pending"),
    ]
    assert [r["send_at"] for r in rows] == [
        flow.due_at - timedelta(minutes=1440),
        flow.due_at - timedelta(minutes=60),
        flow.due_at,
    ]
    assert {r["user_id"] for r in rows} == {user("rm01")}

    assert (await flow.act(task_id, "start")).status_code == 200
    assert all(status == "pending" for _, _, status in await flow.reminders(task_id))
    assert (await flow.act(task_id, "submit")).status_code == 200
    assert [s for _, _, s in await flow.reminders(task_id)] == ["cancelled"] * 3
    # rm02's task of the same dispatch keeps its reminders.
    still = await flow.db.fetchval(
        "select count(*) from task_reminders where user_id = $1 and status = 'pending'",
        user("rm02"),
    )
    assert still == 3


async def test_a_sent_reminder_stays_sent_when_the_task_closes(flow):
    task_id = await flow.task()
    await flow.db.execute(
        "update task_reminders set status = 'sent' where task_id = $1 and offset_minutes = 1440",
        task_id,
    )
    assert (await flow.act(task_id, "cancel")).status_code == 200
    assert await flow.reminders(task_id) == [
        ("before_due", 1440, "sent"),
        ("before_due", 60, "cancelled"),
        ("at_due", 0, "cancelled"),
    ]


# ---- expiry ----------------------------------------------------------------------------------


async def test_expiry_job_expires_open_tasks_past_their_expiry_once(flow):
    overdue_pending = await flow.task()
    overdue_started = await flow.to("in_progress")
    overdue_waiting = await flow.to("awaiting_confirmation")
    not_yet = await flow.task()
    already_done = await flow.to("done")
    past = datetime.now(UTC) - timedelta(minutes=5)
    for task_id in (overdue_pending, overdue_started, overdue_waiting, already_done):
        await flow.db.execute("update tasks set expires_at = $2 where id = $1", task_id, past)
    await flow.db.execute(
        "update tasks set expires_at = now() + interval '1 hour' where id = $1", not_yet
    )
    untouched = {t: await task_state(flow.db, t) for t in (not_yet, already_done)}

    assert await run_expiry(flow.settings) == 3
    for task_id in (overdue_pending, overdue_started, overdue_waiting):
        row = await flow.db.fetchrow("select status, expired_at from tasks where id = $1", task_id)
        assert row["status"] == "expired"
        assert row["expired_at"] is not None
        assert [s for _, _, s in await flow.reminders(task_id)] == ["cancelled"] * 3
        detail = await flow.client.get(f"{TASKS}/{task_id}", headers=flow.rm01)
        assert detail.json()["status"] == "expired"
    for task_id, state in untouched.items():
        assert await task_state(flow.db, task_id) == state
    assert all(s == "pending" for _, _, s in await flow.reminders(not_yet))
    # rm02's tasks of the same dispatches have no expiry and stay open.
    assert (
        await flow.db.fetchval(
            "select count(*) from tasks where assignee_id = $1 and status = 'pending'", user("rm02")
        )
        == 5
    )

    snapshot = await flow.db.fetch("select * from tasks order by id")
    reminders = await flow.db.fetch(
        "select * from task_reminders order by task_id, kind, offset_minutes"
    )
    assert await run_expiry(flow.settings) == 0
    assert await flow.db.fetch("select * from tasks order by id") == snapshot
    assert (
        await flow.db.fetch("select * from task_reminders order by task_id, kind, offset_minutes")
        == reminders
    )


# ---- the customer's timeline -----------------------------------------------------------------


async def test_a_done_task_for_a_customer_joins_the_customer_timeline(flow):
    client, db = flow.client, flow.db
    await feed(
        client, flow.admin, "customers", [customer_row("C-1", name="张小三", owner="rm01", seq=1)]
    )
    customer = (await customer_ids(db))["C-1"]
    [(login, task_id, customer_id)] = await issue_tasks(
        client, db, flow.admin, flow.plain, customer_ids=[customer], title="Annual review"
    )
    assert (login, customer_id) == ("rm01", customer)
    no_customer = await flow.task()
    for t in (task_id, no_customer):
        assert (await flow.act(t, "start")).status_code == 200
        assert (await flow.act(t, "submit")).status_code == 200

    rows = await db.fetch(
        "select customer_id, kind, source, source_id, actor_id from customer_timeline"
    )
    assert [dict(r) for r in rows] == [
        {
            "customer_id": customer,
            "kind": "task.done",
            "source": "task",
            "source_id": str(task_id),
            "actor_id": user("rm01"),
        }
    ]
    view = await client.get(f"/api/v1/customers/{customer}/timeline", headers=flow.rm01)
    assert view.status_code == 200, view.text
    assert [e["kind"] for e in view.json()["items"]] == ["task.done"]


async def test_a_cancelled_task_leaves_no_timeline_entry(flow):
    client, db = flow.client, flow.db
    await feed(
        client, flow.admin, "customers", [customer_row("C-1", name="张小三", owner="rm01", seq=1)]
    )
    customer = (await customer_ids(db))["C-1"]
    [(_, task_id, _)] = await issue_tasks(
        client, db, flow.admin, flow.plain, customer_ids=[customer]
    )
    assert (await flow.act(task_id, "cancel")).status_code == 200
    assert await db.fetchval("select count(*) from customer_timeline") == 0


async def test_a_cancel_reason_that_would_read_otherwise_is_422_and_the_task_stays_open(flow):
    task_id = await flow.task()
    refused = await flow.client.post(
        f"{TASKS}/{task_id}/cancel", json={"reason": "客户\u202e搬走了"}, headers=flow.rm01
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "request.validation_failed"
    assert [e["path"] for e in refused.json()["errors"]] == ["$.reason"]
    row = await flow.db.fetchrow("select status, cancel_reason from tasks where id = $1", task_id)
    assert (row["status"], row["cancel_reason"]) == ("pending", None)
    kept = await flow.client.post(
        f"{TASKS}/{task_id}/cancel", json={"reason": "客户搬走了\n下月再约"}, headers=flow.rm01
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["status"] == "cancelled"

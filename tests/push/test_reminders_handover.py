"""A customer handed over to another RM by a bank feed takes their pending task along with the
reminders not sent yet: those the worker had already queued into the outbox for the former RM,
but not pushed, are withdrawn there and reach the new RM instead (at their own time, or at once
if it has passed), once each; one already pushed to the former RM is not sent again.

Time is never waited for: reminders become due by moving the task's due time, and the outbox's
times, in the database, as if the clock had moved on."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.push.test_reminders import (
    db_now,
    due_in,
    outbox,
    outbox_time_passes,
    reminders_of,
    run_job,
)
from tests.push_data import register
from tests.tasks_data import create_template, issue_tasks, user

pytestmark = pytest.mark.usefixtures("demo_bank")

OFFSETS = [{"minutes_before_due": 3}, {"minutes_before_due": 1}]


async def customer_task_of_rm01(client: Any, db: Any) -> tuple[dict[str, Any], uuid.UUID]:
    """rm01's customer (the feed row) and the task dispatched for them, due in three days,
    with reminders 3 and 1 minutes before."""
    admin = await headers_of(client, "admin")
    row = customer_row("H-1", name="王芳", owner="rm01", seq=1)
    await feed(client, admin, "customers", [row])
    ids = await customer_ids(db)
    template = await create_template(client, admin, reminders=OFFSETS)
    [(login, task_id, _)] = await issue_tasks(
        client, db, admin, template["id"], title="到期提醒回访", customer_ids=[ids["H-1"]],
        due_at=await db_now(db) + timedelta(days=3),
    )  # fmt: skip
    assert login == "rm01"
    return row, task_id


async def test_reminders_queued_for_the_former_rm_but_not_sent_reach_the_new_rm_once(
    client, db, pool, settings, fake, deliverer
):
    await register(client, "rm01", platform="ios", provider="apns", token="e" * 64)
    await register(client, "rm02", platform="android", provider="fcm", token="fcm-rm02")
    row, task_id = await customer_task_of_rm01(client, db)

    # The task is due in 100 s: the 3-minute reminder's time has passed, the 1-minute one and
    # the at-due one are less than two minutes away. All three go into the outbox for rm01,
    # and the first is pushed to rm01's phone.
    await due_in(db, task_id, 100)
    assert await run_job(pool, settings) == 3
    assert await deliverer.run_round() == 1
    assert [s.provider for s in fake.sent] == ["apns"]

    # A bank feed moves the customer to rm02 before the other two are pushed.
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [{**row, "owner_login": "rm02"}])
    assert await db.fetchval("select assignee_id from tasks where id = $1", task_id) == user("rm02")
    withdrawn = {
        (r["data"]["kind"], r["push_status"])
        for r in await outbox(db, "task.reminder", subject=task_id)
        if r["user_id"] == user("rm01")
    }
    assert withdrawn == {("before_due", "sent"), ("before_due", "withdrawn"),
                         ("at_due", "withdrawn")}  # fmt: skip

    # The next run of the job queues the two unsent ones again, for rm02.
    assert await run_job(pool, settings) == 2
    for_rm02 = [
        r
        for r in await outbox(db, "task.reminder", subject=task_id)
        if r["user_id"] == user("rm02")
    ]
    assert sorted(r["data"]["kind"] for r in for_rm02) == ["at_due", "before_due"]
    assert {r["push_status"] for r in for_rm02} == {"pending"}
    reminders = await reminders_of(db, task_id)
    assert {k: status for k, (_, status) in reminders.items() if k[0] != "overdue"} == {
        ("before_due", 3): "queued", ("before_due", 1): "queued", ("at_due", 0): "queued",
    }  # fmt: skip

    # Each reaches rm02's phone when its time comes; rm01 hears nothing more.
    await outbox_time_passes(db, 45)
    assert await deliverer.run_round() == 1
    await outbox_time_passes(db, 60)
    assert await deliverer.run_round() == 1
    assert [(s.provider, s.token) for s in fake.sent] == [
        ("apns", "e" * 64),
        ("fcm", "fcm-rm02"),
        ("fcm", "fcm-rm02"),
    ]
    # Exactly once: nothing is queued or pushed again.
    assert await run_job(pool, settings) == 0
    assert await deliverer.run_round() == 0
    assert len(fake.sent) == 3


async def test_an_escalation_queued_but_not_sent_goes_to_the_new_rms_head_naming_them(
    client, db, pool, settings
):
    row, task_id = await customer_task_of_rm01(client, db)
    await due_in(db, task_id, -60 * (settings.push_escalation_grace_minutes + 1))
    await run_job(pool, settings)  # the reminders, and with the at-due one the escalation's row
    await run_job(pool, settings)  # the escalation, into the outbox for rm01's branch head
    [queued] = await outbox(db, "task.escalation", subject=task_id)
    assert (queued["user_id"], queued["push_status"]) == (user("bh.east"), "pending")
    assert "张伟" in queued["body"]

    # Moved to rm05 of the west branch before any push worker sent it.
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [{**row, "owner_login": "rm05"}])
    [withdrawn] = await outbox(db, "task.escalation", subject=task_id)
    assert withdrawn["push_status"] == "withdrawn"

    await run_job(pool, settings)
    escalations = await outbox(db, "task.escalation", subject=task_id)
    pending = [(e["user_id"], e["body"]) for e in escalations if e["push_status"] == "pending"]
    assert len(pending) == 1
    head, body = pending[0]
    assert head == user("bh.west")
    assert "陈静" in body  # rm05, by name
    assert await run_job(pool, settings) == 0

"""A branch head hands an open task to another RM of their subtree.

A task otherwise stays with its assignee (only a bank feed moving a customer takes that
customer's pending tasks along: `handover`), so when an RM leaves, goes on leave or is
disabled, their tasks without a customer, and those already started, would wait for nobody.
The branch head gives such a task to an active RM of their subtree:

- only a pending or started task (`in_progress`); any other is an `IllegalTransition`, as a
  cancel of one is. A started task goes back to pending for the new RM: its start was the former
  RM's, and so is the draft on their phone, which is theirs no more (the task leaves their
  device with the next sync pull, and an offline start or submit of it they push later is
  refused as a task they cannot see). Photos they uploaded stay with the task;
- a task about a customer only to the RM who owns that customer now (customers move with the
  bank's feed, never with a task); a recurring series' task not to an RM who already has the
  task of its dispatch, customer and period;
- its reminders follow it as in the feed's hand-over: those not queued yet are the new RM's,
  those queued for the former RM but not pushed are withdrawn there and armed again for the new
  one; the new RM is told in their notification centre (the task's title and due time, no
  customer data). Offline sync and the dashboard follow the assignee on their own.

Reassigning to the current assignee changes nothing. Each reassignment is written to the audit
trail (`task.reassigned`: the task, the former and new RM, the head and their address).
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from mobile_contracts.v1 import tasks as wire
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.customers import queries as customer_queries
from workbench.db import Connection
from workbench.errors import Conflict, NotFound
from workbench.ids import uuid7
from workbench.notifications import categories
from workbench.notifications import service as notifications
from workbench.security.vault import Vault
from workbench.tasks import lifecycle, queries

REASSIGNABLE = ("pending", "in_progress")


class AssigneeNotActiveRm(Conflict):
    code, title = "task.assignee_not_active_rm", "Not an active relationship manager"


class CustomerNotTheirs(Conflict):
    code, title = "task.customer_not_theirs", "The task's customer is another RM's"


class ReassignedMeanwhile(Conflict):
    code, title = "task.reassigned_meanwhile", "The task is another RM's by now"


class PeriodTaken(Conflict):
    code, title = "task.period_taken", "That RM already has this period's task"


async def reassign(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    task_id: uuid.UUID,
    assignee_id: uuid.UUID,
    tz: str,
    client_ip: str | None = None,
    expected_assignee_id: uuid.UUID | None = None,
) -> wire.Task:
    """The branch head gives a pending or started task of their subtree to `assignee_id`, an
    active RM of it: pending for them from now on (the former RM's start and offline draft no
    longer count); the task as `GET /tasks/{id}` shows it. `tz`: the bank's time zone (the
    notification's due time); `client_ip`: the head's address, for the audit trail;
    `expected_assignee_id`: the RM the caller saw holding it (the console's form), 409
    `task.reassigned_meanwhile` if another has it by now."""
    # The customer's owner first, then the task: a feed moving the customer locks it (FOR
    # UPDATE) before it moves the customer's tasks, so the other order could deadlock with it.
    # Held (FOR KEY SHARE), the owner read stays the owner until this commits.
    peek = await lifecycle.visible_task(conn, caller=caller, task_id=task_id)
    owner = None
    if peek["customer_id"] is not None:
        owners = await customer_queries.hold_owners(conn, [peek["customer_id"]])
        owner = owners.get(peek["customer_id"])
    task = await lifecycle.visible_task(conn, caller=caller, task_id=task_id, lock=True)
    target = await queries.hold_user_in_subtree(conn, assignee_id, root=caller.org_unit_id)
    if target is None:
        raise NotFound("user")
    if task["status"] not in REASSIGNABLE:
        raise lifecycle.IllegalTransition(task["status"], "reassign")
    if not target["active"] or target["role"] != "rm":
        raise AssigneeNotActiveRm(
            "Only an active relationship manager can be given a task: this user is "
            + ("disabled" if not target["active"] else "not a relationship manager")
        )
    former = task["assignee_id"]
    if expected_assignee_id is not None and former != expected_assignee_id:
        # A page drawn while another RM had it (a second tab, a colleague): never hand on a
        # task from someone it was just given to.
        raise ReassignedMeanwhile(
            "The task was handed to another RM since this page was drawn: read it again"
        )
    if assignee_id == former:
        return await lifecycle.detail(conn, vault=vault, caller=caller, task_id=task_id)
    if task["customer_id"] is not None and owner != assignee_id:
        raise CustomerNotTheirs(
            "The task is about a customer this RM does not own: it can only go to the "
            "customer's RM (the customer is another RM's: the bank's feed moves customers)"
        )
    if not await queries.reassign(conn, task_id, to_id=assignee_id):
        raise PeriodTaken(
            "This RM already has this period's task of the recurring series"
            + (" for the same customer" if task["customer_id"] is not None else "")
            + ": one task per RM, customer and period"
        )
    # Before the withdrawal: it reads which queued ones are still unsent, and holds them so no
    # push worker sends one to the former RM in between (as the feed's hand-over does).
    await queries.rearm_unsent_reminders(conn, [task_id])
    await notifications.withdraw_task_reminders(conn, [task_id])
    # A task handed on again: the former RM's "assigned to you" is about a task they cannot open.
    await notifications.retire_task_assignment(conn, task_id=task_id, former_id=former)
    reassignment = uuid7()
    await _tell(conn, task=task, assignee_id=assignee_id, reassignment=reassignment, tz=tz)
    await audit.record(
        conn,
        action="task.reassigned",
        actor_id=caller.user_id,
        subject=f"task:{task_id}",
        client_ip=client_ip,
        detail={
            "from": str(former),
            "to": str(assignee_id),
            "status": task["status"],
            "reassignment": str(reassignment),
        },
    )
    return await lifecycle.detail(conn, vault=vault, caller=caller, task_id=task_id)


async def _tell(
    conn: Connection,
    *,
    task: queries.Record,
    assignee_id: uuid.UUID,
    reassignment: uuid.UUID,
    tz: str,
) -> None:
    """The new RM hears of the task: its title and due time, as a reminder shows them (no
    customer data: the app opens the task)."""
    due = task["due_at"]
    local_due = due.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M") if due else None
    await notifications.notify(
        conn,
        user_id=assignee_id,
        category=categories.TASK_ASSIGNED,
        title="支行长转交给您一项任务",
        body=task["title"] + (f"（截止 {local_due}）" if local_due else ""),
        dedupe_key=f"task:{task['id']}:reassigned:{reassignment}",
        data={
            "task_id": str(task["id"]),
            "due_at": due.isoformat() if due else None,
        },
        subject_id=task["id"],
    )

"""The RM's tasks: inbox, detail, and the lifecycle

    pending → in_progress → submitted → awaiting_confirmation → done
                                      ↘ done (no customer confirmation needed)
    any open state → cancelled (the RM, or their branch head) | expired (past its expiry)

An illegal transition answers 409 with the task's current status. RMs act on their own tasks;
branch heads see (and may cancel) the tasks of their subtree; a task outside the caller's scope
is a 404 (the routes admit RMs and branch heads only: other roles get 403).

A step is stamped with the server's time, except work done offline: offline sync passes `at`,
when the RM did it (a device time it found plausible), and the step is stamped with that unless
it lies before the task's previous step (then the server's time, as online).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec

from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.tasks import FieldType
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import Conflict, NotFound
from workbench.notifications import service as notifications
from workbench.pagination import decode_cursor, encode_cursor
from workbench.security.vault import FieldCipher, Vault
from workbench.surveys import delivery as survey_delivery
from workbench.tasks import dispatching, form_values, queries
from workbench.tasks.forms import Checked, check_text, check_values
from workbench.tasks.queries._tasks import cancel_pending_about
from workbench.timeline import service as timeline

OPEN = list(queries.OPEN)
CUSTOMER_CLOSED = "客户已销户"  # the cancel reason of a task whose customer left the bank


class IllegalTransition(Conflict):
    code = "task.illegal_transition"

    def __init__(self, current: str, action: str) -> None:
        super().__init__(f"Cannot {action} a task that is {current}", current_status=current)


DueInThePast = dispatching.DueInThePast  # one rule for a dispatched and a moved due time


def _scope(caller: Caller) -> tuple[bool, uuid.UUID]:
    """(own tasks only?, RM id or subtree root). Routes admit RMs and branch heads only."""
    if caller.role is Role.RM:
        return True, caller.user_id
    return False, caller.org_unit_id


def summary(row: queries.Record) -> wire.TaskSummary:
    return wire.TaskSummary(
        id=row["id"],
        title=row["title"],
        status=wire.TaskStatus(row["status"]),
        due_at=row["due_at"],
        overdue=bool(row["overdue"]),
        assignee_id=row["assignee_id"],
        customer_id=row["customer_id"],
        template_id=row["template_id"],
        template_version=row["template_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def inbox(
    conn: Connection,
    *,
    caller: Caller,
    status: wire.TaskStatus | None,
    due_after: datetime | None,
    due_before: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page[wire.TaskSummary]:
    """Open tasks (or those of one status): overdue first, then by due time."""
    own, who = _scope(caller)
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.inbox(
        conn,
        own=own,
        who=who,
        statuses=[status.value] if status else OPEN,
        due_after=dispatching.as_utc(due_after),  # without an offset: UTC, as due times are
        due_before=dispatching.as_utc(due_before),
        after=after,
        limit=limit + 1,
    )
    items = [summary(r) for r in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    cursor_key = [last["due_at"] or datetime.max.replace(tzinfo=UTC), last["id"]] if last else None
    return Page(items=items, next_cursor=encode_cursor(cursor_key) if cursor_key else None)


async def visible_task(
    conn: Connection, *, caller: Caller, task_id: uuid.UUID, lock: bool = False
) -> queries.Record:
    own, who = _scope(caller)
    row = await queries.task_in_scope(conn, task_id, own=own, who=who, lock=lock)
    if row is None:
        raise NotFound("task")
    return row


async def detail(
    conn: Connection, *, vault: Vault, caller: Caller, task_id: uuid.UUID
) -> wire.Task:
    row = await visible_task(conn, caller=caller, task_id=task_id)
    version = await queries.template_version(conn, row["template_id"], row["template_version"])
    assert version is not None
    return task_of(row, version, cipher=vault.cipher)


def task_of(
    row: queries.Record,
    version: queries.Record,
    form: wire.Form | None = None,
    *,
    cipher: FieldCipher,
) -> wire.Task:
    """A task as its detail view (and sync) shows it, with its template version's form
    (`form`: that form already converted, when many tasks share the version) and its answers
    decrypted, text answers masked (`form_values.shown`)."""
    form = form if form is not None else msgspec.convert(version["form"], wire.Form)
    return wire.Task(
        **msgspec.structs.asdict(summary(row)),
        requires_customer_confirmation=version["requires_customer_confirmation"],
        form=form,
        values=form_values.shown(cipher, row, form),
        started_at=row["started_at"],
        submitted_at=row["submitted_at"],
        done_at=row["done_at"],
        cancelled_at=row["cancelled_at"],
        cancel_reason=row["cancel_reason"],
    )


def _after_previous_step(at: datetime | None, *steps: datetime | None) -> datetime | None:
    """`at` (offline work's time) if it is not before any of the task's earlier steps; else
    None: the server's time. A device clock that jumped back cannot order a step before the one
    it follows (a task submitted before it was started, started before it was issued)."""
    if at is None or any(step is not None and at < step for step in steps):
        return None
    return at


async def start(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    task_id: uuid.UUID,
    at: datetime | None = None,
) -> wire.Task:
    """Start a pending task; `at`: when the RM started it offline (None: now)."""
    row = await visible_task(conn, caller=caller, task_id=task_id, lock=True)
    if row["status"] != "pending":
        raise IllegalTransition(row["status"], "start")
    at = _after_previous_step(at, row["created_at"])
    await queries.set_status(conn, task_id, status="in_progress", stamp="started_at", at=at)
    return await detail(conn, vault=vault, caller=caller, task_id=task_id)


async def submit(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    task_id: uuid.UUID,
    submission: wire.Submission,
    tz: str,
    at: datetime | None = None,
) -> wire.Task:
    """Check the answers against the task's form version and store them encrypted (personal
    data: `form_values`); done, or awaiting the customer. `at`: when the RM submitted it
    offline (None: now), also its done time when done at once."""
    row = await visible_task(conn, caller=caller, task_id=task_id, lock=True)
    if row["status"] != "in_progress":
        raise IllegalTransition(row["status"], "submit")
    at = _after_previous_step(at, row["created_at"], row["started_at"])
    version = await queries.template_version(conn, row["template_id"], row["template_version"])
    assert version is not None
    form = msgspec.convert(version["form"], wire.Form)
    checked = check_values(form, submission.values)
    await _check_references(conn, row=row, form=form, checked=checked)
    if checked.error_count:
        raise checked.refusal()
    sealed = form_values.seal(vault.cipher, task_id, checked.values)  # personal data: encrypted
    if version["requires_customer_confirmation"]:
        await queries.set_status(
            conn, task_id, status="awaiting_confirmation", stamp="submitted_at",
            form_values_enc=sealed, at=at,
        )  # fmt: skip
    else:
        await queries.set_status(
            conn, task_id, status="submitted", stamp="submitted_at", form_values_enc=sealed,
            at=at,
        )  # fmt: skip
        await complete(conn, vault=vault, task=row, tz=tz, confirmed=False, at=at)
    return await detail(conn, vault=vault, caller=caller, task_id=task_id)


async def _check_references(
    conn: Connection, *, row: queries.Record, form: wire.Form, checked: Checked
) -> None:
    """Attachments must belong to this task and be of the field's kind; customers must be the
    RM's own, or the task's own customer: a started task stays with the RM who started it when
    a feed moves its customer to another RM, and its form may still name that customer."""
    kinds = {f.key: f.type for f in form.fields}
    wanted = [i for ids in checked.attachment_ids.values() for i in ids]
    found = await queries.attachments_of(conn, row["id"], wanted) if wanted else {}
    for key, ids in checked.attachment_ids.items():
        kind = "signature" if kinds[key] is FieldType.SIGNATURE else "photo"
        if any(found.get(i) != kind for i in ids):
            checked.fail(key, f"not a {kind} uploaded to this task")
    if checked.customer_ids:
        mine = await queries.customers_owned_by(
            conn, row["assignee_id"], list(checked.customer_ids.values())
        )
        for key, customer_id in checked.customer_ids.items():
            if customer_id not in mine and customer_id != row["customer_id"]:
                checked.fail(key, "not one of your customers")


async def complete(
    conn: Connection,
    *,
    vault: Vault,
    task: queries.Record,
    tz: str,
    confirmed: bool,
    at: datetime | None = None,
) -> None:
    """Mark done; stop its reminders; record it on the customer's timeline; next period.
    `at`: when it was done (work done offline; None: now), its done time and timeline entry's."""
    await queries.set_status(conn, task["id"], status="done", stamp="done_at", at=at)
    await _stop_reminders(conn, [task["id"]])
    await survey_delivery.after_task_done(conn, task=task)  # a survey sent after this template
    if task["customer_id"] is not None:
        await timeline.record(
            conn,
            cipher=vault.cipher,
            customer_id=task["customer_id"],
            kind="visit.confirmed" if confirmed else "task.done",
            occurred_at=at or datetime.now(UTC),
            source="task",
            source_id=str(task["id"]),
            actor_id=task["assignee_id"],
            data={"task_id": str(task["id"]), "title": task["title"]},
        )
    # A recurring series: this task's place in it (its RM, or its customer in a customer
    # list's series) gets the next period's task now, if this period has begun (finishing a
    # future period early does not run the series further ahead; the RM's other customers
    # wait for their own tasks or the period's start).
    period_start = task["period_start"]
    if task["dispatch_id"] is not None and period_start and period_start <= datetime.now(UTC):
        series = await queries.recurring_dispatch(conn, task["dispatch_id"])
        upcoming = (
            dispatching.following_period(series, after_start=period_start, tz=tz)
            if series
            else None
        )
        if series is not None and upcoming is not None:
            await dispatching.open_period(
                conn,
                dispatch_row=series,
                period=upcoming,
                source_start=period_start,
                tz=tz,
                only_task=task["id"],
            )


async def cancel(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    task_id: uuid.UUID,
    reason: str | None,
    at: datetime | None = None,
) -> wire.Task:
    """The RM or their branch head cancels an open task; `at`: when, offline (None: now). A
    `reason` that would read otherwise than typed is a 422 (`forms.check_text`)."""
    if reason is not None:
        check_text(reason, path="$.reason")
    row = await visible_task(conn, caller=caller, task_id=task_id, lock=True)
    if row["status"] not in queries.OPEN:
        raise IllegalTransition(row["status"], "cancel")
    at = _after_previous_step(at, row["created_at"], row["started_at"], row["submitted_at"])
    await queries.set_status(
        conn, task_id, status="cancelled", stamp="cancelled_at", cancel_reason=reason, at=at
    )
    await _stop_reminders(conn, [task_id])
    return await detail(conn, vault=vault, caller=caller, task_id=task_id)


async def reschedule(
    conn: Connection, *, vault: Vault, caller: Caller, task_id: uuid.UUID, due_at: datetime
) -> wire.Task:
    """Move an open task's due time (the RM agreed another day with the customer, or the
    branch head changed it): its unsent reminders move with it, and reminders already sent for
    the old time are set again for the new one. A task that expires (a recurring one) expires
    as far after the new due time as it was issued to expire after its due time (else the
    expiry job would close it before it is due), and never earlier than it was issued to;
    measured from its terms, never from an expiry an earlier move set, so moving it back and
    forth cannot push its expiry out (`queries.set_due`)."""
    row = await visible_task(conn, caller=caller, task_id=task_id, lock=True)
    if row["status"] not in queries.OPEN:
        raise IllegalTransition(row["status"], "reschedule")
    due = dispatching.as_utc(due_at)  # without an offset: UTC, as a dispatch reads it
    assert due is not None
    dispatching.check_due(due)
    dispatching.check_not_past(due, now=datetime.now(UTC))
    version = await queries.template_version(conn, row["template_id"], row["template_version"])
    assert version is not None
    await queries.set_due(conn, task_id, due)
    await notifications.withdraw_task_reminders(conn, [task_id])
    await queries.move_reminders(
        conn, task_id, assignee_id=row["assignee_id"], offsets=list(version["reminders"])
    )
    return await detail(conn, vault=vault, caller=caller, task_id=task_id)


async def _stop_reminders(conn: Connection, task_ids: list[uuid.UUID]) -> None:
    """The tasks are finished: no reminder of theirs is queued or pushed any more."""
    await queries.cancel_reminders(conn, task_ids)
    await notifications.withdraw_task_reminders(conn, task_ids)


async def cancel_for_closed_customers(
    conn: Connection, customer_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """These customers left the bank (the customer feed closed them): their tasks not started
    yet are cancelled (`客户已销户`) and their reminders stop, as a cancel does; started ones
    stay with their RM to finish. Returns the tasks cancelled."""
    if not customer_ids:
        return []
    cancelled = await cancel_pending_about(conn, customer_ids, reason=CUSTOMER_CLOSED)
    if cancelled:
        await _stop_reminders(conn, cancelled)
    return cancelled


async def expire_overdue(conn: Connection, *, limit: int = 5000) -> int:
    """Expire open tasks past their expiry (worker job); their reminders stop."""
    expired = await queries.expire_due(conn, limit=limit)
    if expired:
        await _stop_reminders(conn, expired)
    return len(expired)

"""Push: the operations a mutation may name, each applied through the API's own service (tasks,
notes, notifications, work orders, shares) with its server row for a conflict, and the table of
them (`OPERATIONS`) with the roles that may perform each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mobile_contracts.v1 import customers as customer_wire
from mobile_contracts.v1 import shares as share_wire
from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1 import tasks as task_wire
from mobile_contracts.v1.identity import Role
from sync import entities
from sync.entities import Partition
from sync.mutations._context import Context, Operation
from workbench.customers import views as customer_views
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.notifications import service as notifications
from workbench.shares import service as shares
from workbench.tasks import lifecycle
from workbench.workorders import service as work_orders


async def _task_now(conn: Connection, ctx: Context, args: Any) -> Any:
    return await lifecycle.detail(conn, vault=ctx.vault, caller=ctx.caller, task_id=args.task_id)


async def _start(conn: Connection, ctx: Context, args: Any, at: datetime | None) -> Any:
    return await lifecycle.start(
        conn, vault=ctx.vault, caller=ctx.caller, task_id=args.task_id, at=at
    )


async def _submit(conn: Connection, ctx: Context, args: Any, at: datetime | None) -> Any:
    return await lifecycle.submit(
        conn, vault=ctx.vault, caller=ctx.caller, task_id=args.task_id,
        submission=task_wire.Submission(values=args.values), tz=ctx.bank_timezone, at=at,
    )  # fmt: skip


async def _cancel(conn: Connection, ctx: Context, args: Any, at: datetime | None) -> Any:
    return await lifecycle.cancel(
        conn, vault=ctx.vault, caller=ctx.caller, task_id=args.task_id, reason=args.reason, at=at
    )


async def _reschedule(conn: Connection, ctx: Context, args: Any, _at: datetime | None) -> Any:
    return await lifecycle.reschedule(
        conn, vault=ctx.vault, caller=ctx.caller, task_id=args.task_id, due_at=args.due_at
    )


async def _add_note(conn: Connection, ctx: Context, args: Any, at: datetime | None) -> Any:
    note = customer_wire.NoteCreate(text=args.text, kind=args.kind, id=args.id)
    return await customer_views.add_note(
        conn, vault=ctx.vault, caller=ctx.caller, customer_id=args.customer_id, note=note, at=at
    )


async def _read(conn: Connection, ctx: Context, args: Any, _at: datetime | None) -> Any:
    return await notifications.mark_read(
        conn, caller=ctx.caller, notification_id=args.notification_id
    )


class WorkOrderMovedOn(DomainError):
    """The work order is no longer in a state the step applies to (the service's 409)."""

    status, code, title = 409, "work_order.transition_invalid", "The work order has moved on"


async def _work_order_now(conn: Connection, ctx: Context, args: Any) -> Any:
    part = Partition(caller=ctx.caller, vault=ctx.vault)
    return await entities.work_order_row(conn, part, args.work_order_id)


async def _transition(conn: Connection, ctx: Context, args: Any, _at: datetime | None) -> Any:
    try:
        return await work_orders.transition(
            conn, vault=ctx.vault, caller=ctx.caller, work_order_id=args.work_order_id,
            to=args.to, note=args.note, root_cause=args.root_cause, expected_state=args.from_,
            client_ip=ctx.client_ip,
        )  # fmt: skip
    except DomainError as exc:
        # A step that no longer applies, or one chosen in another state than the work order
        # is in now: the server's state wins (a conflict with the work order as it is).
        if exc.code in (WorkOrderMovedOn.code, work_orders.StateChanged.code):
            raise WorkOrderMovedOn(exc.detail or exc.title, **exc.extra) from exc
        raise


async def _share(conn: Connection, ctx: Context, args: Any, _at: datetime | None) -> Any:
    share, _ = await shares.create(
        conn, caller=ctx.caller, request=_share_request(args), base_url=ctx.public_base_url,
        survey_rules=ctx.survey_rules,
    )  # fmt: skip
    return share


def _share_request(args: Any) -> share_wire.ShareCreate:
    return share_wire.ShareCreate(
        brochure_id=args.brochure_id, survey_id=args.survey_id, customer_id=args.customer_id,
        channel=args.channel, client_ref=args.client_ref,
    )  # fmt: skip


async def _share_made(conn: Connection, ctx: Context, args: Any) -> Any:
    """The share this `client_ref` names, as a resend answers it (`shares.made_before`, the
    rule `shares.create` keeps: the same RM, what was shared, customer and channel); reads
    only. None when it is gone; a refusal (another share under the ref) is None too."""
    return await shares.made_before(
        conn, caller=ctx.caller, request=_share_request(args),
        base_url=ctx.public_base_url, survey_rules=ctx.survey_rules,
    )  # fmt: skip


RM = frozenset({Role.RM})
STAFF = frozenset({Role.RM, Role.BRANCH_HEAD})
ANYONE = frozenset(Role)
TASK_MOVED_ON = (lifecycle.IllegalTransition,)

OPERATIONS: dict[str, Operation] = {
    "task.start": Operation(wire.TaskArgs, RM, _start, TASK_MOVED_ON, _task_now),
    "task.submit": Operation(wire.TaskSubmitArgs, RM, _submit, TASK_MOVED_ON, _task_now),
    "task.cancel": Operation(wire.TaskCancelArgs, STAFF, _cancel, TASK_MOVED_ON, _task_now),
    "task.reschedule": Operation(
        wire.TaskRescheduleArgs, STAFF, _reschedule, TASK_MOVED_ON, _task_now
    ),
    "note.add": Operation(wire.NoteAddArgs, RM, _add_note),
    "notification.read": Operation(wire.NotificationReadArgs, ANYONE, _read),
    "share.create": Operation(wire.ShareCreateArgs, RM, _share, answered_again=_share_made),
    "work_order.transition": Operation(
        wire.WorkOrderTransitionArgs, STAFF, _transition, (WorkOrderMovedOn,), _work_order_now
    ),
}


def operation_named(name: Any) -> Operation | None:
    """The operation a mutation names, or None for a name no mutation has: one that is not a
    string too (`Mutation.name` is typed loosely, and a list or an object is no dict key)."""
    return OPERATIONS.get(name) if isinstance(name, str) else None

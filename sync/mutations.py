"""Push: offline mutations applied exactly once, in order, through the API's own services.

A batch belongs to one client (an app install). Its row in `sync_clients` is locked, every
mutation the client was not answered for yet runs in its own savepoint, in the batch's order,
and its id is added to the client's answered ids in the same transaction: a batch retried after
a lost answer finds those ids answered and answers what it answered then (`sync_answers`: a
rejection or a conflict again, `duplicate` for what was applied; an id sent again with other
content is refused, `sync.mutation_id_reused`); two pushes racing for one client take turns.
Only an id answered before is a duplicate: a mutation that arrives after a later one of its
client (two pushes of one app in flight, the later first) still runs, under the same rules as
any mutation made offline, instead of being dropped as done.

Each mutation names the API operation it performs and goes through the same service function,
with the same role and scope checks, so an offline write obeys every rule an online one does.
Conflict policy (also in the README):
- task.start / task.submit / task.cancel: the server's status wins. If the task moved on while
  the app was offline (the branch head cancelled it, it expired, it was already submitted), the
  mutation is a `conflict` and carries the task as the server has it; the app shows it and
  keeps the RM's draft locally.
- task.reschedule: last writer wins while the task is open; a closed task is a `conflict`.
- note.add: notes only accumulate; the note id made on the device makes a resend harmless.
- notification.read: idempotent, never conflicts.
- work_order.transition: the server's state wins. A work order moved on while the app was
  offline (the branch head resolved it, someone closed it) so that the step no longer applies
  is a `conflict` carrying the work order as the device carries it (`SyncWorkOrder`); the app
  shows it and keeps the note locally. A work order that left the user's hands (reassigned to
  someone else) is rejected `work_order.not_found`, as online.
- share.create: the `client_ref` made on the device makes a resend (or the same share made
  online) answer the same share; a brochure no longer live by the time of the push is rejected
  (`brochure.not_found`), as online. A share is no sync entity: a retried batch's `duplicate`
  carries the share again in `result` (found by its `client_ref`, writing nothing), so
  an app that lost the first answer still gets its link.
Anything that can never succeed (bad arguments, a value the database refuses, a role that may not
do it, an object the user cannot see, answers that do not fit the form) is `rejected` with the
API's error code, and the mutations after it still run.

Times: work done offline is recorded at the time the RM did it, not when the push arrives. A
mutation's `occurred_at` (the device's clock) is the time of what it records: a note's time
(note.add), a task's started_at (task.start), submitted_at (task.submit; done_at and the
timeline's task.done entry too when the task is done at once) and cancelled_at (task.cancel);
other mutations ignore it. A phone's clock may be wrong and a time may be backdated, so it is
believed only if it is not ahead of the server's clock, not older than
WORKBENCH_SYNC_OFFLINE_MAX_DAYS and, for a task, not before the task's previous step (see
`workbench.tasks.lifecycle`); otherwise the server's time is recorded, as without `occurred_at`,
and the mutation applies all the same: an RM's work is never refused for a clock. (A time a
little ahead, a clock running fast, is work done just now: the server's time is that time. A
stamp in the future would make work done before its due time late.) The time changes no
decision: a task the server moved on while the app was offline is a conflict whatever the time.
It is not part of what a mutation is (`_digest`): a retry that stamps its mutations anew is
still the same mutation, answered as before, with the time stored the first time.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from mobile_contracts.v1 import customers as customer_wire
from mobile_contracts.v1 import shares as share_wire
from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1 import tasks as task_wire
from mobile_contracts.v1.identity import Role
from sync import entities, queries
from sync.entities import Partition
from workbench import device_time
from workbench.access import Caller
from workbench.customers import views as customer_views
from workbench.db import VALUE_REFUSED, Connection
from workbench.errors import DomainError
from workbench.notifications import service as notifications
from workbench.nul import NUL, NUL_CODE, NUL_MESSAGE, find_nul, rows_with_nul
from workbench.security.vault import Vault
from workbench.shares import service as shares
from workbench.surveys import delivery as survey_delivery
from workbench.tasks import lifecycle
from workbench.workorders import service as work_orders

log = logging.getLogger("sync.mutations")
# Gaps between answered ids a client keeps (an app whose ids skip, like times in ms, makes one
# per mutation); older ones are closed (see queries.save_client). Twice the largest batch: no
# single push closes the gap where a mutation of a push still in flight waits.
KEPT_GAPS = 1000
DEFAULT_OFFLINE_MAX_DAYS = 7  # WORKBENCH_SYNC_OFFLINE_MAX_DAYS


class MutationOrder(DomainError):
    status, code, title = 422, "sync.mutation_order", "Mutation ids must increase"


@dataclass(frozen=True, slots=True)
class Context:
    caller: Caller
    vault: Vault
    bank_timezone: str
    public_base_url: str
    # Survey links and contact rules: a survey shared offline becomes its link once pushed.
    survey_rules: survey_delivery.Rules | None = None
    # How old a mutation's `occurred_at` may be and still be believed (settings).
    offline_max_days: int = DEFAULT_OFFLINE_MAX_DAYS


# (connection, context, arguments, when the RM did it: a plausible `occurred_at` or None)
Apply = Callable[[Connection, Context, Any, datetime | None], Awaitable[Any]]
ServerRow = Callable[[Connection, Context, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Operation:
    args: type[msgspec.Struct]
    roles: frozenset[Role]
    apply: Apply
    conflicts: tuple[type[DomainError], ...] = ()
    server_row: ServerRow | None = None
    # What a duplicate answers in `result`, for what the app gets nowhere else (a share is no
    # sync entity: its link came only in the first answer): the answer as found again from the
    # arguments, writing nothing, or None. The others' results are rows of the partition: the
    # next pull brings them as they are now.
    answered_again: ServerRow | None = None


async def _task_now(conn: Connection, ctx: Context, args: Any) -> Any:
    return await lifecycle.detail(conn, caller=ctx.caller, task_id=args.task_id)


async def _start(conn: Connection, ctx: Context, args: Any, at: datetime | None) -> Any:
    return await lifecycle.start(conn, caller=ctx.caller, task_id=args.task_id, at=at)


async def _submit(conn: Connection, ctx: Context, args: Any, at: datetime | None) -> Any:
    return await lifecycle.submit(
        conn, vault=ctx.vault, caller=ctx.caller, task_id=args.task_id,
        submission=task_wire.Submission(values=args.values), tz=ctx.bank_timezone, at=at,
    )  # fmt: skip


async def _cancel(conn: Connection, ctx: Context, args: Any, at: datetime | None) -> Any:
    return await lifecycle.cancel(
        conn, caller=ctx.caller, task_id=args.task_id, reason=args.reason, at=at
    )


async def _reschedule(conn: Connection, ctx: Context, args: Any, _at: datetime | None) -> Any:
    return await lifecycle.reschedule(
        conn, caller=ctx.caller, task_id=args.task_id, due_at=args.due_at
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
            to=args.to, note=args.note, root_cause=args.root_cause,
        )  # fmt: skip
    except DomainError as exc:
        if exc.code == WorkOrderMovedOn.code:
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


async def push(
    conn: Connection,
    *,
    ctx: Context,
    request: wire.PushRequest,
    nul_mutations: Mapping[int, str] | None = None,
) -> wire.PushResult:
    """Apply the batch; the caller's request transaction commits results and last id together.
    A mutation holding a NUL character (`nul_mutations`, by index) is rejected on its own."""
    unstorable = rows_with_nul(request.mutations, nul_mutations, path="$.mutations")
    ids = [m.id for m in request.mutations]
    if any(b <= a for a, b in itertools.pairwise(ids)):
        raise MutationOrder("Mutation ids within a batch must strictly increase")
    user_id = ctx.caller.user_id
    answered_before = await queries.lock_client(conn, user_id, request.client_id, ids)
    kept = await queries.answers_of(conn, user_id, request.client_id, sorted(answered_before))
    results, answered, to_keep = [], [], []
    for index, mutation in enumerate(request.mutations):
        digest = _digest(mutation)
        if mutation.id in answered_before:
            results.append(await _answered_again(conn, ctx, mutation, digest, kept))
            continue
        if where := unstorable.get(index):
            result = _rejected(mutation, NUL_CODE, f"{where}: {NUL_MESSAGE}")
        else:
            result = await _apply_one(conn, ctx, mutation)
        result = _storable(result)  # answered now as it is kept for a retry
        results.append(result)
        answered.append(mutation.id)
        to_keep.append((mutation.id, digest, _kept(result)))
    await queries.save_answers(conn, user_id, request.client_id, to_keep)
    last = await queries.save_client(
        conn, user_id, request.client_id, answered, kept_gaps=KEPT_GAPS
    )
    return wire.PushResult(results=results, last_mutation_id=last)


def _storable(result: wire.MutationResult) -> wire.MutationResult:
    """The answer with nothing PostgreSQL refuses in the jsonb that keeps it (`_kept`, stored
    after the savepoints, where a refusal would fail the whole push): a NUL character, which
    an answer can only hold by naming where input held one (a NUL in an object key shows in
    the refusal's path), is shown as its JSON escape, the text `\\u0000`."""
    if result.status is wire.MutationStatus.APPLIED:
        return result  # not kept
    code, detail, problem = kept = msgspec.to_builtins([result.code, result.detail, result.problem])
    if find_nul(kept) is None:
        return result
    return msgspec.structs.replace(
        result, code=_visible(code), detail=_visible(detail), problem=_visible(problem)
    )


def _visible(value: Any) -> Any:
    """`value` with every NUL of its strings and object keys written as the text `\\u0000`."""
    if isinstance(value, str):
        return value.replace(NUL, "\\u0000")
    if isinstance(value, dict):
        return {_visible(k): _visible(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_visible(v) for v in value]
    return value


def _kept(result: wire.MutationResult) -> bytes | None:
    """What is kept of an answer for a retry: nothing of an applied one (a retry is
    `duplicate`), and of a conflict not the server's row (read again for the retry: it may have
    moved on, and a copy here would be one more place holding it)."""
    if result.status is wire.MutationStatus.APPLIED:
        return None
    return msgspec.json.encode(msgspec.structs.replace(result, server=None))


def _digest(mutation: wire.Mutation) -> bytes:
    """What a mutation is (its name and arguments, keys in any order), in 16 bytes."""
    content = msgspec.json.encode([mutation.name, mutation.args], order="sorted")
    return hashlib.blake2b(content, digest_size=16).digest()


async def _answered_again(
    conn: Connection,
    ctx: Context,
    mutation: wire.Mutation,
    digest: bytes,
    kept: Mapping[int, Any],
) -> wire.MutationResult:
    """The answer to an id answered before: the same mutation again (a retry after a lost
    answer) gets what it got then (a conflict with the server's row as it is now), an applied
    one `duplicate` (with its `result` made again where the operation can, a share's); another
    mutation under that id is refused, never taken for done. An id whose answer is not kept
    (answered before answers were kept, or purged) is `duplicate`."""
    before = kept.get(mutation.id)
    if before is not None and bytes(before["digest"]) != digest:
        return _rejected(
            mutation, "sync.mutation_id_reused",
            f"Mutation id {mutation.id} was answered before for another mutation: give each "
            "mutation a new id (ids increase per client_id)",
        )  # fmt: skip
    operation = OPERATIONS.get(mutation.name)
    if before is None or before["answer"] is None:
        return await _duplicate(conn, ctx, mutation, operation)
    answer = before["answer"]
    if isinstance(answer, str):
        answer = msgspec.json.decode(answer)
    result = msgspec.convert(answer, wire.MutationResult)
    if result.status is wire.MutationStatus.CONFLICT and operation and operation.server_row:
        args = msgspec.convert(mutation.args, operation.args)  # converted when it was answered
        result.server = await _server_row_or_none(conn, ctx, operation.server_row, args)
    return result


async def _duplicate(
    conn: Connection, ctx: Context, mutation: wire.Mutation, operation: Operation | None
) -> wire.MutationResult:
    """`duplicate` for a mutation applied before, with its result again where the operation
    makes one (`answered_again`; nothing when it cannot: the args no longer read, the
    caller's role changed, the object is gone)."""
    result = None
    if operation is not None and operation.answered_again and ctx.caller.role in operation.roles:
        try:
            args = msgspec.convert(mutation.args, operation.args)
        except msgspec.ValidationError:
            args = None
        if args is not None:
            result = await _server_row_or_none(conn, ctx, operation.answered_again, args)
    return wire.MutationResult(id=mutation.id, status=wire.MutationStatus.DUPLICATE, result=result)


async def _server_row_or_none(
    conn: Connection, ctx: Context, server_row: ServerRow, args: Any
) -> Any:
    """The row as the server has it now, or None when the caller can no longer see it (the
    task moved to another RM since: a retry must not fail the whole push with a 404) or the
    database refuses a value of the arguments."""
    try:
        async with conn.transaction():
            return await server_row(conn, ctx, args)
    except DomainError:
        return None
    except VALUE_REFUSED:
        return None


def _rejected(mutation: wire.Mutation, code: str, detail: str, **extra: Any) -> wire.MutationResult:
    return wire.MutationResult(
        id=mutation.id, status=wire.MutationStatus.REJECTED, code=code, detail=detail,
        problem=extra or None,
    )  # fmt: skip


async def _apply_one(
    conn: Connection, ctx: Context, mutation: wire.Mutation
) -> wire.MutationResult:
    operation = OPERATIONS.get(mutation.name)
    if operation is None:
        return _rejected(
            mutation, "sync.unknown_mutation", f"No mutation named {mutation.name[:60]!r}"
        )
    if ctx.caller.role not in operation.roles:
        return _rejected(mutation, "auth.forbidden", f"Your role may not {mutation.name}")
    try:
        args = msgspec.convert(mutation.args, operation.args)
    except msgspec.ValidationError as exc:
        return _rejected(mutation, "request.invalid", str(exc))
    at = device_time.believed(device_time.read(mutation.occurred_at), max_days=ctx.offline_max_days)
    try:
        async with conn.transaction():  # a savepoint: a refused mutation leaves nothing behind
            result = await operation.apply(conn, ctx, args, at)
    except operation.conflicts as exc:
        server = (
            await _server_row_or_none(conn, ctx, operation.server_row, args)
            if operation.server_row
            else None
        )
        return wire.MutationResult(
            id=mutation.id, status=wire.MutationStatus.CONFLICT, code=exc.code,
            detail=exc.detail, server=server,
        )  # fmt: skip
    except DomainError as exc:
        return _rejected(mutation, exc.code, exc.detail or exc.title, **exc.extra)
    except VALUE_REFUSED as exc:  # what the API answers 422 for the request, for this one alone
        log.warning("mutation value refused by the database", extra={"sqlstate": exc.sqlstate})
        return _rejected(
            mutation, "request.invalid_value",
            "A value is out of range or not allowed (e.g. a time or a number too large)",
        )  # fmt: skip
    return wire.MutationResult(id=mutation.id, status=wire.MutationStatus.APPLIED, result=result)

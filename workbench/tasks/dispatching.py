"""Dispatch: one template to every RM of an org subtree, or to a customer list routed to each
customer's owning RM (capped per RM). Tasks and their reminders are created by one set-based
statement; the same Idempotency-Key never creates anything twice.

A recurring template starts a series: the dispatch creates the current period's tasks, and the
next period's are created when a task of the series is done or when that period starts. The
series runs on the calendar grid of its rule (`recurrence.calendar_period`: a plain FREQ=MONTHLY
is one period per calendar month, whatever day it was dispatched on). Each new period's tasks
take the template's current version and reminders (the schedule stays the one dispatched), for
each RM whose unit sees the template; an RM whose unit does not (moved since, or given the
customer since) keeps the version dispatched. A series runs until its rule ends, its template
stops being recurring, or a manager ends it.

A dispatch only reaches units that see its template (owned on their path to the root, or below
them): a template's editors would otherwise decide what RMs who cannot see it fill in.

Creating a dispatch and ending a series are written to the audit trail (counts and ids, never
customers).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from mobile_contracts.v1 import dispatches as list_wire
from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.problems import FieldError
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.customers import queries as customer_queries
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, NotFound
from workbench.identity import queries as identity_queries
from workbench.identity.staff import visible_name
from workbench.ids import uuid7
from workbench.pagination import decode_cursor, encode_cursor
from workbench.periods import YEARS, within_years
from workbench.tasks import queries
from workbench.tasks.recurrence import (
    Period,
    calendar_period,
    next_period,
    period_at,
    periods_started,
)


class IdempotencyKeyReused(Conflict):
    code = "dispatch.idempotency_key_reused"


class NotRecurring(Conflict):
    code = "dispatch.not_recurring"


class DueInThePast(DomainError):
    status, code, title = 422, "task.due_in_past", "The due time has already passed"


class NotApplicable(DomainError):
    """A dispatch field that means nothing for this dispatch: refused rather than ignored, so
    the dispatcher never believes it took effect."""

    status, title = 422, "The dispatch holds a field that cannot apply"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class TemplateNotVisible(DomainError):
    """A dispatch reaching RMs whose units cannot see its template: whoever may edit the
    template would decide what they fill in, and they could not look it up themselves."""

    status, code = 422, "dispatch.template_not_visible"
    title = "The template is not visible to every unit the dispatch reaches"


def _visible_title(text: str) -> str:
    """The title as every task of the dispatch (each period's, in a series) and its pushes show
    it: trimmed, something visible, one line that reads as typed (422 naming `$.title`)."""
    return visible_name(text, path="$.title")


def first_period(rule: str, *, anchor: datetime, now: datetime, tz: str) -> Period | None:
    """The period containing `now`, or else the first one to come."""
    current = period_at(rule, anchor=anchor, at=now, tz=tz)
    if current is not None:
        return current
    upcoming = periods_started(
        rule, anchor=anchor, since=now, until=now + timedelta(days=800), tz=tz, limit=1
    )
    return upcoming[0] if upcoming else None


def _task_values(
    *,
    version: queries.Record,
    dispatch_id: uuid.UUID,
    title: str,
    due_at: datetime | None,
    expires_at: datetime | None,
    period_start: datetime | None,
) -> dict[str, Any]:
    # Order matters: these are $2..$9 of the insert statements in queries.
    return {
        "template_id": version["id"],
        "template_version": version["version"],
        "dispatch_id": dispatch_id,
        "title": title,
        "due_at": due_at,
        "expires_at": expires_at,
        "period_start": period_start,
        "reminders": list(version["reminders"]),
    }


async def dispatch(
    conn: Connection,
    *,
    caller: Caller,
    request: wire.DispatchCreate,
    idempotency_key: str | None,
    tz: str,
    client_ip: str | None = None,
) -> wire.Dispatch:
    """Create the tasks of a dispatch (or answer the earlier result of the same key).
    `client_ip`: the dispatcher's address, for the audit trail (None: no client, e.g. the seed)."""
    title = _visible_title(request.title)
    # An empty customer list targets nobody: refused like no target, before anything is stored
    # (an empty dispatch would be listed and audited as if it had gone out).
    if (request.org_unit_id is None) == (request.customer_ids is None) or (
        request.customer_ids is not None and not request.customer_ids
    ):
        error = DomainError("Give either org_unit_id or a customer_ids list of one or more")
        error.code = "dispatch.target_required"
        raise error
    everything = caller.role is Role.ADMIN
    if not await queries.template_visible(
        conn, request.template_id, org_unit_id=caller.org_unit_id, everything=everything
    ):
        raise NotFound("template")
    version = await queries.template_version(conn, request.template_id)
    assert version is not None
    _check_applicable(request, recurring=version["recurrence"] is not None)
    if request.org_unit_id is not None and not await identity_queries.org_unit_in_scope(
        conn, request.org_unit_id, scope_root=caller.scope_root
    ):
        raise NotFound("org_unit")

    now = datetime.now(UTC)
    due_at, expires_at, period_start, anchor = _timing(request, version, now=now, tz=tz)
    request_hash = hashlib.sha256(msgspec.json.encode(request)).hexdigest()
    dispatch_id = uuid7()
    claimed = await queries.claim_dispatch(
        conn,
        fields={
            "id": dispatch_id,
            "template_id": version["id"],
            "template_version": version["version"],
            "title": title,
            "due_at": due_at,
            "org_unit_id": request.org_unit_id,
            "per_rm_cap": request.per_rm_cap,
            "recurring": version["recurrence"] is not None,
            "anchor": anchor,
            "created_by": caller.user_id,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
            # How far it can reach: a branch head lists and ends what lies in their subtree.
            "scope_unit_id": request.org_unit_id or caller.scope_root,
        },
    )
    if claimed is None:
        assert idempotency_key is not None
        earlier = await queries.dispatch_by_key(
            conn, created_by=caller.user_id, key=idempotency_key
        )
        assert earlier is not None
        if earlier["request_hash"] != request_hash:
            raise IdempotencyKeyReused("This Idempotency-Key was used for a different dispatch")
        # `no_active_rm` is not stored: it is the rest of the customer list, the same list.
        listed = len(set(request.customer_ids or [])) if request.org_unit_id is None else 0
        counted = earlier["created"] + earlier["skipped"] + earlier["not_found"]
        return wire.Dispatch(
            id=earlier["id"],
            created=earlier["created"],
            skipped=earlier["skipped"],
            not_found=earlier["not_found"],
            no_active_rm=max(listed - counted, 0),
        )
    # Checked once the key is known to be new: a retry of a dispatch that went through answers
    # its result even after its due time has passed (raising here rolls the claim back).
    check_not_past(due_at, now=now)
    closed: set[uuid.UUID] = set()
    if request.customer_ids is not None:
        # Their owners stay as read until this commits: a feed moving them meanwhile either
        # committed first (its RM gets the tasks) or waits and then hands them over.
        owners = await customer_queries.hold_owners(conn, list(dict.fromkeys(request.customer_ids)))
        # And whether each owner is an active RM: an admin disabling one (or giving them
        # another role) meanwhile committed first (no task: `no_active_rm`) or waits for this
        # and then counts the tasks in their hand-over.
        await customer_queries.hold_owner_accounts(conn, list(set(owners.values())))
        # A customer who left the bank (closed; read under the hold, so a feed closing them
        # has committed first, or waits and then cancels the task) is no one's to visit: not
        # found, as a customer outside the dispatcher's scope.
        closed = await customer_queries.closed_among(conn, list(owners))
    else:
        assert request.org_unit_id is not None
        await queries.hold_rms_of_unit(conn, request.org_unit_id)  # the same, for the unit's RMs
    reaching = request
    if closed:
        open_ids = [c for c in request.customer_ids or [] if c not in closed]
        reaching = msgspec.structs.replace(request, customer_ids=open_ids)
    await _check_template_reaches(conn, reaching, scope_root=caller.scope_root)

    task = _task_values(
        version=version,
        dispatch_id=dispatch_id,
        title=title,
        due_at=due_at,
        expires_at=expires_at,
        period_start=period_start,
    )
    if request.org_unit_id is not None:
        created = await queries.insert_tasks_for_unit(conn, root=request.org_unit_id, task=task)
        skipped = not_found = no_active_rm = 0
    else:
        wanted = list(dict.fromkeys(request.customer_ids or []))
        created, found, in_scope = await queries.insert_tasks_for_customers(
            conn,
            scope_root=caller.scope_root,
            customer_ids=[c for c in wanted if c not in closed],
            per_rm_cap=request.per_rm_cap,
            task=task,
        )
        # Unknown, closed or outside the dispatcher's scope, or in it with an owner who is no
        # active RM (disabled, or given another role): nobody to do the task, said apart.
        not_found, no_active_rm = len(wanted) - in_scope, in_scope - found
        skipped = found - created
    await queries.finish_dispatch(
        conn, dispatch_id, created=created, skipped=skipped, not_found=not_found
    )
    await audit.record(
        conn,
        action="dispatch.created",
        actor_id=caller.user_id,
        subject=f"dispatch:{dispatch_id}",
        client_ip=client_ip,
        detail={
            "template_id": str(version["id"]),
            "template_version": version["version"],
            "org_unit_id": str(request.org_unit_id) if request.org_unit_id else None,
            "customers": len(request.customer_ids or []),
            "recurring": version["recurrence"] is not None,
            "created": created,
            "skipped": skipped,
            "not_found": not_found,
            "no_active_rm": no_active_rm,
        },
    )
    return wire.Dispatch(
        id=dispatch_id,
        created=created,
        skipped=skipped,
        not_found=not_found,
        no_active_rm=no_active_rm,
    )


async def _check_template_reaches(
    conn: Connection, request: wire.DispatchCreate, *, scope_root: uuid.UUID | None
) -> None:
    """Every unit the dispatch reaches sees its template (owned on the unit's path to the root,
    or below it): every unit of `org_unit_id`'s subtree, or the unit of every RM owning one of
    `customer_ids`. Else 422 naming the template and the first unit that does not see it."""
    unit = await queries.unit_not_seeing_template(
        conn,
        request.template_id,
        root=request.org_unit_id,
        customer_ids=request.customer_ids if request.org_unit_id is None else None,
        scope_root=scope_root,
    )
    if unit is None:
        return
    target = "$.org_unit_id" if request.org_unit_id is not None else "$.customer_ids"
    reached = (
        f"org unit {unit['id']} ({unit['name']}), in the subtree of org_unit_id"
        if request.org_unit_id is not None
        else f"org unit {unit['id']} ({unit['name']}), the unit of the RM owning a customer"
    )
    raise TemplateNotVisible(
        f"template_id {request.template_id} is not visible to {reached}: a template is visible "
        "to its owner unit's subtree and the units above it; dispatch it within that subtree, "
        "or use a template owned higher up",
        errors=[
            FieldError(path="$.template_id", message=f"not visible to org unit {unit['id']}"),
            FieldError(path=target, message=f"reaches org unit {unit['id']} ({unit['name']})"),
        ],
    )


class DueOutOfRange(DomainError):
    status, code, title = 422, "task.due_out_of_range", "The due time is not a plausible date"


def check_due(due_at: datetime | None) -> None:
    """A due time lies in the years a business time may (its reminders are computed from it and
    stored: a year 9999 in some zone is beyond what PostgreSQL holds)."""
    if due_at is not None and not within_years(due_at):
        raise DueOutOfRange(f"due_at must lie within the years {YEARS[0]} to {YEARS[1]}")


def check_not_past(due_at: datetime | None, *, now: datetime) -> None:
    """A task is never born (or moved) overdue: reminders are only set for times to come, and
    the at-due reminder is what schedules the escalation, so a past due time would leave the
    task with neither."""
    if due_at is not None and due_at <= now:
        raise DueInThePast(f"due_at {due_at.isoformat()} has already passed")


def as_utc(due_at: datetime | None) -> datetime | None:
    """A due time written without an offset is read as UTC (as it always was stored)."""
    return due_at.replace(tzinfo=UTC) if due_at is not None and due_at.tzinfo is None else due_at


def _check_applicable(request: wire.DispatchCreate, *, recurring: bool) -> None:
    """Refuse what a dispatch cannot honour: a recurring series is due at the end of each
    period (a given due time would be dropped), and an org-unit dispatch gives every RM exactly
    one task (a cap per RM only limits a customer list)."""
    if recurring and request.due_at is not None:
        raise NotApplicable(
            "dispatch.due_at_not_applicable",
            "due_at cannot be given for a recurring template: each task is due at the end of "
            "its period",
        )
    if request.org_unit_id is not None and request.per_rm_cap is not None:
        raise NotApplicable(
            "dispatch.per_rm_cap_not_applicable",
            "per_rm_cap only applies to customer_ids: an org_unit_id dispatch gives each RM "
            "one task",
        )


def _timing(
    request: wire.DispatchCreate, version: queries.Record, *, now: datetime, tz: str
) -> tuple[datetime | None, datetime | None, datetime | None, datetime | None]:
    """(due_at, expires_at, period_start, series anchor) of the tasks of a dispatch."""
    rule = version["recurrence"]
    if rule is None:
        due = as_utc(request.due_at)
        check_due(due)
        if due is None and version["sla_hours"]:
            due = now + timedelta(hours=version["sla_hours"])
        return due, None, None, None
    started = series_start(rule, now=now, tz=tz)
    if started is None:
        error = DomainError("The template's recurrence has no period left")
        error.code = "dispatch.recurrence_ended"
        raise error
    period, anchor = started
    return period.end, _expiry(rule, anchor, period, tz), period.start, anchor


def series_start(rule: str, *, now: datetime, tz: str) -> tuple[Period, datetime] | None:
    """(first period, anchor) of a series of `rule` dispatched at `now`; None when the rule has
    no period left (an UNTIL passed). The period of the rule's calendar grid containing now (this
    week from Monday, this month from the 1st: never a grid set by the dispatch day); the series
    is anchored at its start, and COUNT counts from there."""
    current = calendar_period(rule, at=now, tz=tz)
    if current is None:
        return None
    period = first_period(rule, anchor=current.start, now=now, tz=tz)
    return (period, current.start) if period is not None else None


def _expiry(rule: str, anchor: datetime, period: Period, tz: str) -> datetime | None:
    """A recurring task stays open (overdue) through the next period, then expires."""
    following = next_period(rule, anchor=anchor, after=period, tz=tz)
    return following.end if following else period.end + (period.end - period.start)


def following_period(
    dispatch_row: queries.Record, *, after_start: datetime, tz: str
) -> Period | None:
    """The period after the one starting at `after_start` in a recurring series."""
    rule, anchor = dispatch_row["recurrence"], dispatch_row["anchor"]
    current = period_at(rule, anchor=anchor, at=after_start, tz=tz)
    return next_period(rule, anchor=anchor, after=current, tz=tz) if current else None


async def open_period(
    conn: Connection,
    *,
    dispatch_row: queries.Record,
    period: Period,
    source_start: datetime,
    tz: str,
    only_task: uuid.UUID | None = None,
) -> int:
    """Create a series' tasks for `period`, for the people of the period starting at
    `source_start` (only the place of `only_task`, a task of that period just done: its RM in
    a unit's series, its customer in a customer list's). Idempotent.

    Each task takes the template's current version if its RM's unit sees the template; else
    the version the series was dispatched with (a unit moved since, a customer handed over to
    an RM elsewhere, a series dispatched before dispatches were checked): whoever may edit a
    template its RMs cannot see never decides what they fill in."""
    rule, anchor = dispatch_row["recurrence"], dispatch_row["anchor"]
    task = _task_values(
        version={"id": dispatch_row["template_id"], "version": dispatch_row["template_version"],
                 "reminders": dispatch_row["reminders"]},  # type: ignore[arg-type]
        dispatch_id=dispatch_row["id"],
        title=dispatch_row["title"],
        due_at=period.end,
        expires_at=_expiry(rule, anchor, period, tz),
        period_start=period.start,
    )  # fmt: skip
    # A customer list's series: each customer's owner now, held until this commits (a feed
    # moving them waits for it, then hands the new tasks over; or committed first).
    customers = await queries.period_customers(
        conn, dispatch_id=dispatch_row["id"], period_start=source_start, only_task=only_task
    )
    if customers:
        owners = await customer_queries.hold_owners(conn, customers)
        # Each owner's being an active RM too, as a dispatch holds it (`dispatch`).
        await customer_queries.hold_owner_accounts(conn, list(set(owners.values())))
    else:
        await queries.hold_rms_of_series(conn, dispatch_row["id"], only_task=only_task)
    return await queries.insert_next_period(
        conn,
        dispatch_id=dispatch_row["id"],
        previous_start=source_start,
        task=task,
        only_task=only_task,
        dispatched_version=dispatch_row["dispatched_version"],
        dispatched_reminders=list(dispatch_row["dispatched_reminders"]),
    )


# ---- the list, and ending a series --------------------------------------------------------------


def summary(row: queries.Record) -> list_wire.DispatchSummary:
    return list_wire.DispatchSummary(
        id=row["id"],
        template_id=row["template_id"],
        template_name=row["template_name"],
        title=row["title"],
        org_unit_id=row["org_unit_id"],
        recurring=row["recurring"],
        recurrence=row["recurrence"] if row["recurring"] else None,
        created=row["created"],
        skipped=row["skipped"],
        not_found=row["not_found"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        ended_at=row["ended_at"],
        ended_by=row["ended_by"],
    )


async def list_dispatches(
    conn: Connection, *, caller: Caller, cursor: str | None, limit: int
) -> Page[list_wire.DispatchSummary]:
    """The dispatches in the caller's scope (an admin's: all; a branch head's: those reaching
    only inside their subtree), newest first."""
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.dispatches_in_scope(
        conn, scope_root=caller.scope_root, after=after, limit=limit + 1
    )
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return Page(
        items=[summary(r) for r in rows[:limit]],
        next_cursor=encode_cursor([last["created_at"], last["id"]]) if last else None,
    )


async def end(
    conn: Connection, *, caller: Caller, dispatch_id: uuid.UUID, client_ip: str | None = None
) -> list_wire.DispatchSummary:
    """End a recurring series: no period is opened after this (neither by the worker nor when
    a task is done); the tasks already issued stay open. Ending it again changes nothing.
    `client_ip`: the caller's address, for the audit trail."""
    row = await queries.dispatch_in_scope(conn, dispatch_id, scope_root=caller.scope_root)
    if row is None:
        raise NotFound("dispatch")
    if not row["recurring"]:
        raise NotRecurring("A one-off dispatch has no further periods to end")
    if await queries.end_dispatch(conn, dispatch_id, ended_by=caller.user_id) is not None:
        await audit.record(
            conn,
            action="dispatch.ended",
            actor_id=caller.user_id,
            subject=f"dispatch:{dispatch_id}",
            client_ip=client_ip,
            detail={"template_id": str(row["template_id"]), "recurrence": row["recurrence"]},
        )
    ended = await queries.dispatch_in_scope(conn, dispatch_id, scope_root=caller.scope_root)
    assert ended is not None  # read after the update: a concurrent end's time, too
    return summary(ended)

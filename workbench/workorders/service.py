"""Work orders: listing and reading them in scope, moving them on, and their root causes.

States: open -> in_progress -> resolved -> closed, each step with a note (stored encrypted). A
resolved work order may be reopened (resolved -> in_progress) when the fix did not hold; a closed
one is final, and an in_progress one does not go back to open. Closing names an active root
cause, or none (the contract's form `{to, note}`): that one records null, which every reader shows
and counts as 未注明 (`root_cause_label`); a caller may insist on one (`require_root_cause`: the
staff console). Who sees and moves a work order: its assignee, a branch head whose subtree holds
its unit, an admin; anyone else gets 404 as if it did not exist. An overdue one escalates to a
branch head over its unit (`escalation`), by the same rule, so the one told reads it; being told
grants nothing more (a branch head since moved to another branch no longer reads it; the move,
like another role or being disabled, hands theirs to the one now over the unit: `handover`).
Unfinished work orders follow their customer when a bank feed moves it to another RM, and their RM
when an admin moves the RM to another unit (`handover`): the new unit's branch heads read them, the
old one's no longer.
The customer a work order is about (masked name, the answers they gave) is shown only to a reader
who may see that customer (an RM their own, a branch head those owned in their subtree): the closed
ones a move leaves behind show "*" and no answers to the former RM and branch head, as does an open
one an RM's move left behind before work orders followed it (the dashboard's list too).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from mobile_contracts.v1 import workorders as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.problems import FieldError
from mobile_contracts.v1.surveys import Question, QuestionType
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import mask_long_numbers, masked_for
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, NotFound
from workbench.ids import uuid7
from workbench.pagination import BadCursor, decode_cursor, encode_cursor, keyset_page
from workbench.security.rotation import EncryptedColumns
from workbench.security.vault import UNREADABLE, FieldCipher, Vault
from workbench.tasks.forms import check_text
from workbench.timeline import service as timeline
from workbench.visible import one_line_shown, reads_otherwise, shows_something
from workbench.workorders import alerts, queries

State = wire.WorkOrderState
# A step in the audit trail (the note stays in `work_order_events`, encrypted).
TRANSITIONED = "work_order.transitioned"
# Where each state may go next.
NEXT: dict[State, frozenset[State]] = {
    State.OPEN: frozenset({State.IN_PROGRESS}),
    State.IN_PROGRESS: frozenset({State.RESOLVED}),
    State.RESOLVED: frozenset({State.CLOSED, State.IN_PROGRESS}),
    State.CLOSED: frozenset(),
}
UNRESOLVED = frozenset({State.OPEN, State.IN_PROGRESS})
# How a work order closed without a root cause (null) is shown and counted wherever root causes
# are reported: never left out, never taken for one of the bank's causes.
NO_ROOT_CAUSE = "未注明"


def root_cause_label(code: str | None, labels: Mapping[str, str]) -> str:
    """A closed work order's root cause as people read it: its label (`labels`: code -> label,
    retired causes included), the code of one not in the list, 未注明 for none."""
    if not code:
        return NO_ROOT_CAUSE
    return labels.get(code, code)


class TransitionInvalid(Conflict):
    code, title = "work_order.transition_invalid", "The work order cannot move to that state"


class StateChanged(Conflict):
    """The work order is no longer in the state the step was chosen in (a stale page, another
    device): nothing is recorded, so a step meant for one state never applies to another."""

    code, title = "work_order.state_changed", "The work order's state changed meanwhile"


class RootCauseRequired(DomainError):
    status, code, title = 422, "work_order.root_cause_required", "Closing needs a root cause"


class RootCauseUnknown(DomainError):
    status, code, title = 422, "work_order.root_cause_unknown", "No such active root cause"


class NoteRequired(DomainError):
    status, code, title = 422, "work_order.note_required", "Each step needs a note"


class RootCauseInvalid(DomainError):
    status, code, title = 422, "request.validation_failed", "Invalid request"


class RootCauseExists(Conflict):
    code, title = "work_order.root_cause_exists", "There is already a root cause with that code"


def note_aad(event_id: uuid.UUID) -> str:
    return f"work_order_event.note:{event_id}"


# What `workbench rotate-keys` re-encrypts of work orders: the notes of their events.
ENCRYPTED = EncryptedColumns(
    kind="work order notes",
    table="work_order_events",
    key="id",
    key_type="uuid",
    aad={"note_enc": lambda row: note_aad(row["id"])},
)


def reader_scope(caller: Caller) -> dict[str, Any]:
    """The query scope: an admin all; a branch head their subtree (and their own); anyone else
    only what is assigned to them. Also decides whether the reader is shown a work order's
    customer (`queries.customer_shown`), wherever work orders are listed (the dashboard too)."""
    return {
        "user_id": caller.user_id,
        "scope_root": caller.org_unit_id if caller.role is Role.BRANCH_HEAD else None,
        "all_": caller.role is Role.ADMIN,
    }


async def transition(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    work_order_id: uuid.UUID,
    to: wire.WorkOrderState,
    note: str,
    root_cause: str | None = None,
    require_root_cause: bool = False,
    expected_state: wire.WorkOrderState | None = None,
    now: datetime | None = None,
    client_ip: str | None = None,
) -> wire.WorkOrder:
    """Move a work order on with a note (the API's transition and sync's mutation).
    `expected_state`: the state the caller saw when choosing the step (the console's form, the
    API's `from`); if it is in another by now, 409 `work_order.state_changed` and nothing moves
    (a stale page never reopens a resolved one); None: no check (older apps).
    404 `work_order.not_found` out of scope, 409 `work_order.transition_invalid`, 422
    `work_order.root_cause_unknown` / `work_order.note_required` (a note that shows nothing,
    spaces or invisible characters only, says nothing: checked here, so the API, the console and
    the offline mutation refuse it alike). Closing without `root_cause` is the contract's form
    (`{to: closed, note}`) and records none (null, shown as 未注明); a caller that insists on one
    (`require_root_cause`: the staff console's form) gets 422 `work_order.root_cause_required`.
    Each step is in the audit trail too (`work_order.transitioned`: who, from which address,
    `client_ip`, the states and the root cause; never the note)."""
    if not shows_something(note):
        message = "Say in the note what was done or found; spaces alone are no note"
        raise NoteRequired(message, errors=[FieldError(path="$.note", message=message)])
    check_text(note, path="$.note")  # a direction override or a control character: 422
    now = now or datetime.now(UTC)
    row = await queries.work_order_in_scope(
        conn, work_order_id, for_update=True, **reader_scope(caller)
    )
    if row is None:
        raise NotFound("work_order")
    current = State(row["state"])
    if expected_state is not None and current is not expected_state:
        raise StateChanged(
            f"The work order is {current.value} now, not {expected_state.value} as when the step "
            "was chosen: nothing was recorded. Read it again and choose the next step",
            current_status=current.value,
        )
    if to not in NEXT[current]:
        allowed = ", ".join(sorted(s.value for s in NEXT[current])) or "nothing (it is closed)"
        raise TransitionInvalid(
            f"A work order {current.value} can move to {allowed}, not to {to.value}",
            state=current.value,
        )
    cause = None
    if to is State.CLOSED and root_cause:
        known = await queries.root_cause(conn, root_cause)
        if known is None or not known["active"]:
            raise RootCauseUnknown(f"{root_cause!r} is not an active root cause")
        cause = root_cause
    elif to is State.CLOSED and require_root_cause:
        raise RootCauseRequired("Name the root cause (one of GET /work-orders/root-causes)")
    await queries.set_state(conn, work_order_id, state=to.value, root_cause=cause, now=now)
    event_id = uuid7()
    await queries.insert_event(
        conn, event_id=event_id, work_order_id=work_order_id, kind="transition",
        from_state=current.value, to_state=to.value, actor_id=caller.user_id,
        note_enc=vault.cipher.encrypt(note, aad=note_aad(event_id)), root_cause=cause, data={},
        now=now,
    )  # fmt: skip
    await audit.record(
        conn,
        action=TRANSITIONED,
        actor_id=caller.user_id,
        subject=f"work_order:{work_order_id}",
        client_ip=client_ip,
        detail={
            "from": current.value,
            "to": to.value,
            "event_id": str(event_id),
            **({"root_cause": cause} if cause else {}),
        },
    )
    if to is State.CLOSED and row["customer_id"] is not None:
        await timeline.record_events(
            conn,
            source=alerts.TIMELINE_SOURCE,
            events=[
                timeline.Event(
                    customer_id=row["customer_id"],
                    kind="work_order.closed",
                    occurred_at=now,
                    source_id=f"{work_order_id}:closed:{event_id}",
                    data={"work_order_id": str(work_order_id), "root_cause": cause},
                )
            ],
        )
    return await detail(conn, vault=vault, caller=caller, work_order_id=work_order_id, now=now)


async def detail(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    work_order_id: uuid.UUID,
    now: datetime | None = None,
) -> wire.WorkOrder:
    """A work order in the caller's scope with its answer and events (404 otherwise)."""
    found = await details(conn, vault=vault, caller=caller, work_order_ids=[work_order_id], now=now)
    if work_order_id not in found:
        raise NotFound("work_order")
    return found[work_order_id]


async def details(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    work_order_ids: list[uuid.UUID],
    now: datetime | None = None,
) -> dict[uuid.UUID, wire.WorkOrder]:
    """These work orders as `detail` shows each, by id, in four queries however many: only
    those in the caller's scope (the scope is applied in SQL), those out of it or gone left
    out."""
    now = now or datetime.now(UTC)
    if not work_order_ids:
        return {}
    rows = await queries.work_orders_in_scope(conn, work_order_ids, **reader_scope(caller))
    if not rows:
        return {}
    responses = {
        r["id"]: r
        for r in await queries.responses_for_summary(conn, list({r["response_id"] for r in rows}))
    }
    rules = {
        r["id"]: r for r in await queries.rules_by_id(conn, list({r["rule_id"] for r in rows}))
    }
    events: dict[uuid.UUID, list[queries.Record]] = {r["id"]: [] for r in rows}
    for event in await queries.events_of(conn, [r["id"] for r in rows]):
        events[event["work_order_id"]].append(event)
    return {
        row["id"]: _detail(
            vault, caller.role, row, responses[row["response_id"]], rules.get(row["rule_id"]),
            events[row["id"]], now,
        )
        for row in rows
    }  # fmt: skip


def _detail(
    vault: Vault,
    role: Role,
    row: queries.Record,
    response: queries.Record,
    rule: queries.Record | None,
    events: list[queries.Record],
    now: datetime,
) -> wire.WorkOrder:
    base = _row(vault, role, row, now)
    return wire.WorkOrder(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        respondent=None,  # staff answers are handled without naming who gave them
        sla_hours=row["sla_hours"],
        sla_kind=wire.SlaKind(row["sla_kind"]),
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        submitted_at=response["submitted_at"],
        answers=(
            _answer_lines(vault.cipher, response, _matched_key(events, rule))
            if row["customer_shown"]
            else []
        ),
        events=[_event(vault.cipher, e) for e in events],
    )


def _matched_key(events: list[queries.Record], rule: queries.Record | None) -> str | None:
    """The question the work order matched when it was opened (its `opened` event keeps it: a
    rule edited since marks another question, or none); for one opened before the event kept
    it, the rule's question now."""
    for event in events:
        if event["kind"] == "opened":
            key = (event["data"] or {}).get("question_key")
            if isinstance(key, str):
                return key
    return rule["question_key"] if rule is not None else None


async def list_work_orders(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    state: wire.WorkOrderState | None = None,
    overdue: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
    org_unit_id: uuid.UUID | None = None,
) -> Page[wire.WorkOrderRow]:
    """Newest first: an RM their own; a branch head their subtree's; an admin all.
    `overdue`: only those past their due time and not yet resolved; `org_unit_id`: only those
    of that unit's subtree, a unit of the caller's own subtree (the bank's, for an admin), else
    404 `org_unit.not_found`."""
    now = now or datetime.now(UTC)
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    if org_unit_id is not None and not await queries.unit_visible(
        conn, org_unit_id, caller.scope_root
    ):
        raise NotFound("org_unit")
    rows = await queries.list_work_orders(
        conn, state=state.value if state else None, overdue_at=now if overdue else None,
        after=after, limit=limit + 1, unit_id=org_unit_id, **reader_scope(caller),
    )  # fmt: skip
    more, rows = len(rows) > limit, rows[:limit]
    items = [_row(vault, caller.role, r, now) for r in rows]
    next_cursor = encode_cursor([rows[-1]["created_at"], rows[-1]["id"]]) if more else None
    return Page[wire.WorkOrderRow](items=items, next_cursor=next_cursor)


async def rows_by_id(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    work_order_ids: list[uuid.UUID],
    now: datetime | None = None,
) -> list[wire.WorkOrderRow]:
    """Rows of these work orders, which the caller picked in their scope (the console's list),
    the customer shown as the caller may see them."""
    now = now or datetime.now(UTC)
    rows = await queries.work_orders_by_id(conn, work_order_ids, **reader_scope(caller))
    return [_row(vault, caller.role, r, now) for r in rows]


def _row(vault: Vault, role: Role, row: queries.Record, now: datetime) -> wire.WorkOrderRow:
    state = State(row["state"])
    return wire.WorkOrderRow(
        id=row["id"],
        state=state,
        survey_id=row["survey_id"],
        survey_title=row["survey_title"],
        response_id=row["response_id"],
        rule_id=row["rule_id"],
        customer_id=row["customer_id"],
        customer=_masked_customer(vault, role, row),
        assignee_id=row["assignee_id"],
        assignee=row["assignee_name"],
        org_unit_id=row["org_unit_id"],
        due_at=row["due_at"],
        overdue=state in UNRESOLVED and row["due_at"] < now,
        escalation_level=row["escalation_level"],
        root_cause=row["root_cause"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _masked_customer(vault: Vault, role: Role, row: queries.Record) -> str | None:
    """The customer's name masked for the reader's role; "*" for a reader who may not see the
    customer (`customer_shown`: moved to an RM outside their reach); None for a staff survey."""
    if row["customer_id"] is None or row["external_id"] is None:
        return None
    if not row["customer_shown"]:
        return "*"
    name = vault.cipher.decrypt_or_none(
        row["name_enc"],
        aad=personal_data_aad("name", row["external_id"]),
        column="customers.name_enc",
        row=row["customer_id"],
    )
    return UNREADABLE if name is None else masked_for(role, name=name, phone="", id_number="")[0]


def _answer_lines(
    cipher: FieldCipher, response: queries.Record, matched_key: str | None
) -> list[wire.AnswerLine]:
    """The answered questions in order, choices by their labels, the question the work order
    matched (`matched_key`) marked; numbers of six characters or more in text answers masked (a
    phone or ID number the customer typed in: every reader, API, console and app alike, as
    survey results do)."""
    questions = msgspec.convert(response["questions"], list[Question])
    answers: Mapping[str, Any] = response["answers"]
    texts = alerts.response_texts(cipher, response) if response["texts_enc"] else {}
    lines = []
    for q in questions:
        if q.type is QuestionType.TEXT:
            if q.key not in texts:
                continue
            shown = mask_long_numbers(texts[q.key])  # a phone or ID number typed into it
        elif q.key in answers:
            shown = _shown(q, answers[q.key])
        else:
            continue
        lines.append(
            wire.AnswerLine(key=q.key, question=q.text, answer=shown, matched=q.key == matched_key)
        )
    return lines


def _shown(question: Question, value: Any) -> str:
    labels = {o.value: o.label for o in question.options}
    if isinstance(value, list):
        return "、".join(labels.get(str(v), str(v)) for v in value)
    if question.type in (QuestionType.SINGLE, QuestionType.MULTI):
        return labels.get(str(value), str(value))
    return str(value)


def _event(cipher: FieldCipher, row: queries.Record) -> wire.WorkOrderEvent:
    note = None
    if row["note_enc"] is not None:
        note = cipher.decrypt_or_none(
            bytes(row["note_enc"]),
            aad=note_aad(row["id"]),
            column="work_order_events.note_enc",
            row=row["id"],
        )
        note = UNREADABLE if note is None else note
    return wire.WorkOrderEvent(
        id=row["id"],
        kind=row["kind"],
        from_state=State(row["from_state"]) if row["from_state"] else None,
        to_state=State(row["to_state"]) if row["to_state"] else None,
        actor_id=row["actor_id"],
        actor=row["actor_name"],
        note=note,
        root_cause=row["root_cause"],
        data=dict(row["data"]),
        created_at=row["created_at"],
    )


# ---- root causes ---------------------------------------------------------------------------------


async def root_causes(conn: Connection, *, include_inactive: bool = False) -> list[wire.RootCause]:
    """Every root cause in the bank's order (the consoles' lists, and the deprecated bare-array
    answer of `GET /work-orders/root-causes?array=true`)."""
    rows = await queries.root_causes(conn, active_only=not include_inactive)
    return [_root_cause(r) for r in rows]


_POSITIONS = range(-(2**31), 2**31)  # what a cause's position (an int column) can hold


async def page_root_causes(
    conn: Connection, *, include_inactive: bool, cursor: str | None, limit: int
) -> Page[wire.RootCause]:
    """A page of the root causes of `root_causes`, in the bank's order."""
    after = decode_cursor(cursor, tuple[int, str])
    if after is not None and after[0] not in _POSITIONS:
        raise BadCursor("cursor", "not a cursor this list issued")
    rows = await queries.root_causes(
        conn, active_only=not include_inactive, after=after, limit=limit + 1
    )
    kept, next_cursor = keyset_page(rows, limit, lambda r: [r["position"], r["code"]])
    return Page(items=[_root_cause(r) for r in kept], next_cursor=next_cursor)


def _root_cause(row: queries.Record) -> wire.RootCause:
    return wire.RootCause(code=row["code"], label=row["label"], active=row["active"])


async def save_root_cause(
    conn: Connection,
    *,
    caller: Caller,
    cause: wire.RootCauseCreate,
    client_ip: str | None = None,
) -> wire.RootCause:
    """Add a root cause, or change one's label or (in)activate it (same code). In the audit
    trail (the names of the fields changed, never the label; `client_ip`: the admin's
    address); saving a cause as it is writes nothing."""
    label = _checked_cause(cause)
    before = await queries.root_cause(conn, cause.code)
    if before is None:
        added = await _insert_root_cause(
            conn, caller=caller, cause=cause, label=label, client_ip=client_ip
        )
        if added is not None:
            return added
        before = await queries.root_cause(conn, cause.code)  # another admin added it meanwhile
        assert before is not None
    changed = [
        name
        for name, was, now in (
            ("label", before["label"], label),
            ("active", before["active"], cause.active),
        )
        if was != now
    ]
    if not changed:
        return wire.RootCause(code=before["code"], label=before["label"], active=before["active"])
    row = await queries.upsert_root_cause(conn, code=cause.code, label=label, active=cause.active)
    await audit.record(
        conn,
        action="work_order_root_cause.updated",
        actor_id=caller.user_id,
        subject=f"work_order_root_cause:{cause.code}",
        client_ip=client_ip,
        detail={"changed": changed},
    )
    return wire.RootCause(code=row["code"], label=row["label"], active=row["active"])


async def add_root_cause(
    conn: Connection,
    *,
    caller: Caller,
    cause: wire.RootCauseCreate,
    client_ip: str | None = None,
) -> wire.RootCause:
    """Add a root cause whose code is new: 409 `work_order.root_cause_exists` (nothing changed)
    when a cause has that code already (the console's add form, which must not rename one).
    In the audit trail (`client_ip`: the admin's address)."""
    label = _checked_cause(cause)
    added = await _insert_root_cause(
        conn, caller=caller, cause=cause, label=label, client_ip=client_ip
    )
    if added is None:
        raise RootCauseExists(
            f"{cause.code!r} is taken: change that cause by saving it under its code",
            errors=[FieldError(path="$.code", message="already taken")],
        )
    return added


async def _insert_root_cause(
    conn: Connection,
    *,
    caller: Caller,
    cause: wire.RootCauseCreate,
    label: str,
    client_ip: str | None,
) -> wire.RootCause | None:
    """A new root cause, in the audit trail; None (nothing written) when its code is taken."""
    row = await queries.insert_root_cause(conn, code=cause.code, label=label, active=cause.active)
    if row is None:
        return None
    await audit.record(
        conn,
        action="work_order_root_cause.created",
        actor_id=caller.user_id,
        subject=f"work_order_root_cause:{cause.code}",
        client_ip=client_ip,
        detail={"active": cause.active},
    )
    return wire.RootCause(code=row["code"], label=row["label"], active=row["active"])


def _checked_cause(cause: wire.RootCauseCreate) -> str:
    """The label as lists show it (trimmed), or 422 naming the field: a code with a line break
    (the contract's pattern lets a final one through) and a label that shows nothing or reads
    otherwise (control characters, direction overrides) make a cause no one can tell apart."""
    label = cause.label.strip()
    for path, bad in (
        ("$.code", reads_otherwise(cause.code)),
        ("$.label", not one_line_shown(label)),
    ):
        if bad:
            message = "must show something: no spaces only, invisible or control characters"
            raise RootCauseInvalid(
                f"{path}: {message}", errors=[FieldError(path=path, message=message)]
            )
    return label

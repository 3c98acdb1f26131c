"""Event rules: the bank's data platform sends events (e.g. a large balance movement) and rules
turn them into tasks for the owning RM, at most once per customer per rule window."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.problems import FieldError
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.identity import queries as identity_queries
from workbench.identity.staff import visible_name
from workbench.ids import uuid7
from workbench.nul import NUL_CODE, NUL_MESSAGE, rows_with_nul
from workbench.pagination import decode_cursor, encode_cursor
from workbench.periods import YEARS, within_years
from workbench.tasks import queries
from workbench.tasks.queries import _rules as rule_queries
from workbench.visible import reads_otherwise, shows_something

CLOCK_SKEW = timedelta(hours=1)
"""How far ahead of our clock an event may be dated (the data platform's clock may run a little
fast). Beyond that it has not happened: it would hold its rule's window shut for the customer
until that date, so a real event in between would create nothing."""

ORDERED = ("gt", "gte", "lt", "lte")


class RuleNeverMatches(DomainError):
    """A rule whose value does not fit its operator would match no event, silently."""

    status, code, title = 422, "task_rule.bad_value", "The rule's value does not fit its op"


class RuleTextRefused(DomainError):
    """A rule's event kind or field that shows nothing or reads otherwise than typed."""

    status, code, title = 422, "request.validation_failed", "Invalid request"


class TemplateNotVisible(DomainError):
    """A rule gives tasks to the RM of whichever customer an event names, anywhere in the bank:
    its template must be one every unit sees (owned by the head office), or whoever may edit it
    would decide what RMs who cannot see it fill in."""

    status, code = 422, "task_rule.template_not_visible"
    title = "The template is not visible to every unit"


async def _check_template(conn: Connection, template_id: uuid.UUID) -> None:
    """The template exists (404) and every org unit sees it (422 naming the first that does
    not)."""
    if await queries.template_version(conn, template_id) is None:
        raise NotFound("template")
    root = await identity_queries.root_org_unit(conn)
    unit = (
        await queries.unit_not_seeing_template(conn, template_id, root=root["id"])
        if root is not None
        else None
    )
    if unit is not None:
        message = f"not visible to org unit {unit['id']} ({unit['name']})"
        raise TemplateNotVisible(
            f"template_id {template_id} is {message}: a rule reaches the RMs of every unit, so "
            "its template must be owned by the head office",
            errors=[FieldError(path="$.template_id", message=message)],
        )


def _rule(row: queries.Record) -> wire.TaskRule:
    """A rule as the API shows it; its value as it was sent (a whole number stored as a float
    before rules kept them whole, `100000.0`, comes back `100000`)."""
    fields = {k: row[k] for k in wire.TaskRule.__struct_fields__}
    return msgspec.convert({**fields, "value": wire.whole_numbers(row["value"])}, wire.TaskRule)


EDITABLE = ("name", "event_kind", "field", "op", "value", "template_id", "within_days",
            "due_in_hours", "active")  # fmt: skip
"""A rule's columns an admin sets (PATCH /task-rules/{id}), in the order audits name them."""
CONDITION = ("event_kind", "field", "op", "value")
"""What decides whether an event matches: a rule with another condition is another rule, so
its firing windows start afresh."""


async def create_rule(
    conn: Connection,
    *,
    caller: Caller,
    request: wire.TaskRuleCreate,
    client_ip: str | None = None,
) -> wire.TaskRule:
    """Create an event rule. `client_ip`: the admin's address, for the audit trail (None: no
    client, e.g. the seed)."""
    name = visible_name(request.name, path="$.name")
    check_rule_texts({"event_kind": request.event_kind, "field": request.field})
    check_value_fits(request.op.value, request.value)
    await _check_template(conn, request.template_id)
    row = await queries.insert_rule(
        conn,
        fields={
            "id": uuid7(),
            "name": name,
            "event_kind": request.event_kind,
            "field": request.field,
            "op": request.op.value,
            "value": request.value,
            "template_id": request.template_id,
            "within_days": request.within_days,
            "due_in_hours": request.due_in_hours,
            "created_by": caller.user_id,
        },
    )
    await audit.record(
        conn,
        action="task_rule.created",
        actor_id=caller.user_id,
        subject=f"task_rule:{row['id']}",
        client_ip=client_ip,
        detail={"template_id": str(request.template_id)},
    )
    return _rule(row)


async def get_rule(conn: Connection, *, rule_id: uuid.UUID) -> wire.TaskRule:
    row = await rule_queries.rule(conn, rule_id)
    if row is None:
        raise NotFound("task_rule")
    return _rule(row)


async def edit_rule(
    conn: Connection,
    *,
    caller: Caller,
    rule_id: uuid.UUID,
    request: wire.TaskRuleEdit,
    client_ip: str | None = None,
) -> wire.TaskRule:
    """Change a rule, or switch it off and on; what the request leaves out stays (a `null` is
    refused when the body is read). Changes are checked as on creation. Tasks it already
    created stay as they are; a changed condition opens every customer's window again.
    Switching off works whatever the rule holds. `client_ip`: the admin's address, for the
    audit trail."""
    row = await rule_queries.rule(conn, rule_id, lock=True)
    if row is None:
        raise NotFound("task_rule")
    given = {k: v for k, v in msgspec.structs.asdict(request).items() if v is not msgspec.UNSET}
    if "name" in given:
        given["name"] = visible_name(given["name"], path="$.name")
    check_rule_texts(given)
    if "op" in given:
        given["op"] = given["op"].value
    fields = {k: given.get(k, row[k]) for k in EDITABLE}
    changed = [k for k in EDITABLE if k in given and not _same_setting(row[k], fields[k])]
    if {"op", "value"} & set(changed):
        check_value_fits(
            fields["op"], fields["value"], path="$.value" if "value" in given else "$.op"
        )
    if "template_id" in changed:
        await _check_template(conn, fields["template_id"])
    if not changed:  # nothing to change: no event either
        return _rule(row)
    updated = await rule_queries.update_rule(conn, rule_id, fields=fields)
    if set(CONDITION) & set(changed):
        await rule_queries.forget_firings(conn, rule_id)
    await audit.record(
        conn,
        action="task_rule.updated",
        actor_id=caller.user_id,
        subject=f"task_rule:{rule_id}",
        client_ip=client_ip,
        detail={"changed": changed},
    )
    return _rule(updated)


def _same_setting(old: Any, new: Any) -> bool:
    """Whether a rule setting is unchanged: a yes/no only equals a yes/no (in Python `True == 1`),
    numbers by value (1 is 1.0), lists item by item."""
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool) and old is new
    if isinstance(old, list) or isinstance(new, list):
        return (
            isinstance(old, list) and isinstance(new, list) and len(old) == len(new)
            and all(_same_setting(a, b) for a, b in zip(old, new, strict=True))
        )  # fmt: skip
    if isinstance(old, int | float) != isinstance(new, int | float):
        return False
    return bool(old == new)


def check_value_fits(op: str, value: Any, *, path: str = "$.value") -> None:
    """`in` needs a non-empty list; gt/gte/lt/lte a number (or a text holding one, as amounts
    are often sent); eq/ne compare with anything. Any other pairing never matches (see
    `matches`), so it is refused when the rule is made."""
    if op == "in":
        problem = None if isinstance(value, list) and value else "`in` needs a non-empty list"
    elif op in ORDERED:
        fits = not isinstance(value, list) and _number(value) is not None
        problem = None if fits else f"`{op}` needs a number"
    else:
        problem = None
    if problem is not None:
        raise RuleNeverMatches(
            f"{problem}: this rule would match no event",
            errors=[FieldError(path=path, message=problem)],
        )


async def list_rules(conn: Connection) -> list[wire.TaskRule]:
    """Every rule, the oldest first (the deprecated bare-array answer of
    `GET /task-rules?array=true`)."""
    return [_rule(r) for r in await queries.rules(conn)]


async def page_rules(conn: Connection, *, cursor: str | None, limit: int) -> Page[wire.TaskRule]:
    """A page of the rules of `list_rules`, the oldest first."""
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.rules(conn, after=after, limit=limit + 1)
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(
        items=[_rule(r) for r in rows[:limit]],
        next_cursor=encode_cursor([last["created_at"], last["id"]]) if last else None,
    )


def matches(op: str, actual: Any, expected: Any) -> bool:
    """Compare an event field with a rule's value; numbers compare as decimals (a number sent as
    text too), others as they are. A yes/no is never a number (`true` is not 1), so `eq`, `ne`
    and `in` (equal to one of the list) all compare with `same`."""
    if actual is None:
        return False
    if op == "in":
        return isinstance(expected, list) and any(same(actual, e) for e in expected)
    if op in ("eq", "ne"):
        return same(actual, expected) if op == "eq" else not same(actual, expected)
    left, right = _number(actual), _number(expected)
    if left is None or right is None:
        return False
    return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]


def same(actual: Any, expected: Any) -> bool:
    """Whether an event's value equals a rule's: a yes/no only a yes/no (Python's `True == 1`
    must not leak into rules), numbers by value, lists item by item, anything else as is."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual is expected
    if _both_numbers(actual, expected):
        return _number(actual) == _number(expected)
    if isinstance(actual, list) or isinstance(expected, list):
        return (
            isinstance(actual, list) and isinstance(expected, list)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )  # fmt: skip
    if isinstance(actual, int | float) != isinstance(expected, int | float):
        return False  # a number and something that holds none
    return bool(actual == expected)


def _number(value: Any) -> Decimal | None:
    """A finite number (NaN and infinities are not: they compare with nothing)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _both_numbers(a: Any, b: Any) -> bool:
    return _number(a) is not None and _number(b) is not None and not (
        isinstance(a, str) and isinstance(b, str))  # fmt: skip


KIND_READS_OTHERWISE = (
    "must not hold a line break, a control character or a direction override, which make it"
    " read otherwise than typed"
)
KIND_SHOWS_NOTHING = "must show something: not spaces or invisible characters only"


def _kind_problem(kind: str) -> str | None:
    """Why an event kind (trimmed) cannot be taken, if so: one that shows nothing (spaces or
    invisible characters only) or reads otherwise than typed (a control character, a direction
    override) would list as a blank or garbled kind, and no rule can be made to match it."""
    if reads_otherwise(kind):
        return KIND_READS_OTHERWISE
    if not shows_something(kind):
        return KIND_SHOWS_NOTHING
    return None


def _bad_kind(kind: str) -> str | None:
    """Why an event's kind (trimmed by the contract) cannot be taken, if so, as its rejection
    says it."""
    if not kind:  # spaces only: it would match no rule
        return "kind must not be blank"
    problem = _kind_problem(kind)
    return f"kind {problem}" if problem else None


def check_rule_texts(given: Mapping[str, Any]) -> None:
    """A rule's `event_kind` and `field` given in a request: each shows something and reads as
    typed (422 `request.validation_failed` naming each, as its name is): an event whose kind or
    data key does not is rejected or never sent, so such a rule would match nothing."""
    errors = [
        FieldError(path=f"$.{name}", message=problem)
        for name in ("event_kind", "field")
        if isinstance(given.get(name), str) and (problem := _kind_problem(given[name]))
    ]
    if errors:
        raise RuleTextRefused("; ".join(f"{e.path}: {e.message}" for e in errors), errors=errors)


def _bad_time(occurred_at: datetime, *, latest: datetime) -> str | None:
    """Why an event's time cannot be taken (None: it can). A firing dated ahead would hold its
    rule's window shut for that customer until then. The time has an offset: `wire.Event`
    reads one written without as UTC, so it is checked and stored as the same instant."""
    if not within_years(occurred_at):
        return f"occurred_at must lie within the years {YEARS[0]} to {YEARS[1]}"
    if occurred_at > latest:
        return (
            f"occurred_at is in the future (more than {CLOCK_SKEW.total_seconds() / 3600:g} hour "
            "ahead of the server's clock)"
        )
    return None


async def _in_date_order(
    conn: Connection,
    matched: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime]],
    *,
    within: Mapping[uuid.UUID, int],
) -> dict[str, list[Any]]:
    """The firings of a batch's matches (rule, customer, owner, event time), as if its events
    had come one by one in date order: a match fires when its rule last fired for the customer
    (stored, or earlier in the batch) at least `within_days` before it. Two events of a batch
    a window apart give two tasks, as they would sent apart; two within one window give one."""
    pairs = sorted({(rule_id, customer_id) for rule_id, customer_id, _, _ in matched})
    last = await rule_queries.firings(
        conn, rule_ids=[p[0] for p in pairs], customer_ids=[p[1] for p in pairs]
    )
    columns: dict[str, list[Any]] = {"rule_id": [], "customer_id": [], "owner_id": [], "at": []}
    for rule_id, customer_id, owner_id, at in sorted(matched, key=lambda m: m[3]):
        before = last.get((rule_id, customer_id))
        if before is not None and before > at - timedelta(days=within[rule_id]):
            continue
        last[(rule_id, customer_id)] = at
        columns["rule_id"].append(rule_id)
        columns["customer_id"].append(customer_id)
        columns["owner_id"].append(owner_id)
        columns["at"].append(at)
    return columns


async def ingest(
    conn: Connection, *, events: list[wire.Event], nul_events: Mapping[int, str] | None = None
) -> wire.EventResult:
    """Record the events and fire the rules they match (set-based). An event holding a NUL
    character (`nul_events`, else looked for), or whose kind is blank, is rejected on its own."""
    unstorable = rows_with_nul(events, nul_events, path="$.events")
    customers = await queries.customers_with_owner(
        conn, sorted({e.customer_external_id for i, e in enumerate(events) if i not in unstorable})
    )
    rules = await queries.active_rules(
        conn, sorted({e.kind for i, e in enumerate(events) if i not in unstorable})
    )
    latest = datetime.now(UTC) + CLOCK_SKEW
    rejected: list[dict[str, Any]] = []
    recorded: dict[str, list[Any]] = {"kind": [], "customer_id": [], "occurred_at": [], "data": []}
    firing: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime]] = []
    for index, event in enumerate(events):
        customer = customers.get(event.customer_external_id)
        if where := unstorable.get(index):
            rejected.append({"index": index, "code": NUL_CODE, "detail": f"{where}: {NUL_MESSAGE}"})
            continue
        if bad_kind := _bad_kind(event.kind):
            rejected.append({"index": index, "code": "event.bad_kind", "detail": bad_kind})
            continue
        if customer is None:
            rejected.append({"index": index, "code": "event.unknown_customer",
                             "detail": "no customer with that external id"})  # fmt: skip
            continue
        if bad_time := _bad_time(event.occurred_at, latest=latest):
            rejected.append({"index": index, "code": "event.bad_time", "detail": bad_time})
            continue
        recorded["kind"].append(event.kind)
        recorded["customer_id"].append(customer["id"])
        recorded["occurred_at"].append(event.occurred_at)
        recorded["data"].append(event.data)
        for rule in rules if customer["owner_id"] is not None else ():  # no active RM: no task
            if rule["event_kind"] == event.kind and matches(
                rule["op"], event.data.get(rule["field"]), rule["value"]
            ):
                firing.append((rule["id"], customer["id"], customer["owner_id"],
                               event.occurred_at))  # fmt: skip
    if recorded["kind"]:
        await queries.record_events(conn, columns=recorded)
    within = {rule["id"]: rule["within_days"] for rule in rules}
    created = 0
    if firing:
        created = await queries.fire_rules(
            conn, columns=await _in_date_order(conn, firing, within=within)
        )
    return wire.EventResult(
        accepted=len(recorded["kind"]), tasks_created=created, rejected=rejected
    )

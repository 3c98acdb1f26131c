"""Entities: work orders (schema 4), held by RMs and branch heads: the API's work order as the
device carries it (text answers masked and cut to a snippet), read by id in the API's read
scope, by key and in key order."""

from __future__ import annotations

import uuid

from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1.workorders import AnswerLine, WorkOrder
from sync import queries
from sync.entities._brochures import PRESENTERS
from sync.entities._common import Page, Partition, Rows, _resume, _uuids
from workbench.customers.personal_data import mask_long_numbers
from workbench.db import Connection
from workbench.workorders import service as work_orders

SNIPPET_CHARS = 60


def snippet(text: str) -> str:
    """A text answer as the device carries it: numbers of six characters or more masked (keep
    the first three and the last two), cut to SNIPPET_CHARS."""
    masked = mask_long_numbers(text.strip())
    return masked if len(masked) <= SNIPPET_CHARS else masked[: SNIPPET_CHARS - 1] + "…"


def _answer(line: AnswerLine, texts: set[str]) -> AnswerLine:
    if line.key not in texts:
        return line
    return AnswerLine(key=line.key, question=line.question, answer=snippet(line.answer),
                      matched=line.matched)  # fmt: skip


def sync_work_order(order: WorkOrder, text_keys: set[str]) -> wire.SyncWorkOrder:
    """The API's work order as the device carries it (`text_keys`: its text questions)."""
    answers = [_answer(line, text_keys) for line in order.answers]
    return wire.SyncWorkOrder(
        id=order.id, state=order.state, survey_id=order.survey_id,
        survey_title=order.survey_title, response_id=order.response_id,
        customer_id=order.customer_id, customer=order.customer, respondent=order.respondent,
        assignee_id=order.assignee_id, assignee=order.assignee, org_unit_id=order.org_unit_id,
        sla_hours=order.sla_hours, sla_kind=order.sla_kind, due_at=order.due_at,
        overdue=order.overdue, escalation_level=order.escalation_level,
        root_cause=order.root_cause, created_at=order.created_at, updated_at=order.updated_at,
        resolved_at=order.resolved_at, closed_at=order.closed_at,
        submitted_at=order.submitted_at,
        trigger=next((a for a in answers if a.matched), None), answers=answers,
        events=order.events,
    )  # fmt: skip


async def work_order_row(
    conn: Connection, part: Partition, work_order_id: uuid.UUID
) -> wire.SyncWorkOrder | None:
    """One work order of the partition as the device carries it (None: not in the caller's
    scope, or gone)."""
    return (await work_order_rows(conn, part, [work_order_id])).get(work_order_id)


async def work_order_rows(
    conn: Connection, part: Partition, work_order_ids: list[uuid.UUID]
) -> dict[uuid.UUID, wire.SyncWorkOrder]:
    """These work orders of the partition as the device carries them, by id, in a fixed number
    of queries however many: those not in the caller's scope, or gone, left out."""
    orders = await work_orders.details(
        conn, vault=part.vault, caller=part.caller, work_order_ids=work_order_ids, now=part.at
    )
    if not orders:
        return {}
    text_keys = await queries.text_questions(conn, list({o.response_id for o in orders.values()}))
    return {i: sync_work_order(o, text_keys[o.response_id]) for i, o in orders.items()}


async def _work_orders(conn: Connection, part: Partition, ids: list[uuid.UUID]) -> Rows:
    """The rows in the order of `ids`."""
    found = await work_order_rows(conn, part, ids)
    return [(str(i), found[i]) for i in ids if i in found]


async def _work_orders_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    scope = work_orders.reader_scope(part.caller)
    ids = await queries.work_orders(conn, scope, ids=_uuids(keys))
    return await _work_orders(conn, part, ids)


async def _work_orders_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    """In id order, the ids read in the API's read scope; one gone meanwhile is left out, and
    the walk resumes after the last id read all the same."""
    scope = work_orders.reader_scope(part.caller)
    start = uuid.UUID(after[0]) if after else None
    ids = await queries.work_orders(conn, scope, after=start, limit=limit)
    rows = await _work_orders(conn, part, ids)
    return rows, _resume(len(ids), limit, lambda: [str(ids[-1])])


def _handles(part: Partition) -> bool:
    """RMs and branch heads work on work orders on their devices."""
    return part.caller.role in PRESENTERS

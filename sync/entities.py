"""The entities of a partition: how each is read by key (for a change) and in key order (for
an initial sync), and shaped exactly as the API shows it (personal data masked for the role).

Surveys and work orders (schema 4) plug in here with their two reads like every entity.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1.customers import ProductRisk
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.notifications import Notification
from mobile_contracts.v1.surveys import Audience, Question
from mobile_contracts.v1.tasks import Form
from mobile_contracts.v1.workorders import AnswerLine, WorkOrder
from sync import queries
from workbench.access import Caller
from workbench.customers import views as customer_views
from workbench.customers.personal_data import mask_long_numbers
from workbench.db import Connection
from workbench.security.vault import Vault
from workbench.tasks import lifecycle, templates
from workbench.timeline import service as timeline
from workbench.workorders import service as work_orders

Rows = list[tuple[str, Any]]  # (key, wire row; None: in the partition's reach, not shown now)
# Rows in the walk's order, and where the walk resumes after them: after the last key it READ,
# None once a read came back short (the walk is over). A page may keep fewer rows than it read
# (a work order the caller cannot open): that never ends the walk early.
Page = tuple[Rows, list[str] | None]


@dataclass(frozen=True, slots=True)
class Partition:
    """Whose rows are pulled, and with what to unmask (then mask) them; `now`: the pull's clock
    (what is live is decided as of it)."""

    caller: Caller
    vault: Vault
    now: datetime | None = None

    @property
    def at(self) -> datetime:
        return self.now or datetime.now(UTC)

    @property
    def user_id(self) -> uuid.UUID:
        return self.caller.user_id

    @property
    def subtree_root(self) -> uuid.UUID | None:
        """Branch heads' partitions hold their org subtree's tasks."""
        return self.caller.org_unit_id if self.caller.role is Role.BRANCH_HEAD else None


@dataclass(frozen=True, slots=True)
class Kind:
    entity: wire.Entity
    by_keys: Callable[[Connection, Partition, list[str]], Awaitable[Rows]]
    page: Callable[[Connection, Partition, list[str] | None, int], Awaitable[Page]]
    # A key `by_keys` says nothing about: tell the app to delete it (it is not, or no longer,
    # in the partition). False for what is recorded for everyone and narrowed when pulled
    # (templates, brochures, surveys): a key the caller never saw is left alone, not deleted.
    # What came into or went out of one user's sight (their unit, or the template's owner,
    # moved in the tree: migrations 0012, 0022, 0043) is recorded for that user, and such a
    # key is a delete all the same (sync.pull); a user moved to another unit starts over (the
    # cursor names the unit). A None row is always a delete.
    delete_unseen: bool = True
    # Whose partitions hold this entity at all.
    holds: Callable[[Partition], bool] = lambda part: True


def _by_key(rows: Rows, limit: int) -> Page:
    """A walk in key order, one row per key read, resumes after the last key."""
    return rows, _resume(len(rows), limit, lambda: [rows[-1][0]])


def _resume(read: int, limit: int, last: Callable[[], list[str]]) -> list[str] | None:
    """Where a walk resumes after a read of `read` rows of at most `limit`: after the last one
    read (`last`), or None when the read came back short (nothing is left)."""
    return last() if read >= limit else None


def _uuids(keys: list[str]) -> list[uuid.UUID]:
    out = []
    for key in keys:
        try:
            out.append(uuid.UUID(key))
        except ValueError:
            continue
    return out


# ---- customers, holdings, notes ------------------------------------------------------------------


def _customers(part: Partition, rows: list[queries.Record]) -> Rows:
    role = part.caller.role
    return [(str(r["id"]), customer_views.summary(part.vault, role, r)) for r in rows]


async def _customers_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    return _customers(part, await queries.customers(conn, part.user_id, ids=_uuids(keys)))


async def _customers_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = (Decimal(after[0]), uuid.UUID(after[1])) if after else None
    rows = await queries.customers(conn, part.user_id, after=start, limit=limit)
    resume = _resume(len(rows), limit, lambda: [str(rows[-1]["aum"]), str(rows[-1]["id"])])
    return _customers(part, rows), resume


def _holdings(rows: list[queries.Record]) -> Rows:
    return [(r["key"], msgspec.Raw(r["row_json"])) for r in rows]


async def _holdings_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    pairs = []
    for key in keys:
        customer, _, code = key.partition(":")
        try:
            pairs.append((uuid.UUID(customer), code))
        except ValueError:
            continue
    return _holdings(await queries.holdings(conn, part.user_id, keys=pairs))


async def _holdings_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = (Decimal(after[0]), uuid.UUID(after[1]), after[2]) if after else None
    rows = await queries.holdings(conn, part.user_id, after=start, limit=limit)
    resume = _resume(
        len(rows), limit, lambda: [str(rows[-1]["aum"]), *rows[-1]["key"].split(":", 1)]
    )
    return _holdings(rows), resume


def _notes(part: Partition, rows: list[queries.Record]) -> Rows:
    cipher = part.vault.cipher
    return [
        (
            str(r["id"]),
            wire.SyncNote(
                id=r["id"],
                customer_id=r["customer_id"],
                occurred_at=r["occurred_at"],
                kind=r["kind"],
                actor_id=r["actor_id"],
                text=timeline.note_text(cipher, r),  # an unreadable one: a placeholder
            ),
        )
        for r in rows
    ]


async def _notes_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    return _notes(part, await queries.notes(conn, part.user_id, ids=_uuids(keys)))


async def _notes_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = None
    if after:
        start = (Decimal(after[0]), uuid.UUID(after[1]), datetime.fromisoformat(after[2]),
                 uuid.UUID(after[3]))  # fmt: skip
    rows = await queries.notes(conn, part.user_id, after=start, limit=limit)
    resume = _resume(len(rows), limit, lambda: [
        str(rows[-1]["aum"]), str(rows[-1]["customer_id"]), rows[-1]["occurred_at"].isoformat(),
        str(rows[-1]["id"]),
    ])  # fmt: skip
    return _notes(part, rows), resume


# ---- tasks and templates -------------------------------------------------------------------------


async def _tasks(conn: Connection, rows: list[queries.Record]) -> Rows:
    versions = await queries.template_versions(
        conn, {(r["template_id"], r["template_version"]) for r in rows}
    )
    # A page of tasks shares a few form versions: each form is converted once.
    forms = {k: msgspec.convert(v["form"], Form) for k, v in versions.items()}
    out: Rows = []
    for r in rows:
        key = (r["template_id"], r["template_version"])
        out.append((str(r["id"]), lifecycle.task_of(r, versions[key], forms[key])))
    return out


async def _tasks_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    rows = await queries.tasks(conn, part.user_id, part.subtree_root, ids=_uuids(keys))
    return await _tasks(conn, rows)


async def _tasks_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = (datetime.fromisoformat(after[0]), uuid.UUID(after[1])) if after else None
    rows = await queries.tasks(conn, part.user_id, part.subtree_root, after=start, limit=limit)
    resume = _resume(
        len(rows), limit, lambda: [rows[-1]["created_at"].isoformat(), str(rows[-1]["id"])]
    )
    return await _tasks(conn, rows), resume


async def _templates_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    rows = await queries.templates(
        conn, part.caller.org_unit_id, part.caller.sees_everything, ids=_uuids(keys)
    )
    return [(str(r["id"]), templates.to_wire(r)) for r in rows]


async def _templates_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    rows = await queries.templates(
        conn, part.caller.org_unit_id, part.caller.sees_everything,
        after=uuid.UUID(after[0]) if after else None, limit=limit,
    )  # fmt: skip
    return _by_key([(str(r["id"]), templates.to_wire(r)) for r in rows], limit)


# ---- products and notifications ------------------------------------------------------------------


def _product(r: queries.Record) -> wire.SyncProduct:
    risk = ProductRisk(f"R{r['risk_level']}")
    return wire.SyncProduct(
        code=r["code"], name=r["name"], category=r["category"], risk_level=risk, active=r["active"]
    )


def _products(rows: list[queries.Record]) -> Rows:
    return [(r["code"], _product(r)) for r in rows]


async def _products_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    return _products(await queries.products(conn, codes=keys))


async def _products_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    rows = await queries.products(conn, after=after[0] if after else None, limit=limit)
    return _by_key(_products(rows), limit)


def _notifications(rows: list[queries.Record]) -> Rows:
    return [(str(r["id"]), msgspec.convert(dict(r), Notification)) for r in rows]


async def _notifications_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    return _notifications(await queries.notifications(conn, part.user_id, ids=_uuids(keys)))


async def _notifications_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = uuid.UUID(after[0]) if after else None
    rows = await queries.notifications(conn, part.user_id, after=start, limit=limit)
    return _by_key(_notifications(rows), limit)


# ---- brochures (schema 3) ----------------------------------------------------------------------

PRESENTERS = frozenset({Role.RM, Role.BRANCH_HEAD})
BROCHURE_SIZES = ("phone", "tablet", "thumb")


def _presents(part: Partition) -> bool:
    """RMs and branch heads present brochures: the catalogue is theirs."""
    return part.caller.role in PRESENTERS


def _page_files(brochure_id: uuid.UUID, number: int, size: str) -> wire.SyncPageFiles:
    path = f"/api/v1/brochures/{brochure_id}/pages/{number}/{size}"
    return wire.SyncPageFiles(webp=f"{path}.webp", jpeg=f"{path}.jpeg")


def _brochure(r: queries.Record) -> wire.SyncBrochure:
    brochure_id = r["brochure_id"]
    pages = [
        wire.SyncBrochurePage(
            number=number, image=image, width=width, height=height,
            **{size: _page_files(brochure_id, number, size) for size in BROCHURE_SIZES},
        )
        for number, (image, width, height) in enumerate(r["pages"], start=1)
    ]  # fmt: skip
    return wire.SyncBrochure(
        id=brochure_id,
        version=r["version"],
        title=r["title"],
        product_code=r["product_code"],
        product_name=r["product_name"],
        category=r["category"],
        risk_level=ProductRisk(f"R{r['risk_level']}"),
        talk_track=r["talk_track"],
        tags=list(r["tags"]),
        pages=pages,
        live_from=r["live_from"],
        live_until=r["live_until"],
        published_at=r["published_at"],
    )


def _brochures(rows: list[queries.Record]) -> Rows:
    return [(str(r["key"]), _brochure(r) if r["brochure_id"] is not None else None) for r in rows]


async def _brochures_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    """Live now: the row; a brochure of the user's reach that is not live now (or no longer
    exists): a delete; a brochure of a unit off the user's path: nothing."""
    rows = await queries.brochures(conn, part.caller.org_unit_id, part.at, ids=_uuids(keys))
    return _brochures(rows)


async def _brochures_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    rows = await queries.brochures(
        conn, part.caller.org_unit_id, part.at, after=uuid.UUID(after[0]) if after else None,
        limit=limit,
    )  # fmt: skip
    return _by_key(_brochures(rows), limit)


async def brochure_edges(
    conn: Connection, part: Partition, *, after: tuple[datetime, uuid.UUID], limit: int
) -> list[tuple[datetime, str]]:
    """Window edges (time, brochure id) of brochures the user may see, after `after`, up to
    the pull's clock."""
    rows = await queries.brochure_edges(
        conn, part.caller.org_unit_id, after=after, until=part.at, limit=limit
    )
    return [(r["at"], str(r["brochure_id"])) for r in rows]


# ---- surveys (schema 4) -----------------------------------------------------------------------


def _survey(r: queries.Record, use: wire.SurveyUse) -> wire.SyncSurvey | None:
    if r["survey_id"] is None:
        return None
    invited = use is wire.SurveyUse.ANSWER
    return wire.SyncSurvey(
        id=r["key"],
        use=use,
        survey_id=r["survey_id"],
        version=r["version"],
        title=r["title"],
        audience=Audience(r["audience"]),
        questions=msgspec.convert(r["questions"], list[Question]),
        published_at=r["published_at"],
        invitation_id=r["invitation_id"] if invited else None,
        sent_at=r["sent_at"] if invited else None,
        expires_at=r["expires_at"] if invited else None,
    )


async def _surveys_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    """A key is the user's invitation (open: the row; answered or expired: a delete) or a
    survey (one the user may send: the row; archived, or no longer a survey: a delete; a survey
    of a unit off the user's path: nothing)."""
    ids = _uuids(keys)
    invited = await queries.survey_invitations(conn, part.user_id, part.at, ids=ids)
    rows: Rows = [(str(r["key"]), _survey(r, wire.SurveyUse.ANSWER)) for r in invited]
    rest = [i for i in ids if i not in {r["key"] for r in invited}]
    if rest:
        sendable = await queries.sendable_surveys(conn, part.caller.org_unit_id, ids=rest)
        rows += [(str(r["key"]), _survey(r, wire.SurveyUse.SEND)) for r in sendable]
    return rows


async def _surveys_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    """The surveys the user may send (in id order), then their open invitations (in id order);
    the walk resumes at ["send" | "answer", last id read]."""
    rows: Rows = []
    phase, start = (after[0], uuid.UUID(after[1])) if after else ("send", None)
    if phase == "send":
        sendable = await queries.sendable_surveys(
            conn, part.caller.org_unit_id, after=start, limit=limit
        )
        rows = [(str(r["key"]), _survey(r, wire.SurveyUse.SEND)) for r in sendable]
        if len(rows) == limit:
            return rows, ["send", rows[-1][0]]
        start = None
    room = limit - len(rows)
    invited = await queries.survey_invitations(conn, part.user_id, part.at, after=start, limit=room)
    rows += [(str(r["key"]), _survey(r, wire.SurveyUse.ANSWER)) for r in invited]
    return rows, _resume(len(invited), room, lambda: ["answer", str(invited[-1]["key"])])


# ---- work orders (schema 4) --------------------------------------------------------------------

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


# In initial-sync order: what other rows refer to comes first. A cursor holds the index of the
# entity it streams: a new entity goes at the end.
KINDS: tuple[Kind, ...] = (
    Kind(wire.Entity.PRODUCT, _products_by_keys, _products_page),
    Kind(wire.Entity.TASK_TEMPLATE, _templates_by_keys, _templates_page, delete_unseen=False),
    Kind(wire.Entity.CUSTOMER, _customers_by_keys, _customers_page),
    Kind(wire.Entity.HOLDING, _holdings_by_keys, _holdings_page),
    Kind(wire.Entity.NOTE, _notes_by_keys, _notes_page),
    Kind(wire.Entity.TASK, _tasks_by_keys, _tasks_page),
    Kind(wire.Entity.NOTIFICATION, _notifications_by_keys, _notifications_page),
    Kind(
        wire.Entity.BROCHURE,
        _brochures_by_keys,
        _brochures_page,
        delete_unseen=False,
        holds=_presents,
    ),
    Kind(wire.Entity.SURVEY, _surveys_by_keys, _surveys_page, delete_unseen=False, holds=_presents),
    Kind(wire.Entity.WORK_ORDER, _work_orders_by_keys, _work_orders_page, holds=_handles),
)
BY_ENTITY = {k.entity.value: k for k in KINDS}

"""The branch-head dashboard's numbers: the one source for the console dashboard, its exports,
the monthly report and the API (`/team/progress`, `/funnels`, survey results).

Every function reads a `View` (an org unit the caller may see, and whole bank days) and answers
from rollups or indexed queries, scoped in SQL to the view's subtree.

Task counts come from the per-RM per-bank-day rollup (`dashboard_task_days`), the same query
`/team/progress` answers from: assigned are the tasks created in the period that were not
cancelled (an expired one counts, not done), done those of them done now. The share funnel IS
`GET /funnels?group_by=rm` (its service is called); NPS and CSAT are the survey rollups read with
the survey results' own `nps()`/`csat()`.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mobile_contracts.v1 import funnels as funnel_wire
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import masked_for
from workbench.dashboard import figures, queries
from workbench.errors import DomainError, NotFound
from workbench.funnels import views as funnels
from workbench.security.vault import UNREADABLE
from workbench.surveys import results as survey_results
from workbench.workorders import service as work_order_service

if TYPE_CHECKING:
    from workbench.access import Caller
    from workbench.db import Connection
    from workbench.security.vault import Vault

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30


class BadPeriod(DomainError):
    status, code, title = 422, "dashboard.bad_period", "The period is not usable"


@dataclass(frozen=True, slots=True)
class View:
    """What a dashboard request looks at: one org unit (with its subtree) the caller may see,
    over whole bank days [first_day, end_day), which are the instants [start, end)."""

    org_unit_id: uuid.UUID
    unit_name: str
    first_day: date
    end_day: date  # exclusive
    start: datetime
    end: datetime  # exclusive


class Rated:
    """Tasks assigned (not cancelled) and done and their completion rate, as every row of the
    dashboard has them. `completion_rate` is the API's (4 places, as /team/progress answers);
    what people are shown is computed from the two counts (`workbench.dashboard.figures`)."""

    __slots__ = ()
    assigned: int
    done: int
    completion_rate: float

    @property
    def shown_rate(self) -> float | None:
        """The exact fraction done / assigned for a file's percent cell: none ("—", an empty
        cell) when nothing was assigned, not a 0 % nobody earned."""
        return figures.fraction(self.done, self.assigned)

    @property
    def rate_text(self) -> str:
        """The completion rate as the dashboard and the PDF write it (`56.3%`, or "—")."""
        return figures.percent_text(self.done, self.assigned)

    @property
    def rate_percent(self) -> float | None:
        """The same percentage as a chart's point (None: no point)."""
        return figures.percent_value(self.done, self.assigned)


@dataclass(frozen=True, slots=True)
class RmRow(Rated):
    """One RM of the view's subtree: tasks created in the period and not cancelled, done,
    overdue now."""

    rm_id: uuid.UUID
    name: str
    org_unit_id: uuid.UUID
    unit_name: str
    assigned: int
    done: int
    overdue: int
    completion_rate: float  # done / assigned, 0.0 when nothing was assigned (4 decimals)
    rank: int  # 1 = best completion rate within the view's unit only (ties share a rank)


@dataclass(frozen=True, slots=True)
class TeamRow(Rated):
    """One direct child unit of the view's unit, with its whole subtree's totals."""

    org_unit_id: uuid.UUID
    name: str
    rms: int
    assigned: int
    done: int
    overdue: int
    completion_rate: float
    rank: int


@dataclass(frozen=True, slots=True)
class WeekPoint(Rated):
    week_start: date  # a Monday (bank days)
    assigned: int
    done: int
    completion_rate: float
    # The period covers only part of this week (its first or last): its counts are of those
    # days alone, which the dashboard, its export and the report say (`partial_week`).
    partial: bool = False


@dataclass(frozen=True, slots=True)
class SatisfactionPoint:
    week_start: date
    responses: int
    nps: float | None  # -100..100, None without NPS answers
    csat: float | None  # share of 4-5 of 5 in percent, None without rating answers


@dataclass(frozen=True, slots=True)
class Satisfaction:
    responses: int
    nps: float | None
    csat: float | None
    weeks: list[SatisfactionPoint]


@dataclass(frozen=True, slots=True)
class LowScore:
    response_id: uuid.UUID
    answered_at: datetime
    survey_title: str
    question_label: str
    score: int
    scale: str  # "nps" (0-10) or "rating" (1-5)
    customer: str  # masked ("张*三"), or "员工（匿名）" for a staff survey
    rm_name: str
    work_order_id: uuid.UUID | None
    # Whether the caller may open that work order: one whose RM moved to another branch went
    # with them, and its link would answer this branch's head 404.
    work_order_readable: bool = False


@dataclass(frozen=True, slots=True)
class WorkOrderRow:
    work_order_id: uuid.UUID
    state: str  # open | in_progress | resolved | closed
    created_at: datetime
    due_at: datetime
    overdue: bool
    assignee_id: uuid.UUID
    assignee_name: str
    customer: str  # masked
    survey_title: str


@dataclass(frozen=True, slots=True)
class WorkOrderCounts:
    open: int  # open or in progress now
    overdue: int  # of those, past their due time now
    by_rm: dict[uuid.UUID, tuple[int, int]]  # assignee -> (open, overdue)


@dataclass(frozen=True, slots=True)
class RmInfo:
    rm_id: uuid.UUID
    name: str
    org_unit_id: uuid.UUID
    unit_name: str


@dataclass(frozen=True, slots=True)
class TaskRow:
    task_id: uuid.UUID
    title: str
    status: str
    customer: str | None  # masked
    created_at: datetime
    due_at: datetime | None
    done_at: datetime | None
    overdue: bool
    assignee_name: str
    cancel_reason: str | None = None  # why it was cancelled, as given (客户已销户: closed)


@dataclass(frozen=True, slots=True)
class ShareRow:
    share_id: uuid.UUID
    brochure_title: str
    channel: str
    customer: str | None  # masked
    created_at: datetime
    opens: int
    visitors: int
    dwell_seconds: int
    clicks: int
    converted: int


async def view(
    conn: Connection,
    *,
    caller: Caller,
    org_unit_id: uuid.UUID | None,
    from_: str | None,
    to: str | None,
    tz: str,
    now: datetime,
) -> View:
    """The view of `?unit=&from=&to=`: the caller's own unit by default (an admin: the root);
    a unit outside the caller's subtree is NotFound("org_unit"); the days as in
    `workbench.periods` (default: the 30 days up to today), at most 366 (else BadPeriod)."""
    try:
        days = survey_results.period(from_, to, tz=tz, now=now)
    except survey_results.BadPeriod as exc:
        raise BadPeriod(exc.detail) from None
    unit = await queries.unit_in_scope(conn, org_unit_id, caller.scope_root)
    if unit is None:
        raise NotFound("org_unit")
    return View(
        org_unit_id=unit["id"],
        unit_name=unit["name"],
        first_day=days.first_day,
        end_day=days.end_day,
        start=days.start,
        end=days.end,
    )


def rate(done: int, assigned: int) -> float:
    """done / assigned to 4 places, 0.0 when nothing was assigned (as /team/progress)."""
    return round(done / assigned, 4) if assigned else 0.0


def _ranks(rates: list[float], assigned: list[int]) -> list[int]:
    """Competition ranks (1 = best; ties share a rank, the next skips) of these rates; a row with
    nothing assigned has no rate and ranks after every row that had something (not tied with a
    0 % of tasks left undone)."""
    keys = [r if n else -1.0 for r, n in zip(rates, assigned, strict=True)]
    ordered = sorted(keys, reverse=True)
    first: dict[float, int] = {}
    for i, r in enumerate(ordered):
        first.setdefault(r, i + 1)
    return [first[r] for r in keys]


# The per-RM counts of the latest views, by (backend, transaction start, view): a page asks
# for the RMs and their teams in one transaction, and both read the same counts once.
_COUNTS: OrderedDict[tuple[int, datetime, View], list[Any]] = OrderedDict()
_COUNTS_KEPT = 16


async def _rm_counts(conn: Connection, v: View) -> list[Any]:
    """`queries.rm_counts` of the view, read once per transaction."""
    key = (*await queries.transaction_marker(conn), v)
    rows = _COUNTS.get(key)
    if rows is None:
        rows = await queries.rm_counts(conn, root=v.org_unit_id, start=v.start, end=v.end)
        _COUNTS[key] = rows
        while len(_COUNTS) > _COUNTS_KEPT:
            _COUNTS.popitem(last=False)
    return rows


async def rm_progress(conn: Connection, v: View) -> list[RmRow]:
    """Every RM of the subtree (also those with nothing assigned), best rank first."""
    return _rm_rows(await _rm_counts(conn, v))


def _rm_rows(rows: list[Any]) -> list[RmRow]:
    rates = [rate(r["done"], r["assigned"]) for r in rows]
    out = [
        RmRow(
            rm_id=r["rm_id"],
            name=r["name"],
            org_unit_id=r["org_unit_id"],
            unit_name=r["unit_name"],
            assigned=int(r["assigned"]),
            done=int(r["done"]),
            overdue=int(r["overdue"]),
            completion_rate=completion,
            rank=rank,
        )
        for r, completion, rank in zip(
            rows, rates, _ranks(rates, [int(r["assigned"]) for r in rows]), strict=True
        )
    ]
    out.sort(key=lambda row: (row.rank, -row.assigned, row.name, row.rm_id))
    return out


async def teams(conn: Connection, v: View) -> list[TeamRow]:
    """The direct child units of the view's unit (empty for a leaf unit), best rank first."""
    kids = await queries.children(conn, v.org_unit_id)
    if not kids:
        return []
    rows = await _rm_counts(conn, v)
    sums = {k["id"]: [0, 0, 0, 0] for k in kids}
    for r in rows:
        for k in kids:
            if r["unit_path"].startswith(k["path"]):
                total = sums[k["id"]]
                total[0] += 1
                total[1] += int(r["assigned"])
                total[2] += int(r["done"])
                total[3] += int(r["overdue"])
                break
    rates = [rate(sums[k["id"]][2], sums[k["id"]][1]) for k in kids]
    out = [
        TeamRow(
            org_unit_id=k["id"],
            name=k["name"],
            rms=sums[k["id"]][0],
            assigned=sums[k["id"]][1],
            done=sums[k["id"]][2],
            overdue=sums[k["id"]][3],
            completion_rate=completion,
            rank=rank,
        )
        for k, completion, rank in zip(
            kids, rates, _ranks(rates, [sums[k["id"]][1] for k in kids]), strict=True
        )
    ]
    out.sort(key=lambda row: (row.rank, -row.assigned, row.name, row.org_unit_id))
    return out


async def children_are_teams(conn: Connection, v: View) -> bool:
    """Whether the rows of `teams` are teams (no units below them, no branch head working in
    them), or units of another kind, such as head office's branches."""
    return await queries.children_are_teams(conn, v.org_unit_id)


async def weekly_trend(conn: Connection, v: View) -> list[WeekPoint]:
    """Every week overlapping the period, oldest first, weeks with nothing included; a week
    the period cuts counts the period's days of it only (`partial`)."""
    rows = await queries.weekly_counts(
        conn, root=v.org_unit_id, first_day=v.first_day, end_day=v.end_day
    )
    return [
        WeekPoint(
            week_start=r["week_start"],
            assigned=int(r["assigned"]),
            done=int(r["done"]),
            completion_rate=rate(int(r["done"]), int(r["assigned"])),
            partial=partial_week(r["week_start"], v),
        )
        for r in rows
    ]


async def share_funnel(conn: Connection, caller: Caller, v: View) -> funnel_wire.Funnel:
    """The share funnel of the subtree's RMs for the period, grouped by RM (GET /funnels)."""
    return await funnels.funnel(
        conn,
        caller=caller,
        group_by=funnel_wire.FunnelGroupBy.RM,
        start=v.start,
        end=v.end,
        org_unit_id=v.org_unit_id,
        limit=funnel_wire.MAX_FUNNEL_ROWS,
    )


async def satisfaction(conn: Connection, v: View) -> Satisfaction:
    """NPS and CSAT of customer surveys answered in the subtree, for the period and per week."""
    root, first, end = v.org_unit_id, v.first_day, v.end_day
    surveys = await queries.customer_surveys_answered(conn, root=root, first_day=first, end_day=end)
    survey_ids: list[uuid.UUID] = []
    keys: list[str] = []
    kinds: dict[tuple[uuid.UUID, str], str] = {}
    for s in surveys:
        nps_key, csat_key = survey_results.headline_keys(
            survey_results.merged_questions(s["versions"])
        )
        for kind, key in (("nps", nps_key), ("csat", csat_key)):
            if key is not None:
                survey_ids.append(s["id"])
                keys.append(key)
                kinds[(s["id"], key)] = kind
    all_ids = [s["id"] for s in surveys]
    responded, values = (
        await queries.satisfaction_counts(
            conn, root=root, first_day=first, end_day=end, survey_ids=all_ids,
            question_survey_ids=survey_ids, question_keys=keys,
        )
        if all_ids
        else ([], [])
    )  # fmt: skip
    weeks = week_starts(first, end)
    responses = dict.fromkeys(weeks, 0)
    counts: dict[tuple[date | None, str], dict[str, int]] = {}
    for r in responded:
        responses[r["week_start"]] += int(r["responded"])
    for r in values:
        found = kinds.get((r["survey_id"], r["question_key"]))
        if found is None:
            continue
        for week in (r["week_start"], None):
            bucket = counts.setdefault((week, found), {})
            bucket[r["value"]] = bucket.get(r["value"], 0) + int(r["count"])

    def nps_of(week: date | None) -> float | None:
        return survey_results.nps(counts.get((week, "nps"), {}))

    def csat_of(week: date | None) -> float | None:
        share = survey_results.csat(counts.get((week, "csat"), {}))
        return None if share is None else round(share * 100, 2)

    return Satisfaction(
        responses=sum(responses.values()),
        nps=nps_of(None),
        csat=csat_of(None),
        weeks=[
            SatisfactionPoint(week_start=w, responses=responses[w], nps=nps_of(w), csat=csat_of(w))
            for w in weeks
        ],
    )


def partial_week(week_start: date, v: View) -> bool:
    """Whether the period covers only part of the week of this Monday (its first or last week):
    the dashboard and the report mark it (`*`), the weekly_trend export says 部分周 是, its
    counts being of fewer days."""
    return week_start < v.first_day or week_start + timedelta(days=7) > v.end_day


def week_starts(first_day: date, end_day: date) -> list[date]:
    """The Mondays of the weeks overlapping the days [first_day, end_day)."""
    monday = first_day - timedelta(days=first_day.weekday())
    weeks = []
    while monday < end_day:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def _customer(vault: Vault, caller: Caller, row: Any) -> str | None:
    """The row's customer masked for the caller's role as customer lists mask it (None without a
    customer; UNREADABLE when the caller may no longer see it or it cannot be decrypted)."""
    if row["customer_id"] is None:
        return None
    if row["external_id"] is None:
        return UNREADABLE
    name = vault.cipher.decrypt_or_none(
        row["name_enc"],
        aad=personal_data_aad("name", row["external_id"]),
        column="customers.name_enc",
        row=row["customer_id"],
    )
    if name is None:
        return UNREADABLE
    return masked_for(caller.role, name=name, phone="", id_number="")[0]


LOW_SCORE_PAGE = 500  # responses read at a time when every low score of a period is wanted


async def low_scores(
    conn: Connection,
    vault: Vault,
    caller: Caller,
    v: View,
    *,
    limit: int = 10,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[LowScore]:
    """The low scores (NPS ≤ 6, rating ≤ 2) of customers' newest `limit` responses in the
    period with one (after the keyset `before`, (answered_at, response_id), if given), newest
    first, masked: every low score of a response, so one response is never cut in two. Staff
    answers are left out, as from the card's NPS and CSAT: listed per unit, one in a small team
    would say who gave it. `low_score_count` says how many the whole period has."""
    rows = await queries.low_scores(
        conn, root=v.org_unit_id, start=v.start, end=v.end, limit=limit, before=before,
        **work_order_service.reader_scope(caller),
    )  # fmt: skip
    return [
        LowScore(
            response_id=r["response_id"],
            answered_at=r["submitted_at"],
            survey_title=r["survey_title"],
            question_label=r["question_label"] or "",
            score=r["score"],
            scale=r["scale"],
            customer=_customer(vault, caller, r) or survey_results.STAFF,
            rm_name=r["rm_name"],
            work_order_id=r["work_order_id"],
            work_order_readable=r["work_order_readable"],
        )
        for r in rows
    ]


async def low_score_count(conn: Connection, v: View) -> int:
    """How many low scores (rows of `low_scores`) the period has in all."""
    return await queries.low_score_count(conn, root=v.org_unit_id, start=v.start, end=v.end)


async def all_low_scores(
    conn: Connection, vault: Vault, caller: Caller, v: View, *, page: int = LOW_SCORE_PAGE
) -> AsyncIterator[LowScore]:
    """Every low score of the period, newest first, read in keyset pages of `page` responses
    (for the export: however many there are, never all in memory)."""
    before: tuple[datetime, uuid.UUID] | None = None
    while True:
        rows = await low_scores(conn, vault, caller, v, limit=page, before=before)
        for row in rows:
            yield row
        responses = len({r.response_id for r in rows})
        if responses < page:
            return
        before = (rows[-1].answered_at, rows[-1].response_id)


async def work_order_counts(conn: Connection, v: View) -> WorkOrderCounts:
    """Open and overdue work orders of the subtree now."""
    rows = await queries.work_order_counts(conn, root=v.org_unit_id)
    by_rm = {r["assignee_id"]: (int(r["open"]), int(r["overdue"])) for r in rows}
    return WorkOrderCounts(
        open=sum(o for o, _ in by_rm.values()),
        overdue=sum(d for _, d in by_rm.values()),
        by_rm=by_rm,
    )


async def work_orders(
    conn: Connection,
    vault: Vault,
    caller: Caller,
    v: View,
    *,
    rm_id: uuid.UUID | None = None,
    limit: int = 20,
) -> list[WorkOrderRow]:
    """Open work orders of the subtree (or of one RM), overdue first, then by due time; the
    customer shown as the work-order service shows it to the caller."""
    rows = await queries.open_work_orders(
        conn, root=v.org_unit_id, rm_id=rm_id, limit=limit,
        **work_order_service.reader_scope(caller),
    )  # fmt: skip
    return [_work_order(vault, caller, r) for r in rows]


def _work_order(vault: Vault, caller: Caller, r: Any) -> WorkOrderRow:
    return WorkOrderRow(
        work_order_id=r["id"],
        state=r["state"],
        created_at=r["created_at"],
        due_at=r["due_at"],
        overdue=r["overdue"],
        assignee_id=r["assignee_id"],
        assignee_name=r["assignee_name"],
        customer=_work_order_customer(vault, caller, r),
        survey_title=r["survey_title"],
    )


def _work_order_customer(vault: Vault, caller: Caller, r: Any) -> str:
    """A work order's customer masked for the caller; "*" for one the caller may not see (moved
    to an RM outside their reach: `customer_shown`, as the work-order service has it)."""
    if r["customer_id"] is not None and not r["customer_shown"]:
        return "*"
    return _customer(vault, caller, r) or survey_results.STAFF


async def rm_in_view(conn: Connection, v: View, rm_id: uuid.UUID) -> RmInfo:
    """The RM if they work in the view's subtree, else NotFound("rm")."""
    row = await queries.rm_in_subtree(conn, root=v.org_unit_id, rm_id=rm_id)
    if row is None:
        raise NotFound("rm")
    return RmInfo(
        rm_id=row["id"], name=row["name"], org_unit_id=row["org_unit_id"],
        unit_name=row["unit_name"],
    )  # fmt: skip


async def rm_tasks(
    conn: Connection, vault: Vault, caller: Caller, v: View, rm_id: uuid.UUID, *, limit: int = 50
) -> list[TaskRow]:
    """The RM's tasks created in the period, newest first."""
    await rm_in_view(conn, v, rm_id)
    rows = await queries.rm_tasks(
        conn, root=v.org_unit_id, rm_id=rm_id, start=v.start, end=v.end, limit=limit
    )
    return [task_row(vault, caller, r) for r in rows]


def task_row(vault: Vault, caller: Caller, r: Any) -> TaskRow:
    return TaskRow(
        task_id=r["id"],
        title=r["title"],
        status=r["status"],
        customer=_customer(vault, caller, r),
        created_at=r["created_at"],
        due_at=r["due_at"],
        done_at=r["done_at"],
        overdue=r["overdue"],
        assignee_name=r["assignee_name"],
        cancel_reason=r["cancel_reason"],
    )


async def rm_shares(
    conn: Connection, vault: Vault, caller: Caller, v: View, rm_id: uuid.UUID, *, limit: int = 50
) -> list[ShareRow]:
    """The RM's shares made in the period from the view's subtree (those of a branch they left
    stay with it, as in the funnel) with their opens, visitors, dwell, clicks, newest first (the
    numbers of GET /shares?mine=1)."""
    await rm_in_view(conn, v, rm_id)
    rows = await queries.rm_shares(
        conn, root=v.org_unit_id, rm_id=rm_id, start=v.start, end=v.end, limit=limit
    )
    return [
        ShareRow(
            share_id=r["id"],
            brochure_title=r["title"],
            channel=r["channel"],
            customer=_customer(vault, caller, r),
            created_at=r["created_at"],
            opens=int(r["opens"]),
            visitors=int(r["opens"]),
            dwell_seconds=int(r["dwell_ms"]) // 1000,
            clicks=int(r["clicks"]),
            converted=int(r["conversions"]),
        )
        for r in rows
    ]

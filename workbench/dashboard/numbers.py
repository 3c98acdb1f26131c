"""The branch-head dashboard's numbers: the one source for the console dashboard, its exports,
the monthly report and the API (`/team/progress`, `/funnels`, survey results).

Every function reads a `View` (an org unit the caller may see, and whole bank days) and answers
from rollups or indexed queries, scoped in SQL to the view's subtree.

INTERFACE FIRST (session plan): the dataclasses and signatures below are what the console
pages, exports and monthly report are written against; the bodies are being filled in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from workbench.errors import DomainError

if TYPE_CHECKING:
    from mobile_contracts.v1 import funnels as funnel_wire
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


@dataclass(frozen=True, slots=True)
class RmRow:
    """One RM of the view's subtree: tasks created in the period, done, overdue now."""

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
class TeamRow:
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
class WeekPoint:
    week_start: date  # a Monday (bank days)
    assigned: int
    done: int
    completion_rate: float


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
    raise NotImplementedError


async def rm_progress(conn: Connection, v: View) -> list[RmRow]:
    """Every RM of the subtree (also those with nothing assigned), best rank first."""
    raise NotImplementedError


async def teams(conn: Connection, v: View) -> list[TeamRow]:
    """The direct child units of the view's unit (empty for a leaf unit), best rank first."""
    raise NotImplementedError


async def weekly_trend(conn: Connection, v: View) -> list[WeekPoint]:
    """Every week overlapping the period, oldest first, weeks with nothing included."""
    raise NotImplementedError


async def share_funnel(conn: Connection, caller: Caller, v: View) -> funnel_wire.Funnel:
    """The share funnel of the subtree's RMs for the period, grouped by RM (GET /funnels)."""
    raise NotImplementedError


async def satisfaction(conn: Connection, v: View) -> Satisfaction:
    """NPS and CSAT of customer surveys answered in the subtree, for the period and per week."""
    raise NotImplementedError


async def low_scores(
    conn: Connection, vault: Vault, caller: Caller, v: View, *, limit: int = 10
) -> list[LowScore]:
    """The latest low scores (NPS ≤ 6, rating ≤ 2) of the period, newest first, masked."""
    raise NotImplementedError


async def work_order_counts(conn: Connection, v: View) -> WorkOrderCounts:
    """Open and overdue work orders of the subtree now."""
    raise NotImplementedError


async def work_orders(
    conn: Connection,
    vault: Vault,
    caller: Caller,
    v: View,
    *,
    rm_id: uuid.UUID | None = None,
    limit: int = 20,
) -> list[WorkOrderRow]:
    """Open work orders of the subtree (or of one RM), overdue first, then by due time."""
    raise NotImplementedError


async def rm_in_view(conn: Connection, v: View, rm_id: uuid.UUID) -> RmInfo:
    """The RM if they work in the view's subtree, else NotFound("rm")."""
    raise NotImplementedError


async def rm_tasks(
    conn: Connection, vault: Vault, caller: Caller, v: View, rm_id: uuid.UUID, *, limit: int = 50
) -> list[TaskRow]:
    """The RM's tasks created in the period, newest first."""
    raise NotImplementedError


async def rm_shares(
    conn: Connection, vault: Vault, caller: Caller, v: View, rm_id: uuid.UUID, *, limit: int = 50
) -> list[ShareRow]:
    """The RM's shares made in the period with their opens, visitors, dwell, clicks, newest
    first (the numbers of GET /shares?mine=1)."""
    raise NotImplementedError

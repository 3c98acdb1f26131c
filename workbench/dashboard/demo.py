"""The demo bank's task history, so the dashboard's default period (the last 30 days) and its
weekly trend show something at once: twelve weeks of phone follow-ups for every demo RM.

Each RM gets 4-8 tasks a week (the demo's "电话回访" template, one of their demo customers each,
due 48 hours after creation). Most past-due tasks are done within hours to two days, a few
cancelled or expired, and some left open past their due time (overdue); each RM has their own
diligence, so completion rates and ranks differ, the West a little behind the East. Tasks not
yet due are pending or in progress. Deterministic (a seeded `random.Random`, times relative to
`now`); seeds nothing if the history exists or the template is missing. Only the demo bank's
RMs (rm01-rm08) have a history: an RM added later (whose login may sort first) neither gets
twelve weeks of tasks they never had nor makes a restart seed the history again.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from workbench.dashboard import queries
from workbench.db import Connection
from workbench.ids import uuid5_for

SEED = 17
WEEKS = 12
PER_WEEK = (4, 8)
DUE_HOURS = 48
TEMPLATE = "电话回访"
TITLES = ("客户回访", "到期理财回访", "满意度回访", "大额变动回访")
DILIGENCE = {  # per demo RM: the share of tasks done once due
    "rm01": 0.95, "rm02": 0.85, "rm03": 0.78, "rm04": 0.66,
    "rm05": 0.88, "rm06": 0.74, "rm07": 0.70, "rm08": 0.58,
}  # fmt: skip


def task_id(login: str, n: int) -> Any:
    return uuid5_for(f"demo-task-history:{login}:{n}")


async def seed_demo_task_history(
    conn: Connection, *, now: datetime | None = None
) -> dict[str, int]:
    """Twelve weeks of tasks for every demo RM ending at `now`, unless already there."""
    now = now or datetime.now(UTC)
    rms = await queries.demo_rms(conn, sorted(DILIGENCE))
    template = await queries.demo_template(conn, TEMPLATE)
    if (
        not rms
        or template is None
        or await queries.demo_history_exists(conn, task_id(rms[0]["login"], 0))
    ):
        return {"task_history": 0}
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    rows: list[tuple[object, ...]] = []
    for rm in rms:
        diligence = DILIGENCE.get(rm["login"], 0.8)
        n = 0
        for week in range(WEEKS, 0, -1):
            for _ in range(rng.randint(*PER_WEEK)):
                created = now - timedelta(weeks=week) + timedelta(hours=rng.uniform(0, 7 * 24))
                created = min(created, now - timedelta(hours=1))
                customers = rm["customers"]
                customer = customers[rng.randrange(len(customers))] if customers else None
                rows.append(_task(rng, rm, n, created, customer, diligence, template, now))
                n += 1
    added = await queries.insert_demo_tasks(conn, rows)
    return {"task_history": added}


def _task(
    rng: random.Random,
    rm: Any,
    n: int,
    created: datetime,
    customer: Any,
    diligence: float,
    template: Any,
    now: datetime,
) -> tuple[object, ...]:
    due = created + timedelta(hours=DUE_HOURS)
    done_at = started = submitted = cancelled = expired = None
    reason = form = None
    finished = created + timedelta(hours=rng.uniform(1, DUE_HOURS + 12))
    roll = rng.random()
    if roll < diligence and finished < now:
        status, done_at, started, submitted = "done", finished, created, finished
        form = {"reached": rng.choice(("已接通", "已接通", "未接通")), "satisfaction": 5}
    elif due > now:
        status = rng.choice(("pending", "in_progress"))
        started = created + timedelta(hours=1) if status == "in_progress" else None
    elif roll < diligence + (1 - diligence) * 0.3:
        status, cancelled, reason = "cancelled", due, "客户已通过其他渠道办理"
    elif roll < diligence + (1 - diligence) * 0.45 and due < now - timedelta(weeks=4):
        status, expired = "expired", due + timedelta(days=14)
    else:
        status = "pending"  # left open past its due time: overdue
    updated = max(t for t in (created, done_at, cancelled, expired, started) if t is not None)
    return (
        task_id(rm["login"], n), template["template_id"], template["version"], rm["id"],
        customer, rng.choice(TITLES), status, due, form, started, submitted, done_at, cancelled,
        expired, reason, created, updated,
    )  # fmt: skip

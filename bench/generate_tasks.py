"""Tasks shaped like the scale model: a history of dispatches and the tasks they created.

    python -m bench.generate_tasks --database-url URL --tasks 1000000 --big-rm-open 2000
                                   [--fraction 1.0] [--dispatch-customers 0] [--migrate]

On top of bench.generate's org tree and users (run first, idempotently, at --fraction): one task
template (version 1, a four-field visit form, SLA 72 h, a reminder a day before the due time),
a history of dispatches (~5,000 tasks each, spread over the time the scale model's "50 tasks per
RM per week" needs to reach --tasks), and --tasks tasks in all:

- `rm000001` gets exactly --big-rm-open OPEN tasks (pending, in_progress, awaiting_confirmation)
  and 4 × that many closed ones; every other RM shares the rest, unevenly (log-normal weights);
- ~10 % of all tasks are open, the rest done / cancelled / expired with consistent timestamps;
  a task is far more often open when its due time is still ahead (25 %) than when it has passed
  (3 %), so open tasks are due over the past and the future, and some have no due time;
- the tasks of one dispatch share its creation and due time (one statement made them), so an
  RM's inbox has ties in due time that the keyset must break by id;
- every task with a due time has its two reminder rows (a day before, at due) in the outbox,
  `pending` if still ahead, else `sent` or `cancelled`;
- a task gets a customer of its RM when the database holds customers of that RM.

--dispatch-customers N first adds N customers (external ids `bt-000001`…, owners: every RM but
`rm000001`) for `bench.tasks` to dispatch to. Their personal-data columns are random bytes, not
ciphertext: the dispatch never decrypts them, but the customer API cannot show them, so do not use
this option on a database you benchmark customers on.

Rows are inserted in dispatch (time) order with COPY (asyncpg `copy_records_to_table`), a chunk
of ~50,000 tasks and their reminders per transaction, with every index and foreign key in place;
ids are UUIDv7 of the row's creation time. Idempotent: tasks of generated dispatches (idempotency
key `bench-gen:…`) are counted per RM and topped up to the targets. Ends with VACUUM (ANALYZE).
The database must already be migrated (or pass --migrate).

This is benchmark tooling, not product code, so its SQL lives here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from bench import generate
from mobile_contracts.v1 import tasks as wire
from workbench import migrate
from workbench.ids import uuid5_for
from workbench.tasks.forms import check_form

BIG_RM = "rm000001"
BIG_RM_HISTORY_FACTOR = 4  # closed tasks of the big RM per open one
TASKS_PER_RM_PER_WEEK = 50  # the scale model
TASKS_PER_DISPATCH = 5_000
CHUNK_TASKS = 50_000
TEMPLATE_ID = uuid5_for("bench:task-template")
DISPATCH_KEY_PREFIX = "bench-gen:"
DISPATCH_CUSTOMER_PREFIX = "bt-"
REMINDER_MINUTES = (1440, 0)  # the template's one reminder, plus the one at due time

# Share of tasks still open, by whether their dispatch's due time has passed.
OPEN_IF_DUE_AHEAD = 0.25
OPEN_IF_OVERDUE = 0.03
OPEN_STATUSES = [("pending", 65), ("in_progress", 25), ("awaiting_confirmation", 10)]
CLOSED_STATUSES = [("done", 83), ("cancelled", 8), ("expired", 9)]
# SLA of a dispatch (hours from creation to due time) and how often each occurs; None = no due.
SLA_HOURS: list[tuple[int | None, int]] = [
    (24, 10), (72, 30), (168, 28), (336, 15), (720, 10), (1440, 4), (None, 3),
]  # fmt: skip
_TITLES = [
    "理财到期回访 Maturity follow-up",
    "季度资产检视 Quarterly portfolio review",
    "新客户首访 First visit, new customer",
    "大额资金异动关怀 Large movement follow-up",
    "生日关怀 Birthday greeting",
    "风险测评到期提醒 Risk profile renewal",
    "基金定投推荐 Fund plan campaign",
    "保险保障检视 Insurance review",
    "代发工资客户维护 Payroll customer care",
    "沉睡客户唤醒 Dormant customer wake-up",
]
_NOTES = [
    "客户对产品感兴趣，约下周再访",
    "已电话沟通，客户暂无需求",
    "上门拜访，完成风险测评更新",
    "客户出差，改约下月",
    "介绍了新发行的理财产品，客户表示考虑",
]
_CANCEL_REASONS = ["customer moved", "duplicate", "campaign withdrawn", "customer declined"]
_OUTCOMES = ["met", "no_show", "rescheduled"]

TEMPLATE_FORM = wire.Form(
    fields=[
        wire.FormField(key="outcome", label="拜访结果", type=wire.FieldType.CHOICE,
                       required=True, options=_OUTCOMES),
        wire.FormField(key="notes", label="备注", type=wire.FieldType.TEXT, max_length=500),
        wire.FormField(key="photo", label="现场照片", type=wire.FieldType.PHOTO),
        wire.FormField(key="next_visit", label="下次拜访", type=wire.FieldType.DATE),
    ]
)  # fmt: skip

TASK_COLUMNS = [
    "id", "template_id", "template_version", "dispatch_id", "assignee_id", "customer_id",
    "title", "status", "due_at", "expires_at", "form_values", "started_at", "submitted_at",
    "done_at", "cancelled_at", "expired_at", "cancel_reason", "created_at", "updated_at",
]  # fmt: skip
REMINDER_COLUMNS = [
    "task_id", "user_id", "kind", "offset_minutes", "send_at", "status", "created_at",
]  # fmt: skip
DISPATCH_COLUMNS = [
    "id", "template_id", "template_version", "title", "due_at", "recurring", "created_by",
    "idempotency_key", "request_hash", "created", "skipped", "not_found", "created_at",
]  # fmt: skip


@dataclass(frozen=True)
class TaskShape:
    tasks: int
    big_rm_login: str
    big_rm_open: int
    big_rm_closed: int
    history_days: float
    tasks_per_dispatch: int = TASKS_PER_DISPATCH


@dataclass
class Report:
    identity: dict[str, Any]
    shape: TaskShape
    seconds: float = 0.0
    copy_seconds: float = 0.0
    vacuum_analyze_seconds: float = 0.0
    tasks_per_second: float = 0.0
    added: dict[str, int] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- ids and picks ---------------------------------------------------------------------------


class _Ids:
    """UUIDv7 of a given time (ms), random bits from a generator seeded from the OS."""

    def __init__(self) -> None:
        self._rng = random.Random(os.urandom(16))

    def at(self, when: datetime) -> uuid.UUID:
        millis = int(when.timestamp() * 1000)
        rand = self._rng.getrandbits(74)
        value = (millis & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= (rand >> 62) << 64
        value |= 0b10 << 62
        value |= rand & ((1 << 62) - 1)
        return uuid.UUID(int=value)


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def split(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split proportionally to `weights` (largest remainders), summing exactly."""
    if total <= 0 or not weights:
        return [0] * len(weights)
    wsum = sum(weights)
    exact = [total * w / wsum for w in weights]
    sizes = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: -(exact[i] - sizes[i]))[
        : total - sum(sizes)
    ]:
        sizes[i] += 1
    return sizes


# ---- the run ---------------------------------------------------------------------------------


async def generate_tasks(
    conn: asyncpg.Connection,
    *,
    fraction: float,
    tasks: int,
    big_rm_open: int,
    dispatch_customers: int = 0,
    progress: bool = True,
) -> Report:
    """bench.generate at `fraction`, then the template, customers to dispatch to, dispatches and
    tasks up to the targets; then VACUUM (ANALYZE)."""
    started = time.perf_counter()
    identity = await generate.generate(conn, fraction=fraction)
    rms = await conn.fetch(
        "select id, login from users where login ~ '^rm[0-9]{6}$' and role = 'rm' and active"
        " order by login"
    )
    if not rms or rms[0]["login"] != BIG_RM:
        raise SystemExit(f"bench.generate_tasks: no active RM {BIG_RM}")
    big_closed = min(BIG_RM_HISTORY_FACTOR * big_rm_open, max(0, tasks - big_rm_open))
    if tasks < big_rm_open:
        raise SystemExit("bench.generate_tasks: --tasks must be at least --big-rm-open")
    weeks = max(1.0, tasks / (TASKS_PER_RM_PER_WEEK * len(rms)))
    shape = TaskShape(
        tasks=tasks,
        big_rm_login=BIG_RM,
        big_rm_open=big_rm_open,
        big_rm_closed=big_closed,
        history_days=round(7 * weeks, 1),
    )
    report = Report(identity=identity.as_dict(), shape=shape)
    now = datetime.now(UTC)
    admin = await conn.fetchval("select id from users where login = 'admin001'")
    root = await conn.fetchval("select id from org_units where parent_id is null")
    report.added["templates"] = await _template(conn, root=root, admin=admin)
    report.added["customers"] = await _dispatch_customers(
        conn, count=dispatch_customers, rms=rms[1:], now=now
    )

    # What is there already (tasks of generated dispatches), per RM and open or not.
    have = {
        (r["assignee_id"], r["open"]): r["n"]
        for r in await conn.fetch(
            """
            select t.assignee_id,
                   t.status in ('pending', 'in_progress', 'submitted', 'awaiting_confirmation')
                       as open,
                   count(*) as n
              from tasks t join dispatches d on d.id = t.dispatch_id
             where d.idempotency_key like $1
             group by 1, 2
            """,
            DISPATCH_KEY_PREFIX + "%",
        )
    }
    big_id = rms[0]["id"]
    others = rms[1:]
    weights = [random.Random(f"tasks:{r['login']}").lognormvariate(0.0, 0.6) for r in others]
    targets = split(tasks - big_rm_open - big_closed, weights)
    missing_big_open = max(0, big_rm_open - have.get((big_id, True), 0))
    missing_big_closed = max(0, big_closed - have.get((big_id, False), 0))
    missing = [
        (r["id"], max(0, t - have.get((r["id"], True), 0) - have.get((r["id"], False), 0)))
        for r, t in zip(others, targets, strict=True)
    ]
    total_missing = missing_big_open + missing_big_closed + sum(m for _, m in missing)
    report.added["dispatches"] = report.added["tasks"] = report.added["task_reminders"] = 0
    if total_missing:
        copy_started = time.perf_counter()
        await _tasks(
            conn,
            report=report,
            now=now,
            admin=admin,
            history=timedelta(days=shape.history_days),
            big=(big_id, missing_big_open, missing_big_closed),
            missing=missing,
            total=total_missing,
            progress=progress,
        )
        report.copy_seconds = round(time.perf_counter() - copy_started, 2)
        report.tasks_per_second = round(report.added["tasks"] / max(report.copy_seconds, 1e-9))
    vacuum_started = time.perf_counter()
    # Like a database autovacuum has visited: real statistics, visibility map, hint bits set.
    await conn.execute("vacuum (analyze) task_templates, task_template_versions, dispatches")
    await conn.execute("vacuum (analyze) tasks")
    await conn.execute("vacuum (analyze) task_reminders")
    if dispatch_customers:
        await conn.execute("vacuum (analyze) customers")
    report.vacuum_analyze_seconds = round(time.perf_counter() - vacuum_started, 2)
    report.totals = await _totals(conn, big_id)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


async def _template(conn: asyncpg.Connection, *, root: uuid.UUID, admin: uuid.UUID) -> int:
    check_form(TEMPLATE_FORM)
    inserted = await conn.fetchval(
        """
        with t as (
            insert into task_templates (id, owner_unit_id, created_by) values ($1, $2, $3)
            on conflict do nothing returning id
        ), v as (
            insert into task_template_versions
                   (template_id, version, name, form, sla_hours, reminders, created_by)
            select id, 1, $4, $5::jsonb, 72, $6::int[], $3 from t
            returning 1
        )
        select count(*) from v
        """,
        TEMPLATE_ID,
        root,
        admin,
        "客户回访 Customer follow-up (bench)",
        msgspec.json.encode(msgspec.to_builtins(TEMPLATE_FORM)).decode(),
        [m for m in REMINDER_MINUTES if m],
    )
    return int(inserted)


async def _dispatch_customers(
    conn: asyncpg.Connection, *, count: int, rms: Sequence[asyncpg.Record], now: datetime
) -> int:
    """Customers `bt-000001`… with random bytes as personal data, owned by RMs but the big one."""
    if count <= 0 or not rms:
        return 0
    have = await conn.fetchval(
        "select count(*) from customers where external_id like $1", DISPATCH_CUSTOMER_PREFIX + "%"
    )
    if have >= count:
        return 0
    rng = random.Random(f"dispatch-customers:{have}")
    ids = _Ids()
    rows = []
    for k in range(have + 1, count + 1):
        created = now - timedelta(days=rng.uniform(30, 1500))
        rows.append(
            (
                ids.at(created), f"{DISPATCH_CUSTOMER_PREFIX}{k:06d}", rng.choice(rms)["id"],
                os.urandom(48), os.urandom(56), os.urandom(48),
                os.urandom(32), os.urandom(32), os.urandom(32), os.urandom(32),
                rng.randint(1, 5), "mass", round(rng.lognormvariate(11.9, 1.2), 2), created,
                created,
            )
        )  # fmt: skip
    await conn.copy_records_to_table(
        "customers",
        records=rows,
        columns=[
            "id", "external_id", "owner_id", "name_enc", "id_number_enc", "phone_enc",
            "name_bidx", "surname_bidx", "id_number_bidx", "phone_bidx", "risk_level", "segment",
            "aum", "created_at", "updated_at",
        ],
    )  # fmt: skip
    return len(rows)


@dataclass
class _Dispatch:
    id: uuid.UUID
    title: str
    created_at: datetime
    due_at: datetime | None
    open_share: float
    tasks: list[tuple[uuid.UUID, bool | None]] = field(default_factory=list)  # (RM, open?)


async def _tasks(
    conn: asyncpg.Connection,
    *,
    report: Report,
    now: datetime,
    admin: uuid.UUID,
    history: timedelta,
    big: tuple[uuid.UUID, int, int],
    missing: list[tuple[uuid.UUID, int]],
    total: int,
    progress: bool,
) -> None:
    rng = random.Random(f"tasks:{total}:{now.date()}")
    ids = _Ids()
    # Dispatches over the history, oldest first.
    count = max(1, round(total / TASKS_PER_DISPATCH))
    dispatches = []
    for _ in range(count):
        created = now - history * rng.random()
        sla = _pick(rng, SLA_HOURS)
        due = created + timedelta(hours=sla) if sla is not None else None
        share = OPEN_IF_DUE_AHEAD if due is None or due > now else OPEN_IF_OVERDUE
        dispatches.append(_Dispatch(ids.at(created), rng.choice(_TITLES), created, due, share))
    dispatches.sort(key=lambda d: d.created_at)

    # Every RM's missing tasks go to random dispatches; open-ness follows the dispatch's due time.
    for rm, n in missing:
        for d in rng.choices(dispatches, k=n):
            d.tasks.append((rm, None))
    big_id, big_open, big_closed = big
    open_weights = [d.open_share for d in dispatches]
    for d in rng.choices(dispatches, weights=open_weights, k=big_open):
        d.tasks.append((big_id, True))
    for d in rng.choices(dispatches, weights=[1 - w for w in open_weights], k=big_closed):
        d.tasks.append((big_id, False))
    dispatches = [d for d in dispatches if d.tasks]

    customers_of = await _customers_by_owner(conn)
    await conn.copy_records_to_table(
        "dispatches",
        records=[
            (d.id, TEMPLATE_ID, 1, d.title, d.due_at, False, admin,
             f"{DISPATCH_KEY_PREFIX}{d.id}", "bench", len(d.tasks), 0, 0, d.created_at)
            for d in dispatches
        ],
        columns=DISPATCH_COLUMNS,
    )  # fmt: skip
    report.added["dispatches"] = len(dispatches)

    task_rows: list[tuple[Any, ...]] = []
    reminder_rows: list[tuple[Any, ...]] = []
    done = 0
    started = time.perf_counter()
    for d in dispatches:
        for rm, open_ in d.tasks:
            is_open = rng.random() < d.open_share if open_ is None else open_
            task, closed_at = _task(rng, ids, d, rm, is_open, now, customers_of.get(rm))
            task_rows.append(task)
            if d.due_at is not None:
                for minutes in REMINDER_MINUTES:
                    send_at = d.due_at - timedelta(minutes=minutes)
                    if closed_at is None:
                        status = "sent" if send_at <= now else "pending"
                    else:
                        status = "sent" if send_at <= closed_at else "cancelled"
                    reminder_rows.append(
                        (task[0], rm,
                         "at_due" if minutes == 0 else "before_due", minutes, send_at, status,
                         d.created_at)
                    )  # fmt: skip
        if len(task_rows) >= CHUNK_TASKS:
            done += await _flush(conn, task_rows, reminder_rows, report)
            task_rows, reminder_rows = [], []
            if progress:
                rate = done / (time.perf_counter() - started)
                print(f"  tasks {done:,}/{total:,}  ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    if task_rows:
        await _flush(conn, task_rows, reminder_rows, report)


def _task(
    rng: random.Random,
    ids: _Ids,
    d: _Dispatch,
    rm: uuid.UUID,
    is_open: bool,
    now: datetime,
    customers: list[uuid.UUID] | None,
) -> tuple[tuple[Any, ...], datetime | None]:
    """One task row (TASK_COLUMNS) and when it was closed (None if open)."""
    created = d.created_at
    age = (now - created).total_seconds()
    sla = (d.due_at - created).total_seconds() if d.due_at else 7 * 86400.0
    started = submitted = done = cancelled = expired = expires = None
    form_values = cancel_reason = None

    def after(start: datetime, within: float) -> datetime:
        return start + timedelta(seconds=rng.uniform(0, max(0.0, within)))

    if is_open:
        status = _pick(rng, OPEN_STATUSES)
    else:
        status = _pick(rng, CLOSED_STATUSES)
        if status == "expired" and (d.due_at is None or d.due_at >= now):
            status = "done"  # only a due time in the past can have expired
    if status in ("in_progress", "awaiting_confirmation"):
        started = after(created, min(age, sla) * 0.8)
    if status == "awaiting_confirmation":
        submitted = after(started, (now - started).total_seconds() * 0.5)  # type: ignore[operator]
        form_values = _form_values(rng, now)
    if status == "done":
        took = min(age * 0.999, sla * rng.uniform(0.05, 1.3))
        done = created + timedelta(seconds=took)
        started = created + timedelta(seconds=took * rng.uniform(0.1, 0.8))
        submitted = done - timedelta(seconds=rng.uniform(0, min(3600.0, took * 0.1)))
        form_values = _form_values(rng, done)
    elif status == "cancelled":
        cancelled = after(created, age * 0.6)
        cancel_reason = rng.choice(_CANCEL_REASONS)
    elif status == "expired":
        assert d.due_at is not None
        expires = min(now, d.due_at + timedelta(days=rng.uniform(0, 3)))
        expired = expires
    closed_at = done or cancelled or expired
    updated = closed_at or submitted or started or created
    customer = rng.choice(customers) if customers else None
    row = (
        ids.at(created), TEMPLATE_ID, 1, d.id, rm, customer, d.title, status, d.due_at, expires,
        form_values, started, submitted, done, cancelled, expired, cancel_reason, created,
        updated,
    )  # fmt: skip
    return row, closed_at


def _form_values(rng: random.Random, at: datetime) -> str:
    values: dict[str, Any] = {"outcome": rng.choice(_OUTCOMES), "notes": rng.choice(_NOTES)}
    if rng.random() < 0.5:
        values["next_visit"] = (at + timedelta(days=rng.randint(7, 60))).date().isoformat()
    return json.dumps(values, ensure_ascii=False)


async def _customers_by_owner(conn: asyncpg.Connection) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Customer ids per owning RM (at most a few million rows; nothing if there are none)."""
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    for r in await conn.fetch("select owner_id, id from customers"):
        out.setdefault(r["owner_id"], []).append(r["id"])
    return out


async def _flush(
    conn: asyncpg.Connection,
    task_rows: list[tuple[Any, ...]],
    reminder_rows: list[tuple[Any, ...]],
    report: Report,
) -> int:
    async with conn.transaction():
        await conn.copy_records_to_table("tasks", records=task_rows, columns=TASK_COLUMNS)
        if reminder_rows:
            await conn.copy_records_to_table(
                "task_reminders", records=reminder_rows, columns=REMINDER_COLUMNS
            )
    report.added["tasks"] += len(task_rows)
    report.added["task_reminders"] += len(reminder_rows)
    return len(task_rows)


async def _totals(conn: asyncpg.Connection, big_id: uuid.UUID) -> dict[str, Any]:
    row = await conn.fetchrow(
        """
        select (select count(*) from tasks) as tasks,
               (select count(*) from tasks where status in ('pending', 'in_progress',
                    'submitted', 'awaiting_confirmation')) as open_tasks,
               (select count(*) from tasks where assignee_id = $1) as big_rm_tasks,
               (select count(*) from tasks where assignee_id = $1 and status in ('pending',
                    'in_progress', 'submitted', 'awaiting_confirmation')) as big_rm_open,
               (select count(*) from tasks where assignee_id = $1 and status in ('pending',
                    'in_progress', 'submitted', 'awaiting_confirmation')
                    and due_at < now()) as big_rm_overdue,
               (select count(*) from dispatches) as dispatches,
               (select count(*) from task_reminders) as task_reminders,
               (select count(*) from customers) as customers,
               (select count(*) from users where role = 'rm') as rms,
               pg_total_relation_size('tasks') as tasks_bytes
        """,
        big_id,
    )
    totals = dict(row)
    by_status = await conn.fetch("select status, count(*) as n from tasks group by 1 order by 2")
    totals["by_status"] = {r["status"]: r["n"] for r in by_status}
    return totals


# ---- command line ----------------------------------------------------------------------------


async def _main(args: argparse.Namespace) -> Report:
    if args.migrate:
        await migrate.migrate(args.database_url)
    elif pending := await migrate.pending(args.database_url):
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise SystemExit(f"bench.generate_tasks: migrations pending ({names}); pass --migrate")
    conn = await asyncpg.connect(args.database_url, server_settings={"synchronous_commit": "off"})
    try:
        return await generate_tasks(
            conn,
            fraction=args.fraction,
            tasks=args.tasks,
            big_rm_open=args.big_rm_open,
            dispatch_customers=args.dispatch_customers,
        )
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate_tasks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL URL of a migrated database (default: $DATABASE_URL)",
    )
    parser.add_argument("--fraction", type=float, default=1.0, help="of the scale model's users")
    parser.add_argument("--tasks", type=int, default=1_000_000, help="generated tasks in all")
    parser.add_argument("--big-rm-open", type=int, default=2_000, help=f"open tasks of {BIG_RM}")
    parser.add_argument(
        "--dispatch-customers", type=int, default=0, help="dummy customers to dispatch to"
    )
    parser.add_argument("--migrate", action="store_true", help="apply pending migrations first")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    if args.fraction <= 0 or args.tasks < 1 or args.big_rm_open < 0:
        parser.error("--fraction and --tasks must be positive, --big-rm-open not negative")
    if args.tasks < args.big_rm_open:
        parser.error("--tasks must be at least --big-rm-open")
    report = asyncio.run(_main(args))
    print(json.dumps(report.as_dict(), indent=2, default=str, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

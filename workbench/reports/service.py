"""Monthly branch reports: queueing (the schedule, a request), building in the worker, the list
and the downloads of the console.

A report is one row per (branch, month). The worker claims a waiting row (FOR UPDATE SKIP
LOCKED, so two workers never build the same one), marks it building and commits; it reads the
numbers in one snapshot, lays out the PDF off the event loop, stores it under a key of its own
build and only then marks the row ready, if the row still names its build (a request to rebuild
meanwhile queues it again; the late file is thrown away). The previous file is deleted after the
commit. A build that raises is marked failed with a reason and not retried by itself.
While it builds, its worker renews the claim's lease (`claimed_at`, the database's clock) every
`HEARTBEAT_SECONDS`. A build whose worker died or stopped has no one renewing it: once its lease
is `LEASE_SECONDS` old the next run takes it again (the build job runs every minute), at most
`MAX_ATTEMPTS` times. A live build is never taken, however long its layout takes; one whose
claim is gone (queued again, or taken over after its renewals failed that long) stops.
"""

from __future__ import annotations

import asyncio
import logging
import time as clock
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from workbench.errors import DomainError, NotFound
from workbench.ids import uuid7
from workbench.media.store import BlobStoreUnavailable
from workbench.notifications import categories
from workbench.notifications.service import notify
from workbench.reports import builder
from workbench.reports import queries as q

if TYPE_CHECKING:
    from workbench.access import Caller
    from workbench.db import Connection, Pool
    from workbench.media.store import BlobStore
    from workbench.security.vault import Vault
    from workbench.settings import Settings

log = logging.getLogger("workbench.reports")

REPORT_READY = categories.REPORT_READY

SCHEDULE_AT = time(1, 30)  # bank time on the 1st: the previous month is queued from then on
LEASE_SECONDS = 60.0  # a build whose lease was not renewed for this long: its worker died
HEARTBEAT_SECONDS = 15.0  # how often a live build renews its lease
MAX_ATTEMPTS = 3
FIRST_MONTH = date(2000, 1, 1)
CONTENT_TYPE = "application/pdf"
ABANDONED = "生成多次中断（工作进程退出），已停止；请检查工作进程后重新生成"


class BadMonth(DomainError):
    status, code, title = 422, "report.bad_month", "The month is not one a report can cover"


class NotABranch(NotFound):
    """A unit of the caller's subtree that is no branch (a team): reports are made per branch;
    `branch_id`/`branch_name` is the branch above it whose reports cover it (None if none is).
    The console answers a page that says so, the API would answer 404 as for any other unit."""

    def __init__(
        self, unit_name: str, branch_id: uuid.UUID | None, branch_name: str | None
    ) -> None:
        super().__init__("org_unit", "Monthly reports are made per branch")
        self.code = "report.not_a_branch"
        self.unit_name = unit_name
        self.branch_id = branch_id
        self.branch_name = branch_name


async def _not_a_branch(conn: Connection, unit_id: uuid.UUID, *, caller: Caller) -> NotFound:
    """Why `unit_id` has no reports: NotABranch for a unit of the caller's subtree, NotFound
    for any other (it is not theirs to know of)."""
    row = await q.branch_above(conn, unit_id, scope=caller.scope_root)
    if row is None:
        return NotFound("org_unit")
    return NotABranch(row["name"], row["branch_id"], row["branch_name"])


@dataclass(frozen=True, slots=True)
class Built:
    report_id: uuid.UUID
    state: str  # ready | failed | superseded (queued again while it was built)
    seconds: float
    size: int = 0
    pages: int = 0


def bank_today(tz: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def parse_month(text: str, *, tz: str, now: datetime) -> date:
    """`2026-11` as the month's first day; not before 2000 and not after the current month."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        first = date(year, month, 1)
    except (ValueError, OverflowError):  # 99999999999-01: beyond what a C int holds
        raise BadMonth("Give the month as YYYY-MM") from None
    if not FIRST_MONTH <= first <= bank_today(tz, now).replace(day=1):
        raise BadMonth("The month is in the future or before 2000")
    return first


# ---- queueing ---------------------------------------------------------------------------------


async def queue_previous_month(conn: Connection, *, tz: str, now: datetime) -> int:
    """The schedule: from 01:30 bank time on the 1st, the previous month of every branch that
    has no report of it yet (or one built before the month ended) is queued. Idempotent: run
    hourly, it queues each once, and catches up after a worker outage or for a new branch."""
    local = now.astimezone(ZoneInfo(tz))
    if local.day == 1 and local.time() < SCHEDULE_AT:
        return 0
    month = builder.previous_month(local.date())
    branches = await q.branches(conn, scope=None, limit=1_000_000)
    if not branches:
        return 0
    return await q.queue_month_for_branches(
        conn,
        report_ids=[uuid7() for _ in branches],
        unit_ids=[b["id"] for b in branches],
        month=month,
        month_end=builder.month_end(month, tz),
    )


async def request_build(
    conn: Connection, *, caller: Caller, unit_id: uuid.UUID, month: date
) -> q.Record:
    """Build (or build again) a branch's report of a month the caller may see; the row (a team
    of their subtree: NotABranch)."""
    if await q.branch(conn, unit_id, scope=caller.scope_root) is None:
        raise await _not_a_branch(conn, unit_id, caller=caller)
    return await q.request_build(
        conn, report_id=uuid7(), unit_id=unit_id, month=month, requested_by=caller.user_id
    )


async def request_rebuild(conn: Connection, *, caller: Caller, report_id: uuid.UUID) -> q.Record:
    """Build an existing report again (the new file replaces the old one once it is ready)."""
    row = await q.requeue(conn, report_id, scope=caller.scope_root, requested_by=caller.user_id)
    if row is None:
        raise NotFound("report")
    return row


# ---- building ---------------------------------------------------------------------------------


Render = Callable[[builder.ReportData], Awaitable[builder.Pdf]]


@dataclass(frozen=True, slots=True)
class Builder:
    """What a build needs from the worker (or a test)."""

    pool: Pool
    blobs: BlobStore
    vault: Vault
    tz: str
    bank_name: str
    render: Render | None = None  # the PDF of the numbers; None: builder.build_pdf
    lease_seconds: float = LEASE_SECONDS
    heartbeat_seconds: float = HEARTBEAT_SECONDS

    @classmethod
    def from_ctx(cls, ctx: dict[str, Any]) -> Builder:
        from workbench.security.vault import Vault

        settings: Settings = ctx["settings"]
        return cls(
            pool=ctx["pool"],
            blobs=ctx["blobs"],
            vault=Vault.from_settings(settings.data_keys, settings.blind_index_key),
            tz=settings.bank_timezone,
            bank_name=settings.bank_name,
        )


def blob_key(row: q.Record, claim_id: uuid.UUID) -> str:
    return f"reports/{row['org_unit_id']}/{row['month']:%Y-%m}-{claim_id.hex}.pdf"


def _reason(exc: BaseException) -> str:
    """What the console shows for a failed build (no personal data, no trace)."""
    if isinstance(exc, BlobStoreUnavailable):
        return "文件存储暂不可用，请稍后重新生成"
    if isinstance(exc, NotFound):
        return "该机构已不存在或不在范围内"
    return f"生成失败（{type(exc).__name__}），请联系管理员后重新生成"


class ClaimLost(Exception):
    """The report no longer names this build: queued again, or taken over by another worker."""


async def build_next(b: Builder, *, wanted: uuid.UUID | None = None) -> Built | None:
    """Claim one waiting report (this one, or the oldest) and build it, renewing the claim's
    lease meanwhile; None if none waits."""
    claim_id = uuid7()
    async with b.pool.acquire() as conn, conn.transaction():
        await q.give_up_abandoned(
            conn, lease_seconds=b.lease_seconds, max_attempts=MAX_ATTEMPTS, error=ABANDONED
        )
        row = await q.claim(conn, claim_id=claim_id, wanted=wanted, lease_seconds=b.lease_seconds)
    if row is None:
        return None
    started = clock.perf_counter()
    key = blob_key(row, claim_id)
    try:
        pdf = await _holding(b, row["id"], claim_id, _make(b, row, key))
    except ClaimLost:
        log.warning("a monthly report build lost its claim", extra={"report_id": str(row["id"])})
        await _delete_quietly(b.blobs, key)
        return Built(row["id"], "superseded", clock.perf_counter() - started)
    except Exception as exc:
        log.exception("a monthly report failed", extra={"report_id": str(row["id"])})
        async with b.pool.acquire() as conn, conn.transaction():
            await q.finish_failed(conn, report_id=row["id"], claim_id=claim_id, error=_reason(exc))
        return Built(row["id"], "failed", clock.perf_counter() - started)
    async with b.pool.acquire() as conn, conn.transaction():
        done = await q.finish_ready(
            conn, report_id=row["id"], claim_id=claim_id, blob_key=key, size_bytes=len(pdf.data),
            pages=pdf.pages,
        )  # fmt: skip
        if done is not None:
            await _tell_branch_heads(conn, done, unit_name=row["unit_name"])
    seconds = clock.perf_counter() - started
    if done is None:  # queued again meanwhile: the newer build will make the file
        await _delete_quietly(b.blobs, key)
        return Built(row["id"], "superseded", seconds)
    if done["old_key"] and done["old_key"] != key:
        await _delete_quietly(b.blobs, done["old_key"])
    log.info(
        "monthly report built",
        extra={"report_id": str(row["id"]), "pages": pdf.pages, "bytes": len(pdf.data),
               "seconds": round(seconds, 2)},
    )  # fmt: skip
    return Built(row["id"], "ready", seconds, size=len(pdf.data), pages=pdf.pages)


async def _make(b: Builder, row: q.Record, key: str) -> builder.Pdf:
    """Read the report's numbers in one snapshot, lay out its PDF and store it under `key`."""
    async with (
        b.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        data = await builder.gather(
            conn, b.vault, unit_id=row["org_unit_id"], month=row["month"], tz=b.tz,
            now=datetime.now(UTC),
        )  # fmt: skip
    if b.render is not None:
        pdf = await b.render(data)
    else:
        pdf = await builder.build_pdf(data, bank_name=b.bank_name, tz=b.tz)
    await b.blobs.put(key, pdf.data, content_type=CONTENT_TYPE)
    return pdf


async def _holding(
    b: Builder, report_id: uuid.UUID, claim_id: uuid.UUID, work: Awaitable[builder.Pdf]
) -> builder.Pdf:
    """`work`'s result, its claim's lease renewed every `heartbeat_seconds` until it ends;
    ClaimLost (the work cancelled) once the row no longer names this build. A renewal that
    fails (the database away a moment) is tried again at the next beat; the work goes on."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=b.heartbeat_seconds)
            if done:
                return task.result()
            try:
                async with b.pool.acquire() as conn:
                    held = await q.renew(conn, report_id=report_id, claim_id=claim_id)
            except Exception as exc:  # the database away a moment: the next beat tries again
                log.warning(
                    "could not renew a monthly report's lease: %s", type(exc).__name__,
                    extra={"report_id": str(report_id)},
                )  # fmt: skip
                continue
            if not held:
                raise ClaimLost
    finally:
        if not task.done():  # its claim is gone, or the worker is stopping
            task.cancel()
            await asyncio.wait({task})  # a file it was storing is in place before it is deleted
        if not task.cancelled():
            task.exception()  # retrieved: what it raised is handled, or moot


async def _delete_quietly(blobs: BlobStore, key: str | None) -> None:
    if not key:
        return
    try:
        await blobs.delete(key)
    except Exception:  # a leftover file costs space, not correctness
        log.warning("could not delete a replaced monthly report file", exc_info=True)


async def _tell_branch_heads(conn: Connection, done: q.Record, *, unit_name: str) -> None:
    title = f"《{builder.month_title(done['month'])}》已生成"
    for head in await q.branch_heads(conn, done["org_unit_id"]):
        await notify(
            conn,
            user_id=head,
            category=REPORT_READY,
            title=title,
            body=f"{unit_name}的月度经营报告已生成，可在工作台“月度报告”中下载",
            dedupe_key=f"monthly_report:{done['id']}:{done['builds']}",
            data={"report_id": str(done["id"]), "month": f"{done['month']:%Y-%m}",
                  "org_unit_id": str(done["org_unit_id"])},
            subject_id=done["id"],
        )  # fmt: skip


# ---- the console ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    months: list[date]
    branches: list[q.Record]  # every branch the caller may see (the forms)
    shown: list[q.Record]  # those listed (one when filtered)
    reports: dict[tuple[uuid.UUID, date], q.Record]
    older: date | None  # the `before` of the next page


def months_before(first: date, count: int) -> list[date]:
    """`count` months ending with `first`, newest first."""
    out, month = [], first
    for _ in range(count):
        out.append(month)
        month = builder.previous_month(month)
    return out


async def listing(
    conn: Connection,
    *,
    caller: Caller,
    unit_id: uuid.UUID | None,
    before: date | None,
    tz: str,
    now: datetime,
    count: int = 6,
    many: int = 20,
) -> Listing:
    """Months × branches of the caller's subtree (or one branch of it; a team of it: NotABranch)
    with their reports:
    the `count` months before `before` (default: up to last month, with this month when it has
    a report); one month a page when more than `many` branches are listed (an admin's bank)."""
    branches = await q.branches(conn, scope=caller.scope_root)
    shown = branches
    if unit_id is not None:
        shown = [b for b in branches if b["id"] == unit_id]
        if not shown:
            raise await _not_a_branch(conn, unit_id, caller=caller)
    this_month = bank_today(tz, now).replace(day=1)
    newest = builder.previous_month(before) if before else builder.previous_month(this_month)
    newest = max(newest, FIRST_MONTH)  # no report is built of a month before 2000
    months = [
        m for m in months_before(newest, count if len(shown) <= many else 1) if m >= FIRST_MONTH
    ]
    if before is None:
        months.insert(0, this_month)
    rows = await q.listing(conn, scope=caller.scope_root, months=months, unit_id=unit_id)
    reports = {(r["org_unit_id"], r["month"]): r for r in rows}
    if before is None and not any(m == this_month for _, m in reports):
        months.pop(0)
    oldest = months[-1]
    return Listing(
        months=months,
        branches=branches,
        shown=shown,
        reports=reports,
        older=oldest if oldest > FIRST_MONTH else None,
    )


async def downloadable(conn: Connection, *, caller: Caller, report_id: uuid.UUID) -> q.Record:
    """A ready report in the caller's subtree, else NotFound (also for guessed ids)."""
    row = await q.report(conn, report_id, scope=caller.scope_root)
    if row is None or row["state"] != "ready":
        raise NotFound("report")
    return row

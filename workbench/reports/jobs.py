"""The monthly report worker's jobs: the schedule that queues last month for every branch, and
the builds (every minute, and woken by a request from the console)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from datetime import UTC, datetime
from typing import Any

from arq import cron, func
from redis.exceptions import RedisError

from workbench.reports import service

log = logging.getLogger("workbench.reports.jobs")
BUILD_JOB = "build_monthly_reports"
RUN_SECONDS = 240  # a run stops taking reports after this (job timeout 300 s); the next goes on
FAN_OUT = 4  # build jobs queued when the schedule queues reports (spread over the workers)


async def queue_monthly_reports(ctx: dict[str, Any]) -> int:
    """Hourly: from 01:30 bank time on the 1st, queue last month's report of every branch that
    has none (idempotent), then have them built: by up to FAN_OUT build jobs, which any worker
    may take (without the arq queue at hand, here and now)."""
    settings = ctx["settings"]
    now = datetime.now(UTC)
    async with ctx["pool"].acquire() as conn, conn.transaction():
        queued = await service.queue_previous_month(conn, tz=settings.bank_timezone, now=now)
    if not queued:
        return 0
    log.info("monthly reports queued", extra={"count": queued})
    redis = ctx.get("redis")
    if redis is None:
        await build_monthly_reports(ctx)
        return queued
    for n in range(min(queued, FAN_OUT)):
        try:
            await redis.enqueue_job(
                BUILD_JOB, _job_id=f"{settings.redis_prefix}monthly-reports:{now:%Y%m%d%H}:{n}"
            )
        except (RedisError, OSError) as exc:  # the build job of the next minute takes them
            log.warning("could not queue the report builds: %s", type(exc).__name__)
            break
    return queued


async def build_monthly_reports(ctx: dict[str, Any], report_id: str | None = None) -> int:
    """Build waiting reports (this one first, then any) until none waits or the run has used
    its time; returns how many were built (ready or failed). One build at a time per worker
    process (the layout takes a core): a run waiting for its turn holds no claim."""
    b = ctx.get("report_builder") or service.Builder.from_ctx(ctx)
    turn = _turn(ctx)
    wanted = uuid.UUID(report_id) if report_id else None
    handled, stop_at = 0, time.monotonic() + ctx.get("report_run_seconds", RUN_SECONDS)
    while (left := stop_at - time.monotonic()) > 0:
        try:
            await asyncio.wait_for(turn.acquire(), left)
        except TimeoutError:
            break
        try:
            built = await service.build_next(b, wanted=wanted)
        finally:
            turn.release()
        if built is None:
            if wanted is None:
                break
            wanted = None  # built already, or held by another worker: any other
            continue
        wanted = None
        handled += 1
    return handled


# A worker process's turn to build, shared by its runs: arq gives each run a copy of the
# worker's ctx, so a lock kept in it would be each run's own. One per event loop (a worker
# process runs one); a test stands for another worker process with `report_turn` in its ctx.
_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _turn(ctx: dict[str, Any]) -> asyncio.Lock:
    given: asyncio.Lock | None = ctx.get("report_turn")
    if given is not None:
        return given
    return _TURNS.setdefault(asyncio.get_running_loop(), asyncio.Lock())


def waker(redis: Any, redis_prefix: str) -> Any:
    """Queue the build of a requested report on the app's arq Redis, after the request's
    commit; if Redis does not answer, the build job of the next minute takes it."""

    async def wake(report_id: uuid.UUID, requested_at: datetime) -> None:
        try:
            await redis.enqueue_job(
                BUILD_JOB,
                str(report_id),
                _job_id=f"{redis_prefix}monthly-report:{report_id}:{requested_at.timestamp()}",
            )
        except (RedisError, OSError) as exc:
            log.warning("could not wake the report worker: %s", type(exc).__name__)

    return wake


FUNCTIONS: list[Any] = [
    func(build_monthly_reports, name=BUILD_JOB, keep_result=0),
    queue_monthly_reports,
]
CRON: list[Any] = [
    # Hourly at :30 (the job itself waits for 01:30 bank time on the 1st, whatever the
    # worker's own time zone, and catches up within the hour after an outage); `unique` keeps
    # each scheduled run from running once per worker (runs that overlap are safe: queueing is
    # idempotent, builds claim their rows, one at a time per worker process: `report_turn`).
    # Not at startup: a worker starting (or a test's burst worker) does not lay out PDFs
    # unasked.
    cron(queue_monthly_reports, minute={30}, unique=True, run_at_startup=False),
    cron(build_monthly_reports, second={20}, unique=True, run_at_startup=False),
]

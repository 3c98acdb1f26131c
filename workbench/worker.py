"""The arq worker: settings, shared resources, the scheduled maintenance jobs, and the run that
outlives Redis outages."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from arq import cron, func
from arq.connections import ArqRedis, RedisSettings
from arq.connections import create_pool as create_redis_pool
from arq.constants import default_queue_name
from arq.worker import Worker, get_kwargs
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from push import jobs as push_jobs
from sync import feed as sync_feed
from sync import jobs as sync_jobs
from sync.packages import jobs as package_jobs
from workbench.db import create_pool
from workbench.exports import jobs as export_jobs
from workbench.identity import jobs as identity_jobs
from workbench.media import jobs as media_jobs
from workbench.media.store import blob_store_from_settings
from workbench.reports import jobs as report_jobs
from workbench.settings import Settings
from workbench.surveys import jobs as survey_jobs
from workbench.tasks import jobs as task_jobs
from workbench.tracking import ingest as tracking_ingest
from workbench.tracking import jobs as tracking_jobs
from workbench.workorders import sla

log = logging.getLogger("workbench.worker")
T = TypeVar("T")


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    sla.use_calendar(settings.work_calendar)
    sla.warn_unknown_years(settings.work_calendar, today=datetime.now(sla.BANK_ZONE).date())
    ctx["pool"] = await create_pool(settings.database_url, max_size=5 + 2 * settings.push_loops)
    ctx["blobs"] = blob_store_from_settings(settings)
    await push_jobs.start_delivery(ctx)
    await sync_feed.start(ctx)
    await tracking_ingest.start(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    await tracking_ingest.stop(ctx)
    await sync_feed.stop(ctx)
    await push_jobs.stop_delivery(ctx)
    if blobs := ctx.get("blobs"):
        await blobs.close()
    if pool := ctx.get("pool"):
        await pool.close()


async def redis_lost(ctx: dict[str, Any]) -> None:
    """Redis went away: the loops that move data between Redis and PostgreSQL pause (they would
    log several times a second what the worker says once). Push delivery needs no Redis: it goes
    on."""
    await tracking_ingest.stop(ctx)
    await sync_feed.stop(ctx)


async def redis_back(ctx: dict[str, Any]) -> None:
    """Redis answers again: the paused loops start afresh (the feed from its saved position; a
    consumer whose group is gone makes it again; entries a paused one held are reclaimed)."""
    await sync_feed.start(ctx)
    await tracking_ingest.start(ctx)


def _named_for_this_deployment(prefix: str, jobs: list[Any]) -> list[Any]:
    """The cron jobs named with the deployment's Redis prefix. arq keeps a scheduled run under
    the job's name and time (`arq:job:cron:<name>:<ms>`, keys it never prefixes): two
    deployments sharing a Redis database would find each other's runs and skip their own."""
    return [replace(job, name=f"{prefix}{job.name}") for job in jobs]


def worker_settings(settings: Settings) -> type:
    """An arq WorkerSettings class bound to these settings (queue name carries the prefix)."""

    class WorkerSettings:
        functions: ClassVar[list[Any]] = [
            identity_jobs.purge_expired_refresh_tokens,
            task_jobs.expire_tasks,
            task_jobs.open_recurring_periods,
            push_jobs.queue_reminders,
            push_jobs.purge_attempts,
            sync_jobs.purge_changes,
            tracking_jobs.maintain_hit_partitions,
            # Queued by uploads (one job id: uploads of the same moment share a run).
            func(media_jobs.build_renditions, name="build_renditions", keep_result=0),
            *survey_jobs.FUNCTIONS,
            *package_jobs.FUNCTIONS,
            *export_jobs.FUNCTIONS,
            *report_jobs.FUNCTIONS,
        ]
        cron_jobs: ClassVar[list[Any]] = _named_for_this_deployment(settings.redis_prefix, [
            cron(
                identity_jobs.purge_expired_refresh_tokens,
                hour={3},
                minute={17},
                unique=True,
                run_at_startup=False,
            ),
            # Every minute (second 0). `unique` only keeps a scheduled run (job and time) from
            # running twice, here or on another worker; it does not keep runs from overlapping:
            # a run that outlasts its interval, or a worker's startup run, runs beside the next
            # one. So every cron job is safe to overlap: it claims rows (SKIP LOCKED, leases,
            # advisory locks) or writes idempotently.
            cron(task_jobs.expire_tasks, unique=True, run_at_startup=True),
            cron(task_jobs.open_recurring_periods, unique=True, run_at_startup=True),
            cron(
                push_jobs.queue_reminders,
                second=set(range(0, 60, 5)),
                unique=True,
                run_at_startup=True,
            ),
            cron(push_jobs.purge_attempts, hour={3}, minute={41}, unique=True),
            cron(sync_jobs.purge_changes, hour={4}, minute={7}, unique=True),
            # share_hits partitions ahead, and those past retention dropped.
            cron(
                tracking_jobs.maintain_hit_partitions,
                hour={2},
                minute={23},
                unique=True,
                run_at_startup=True,
            ),
            # Runs overlap (one may last a minute): only the run holding the process's build
            # slot claims images, one at a time (`workbench.media.jobs`).
            cron(
                media_jobs.build_renditions,
                second=set(range(0, 60, 5)),
                unique=True,
                run_at_startup=True,
            ),
            *survey_jobs.CRON,
            *package_jobs.CRON,
            *export_jobs.CRON,
            *report_jobs.CRON,
        ])  # fmt: skip
        redis_settings = RedisSettings.from_dsn(settings.redis_url)
        queue_name = f"{settings.redis_prefix}queue"
        on_startup = startup
        on_shutdown = shutdown
        on_redis_lost = redis_lost  # not arq's: `run_worker` below calls these two
        on_redis_back = redis_back
        ctx: ClassVar[dict[str, Any]] = {"settings": settings}
        max_jobs = 20
        job_timeout = 300
        keep_result = 3600
        health_check_key = f"{settings.redis_prefix}worker-health"

    return WorkerSettings


# ---- the run -------------------------------------------------------------------------------

# Redis unreachable, or not answering yet (BusyLoadingError, a restarted Redis reading its
# data, is a ConnectionError); Python's TimeoutError is an OSError.
REDIS_AWAY: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
RECONNECT_FIRST = 0.5  # seconds before the first try to reach Redis again; doubled each time
RECONNECT_CAP = 5.0
STILL_AWAY_EVERY = 60.0  # seconds between the warnings of one outage after its first
PROBE_TIMEOUT = 5.0  # a PING that gets no answer (a half-open connection) counts as a failure
STOP_GRACE = 15.0  # seconds the running jobs get to end after SIGTERM (arq re-queues them)


def run_worker(settings_cls: type) -> None:
    """Run the arq worker of `settings_cls` until SIGINT or SIGTERM, through Redis outages of
    any length (arq's own `run_worker` ends at the first Redis error)."""
    asyncio.run(_Supervisor(settings_cls).run())


class _Supervisor:
    """arq's own loop (`Worker.main`) on resources made once: when Redis goes, one warning, the
    loops that need Redis pause, Redis is tried with capped backoff, and a new arq `Worker` on
    the same client (its connections reconnect by themselves) takes over once Redis answers.
    Startup and shutdown run once; a signal stops it at any point, outage included."""

    def __init__(self, settings_cls: type) -> None:
        kwargs: dict[str, Any] = dict(get_kwargs(settings_cls))
        self._startup = kwargs.pop("on_startup", None)
        self._shutdown = kwargs.pop("on_shutdown", None)
        self._ctx: dict[str, Any] = dict(kwargs.pop("ctx", None) or {})
        self._redis_settings: RedisSettings = kwargs.pop("redis_settings", None) or RedisSettings()
        self._kwargs = kwargs
        self._redis_lost = getattr(settings_cls, "on_redis_lost", None)
        self._redis_back = getattr(settings_cls, "on_redis_back", None)
        self._stop = asyncio.Event()
        self._signal = signal.SIGTERM
        self._left: set[asyncio.Task[Any]] = set()
        self._redis: ArqRedis | None = None
        self._health_key: str | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._stopping, signum)
        self._redis = await self._connect()
        if self._redis is None:
            return
        self._ctx["redis"] = self._redis
        worker: Worker | None = None
        try:
            if self._startup:
                await self._startup(self._ctx)
            while not self._stop.is_set():
                worker = self._worker(self._redis)
                if (error := await self._serve(worker)) is None:
                    break
                self._leave(worker)
                worker = None
                if not await self._wait_out(error, self._redis):
                    break
        finally:
            await self._close(worker, self._redis)

    def _stopping(self, signum: signal.Signals) -> None:
        self._signal = signum
        self._stop.set()

    async def _connect(self) -> ArqRedis | None:
        """The worker's Redis client (arq's pool), made once Redis answers; None if stopped."""
        settings = replace(self._redis_settings, conn_retries=0)  # the backoff is ours

        async def attempt() -> ArqRedis:
            queue = self._kwargs.get("queue_name", default_queue_name)
            return await create_redis_pool(settings, default_queue_name=queue)

        try:
            return await attempt()
        except REDIS_AWAY as exc:
            self._warn_away(exc)
        return await self._retry(attempt)

    def _worker(self, redis: ArqRedis) -> Worker:
        worker = Worker(**self._kwargs, redis_pool=redis, ctx=self._ctx, handle_signals=False)
        self._health_key = worker.health_check_key
        # The cron schedule lives on the CronJob objects, shared by every Worker of the process:
        # a run missed while Redis was away runs once now, not once per missed time in a row.
        now = datetime.now(tz=worker.timezone)
        for job in worker.cron_jobs:
            if job.next_run is not None and job.next_run < now:
                job.next_run = now
        return worker

    async def _serve(self, worker: Worker) -> BaseException | None:
        """arq's loop until a signal (None: `_close` stops it) or until Redis fails it (the
        error); any other failure ends the process, as it did."""
        worker.main_task = main = asyncio.create_task(worker.main())
        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not main.done():
            return None
        error = main.exception()
        if error is None or isinstance(error, REDIS_AWAY):
            return error
        raise error

    def _leave(self, worker: Worker) -> None:
        """A Worker that Redis ended leaves its running jobs to finish: their work is in
        PostgreSQL; their end is recorded if Redis is back by then, else arq runs them again
        once their in-progress mark expires (every job is idempotent)."""
        for job_id, task in worker.tasks.items():
            self._left.add(task)
            task.add_done_callback(functools.partial(self._job_left, job_id))

    def _job_left(self, job_id: str, task: asyncio.Task[Any]) -> None:
        self._left.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning(
                "a job's end could not be recorded in Redis; arq runs it again later",
                extra={"job_id": job_id, "error": type(exc).__name__},
            )

    async def _wait_out(self, error: BaseException, redis: ArqRedis) -> bool:
        """Through an outage: True once Redis answers again (loops resumed), False if stopped."""
        began = time.monotonic()
        self._warn_away(error)
        if self._redis_lost:
            await self._redis_lost(self._ctx)
        if not await self._retry(redis.ping):
            return False
        log.info(
            "Redis reachable again; the worker resumes",
            extra={"down_seconds": round(time.monotonic() - began)},
        )
        if self._redis_back:
            await self._redis_back(self._ctx)
        return True

    def _warn_away(self, error: BaseException) -> None:
        log.warning(
            "Redis unreachable; jobs, cron, beacon ingestion and the sync feed wait for it",
            extra={"error": type(error).__name__, "redis": self._address()},
        )

    def _address(self) -> str:
        settings = self._redis_settings
        return settings.unix_socket_path or f"{settings.host}:{settings.port}"

    async def _retry(self, attempt: Callable[[], Awaitable[T]]) -> T | None:
        """`attempt` with capped exponential backoff until it succeeds (its result) or a signal
        stops the worker (None); a warning each STILL_AWAY_EVERY seconds meanwhile."""
        began = said = time.monotonic()
        delay = RECONNECT_FIRST
        while not await self._stopped_within(delay):
            try:
                return await asyncio.wait_for(attempt(), PROBE_TIMEOUT)
            except (RedisError, OSError) as exc:
                if time.monotonic() - said >= STILL_AWAY_EVERY:
                    said = time.monotonic()
                    log.warning(
                        "Redis still unreachable",
                        extra={"error": type(exc).__name__, "down_seconds": round(said - began)},
                    )
            delay = min(delay * 2, RECONNECT_CAP)
        return None

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    async def _close(self, worker: Worker | None, redis: ArqRedis) -> None:
        """As arq's `Worker.close`, bounded in time: Redis may be away."""
        if worker is not None:  # arq's own stop: its loop ends, running jobs are cancelled
            worker.handle_sig(self._signal)  # (and queued again by arq)
            if worker.main_task is not None:
                await asyncio.wait({worker.main_task})
            self._leave(worker)
        for task in self._left:
            task.cancel()
        if self._left:
            await asyncio.wait(set(self._left), timeout=STOP_GRACE)
        if self._health_key is not None:
            with contextlib.suppress(RedisError, OSError):
                await asyncio.wait_for(redis.delete(self._health_key), PROBE_TIMEOUT)
        try:
            if self._shutdown:
                await self._shutdown(self._ctx)
        finally:
            await redis.aclose()

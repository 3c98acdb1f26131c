"""The arq worker: settings, shared resources and the scheduled maintenance jobs."""

from __future__ import annotations

from typing import Any, ClassVar

from arq import cron, func
from arq.connections import RedisSettings

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


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
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
        cron_jobs: ClassVar[list[Any]] = [
            cron(
                identity_jobs.purge_expired_refresh_tokens,
                hour={3},
                minute={17},
                unique=True,
                run_at_startup=False,
            ),
            # Every minute (second 0); `unique` keeps one run at a time across all workers.
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
        ]
        redis_settings = RedisSettings.from_dsn(settings.redis_url)
        queue_name = f"{settings.redis_prefix}queue"
        on_startup = startup
        on_shutdown = shutdown
        ctx: ClassVar[dict[str, Any]] = {"settings": settings}
        max_jobs = 20
        job_timeout = 300
        keep_result = 3600
        health_check_key = f"{settings.redis_prefix}worker-health"

    return WorkerSettings

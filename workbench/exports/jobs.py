"""The export worker's jobs.

`build_exports` is queued when a large export is requested (a job id per export) and runs every
15 seconds besides, so an export whose job was lost, or whose worker died (its lease ran out),
is built all the same. `expire_exports` deletes files and their exports after 7 days.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq import cron, func
from redis.exceptions import RedisError

from workbench.exports import service
from workbench.security.vault import Vault
from workbench.settings import Settings

log = logging.getLogger("workbench.exports.jobs")
JOB_NAME = "build_exports"
JOB_TIMEOUT = 4 * 3600  # a few million rows as XLSX take minutes; the lease covers a dead worker
RUN_EXPORTS = 20  # exports one run builds at most (then the next run goes on)


def builder(ctx: dict[str, Any]) -> service.Builder:
    settings: Settings = ctx["settings"]
    vault = ctx.get("vault")
    if vault is None:
        vault = ctx["vault"] = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    return service.Builder(
        pool=ctx["pool"], blobs=ctx["blobs"], vault=vault, tz=settings.bank_timezone,
        lease_seconds=ctx.get("export_lease_seconds", service.LEASE_SECONDS),
    )  # fmt: skip


async def build_exports(ctx: dict[str, Any], export_id: str | None = None) -> int:
    """Build this export, then any other waiting one; returns how many were built."""
    b = builder(ctx)
    wanted = uuid.UUID(export_id) if export_id else None
    built = 0
    for _ in range(RUN_EXPORTS):
        done = await service.build(b, wanted)
        if done is None and wanted is None:
            break
        if done is not None:
            built += 1
        wanted = None
    return built


async def expire_exports(ctx: dict[str, Any]) -> int:
    """Delete exports past their expiry with their files."""
    deleted = await service.expire(ctx["pool"], ctx["blobs"])
    if deleted:
        log.info("expired exports deleted", extra={"count": deleted})
    return deleted


def waker(redis: Any, redis_prefix: str) -> service.Wake:
    """Queue an export's job once its request has committed; if Redis does not answer, the
    scheduled run takes it a few seconds later."""

    async def wake(export_id: uuid.UUID) -> None:
        try:
            await redis.enqueue_job(
                JOB_NAME, str(export_id), _job_id=f"{redis_prefix}export:{export_id}"
            )
        except (RedisError, OSError) as exc:
            log.warning("could not wake the export worker: %s", type(exc).__name__)

    return wake


FUNCTIONS: list[Any] = [
    func(build_exports, name=JOB_NAME, keep_result=0, timeout=JOB_TIMEOUT),
    func(expire_exports, name="expire_exports", keep_result=0),
]
CRON: list[Any] = [
    cron(
        build_exports,
        second={0, 15, 30, 45},
        unique=True,
        run_at_startup=True,
        timeout=JOB_TIMEOUT,
    ),
    cron(expire_exports, minute={7}, unique=True),
]

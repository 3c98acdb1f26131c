"""Push in the arq worker: the delivery loops (started with the worker, stopped with it) and the
scheduled jobs that feed and tidy the outbox. Every job is idempotent and safe to run on any
number of workers at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from prometheus_client import start_http_server

from push import providers, queries
from push.delivery import Deliverer, Options
from push.metrics import PushMetrics
from workbench.security.vault import Vault
from workbench.settings import Settings

log = logging.getLogger("push.jobs")

REMINDER_LOOKAHEAD_SECONDS = 120  # reminders enter the outbox this long before they are due
REMINDER_BATCH = 20_000
ATTEMPTS_KEPT_DAYS = 30


def options(settings: Settings) -> Options:
    return Options(
        lease_seconds=settings.push_lease_seconds,
        batch_size=settings.push_batch_size,
        max_attempts=settings.push_max_attempts,
        device_cap=settings.push_device_cap_per_hour,
        bank_timezone=settings.bank_timezone,
    )


async def start_delivery(ctx: dict[str, Any]) -> None:
    """Worker start: providers, the deliverer and its loops, the queue-lag gauge."""
    settings: Settings = ctx["settings"]
    metrics = PushMetrics()
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr="0.0.0.0", registry=metrics.registry)  # noqa: S104
    ctx["push_providers"] = providers.build(settings, ctx["redis"])
    deliverer = Deliverer(
        ctx["pool"],
        ctx["push_providers"],
        Vault.from_settings(settings.data_keys, settings.blind_index_key),
        metrics,
        options(settings),
    )
    stop = asyncio.Event()
    loops = [
        asyncio.create_task(deliverer.run_forever(stop), name=f"push-delivery-{i}")
        for i in range(settings.push_loops)
    ]
    loops.append(asyncio.create_task(_watch_queue_lag(ctx["pool"], metrics, stop)))
    ctx["push_stop"], ctx["push_loops"], ctx["push_metrics"] = stop, loops, metrics


async def stop_delivery(ctx: dict[str, Any]) -> None:
    """Worker stop: let the loops finish their round (its record included), then close."""
    if stop := ctx.get("push_stop"):
        stop.set()
        loops = ctx.get("push_loops", [])
        _, late = await asyncio.wait(loops, timeout=15)
        for task in late:
            task.cancel()
    for provider in ctx.get("push_providers", {}).values():
        with contextlib.suppress(Exception):
            await provider.aclose()


async def _watch_queue_lag(pool: Any, metrics: PushMetrics, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(Exception):
            async with pool.acquire() as conn:
                metrics.queue_lag.set(await queries.queue_lag_seconds(conn))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=5)


async def queue_reminders(ctx: dict[str, Any]) -> int:
    """Every 5 seconds: reminders due within two minutes move into the outbox (scheduled at
    their own time), with overdue escalations. Concurrent runs split the rows (SKIP LOCKED)."""
    settings: Settings = ctx["settings"]
    total = 0
    while True:
        async with ctx["pool"].acquire() as conn, conn.transaction():
            queued = await queries.queue_due_reminders(
                conn,
                lookahead_seconds=REMINDER_LOOKAHEAD_SECONDS,
                limit=REMINDER_BATCH,
                grace_minutes=settings.push_escalation_grace_minutes,
                tz=settings.bank_timezone,
            )
        total += queued
        if queued < REMINDER_BATCH:
            break
    if total:
        log.info("reminders queued", extra={"count": total})
    return total


async def purge_attempts(ctx: dict[str, Any]) -> int:
    """Daily: delivery attempts older than 30 days are deleted (the outcome stays on the row)."""
    async with ctx["pool"].acquire() as conn:
        return await queries.purge_attempts(conn, older_than_days=ATTEMPTS_KEPT_DAYS)

"""Worker jobs of survey delivery: large deliveries chunk by chunk, reminders.

`deliver_surveys` is queued when a delivery is created (a job id per delivery) and runs every
few seconds besides, so a delivery whose job was lost, or whose worker died, goes on. Each
chunk is one transaction that holds the delivery's row (FOR UPDATE SKIP LOCKED): two workers
never send the same chunk, and a chunk cut off by a crash is rolled back whole and sent again
from the last committed position (the unique (delivery, customer) index keeps a recipient from
being invited twice). A delivery whose survey was archived stops at its next chunk
(`failed`, error `survey.archived`; see `delivery.run_chunk`), and an archived survey's links
are reminded no more (`queries.due_reminders`).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from arq import cron, func
from redis.exceptions import RedisError

from workbench.settings import Settings
from workbench.surveys import delivery
from workbench.surveys.invitations import queries

log = logging.getLogger("workbench.surveys.delivery_jobs")
RUN_SECONDS = 240  # a run stops taking chunks after this (job timeout 300 s); the next goes on
JOB_NAME = "deliver_surveys"


async def deliver_surveys(ctx: dict[str, Any], delivery_id: str | None = None) -> int:
    """Send queued deliveries (this one, or any) chunk by chunk until none is left or the run
    has used its time; returns how many recipients were handled."""
    settings: Settings = ctx["settings"]
    rules = ctx.get("survey_rules") or delivery.Rules.from_settings(settings)
    chunk = ctx.get("survey_chunk", delivery.CHUNK)
    wanted = uuid.UUID(delivery_id) if delivery_id else None
    handled, stop_at = 0, time.monotonic() + ctx.get("survey_run_seconds", RUN_SECONDS)
    failing: list[uuid.UUID] = []  # passed over for the rest of this run (retried next run)
    while time.monotonic() < stop_at:
        row = None
        try:
            async with ctx["pool"].acquire() as conn, conn.transaction():
                row = await queries.claim_delivery(conn, wanted, passing_over=failing)
                if row is None:
                    if wanted is None:
                        break
                    wanted = None  # this one is done or held by another worker: any other
                    continue
                before = row["done"] + row["skipped"]
                after = await delivery.run_chunk(conn, delivery=row, rules=rules, chunk=chunk)
                handled += after["done"] + after["skipped"] - before
        except Exception:  # its chunk rolled back; the others go on, it is tried again later
            if row is None:
                raise
            log.exception("a survey delivery chunk failed", extra={"delivery_id": str(row["id"])})
            failing.append(row["id"])
            wanted = None
            continue
        if after["status"] == "done":
            log.info(
                "survey delivery done",
                extra={"delivery_id": str(after["id"]), "sent": after["done"],
                       "skipped": after["skipped"]},
            )  # fmt: skip
        elif after["status"] == "failed":  # its survey was archived: the rest is not sent
            log.info(
                "survey delivery stopped",
                extra={"delivery_id": str(after["id"]), "error": after["error"],
                       "sent": after["done"], "skipped": after["skipped"]},
            )  # fmt: skip
    return handled


async def remind_survey_recipients(ctx: dict[str, Any]) -> int:
    """Every few minutes: remind customers who have not answered (see delivery.send_reminders)."""
    rules = ctx.get("survey_rules") or delivery.Rules.from_settings(ctx["settings"])
    total = 0
    while True:
        async with ctx["pool"].acquire() as conn, conn.transaction():
            sent, held = await delivery.send_reminders(conn, rules=rules)
        total += sent
        if sent + held < delivery.CHUNK:
            break
    if total:
        log.info("survey reminders sent", extra={"count": total})
    return total


def waker(redis: Any, redis_prefix: str) -> delivery.Wake:
    """Queue a delivery's job on the app's arq Redis once its creation has committed; if Redis
    does not answer, the scheduled run takes it a few seconds later."""

    async def wake(delivery_id: uuid.UUID) -> None:
        try:
            await redis.enqueue_job(
                JOB_NAME, str(delivery_id), _job_id=f"{redis_prefix}survey-delivery:{delivery_id}"
            )
        except (RedisError, OSError) as exc:
            log.warning("could not wake the survey delivery worker: %s", type(exc).__name__)

    return wake


FUNCTIONS: list[Any] = [
    func(deliver_surveys, name=JOB_NAME, keep_result=0),
    remind_survey_recipients,
]
CRON: list[Any] = [
    cron(deliver_surveys, second=set(range(0, 60, 5)), unique=True, run_at_startup=True),
    cron(remind_survey_recipients, minute=set(range(0, 60, 10)), unique=True),
]

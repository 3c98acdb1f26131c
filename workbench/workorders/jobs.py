"""Worker jobs of work orders: escalation of overdue ones, rules applied to past answers."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq import cron, func

from workbench.security.vault import Vault
from workbench.settings import Settings
from workbench.workorders import alerts, escalation, queries

log = logging.getLogger("workbench.workorders.jobs")
APPLY_JOB = "apply_alert_rule"


async def escalate_overdue_work_orders(ctx: dict[str, Any]) -> int:
    """Every minute: escalate overdue work orders, a batch per transaction, until none is due."""
    total = 0
    while True:
        async with ctx["pool"].acquire() as conn, conn.transaction():
            count = await escalation.escalate_due(conn)
        total += count
        if count < escalation.BATCH:
            break
    if total:
        log.info("work orders escalated", extra={"count": total})
    return total


async def apply_alert_rule(ctx: dict[str, Any], rule_id: str) -> int:
    """Apply a rule to every past response of its survey, a chunk per transaction. Idempotent:
    a rerun (or a second request) opens nothing twice."""
    settings: Settings = ctx["settings"]
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    opened, after = 0, None
    while True:
        async with ctx["pool"].acquire() as conn, conn.transaction():
            rule = await queries.rule(conn, uuid.UUID(rule_id))
            if rule is None:
                return opened
            count, after = await alerts.apply_rule(
                conn, cipher=vault.cipher, rule=rule, after=after
            )
        opened += count
        if after is None:
            break
    log.info("alert rule applied", extra={"rule_id": rule_id, "opened": opened})
    return opened


FUNCTIONS: list[Any] = [
    escalate_overdue_work_orders,
    func(apply_alert_rule, name=APPLY_JOB, keep_result=0),
]
CRON: list[Any] = [
    # Every minute (second 0). `unique` only keeps each scheduled run from running twice, not
    # runs from overlapping; overlapping runs split the due work orders (SKIP
    # LOCKED in `claim_escalations`), so none is escalated twice.
    cron(escalate_overdue_work_orders, unique=True, run_at_startup=True),
]

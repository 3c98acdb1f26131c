"""The demo bank's work orders: an alert rule on the demo NPS survey (a score of 6 or less opens
a work order for the customer's RM, due within 8 business hours), applied to the month of past
answers as if it had been live all along.

Older work orders have been worked: the oldest half is closed with a root cause, the next fifth
resolved, the next sixth in progress; the newest are open, some already overdue. Each step has
its note, written by the assignee.
The worker escalates the overdue ones on its first run. Seeds nothing if the rule exists or the
demo NPS survey does not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.workorders import WorkOrderState
from workbench.access import Caller
from workbench.db import Connection
from workbench.ids import uuid5_for, uuid7
from workbench.notifications import queries as notification_queries
from workbench.security.vault import Vault
from workbench.settings import Settings
from workbench.surveys.demo import demo_nps_survey_id
from workbench.workorders import alerts, queries, service

DEMO_RULE = uuid5_for("alert-rule:demo-nps-detractors")
ADMIN = uuid5_for("user:admin")
SLA_BUSINESS_HOURS = 8
ROOT_CAUSES = ("wait_time", "communication", "system_fault", "process", "product_fit", "fees")
NOTES = {
    WorkOrderState.IN_PROGRESS: "已电话联系客户，了解具体情况，正在协调处理",
    WorkOrderState.RESOLVED: "已向客户解释并给出改进措施，客户表示理解",
    WorkOrderState.CLOSED: "回访确认客户满意，结单",
}


async def seed_demo_work_orders_from_settings(
    conn: Connection, settings: Settings
) -> dict[str, int]:
    """The demo work orders, with the settings' keys."""
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    return await seed_demo_work_orders(conn, vault=vault, now=datetime.now(UTC))


async def seed_demo_work_orders(conn: Connection, *, vault: Vault, now: datetime) -> dict[str, int]:
    """The demo rule and its work orders as of `now`. Call in a transaction after the surveys."""
    survey_id = demo_nps_survey_id()
    if await queries.rule(conn, DEMO_RULE) is not None:
        return {}
    if await queries.survey_for_rules(conn, survey_id) is None or (
        await queries.user_unit(conn, ADMIN) is None
    ):
        return {}
    rule = await queries.insert_rule(
        conn, rule_id=DEMO_RULE, survey_id=survey_id, question_key="score", op="lte", value=6,
        assign_to="owner_rm", sla_hours=SLA_BUSINESS_HOURS, sla_kind="business_hours",
        active=True, created_by=ADMIN, now=now - timedelta(weeks=5),
    )  # fmt: skip
    after = None
    while True:
        _, after = await alerts.apply_rule(
            conn, cipher=vault.cipher, rule=rule, after=after, as_of_submission=True
        )
        if after is None:
            break
    made = await queries.work_orders_of_rule(conn, DEMO_RULE)
    for n, row in enumerate(made):
        steps = _steps(n / len(made))
        assignee = Caller(
            user_id=row["assignee_id"], role=Role(row["role"]), org_unit_id=row["org_unit_id"],
            session_id=uuid7(), device_id="demo",
        )  # fmt: skip
        for i, to in enumerate(steps):
            await service.transition(
                conn, vault=vault, caller=assignee, work_order_id=row["id"], to=to,
                note=NOTES[to],
                now=min(row["created_at"] + timedelta(hours=2 + 24 * i),
                        now - timedelta(minutes=len(steps) - i)),
                root_cause=ROOT_CAUSES[n % len(ROOT_CAUSES)]
                if to is WorkOrderState.CLOSED else None,
            )  # fmt: skip
    # Their 新工单 notifications are from when each opened; read where the RM has worked it.
    await notification_queries.settle_as_history(
        conn,
        subject_ids=[row["id"] for row in made],
        happened=[row["created_at"] for row in made],
        read=[bool(_steps(n / len(made))) for n in range(len(made))],
    )
    return {"alert_rules": 1, "work_orders": len(made)}


def _steps(rank: float) -> list[WorkOrderState]:
    """How far a work order has been worked, by its place from oldest (0) to newest (1)."""
    path = [WorkOrderState.IN_PROGRESS, WorkOrderState.RESOLVED, WorkOrderState.CLOSED]
    if rank < 0.5:
        return path
    if rank < 0.7:
        return path[:2]
    if rank < 0.85:
        return path[:1]
    return []

"""After a task is done: its customer invited to every published survey sent after the task's
template (once per survey and task, within the contact cap)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from workbench.db import Connection
from workbench.surveys.delivery._rules import Rules
from workbench.surveys.delivery._sending import invite_customers
from workbench.surveys.invitations import queries


async def after_task_done(
    conn: Connection, *, task: Any, rules: Rules | None = None, now: datetime | None = None
) -> list[uuid.UUID]:
    """Invite the customer of a task just done to every published survey sent after its
    template (once per survey and task; the contact cap applies). The new invitations."""
    if task["customer_id"] is None:
        return []
    rules = rules or Rules.from_environment()
    made = []
    for survey in await queries.surveys_after_template(conn, task["template_id"]):
        sent = await invite_customers(
            conn, survey_id=survey["id"], version=survey["version"], delivery_id=None,
            customer_ids=[task["customer_id"]], sent_by=task["assignee_id"], rules=rules,
            now=now or datetime.now(UTC), task_id=task["id"],
        )  # fmt: skip
        made += [s.invitation_id for s in sent if s.invitation_id is not None]
    return made

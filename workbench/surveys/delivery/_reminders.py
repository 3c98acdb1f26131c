"""Reminders: customers who have not answered an unexpired invitation reminded with a survey
message, at most so many times, within the contact cap (a reminder it holds back is dropped)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from workbench.db import Connection
from workbench.ids import uuid7
from workbench.surveys.delivery._common import CHUNK
from workbench.surveys.delivery._rules import Rules
from workbench.surveys.invitations import queries


async def send_reminders(
    conn: Connection, *, rules: Rules, now: datetime | None = None, limit: int = CHUNK
) -> tuple[int, int]:
    """Remind customers who have not answered an unexpired invitation after
    `remind_after_days` (at most `max_reminders` times), within the contact cap; a reminder the
    cap holds back is dropped, not postponed. An archived survey's invitations are reminded no
    more. (reminded, held back) of one batch."""
    now = now or datetime.now(UTC)
    if rules.max_reminders <= 0:
        return 0, 0
    due = await queries.due_reminders(
        conn, before=now - timedelta(days=rules.remind_after_days), now=now,
        max_reminders=rules.max_reminders, limit=limit,
    )  # fmt: skip
    if not due:
        return 0, 0
    customers = sorted({r["customer_id"] for r in due})
    await queries.lock_contacts(conn, customers)
    capped = await queries.capped_customers(
        conn, customers, since=now - timedelta(days=rules.cap_days), cap=rules.cap
    )
    # One message per customer per run, even if several of their invitations are due.
    chosen: dict[uuid.UUID, queries.Record] = {}
    for row in due:
        if row["customer_id"] not in capped:
            chosen.setdefault(row["customer_id"], row)
    sent = await queries.insert_messages(
        conn, message_ids=[uuid7() for _ in chosen], customer_ids=list(chosen),
        invitation_ids=[r["id"] for r in chosen.values()],
        seqs=[r["reminders"] + 1 for r in chosen.values()], kind="reminder", created_at=now,
    )  # fmt: skip
    later = {r["id"] for r in due if r["customer_id"] in chosen and r["id"] not in set(sent)}
    # Held back by the cap: that reminder is used up. A second due invitation of a customer
    # reminded in this run waits for the next run.
    await queries.mark_reminded(conn, [r["id"] for r in due if r["id"] not in later], at=now)
    return len(sent), len(due) - len(sent) - len(later)

"""Sending to recipients, in the caller's transaction: customers invited each with a survey
message, under a per-customer lock so that the contact cap and an open link held already are
checked against every delivery at once; staff invited to their inbox and told, unless the survey
waits there already."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from mobile_contracts.v1 import survey_delivery as wire
from workbench.db import Connection
from workbench.ids import uuid7
from workbench.notifications import categories
from workbench.notifications import service as notifications
from workbench.surveys.delivered import queries as delivered
from workbench.surveys.delivery._common import Sent
from workbench.surveys.delivery._rules import Rules
from workbench.surveys.invitations import queries


async def send_chunk(
    conn: Connection,
    *,
    delivery: queries.Record,
    recipient_ids: Sequence[uuid.UUID],
    rules: Rules,
    now: datetime,
) -> list[Sent]:
    """Invite these recipients of a delivery (in the caller's transaction)."""
    if "user_ids" in delivery["recipients"]:
        return await _invite_staff(conn, delivery=delivery, user_ids=recipient_ids, rules=rules,
                                   now=now)  # fmt: skip
    return await invite_customers(
        conn, survey_id=delivery["survey_id"], version=delivery["version"],
        delivery_id=delivery["id"], customer_ids=recipient_ids, sent_by=delivery["requested_by"],
        rules=rules, now=now,
    )  # fmt: skip


async def invite_customers(
    conn: Connection,
    *,
    survey_id: uuid.UUID,
    version: int,
    delivery_id: uuid.UUID | None,
    customer_ids: Sequence[uuid.UUID],
    sent_by: uuid.UUID,
    rules: Rules,
    now: datetime,
    task_id: uuid.UUID | None = None,
) -> list[Sent]:
    """Invite customers, each with a survey message, unless they hold an open link to the
    survey already (it would be answered and counted twice) or the contact cap holds them
    back."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return []
    await queries.lock_contacts(conn, ids)  # also orders two deliveries of one survey
    invited = await queries.holding_open_links(conn, ids, survey_id=survey_id, now=now)
    # Skipped, but not left without a link: the one the sender sent them before.
    own = await delivered.open_links_sent_by(
        conn, list(invited), survey_id=survey_id, sent_by=sent_by, now=now
    ) if invited else {}  # fmt: skip
    capped = await queries.capped_customers(
        conn, ids, since=now - timedelta(days=rules.cap_days), cap=rules.cap
    )
    wanted = [c for c in ids if c not in capped and c not in invited]
    rows = await queries.insert_customer_invitations(
        conn, invitation_ids=[uuid7() for _ in wanted], customer_ids=wanted, survey_id=survey_id,
        version=version, delivery_id=delivery_id, sent_by=sent_by, sent_at=now,
        expires_at=now + timedelta(days=rules.link_days), task_id=task_id,
    )  # fmt: skip
    made = {r["customer_id"]: r["id"] for r in rows}
    await queries.insert_messages(
        conn, message_ids=[uuid7() for _ in rows], customer_ids=list(made),
        invitation_ids=list(made.values()), seqs=[0] * len(made), kind="invitation",
        created_at=now,
    )  # fmt: skip
    return [
        Sent(c, made.get(c), None if c in made else _why(c, invited, capped), held=own.get(c))
        for c in ids
    ]


def _why(
    customer_id: uuid.UUID, invited: set[uuid.UUID], capped: set[uuid.UUID]
) -> wire.SkipReason:
    if customer_id in invited:
        return wire.SkipReason.ALREADY_INVITED
    return wire.SkipReason.CONTACT_CAP if customer_id in capped else wire.SkipReason.DUPLICATE


async def _invite_staff(
    conn: Connection,
    *,
    delivery: queries.Record,
    user_ids: Sequence[uuid.UUID],
    rules: Rules,
    now: datetime,
) -> list[Sent]:
    """Invite staff members: the survey waits in their inbox, and they are told; unless it is
    waiting there already (unanswered, unexpired: it would be answered and counted twice)."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return []
    await queries.lock_inboxes(conn, ids)  # two deliveries of one survey: one after the other
    invited = await queries.holding_open_invitations(
        conn, ids, survey_id=delivery["survey_id"], now=now
    )
    wanted = [u for u in ids if u not in invited]
    rows = await queries.insert_user_invitations(
        conn, invitation_ids=[uuid7() for _ in wanted], user_ids=wanted,
        survey_id=delivery["survey_id"], version=delivery["version"],
        delivery_id=delivery["id"], sent_by=delivery["requested_by"], sent_at=now,
        expires_at=now + timedelta(days=rules.link_days),
    )  # fmt: skip
    made = {r["user_id"]: r["id"] for r in rows}
    for user_id, invitation_id in made.items():
        await notifications.notify(
            conn, user_id=user_id, category=categories.SURVEY_INVITATION, title="新的问卷",
            body="您有一份问卷待填写，请在工作台“我的问卷”中作答。",
            dedupe_key=f"survey-invitation:{invitation_id}",
            data={"invitation_id": str(invitation_id), "survey_id": str(delivery["survey_id"])},
            expires_at=now + timedelta(days=rules.link_days), subject_id=invitation_id,
        )  # fmt: skip
    return [Sent(u, made.get(u), None if u in made else _why(u, invited, set())) for u in ids]

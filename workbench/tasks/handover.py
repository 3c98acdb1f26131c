"""A customer moved to another RM takes their pending tasks along.

A bank feed moves a customer (a new `owner_login`): the tasks about them that their former RM
has not started yet (a rule's follow-up of a large balance movement, a visit dispatched for
them) are the new RM's to do: the former RM can no longer open the customer, and the new one
would not know. Started tasks stay with the RM who started them (their draft answers may be on
their phone, offline) and so do submitted ones. Reminders not sent yet follow the task: those
still to be queued are the new RM's; those already queued into the outbox for the former RM
but not pushed are withdrawn there and armed again for the new RM (once each: the next run of
the reminder job queues them, at once if their time has passed, as a moved due time re-arms
its reminders). One already sent, or on its way to a phone, is not sent again. Offline sync
sees the moves (a delete on the former RM's device, the task on the new one's), and the
dashboard's counts follow the assignee.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from workbench.db import Connection
from workbench.notifications import service as notifications
from workbench.tasks import queries


async def hand_over_pending(
    conn: Connection, moves: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]
) -> list[uuid.UUID]:
    """Each (customer, former RM, new RM): the pending tasks moved."""
    if not moves:
        return []
    customers, former, new = (list(column) for column in zip(*moves, strict=True))
    moved = await queries.hand_over_pending(
        conn, customer_ids=customers, from_ids=former, to_ids=new
    )
    # Before the withdrawal: it reads which queued ones are still unsent, and holds them so no
    # push worker sends one to the former RM in between.
    await queries.rearm_unsent_reminders(conn, moved)
    await notifications.withdraw_task_reminders(conn, moved)
    return moved

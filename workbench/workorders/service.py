"""Work orders: listing and reading them in scope, moving them on, and their root causes.

States: open -> in_progress -> resolved -> closed, each step with a note (encrypted). A resolved
work order may be reopened (resolved -> in_progress) when the fix did not hold; a closed one is
final, and an in_progress one does not go back to open (hand it over by reassigning instead).
Closing needs an active root cause. Who may move one on: its assignee, a branch head whose
subtree holds its unit, an admin; anyone else gets 404 as if it did not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from mobile_contracts.v1 import workorders as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.db import Connection
from workbench.security.vault import Vault


async def transition(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    work_order_id: uuid.UUID,
    to: wire.WorkOrderState,
    note: str,
    root_cause: str | None = None,
    now: datetime | None = None,
) -> wire.WorkOrder:
    """Move a work order on with a note (the API's transition and sync's mutation).
    404 `work_order.not_found` out of scope, 409 `work_order.transition_invalid`, 422
    `work_order.root_cause_required` / `work_order.root_cause_unknown`."""
    raise NotImplementedError


async def detail(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    work_order_id: uuid.UUID,
    now: datetime | None = None,
) -> wire.WorkOrder:
    """A work order in the caller's scope with its answer and events (404 otherwise)."""
    raise NotImplementedError


async def list_work_orders(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    state: wire.WorkOrderState | None = None,
    overdue: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> Page[wire.WorkOrderRow]:
    """Newest first: an RM their own; a branch head their subtree's; an admin all."""
    raise NotImplementedError


async def rows_by_id(
    conn: Connection,
    *,
    vault: Vault,
    role: Role,
    work_order_ids: list[uuid.UUID],
    now: datetime | None = None,
) -> list[wire.WorkOrderRow]:
    """Rows of these work orders, unscoped (for sync, which picked them by partition)."""
    raise NotImplementedError

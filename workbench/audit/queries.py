"""SQL of the audit trail. Rows never carry secrets or personal data, only ids."""

from __future__ import annotations

import uuid
from typing import Any

from workbench.db import Connection


async def record(
    conn: Connection,
    *,
    action: str,
    actor_id: uuid.UUID | None,
    subject: str | None = None,
    client_ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        """
        insert into audit_events (actor_id, action, subject, client_ip, detail)
        values ($1, $2, $3, $4::inet, $5)
        """,
        actor_id,
        action,
        subject,
        client_ip,
        detail or {},
    )

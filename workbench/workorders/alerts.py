"""Alert rules applied to answers: a matching answer opens exactly one work order."""

from __future__ import annotations

import uuid

from workbench.db import Connection


async def on_response(conn: Connection, *, response_id: uuid.UUID) -> uuid.UUID | None:
    """Apply the survey's alert rules to a response just stored (in its transaction); the work
    order it opened, if any."""
    return None

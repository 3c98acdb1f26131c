"""Alert rules applied to answers: a matching answer opens exactly one work order."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection


async def on_response(
    conn: Connection, *, response_id: uuid.UUID, texts: dict[str, str], now: datetime | None = None
) -> uuid.UUID | None:
    """Apply the survey's alert rules to a response just stored (in its transaction); `texts`:
    its text answers in clear. The work order it opened, if any."""
    return None

"""What results read, kept as answers arrive: per-question counts and the terms of text answers."""

from __future__ import annotations

import uuid

from workbench.db import Connection


async def on_response(conn: Connection, *, response_id: uuid.UUID, texts: dict[str, str]) -> None:
    """Count a response just stored (in its transaction). `texts`: its text answers, in clear."""

"""The in-app notification centre."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class Notification(msgspec.Struct, kw_only=True):
    """Something the user was told (also sent as a push once push exists)."""

    id: uuid.UUID
    category: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None

"""Gray releases and rollback of offline packages (API routes)."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []

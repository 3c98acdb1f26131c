"""Survey design endpoints: drafts, publication as immutable versions, archiving."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []

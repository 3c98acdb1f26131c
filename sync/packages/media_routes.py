"""Per-RM brochure media packs (API routes)."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []

"""The dashboard pages of the staff console (/console/dashboard)."""

from __future__ import annotations

from typing import Any

PAGES: list[Any] = []

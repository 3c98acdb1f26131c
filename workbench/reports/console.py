"""The monthly report pages of the staff console (/console/reports)."""

from __future__ import annotations

from typing import Any

PAGES: list[Any] = []

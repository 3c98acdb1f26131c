"""Console pages of work orders and alert rules."""

from __future__ import annotations

from typing import Any

PAGES: list[Any] = []

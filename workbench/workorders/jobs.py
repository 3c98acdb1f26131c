"""Worker jobs of work orders: escalation of overdue ones."""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON: list[Any] = []

"""Worker jobs of survey delivery: large deliveries chunk by chunk, reminders."""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON: list[Any] = []

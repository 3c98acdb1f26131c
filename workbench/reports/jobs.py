"""The monthly report worker's jobs."""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON: list[Any] = []

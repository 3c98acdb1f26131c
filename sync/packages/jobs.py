"""The worker's offline-package jobs (media packs, diffs)."""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON: list[Any] = []

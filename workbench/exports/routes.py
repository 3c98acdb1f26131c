"""The export downloads and progress pages of the staff console."""

from __future__ import annotations

from typing import Any

PAGES: list[Any] = []

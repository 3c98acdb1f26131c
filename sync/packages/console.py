"""Console pages of offline packages."""

from __future__ import annotations

from typing import Any

PAGES: list[Any] = []

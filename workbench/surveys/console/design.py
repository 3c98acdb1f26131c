"""Console pages to design surveys: list, draft editor, publication."""

from __future__ import annotations

from typing import Any

PAGES: list[Any] = []

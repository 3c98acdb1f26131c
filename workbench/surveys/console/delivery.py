"""Console pages to send a survey and follow a delivery's progress."""

from __future__ import annotations

from typing import Any

PAGES: list[Any] = []

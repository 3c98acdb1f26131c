"""Console pages of survey results: charts, terms and their answers, exports."""

from __future__ import annotations

from typing import Any

PAGES: list[Any] = []

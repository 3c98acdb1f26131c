"""Survey results endpoints: rates, NPS, CSAT, distributions and text terms, with exports."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []

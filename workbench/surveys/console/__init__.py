"""The survey section of the staff console."""

from __future__ import annotations

from workbench.surveys.console import delivery, design, results

PAGES = [*design.PAGES, *delivery.PAGES, *results.PAGES]

"""The survey section of the staff console."""

from __future__ import annotations

from workbench.surveys.console import design, results

PAGES = [*design.PAGES, *results.PAGES]

"""Settings error: what a start with bad environment variables raises, one readable line per
bad variable."""

from __future__ import annotations


class SettingsError(ValueError):
    """Raised with one readable line per bad environment variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))

"""Building a WHERE clause from only the filters a request gives.

Writing optional filters as `($n is null or col = $n)` lets PostgreSQL cache one generic plan
that can use none of them as an index condition; a statement that names only the filters present
gets a plan that uses them. Values always travel as $n parameters, never inside the SQL text.
"""

from __future__ import annotations

from typing import Any


class Where:
    """Collects `sql` conditions whose `{}` placeholders become the next $n parameters."""

    def __init__(self, *first: tuple[str, tuple[Any, ...]]) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []
        for sql, values in first:
            self.add(sql, *values)

    def add(self, sql: str, *values: Any) -> None:
        """Add a condition; each `{}` in `sql` is bound to the next of `values` (`{0}` repeated
        uses one value several times)."""
        numbers = []
        for value in values:
            self.args.append(value)
            numbers.append(f"${len(self.args)}")
        self.conditions.append(sql.format(*numbers))

    def when(self, value: Any, sql: str, *values: Any) -> None:
        """Add the condition only when `value` is given (not None)."""
        if value is not None:
            self.add(sql, *(values or (value,)))

    def param(self, value: Any) -> str:
        """A $n for a value used outside the WHERE clause (e.g. LIMIT)."""
        self.args.append(value)
        return f"${len(self.args)}"

    @property
    def sql(self) -> str:
        return " and ".join(self.conditions) or "true"

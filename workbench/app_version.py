"""An app's version as the app says it (`X-App-Version`), and how two versions compare.

One reading for every place that compares app versions (the minimum app version of every call,
the minimum of an offline package, the app's own check of a package), so an app is never new
enough for one and too old for another:

- dotted numbers, ASCII digits only (`3`, `3.2`, `3.2.0`), optionally after a `v` (`v3.2.0`);
- trailing zeros do not count: `3` = `3.0` = `3.0.0`, and 3.10 is above 3.9;
- a semantic-versioning pre-release (`3.2.0-beta.1`) comes before its release (3.2.0) and after
  every lower version; build metadata (`3.2.0+45`) is not looked at.

Anything else (`abc`, `1_000`, `-1`, `٣.٢`, `2 .9`) is not a version.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_SENT = re.compile(
    r"[vV]?(?P<numbers>[0-9]{1,9}(?:\.[0-9]{1,9}){0,9})"
    r"(?P<pre>-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


class AppVersion(NamedTuple):
    """Compares as versions do: by its numbers, then a pre-release before its release."""

    numbers: tuple[int, ...]  # trailing zeros dropped: (3, 2) for 3.2.0
    released: bool  # False for a pre-release (3.2.0-beta.1)

    @property
    def dotted(self) -> str:
        """Its numbers as dotted text without trailing zeros (`3.2`), for a database to compare."""
        return ".".join(str(n) for n in self.numbers)


def parse(text: str) -> AppVersion:
    """The version `text` names (spaces around it aside); ValueError if it names none."""
    found = _SENT.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"not an app version: {text[:32]!r}")
    numbers = [int(part) for part in found["numbers"].split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return AppVersion(tuple(numbers), released=found["pre"] is None)

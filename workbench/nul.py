"""NUL characters: text that PostgreSQL cannot store (in text or JSON columns).

The API refuses them at the door (`workbench.http.input_checks`); feeds and offline mutations,
whose rows are accepted or rejected one by one, reject just the rows that hold one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import msgspec

NUL = "\x00"
NUL_CODE = "request.nul_character"
NUL_MESSAGE = "must not contain NUL characters"


def find_nul(value: Any, path: str = "$") -> str | None:
    """JSON path of the first string (or object key) holding a NUL character, or None."""
    for where, text in _strings(value, path):
        if NUL in text:
            return where
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if isinstance(key, str):
                yield where, key
            yield from _strings(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def rows_with_nul(
    rows: Sequence[Any], known: Mapping[int, str] | None = None, *, path: str = "$"
) -> Mapping[int, str]:
    """Index -> where, of the rows holding a NUL. `known`: already found by the API's door
    check (which saw the raw body); without it (a CSV import, a test) each row is looked at."""
    if known is not None:
        return known
    found = {}
    for index, row in enumerate(rows):
        if where := find_nul(msgspec.to_builtins(row), f"{path}[{index}]"):
            found[index] = where
    return found

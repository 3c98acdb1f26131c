"""Every pattern of the contract means the same to the server (Python's `re`, through msgspec and
Litestar) as to the apps' OpenAPI readers (ECMA-262): a value is the whole string, no final line
break after it (`$` alone lets one through in Python), and no shorthand that is Unicode-wide in
Python but ASCII in ECMA-262."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobile_contracts.export import current_document

# Patterns that deliberately look at part of the value (a name shows at least one character).
PARTIAL = {r"\S"}
# Escapes whose meaning differs between the engines, or that ECMA-262 lacks (`\Z`, `\A`).
ENGINE_DEPENDENT = re.compile(r"(?<!\\)(?:\\\\)*\\[dDwWbBAZ]")
END = r"(?![\s\S])"


def patterns_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from patterns_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from patterns_in(value)


@cache
def document_patterns() -> tuple[str, ...]:
    return tuple(sorted(set(patterns_in(current_document()))))


def anchored(pattern: str) -> bool:
    return pattern.startswith("^") and pattern.endswith(("$", END))


def test_the_document_has_patterns_and_each_is_whole_or_known_to_be_partial():
    patterns = document_patterns()
    assert len(patterns) > 10
    partial = [p for p in patterns if not anchored(p) and p not in PARTIAL]
    assert partial == [], "patterns not matching a whole value: write them with patterns.whole()"


def test_no_pattern_uses_an_escape_the_engines_read_differently():
    differing = [p for p in document_patterns() if ENGINE_DEPENDENT.search(p)]
    assert differing == [], "write [0-9] for \\d, [A-Za-z0-9_] for \\w; no \\b, \\A, \\Z"


@pytest.mark.parametrize("pattern", [p for p in document_patterns() if anchored(p)])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_value_with_a_final_line_break_does_not_match(pattern, data):
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    assert re.search(pattern, value)
    assert re.search(pattern, value + "\n") is None, f"{value!r} + newline matches {pattern}"

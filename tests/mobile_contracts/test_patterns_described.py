"""Every pattern of the contract says in words what it accepts: a refused value is answered
"must be <that>" (`workbench.http.problems.in_words`), never with the regular expression."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Annotated

import msgspec
import pytest

from mobile_contracts.v1.patterns import described
from tests.mobile_contracts.test_patterns_whole import document_patterns
from workbench.http.problems import in_words


def test_every_pattern_in_the_openapi_document_is_described():
    patterns = document_patterns()
    assert len(patterns) > 10
    undescribed = [p for p in patterns if not described(p)]
    assert undescribed == [], "give each pattern its words: patterns.whole(body, says=...)"


@pytest.mark.parametrize("pattern", document_patterns())
def test_a_value_a_pattern_refuses_is_answered_in_its_words(pattern):
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert(" ", Annotated[str, msgspec.Meta(pattern=pattern)])
    said = in_words(str(refused.value))
    assert said == f"must be {described(pattern)}"
    assert "regex" not in said


def test_a_pattern_not_described_is_a_wrong_format_without_the_pattern():
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert("x", Annotated[str, msgspec.Meta(pattern=r"^[0-9]'\d$")])
    assert in_words(str(refused.value)) == "has the wrong format"


def test_every_pattern_the_server_writes_says_its_words():
    # A route's own pattern (a query parameter) was said in words only while some contract type
    # happened to use the same one: changed on either side, a refusal would say "has the wrong
    # format" where the app's developer needs to read what the value must be.
    root = Path(__file__).resolve().parents[2]
    unsaid = [
        f"{path.relative_to(root)}:{node.lineno}"
        for package in ("mobile_contracts", "workbench", "sync", "push")
        for path in sorted((root / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "whole"
        and not any(keyword.arg == "says" for keyword in node.keywords)
    ]
    assert unsaid == [], "give each pattern its words: patterns.whole(body, says=...)"

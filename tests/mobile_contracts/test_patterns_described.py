"""Every pattern of the contract says in words what it accepts: a refused value is answered
"must be <that>" (`workbench.http.problems.in_words`), never with the regular expression."""

from __future__ import annotations

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

"""Publishing lists every flaw of the skip logic: a condition on a value its question cannot
take (11 on a 0-10 NPS) is listed also when the draft has a duplicate key and a cycle, which hid
it before; a key asked twice is read as its first question."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.design_data import SURVEYS, draft, question, show_if

pytestmark = pytest.mark.usefixtures("demo_bank")

CASES: dict[str, tuple[list[dict[str, Any]], dict[str, set[str]]]] = {
    # The second `a` shows only after b, which shows only after a: b's 11 was lost to a cycle.
    "duplicate key closing a cycle": (
        [question("a", "nps"), question("b", **show_if("a", 11)),
         question("a", "text", **show_if("b", "yes")),
         question("c", **show_if("d", "yes")), question("d", **show_if("c", "no"))],
        {"a": {"duplicate_key", "cycle"}, "b": {"unknown_value"}, "c": {"cycle"},
         "d": {"cycle"}},
    ),
    # b and a depend on each other; b still asks a for 11, which no answer to a is.
    "cycle through the nps question": (
        [question("x"), question("b", **show_if("a", 11)),
         question("a", "nps", **show_if("b", "yes")), question("x", "text")],
        {"x": {"duplicate_key"}, "b": {"cycle", "unknown_value"}, "a": {"cycle"}},
    ),
}  # fmt: skip


def _codes(flaws: list[dict[str, Any]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for flaw in flaws:
        found.setdefault(flaw["key"], set()).add(flaw["code"])
    return found


@pytest.mark.parametrize("case", list(CASES))
async def test_publishing_lists_an_impossible_value_beside_the_other_flaws(
    client: Any, case: str
) -> None:
    questions, expected = CASES[case]
    marketing = await headers_of(client, "marketing")
    survey = await draft(client, marketing, questions=questions)
    assert _codes(survey["flaws"]) == expected
    response = await client.post(f"{SURVEYS}/{survey['id']}/publish", headers=marketing)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "survey.logic_invalid"
    assert _codes(problem["errors"]) == expected
    [impossible] = [e for e in problem["errors"] if e["code"] == "unknown_value"]
    assert "11" in impossible["detail"]

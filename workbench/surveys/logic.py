"""A questionnaire's skip logic: checked whole before it is published, and applied to answers.

Questions are shown in order; `show_if` may only look back. So that a published survey can be
answered on every path: keys and option values are unique, every `show_if` names an earlier
question that can be answered with one of its values (a choice, nps or rating question, values
that exist), no question depends on itself (a cycle), and on every path at least the first
question is shown.

A survey's versions are counted together by question key (the results, the exports, the alert
rules): so a key keeps the type it was first published with in every later version (`published`:
the types earlier versions gave the keys). Options may come and go and be relabelled between
versions (an option no longer offered is still counted under its value), but within a version
two options never share a label, after trimming: the customer could not tell them apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mobile_contracts.v1.surveys import AnswerValue, Question, QuestionType
from workbench.errors import DomainError

CHOICE = (QuestionType.SINGLE, QuestionType.MULTI)
SCALES = {QuestionType.NPS: range(0, 11), QuestionType.RATING: range(1, 6)}


@dataclass(frozen=True, slots=True)
class Flaw:
    """One thing wrong with a questionnaire, at question `key` (empty: the whole survey)."""

    key: str
    code: str
    detail: str


class LogicInvalid(DomainError):
    """422 `survey.logic_invalid` with every flaw as `errors: [{key, code, detail}]`."""

    status, code, title = 422, "survey.logic_invalid", "The survey's questions cannot be published"

    def __init__(self, flaws: Sequence[Flaw]) -> None:
        more = f"; and {len(flaws) - 5} more (see errors)" if len(flaws) > 5 else ""
        super().__init__(
            "; ".join(f"{f.key or 'survey'}: {f.detail}" for f in flaws[:5]) + more,
            errors=[{"key": f.key, "code": f.code, "detail": f.detail} for f in flaws],
        )


def allowed_values(question: Question) -> set[str | int]:
    """What a `show_if` on this question may name (empty: nothing, e.g. a text question)."""
    if question.type in CHOICE:
        return {option.value for option in question.options}
    if question.type in SCALES:
        return set(SCALES[question.type])
    return set()


def flaws(questions: Sequence[Question], published: Mapping[str, str] | None = None) -> list[Flaw]:
    """Everything that keeps these questions from being published (empty: none); `published`:
    the type each key had in the survey's published versions (the newest one naming it)."""
    found: list[Flaw] = []
    position: dict[str, int] = {}
    for index, question in enumerate(questions):
        if question.key in position:
            found.append(Flaw(question.key, "duplicate_key", "Another question has this key"))
        else:
            position[question.key] = index
    # A key asked twice names its first question (as `position` does): the duplicate is a flaw
    # of its own, and must not make a condition on the first one read another question.
    by_key = {key: questions[i] for key, i in position.items()}
    for index, question in enumerate(questions):
        found.extend(_shape_flaws(question))
        found.extend(_type_change_flaws(question, published or {}))
        condition = question.show_if
        if condition is None:
            continue
        # Each flaw of a condition is listed, not only the first found: a cycle (which implies
        # a later question) or a later question still leaves values its question cannot take.
        cycle = condition.key == question.key or _depends_on(by_key, condition.key, question.key)
        if cycle:
            found.append(Flaw(question.key, "cycle", "Its show_if depends on itself"))
        target = by_key.get(condition.key)
        if target is None:
            detail = f"show_if names no question {condition.key!r}"
            found.append(Flaw(question.key, "unknown_reference", detail))
            continue
        if not cycle and position[condition.key] > index:
            detail = f"show_if names a later question {condition.key!r}"
            found.append(Flaw(question.key, "forward_reference", detail))
        values = allowed_values(target)
        if not values:
            found.append(
                Flaw(question.key, "unusable_reference", f"{condition.key!r} is a text question")
            )
            continue
        wrong = [v for v in condition.in_ if not _same_kind_member(v, values)]
        if wrong:
            detail = f"{condition.key!r} cannot be answered {wrong[0]!r}"
            found.append(Flaw(question.key, "unknown_value", detail))
    if questions and questions[0].show_if is not None:
        found.append(Flaw(questions[0].key, "no_start", "The first question must always be shown"))
    return found


def check_publishable(
    questions: Sequence[Question], published: Mapping[str, str] | None = None
) -> None:
    found = flaws(questions, published)
    if found:
        raise LogicInvalid(found)


def _same_kind_member(value: str | int, values: set[str | int]) -> bool:
    # 1 and "1" are different answers: a choice's values are strings, a scale's integers.
    return any(type(value) is type(v) and value == v for v in values)


def _depends_on(by_key: Mapping[str, Question], start: str, target: str) -> bool:
    """Whether following show_if from `start` leads back to `target` (a cycle)."""
    seen: set[str] = set()
    key: str | None = start
    while key is not None and key not in seen:
        if key == target:
            return True
        seen.add(key)
        question = by_key.get(key)
        key = question.show_if.key if question is not None and question.show_if else None
    return False


def _shape_flaws(question: Question) -> list[Flaw]:
    found = []
    key = question.key
    if question.type in CHOICE:
        values = [o.value for o in question.options]
        if len(values) < 2:
            found.append(Flaw(key, "too_few_options", "A choice question needs at least 2 options"))
        if len(set(values)) != len(values):
            found.append(Flaw(key, "duplicate_option", "Two options have the same value"))
        labels = [o.label.strip() for o in question.options]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            detail = f"Two options have the same label {twice[0]!r}"
            found.append(Flaw(key, "duplicate_label", detail))
    elif question.options:
        found.append(Flaw(key, "options_not_allowed", f"A {question.type} question has no options"))
    return found


def _type_change_flaws(question: Question, published: Mapping[str, str]) -> list[Flaw]:
    """A key answered as one type in an earlier version cannot be asked as another: its answers
    would be counted together (old scores as options, the NPS lost)."""
    before = published.get(question.key)
    if before is None or before == question.type.value:
        return []
    detail = (
        f"{question.key!r} was a {before} question in a published version; answers are counted"
        f" by key across versions, so ask a {question.type.value} question under a new key"
    )
    return [Flaw(question.key, "type_changed", detail)]


def shown(questions: Sequence[Question], answers: Mapping[str, AnswerValue]) -> list[str]:
    """The keys of the questions shown for these answers, in order (what the page shows too).
    A question is hidden when the question its show_if names is hidden or not answered with one
    of its values."""
    visible: set[str] = set()
    order = []
    for question in questions:
        condition = question.show_if
        if condition is not None:
            answer = answers.get(condition.key) if condition.key in visible else None
            chosen = answer if isinstance(answer, list) else [answer]
            wanted = set(condition.in_)
            if not any(v is not None and _same_kind_member(v, wanted) for v in chosen):
                continue
        visible.add(question.key)
        order.append(question.key)
    return order

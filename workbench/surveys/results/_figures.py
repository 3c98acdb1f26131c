"""Figures read from counts: a rate, the NPS of an nps question, the CSAT of a rating question
(and which questions give them), and a question's distribution over its scale or options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mobile_contracts.v1 import survey_results as wire
from mobile_contracts.v1.surveys import Question, QuestionType
from workbench.surveys.tallies import ANSWERED

SCALE_VALUES = {QuestionType.NPS: range(0, 11), QuestionType.RATING: range(1, 6)}


def headline_keys(questions: Iterable[Question]) -> tuple[str | None, str | None]:
    """The keys of the first nps question (NPS) and the first rating question (CSAT)."""
    nps = next((q.key for q in questions if q.type is QuestionType.NPS), None)
    csat = next((q.key for q in questions if q.type is QuestionType.RATING), None)
    return nps, csat


def rate(part: int, whole: int) -> float:
    """part / whole as a fraction 0..1 rounded to 4 places (0 when there is no whole)."""
    return round(min(part, whole) / whole, 4) if whole > 0 else 0.0


def nps(counts: Mapping[str, int]) -> float | None:
    """% promoters (9-10) - % detractors (0-6) of one nps question's counts, to 1 place."""
    scores = {int(v): n for v, n in counts.items() if v.isdigit() and int(v) <= 10}
    answered = sum(scores.values())
    if answered == 0:
        return None
    promoters = scores.get(9, 0) + scores.get(10, 0)
    detractors = sum(n for score, n in scores.items() if score <= 6)
    return round(100 * (promoters - detractors) / answered, 1)


def csat(counts: Mapping[str, int]) -> float | None:
    """The share of 4-5 among one rating question's answers, 0..1 to 4 places."""
    scores = {int(v): n for v, n in counts.items() if v.isdigit() and 1 <= int(v) <= 5}
    answered = sum(scores.values())
    if answered == 0:
        return None
    return rate(scores.get(4, 0) + scores.get(5, 0), answered)


def distribution(
    question: Question, counts: Mapping[str, int], labels: Mapping[str, str] | None = None
) -> list[wire.ValueCount]:
    """Every scale point or option with its count (zeros too); values no longer offered
    (an older version's options) after them, by the label an older version gave them
    (`labels`, see `option_labels`). Empty for a text question."""
    if question.type is QuestionType.TEXT:
        return []
    if question.type in SCALE_VALUES:
        known = [(str(v), str(v)) for v in SCALE_VALUES[question.type]]
    else:
        known = [(o.value, o.label) for o in question.options]
    values = {value for value, _ in known}
    extra = sorted(v for v in counts if v != ANSWERED and v not in values)
    return [
        wire.ValueCount(value=value, label=label, count=counts.get(value, 0))
        for value, label in [*known, *((v, (labels or {}).get(v, v)) for v in extra)]
    ]

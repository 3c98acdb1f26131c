"""A survey's questions over all its versions: the newest version's first, and every option
ever offered under the label it was last offered with."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import msgspec

from mobile_contracts.v1.surveys import Question


def merged_questions(versions: Sequence[Any]) -> list[Question]:
    """The newest version's questions, then those only older versions asked."""
    merged: list[Question] = []
    seen: set[str] = set()
    for questions in versions:
        for question in msgspec.convert(questions, list[Question]):
            if question.key not in seen:
                seen.add(question.key)
                merged.append(question)
    return merged


def option_labels(versions: Sequence[Any]) -> dict[str, dict[str, str]]:
    """Per question key, each option value any version offered with its label in the newest
    version offering it (`versions` newest first)."""
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    for questions in versions:
        for question in msgspec.convert(questions, list[Question]):
            for option in question.options:
                labels[question.key].setdefault(option.value, option.label)
    return dict(labels)

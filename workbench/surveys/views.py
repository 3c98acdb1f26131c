"""Survey rows shaped into their wire types (the draft's flaws computed on the way out)."""

from __future__ import annotations

from typing import Any

import msgspec

from mobile_contracts.v1 import surveys as wire
from workbench.surveys import logic
from workbench.surveys.queries import Record


def questions_of(stored: Any) -> list[wire.Question]:
    """Questions as stored (a draft's or a version's jsonb), as wire structs."""
    return msgspec.convert(stored, list[wire.Question])


def stored(questions: list[wire.Question]) -> list[Any]:
    """Questions as they are stored (jsonb): their wire JSON."""
    result: list[Any] = msgspec.to_builtins(questions)
    return result


def published_types(row: Record) -> dict[str, str]:
    """{key: type} of the survey's published versions (`queries.visible_survey`'s column)."""
    types: dict[str, str] = msgspec.convert(row["published_types"] or {}, dict[str, str])
    return types


def flaws(
    questions: list[wire.Question], published: dict[str, str] | None = None
) -> list[wire.SurveyFlaw]:
    found = logic.flaws(questions, published)
    return [wire.SurveyFlaw(key=f.key, code=f.code, detail=f.detail) for f in found]


def survey(row: Record, *, draft: bool = True) -> wire.Survey:
    """The survey with its draft; without `draft` (for those who only send or read surveys),
    with its latest published version's title and questions instead."""
    if not draft and row["published_questions"] is not None:
        questions = questions_of(row["published_questions"])
        return wire.Survey(
            id=row["id"],
            title=row["published_title"],
            audience=wire.Audience(row["audience"]),
            status=wire.SurveyStatus(row["status"]),
            version=row["version"],
            questions=questions,
            after_template_id=row["after_template_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            flaws=[],
            draft_changed=False,
            published_at=row["published_at"],
        )
    questions = questions_of(row["questions"])
    return wire.Survey(
        id=row["id"],
        title=row["title"],
        audience=wire.Audience(row["audience"]),
        status=wire.SurveyStatus(row["status"]),
        version=row["version"],
        questions=questions,
        after_template_id=row["after_template_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        flaws=flaws(questions, published_types(row)),
        draft_changed=row["draft_changed"],
        published_at=row["published_at"],
    )


def survey_row(row: Record, *, draft: bool = True) -> wire.SurveyRow:
    """A list's row: the draft's title and size, or without `draft` the published version's."""
    published = not draft and row["published_title"] is not None
    return wire.SurveyRow(
        id=row["id"],
        title=row["published_title"] if published else row["title"],
        audience=wire.Audience(row["audience"]),
        status=wire.SurveyStatus(row["status"]),
        version=row["version"],
        question_count=row["published_question_count"] if published else row["question_count"],
        after_template_id=row["after_template_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        published_at=row["published_at"],
        draft_changed=False if published else row["draft_changed"],
    )


def version(row: Record) -> wire.SurveyVersion:
    return wire.SurveyVersion(
        survey_id=row["survey_id"],
        version=row["version"],
        title=row["title"],
        audience=wire.Audience(row["audience"]),
        questions=questions_of(row["questions"]),
        published_at=row["published_at"],
        published_by=row["published_by"],
    )

"""Checking a submission against the version it answers, exactly as the public page checks it.

Every shown required question is answered; values fit their type (an existing option, distinct
options, 0-10, 1-5, text within its length); questions the skip logic hides are empty; no key is
unknown. Empty means absent, null, "" or [] (null: not answered, as the JSON API may send it).
Text that shows nothing (spaces or invisible characters only: `workbench.visible.shows_something`,
as titles and notes are judged) counts as empty: a required question is unanswered, an optional
one not answered. Values come as the client sent them, any JSON value (`submission.decode`): a
value of the wrong type is said at its question, as one out of range is (a score written as
text, "9", too: JSON has numbers). A form has only text: its scores are read as numbers first
(`without_hidden`, the form's way in). A text's line breaks are counted and stored as one LF
each, however the client sent them (CRLF, CR).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mobile_contracts.v1.problems import FieldError
from mobile_contracts.v1.surveys import AnswerValue, Question, QuestionType
from workbench.errors import DomainError
from workbench.surveys import logic
from workbench.visible import one_line_shown, shows_something

MAX_TEXT = 2000


class AnswersInvalid(DomainError):
    """422 `survey.answers_invalid`: `errors` by question key (zh-CN, shown beside each question
    by the page); as problem+json, one `errors[]` entry per question at `$.answers.<key>` (the
    whole submission's at `$.answers`), as every 422 of the API is, and the same by key in
    `answer_errors` (the form the staff inbox answered before)."""

    status, code, title = 422, "survey.answers_invalid", "Some answers need attention"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(
            "; ".join(f"{k}: {v}" for k, v in list(errors.items())[:5]),
            errors=[
                FieldError(path=answer_path(key), message=text) for key, text in errors.items()
            ],
            answer_errors=errors,
        )
        self.errors = errors


WHOLE = "answers"  # the key of a message about the submission as a whole (`submission.decode`)


def answer_path(key: str) -> str:
    """Where a question's answer is in a JSON submission."""
    return "$.answers" if key == WHOLE else f"$.answers.{key}"


@dataclass(frozen=True, slots=True)
class Checked:
    """A valid submission: the answers that count (by key, in question order), with the text
    answers apart (they are stored encrypted) and the customer tags the chosen options carry."""

    answers: dict[str, AnswerValue]
    texts: dict[str, str]
    tags: list[str] = field(default_factory=list)


def _empty(value: Any) -> bool:
    """No answer: nothing, an empty list, or text that shows nothing (spaces, zero-width and
    other invisible characters only)."""
    return value is None or value == [] or (isinstance(value, str) and not shows_something(value))


def check(questions: Sequence[Question], submitted: Mapping[str, Any]) -> Checked:
    """The submission as stored, or AnswersInvalid naming every question that needs attention."""
    by_key = {q.key: q for q in questions}
    errors: dict[str, str] = {}
    for key in submitted:
        if key not in by_key:
            errors[key] = "没有这个问题"
    given = {k: v for k, v in submitted.items() if k in by_key and not _empty(v)}
    visible = _visible(questions, given)
    answers: dict[str, AnswerValue] = {}
    texts: dict[str, str] = {}
    tags: list[str] = []
    for question in questions:
        key = question.key
        if key not in visible:
            if key in given:
                errors[key] = "此题无需作答"
            continue
        if key not in given:
            if question.required:
                errors[key] = "此题必答"
            continue
        problem, value = _value(question, given[key])
        if problem is not None:
            errors[key] = problem
            continue
        if question.type is QuestionType.TEXT:
            texts[key] = str(value)
        else:
            answers[key] = value
        chosen = value if isinstance(value, list) else [value]
        for option in question.options:
            tag = _customer_tag(option.tag)
            if tag and option.value in chosen and tag not in tags:
                tags.append(tag)
    if errors:
        raise AnswersInvalid(errors)
    return Checked(answers=answers, texts=texts, tags=tags)


def _customer_tag(tag: str | None) -> str | None:
    """The tag an option adds to the customer, trimmed; none for one that shows nothing or
    reads otherwise (a version published before such tags were refused: `design.check_texts`)."""
    if tag is None or not one_line_shown(tag.strip()):
        return None
    return tag.strip()


def without_hidden(questions: Sequence[Question], submitted: Mapping[str, Any]) -> dict[str, Any]:
    """A form's submission as `check` takes it: each score's digits read as its number (a form
    sends only text, "7"; JSON sends 7, and "7" there is a value of the wrong type), and without
    the answers to questions its own answers hide: what a form posted without the page's script
    means (its text box for "why so low?" stays on the page, and may be filled, after a 9).
    `check` still refuses such answers from the JSON API."""
    scales = {q.key for q in questions if q.type in logic.SCALES}
    read = {k: _form_integer(v) if k in scales else v for k, v in submitted.items()}
    by_key = {q.key for q in questions}
    given = {k: v for k, v in read.items() if k in by_key and not _empty(v)}
    visible = _visible(questions, given)
    return {k: v for k, v in read.items() if k not in by_key or k in visible}


def _visible(questions: Sequence[Question], given: Mapping[str, Any]) -> set[str]:
    """The keys of the questions shown for these (non-empty) answers. Skip logic reads only
    well-formed earlier answers: a bad value hides what depends on it."""
    valid: dict[str, AnswerValue] = {}
    for question in questions:
        if question.key in given:
            problem, value = _value(question, given[question.key])
            if problem is None:
                valid[question.key] = value
    return set(logic.shown(questions, valid))


def _value(question: Question, raw: Any) -> tuple[str | None, AnswerValue]:
    """(problem, value): the value in its stored form, or what is wrong with it."""
    kind = question.type
    options = {o.value for o in question.options}
    if kind is QuestionType.SINGLE:
        if not isinstance(raw, str) or raw not in options:
            return "请选择一个选项", ""
        return None, raw
    if kind is QuestionType.MULTI:
        values = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(v, str) and v in options for v in values):
            return "请从选项中选择", []
        if len(set(values)) != len(values):
            return "选项不能重复", []
        order = [o.value for o in question.options]
        return None, sorted(values, key=order.index)
    if kind in logic.SCALES:
        number = _integer(raw)
        scale = logic.SCALES[kind]
        if number is None or number not in scale:
            return f"请选择 {scale.start} 到 {scale.stop - 1} 之间的分数", 0
        return None, number
    if not isinstance(raw, str):
        return "请填写文字", ""
    text = one_line_break(raw).strip()
    if len(text) > MAX_TEXT:
        return f"最多 {MAX_TEXT} 字", ""
    return None, text


def one_line_break(text: str) -> str:
    """Text with each line break as one LF: a browser sends a text box's line breaks as CRLF
    (counted as one character by the box's maxlength), some clients a lone CR."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _integer(raw: Any) -> int | None:
    """An integer answer as JSON sends it (7; never true, 7.0 or "7"); a form's digits are read
    before (`_form_integer`)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    return None


def _form_integer(raw: Any) -> Any:
    """A form's score: its digits ("7") as the number; anything else as sent, for `check` to
    refuse at its question (two values, a word)."""
    digits = raw.strip() if isinstance(raw, str) else ""
    # No scale goes past two digits: a longer text is no answer on it (and Python refuses to
    # read more than 4,300 digits at all).
    if digits.isascii() and digits.isdigit() and len(digits) <= 6:
        return int(digits)
    return raw

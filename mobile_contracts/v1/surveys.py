"""Surveys: typed questions with skip logic, drafted by admin or marketing, published as immutable
versions and answered once per invitation.

A question is shown unless its `show_if` names an earlier question whose answer is not among
`in` (for a multi question: none of its chosen options is). A question not shown must be left
empty; a shown `required` one must be answered. Values: `single` one option's value, `multi` a
list of distinct option values, `nps` an integer 0-10, `rating` an integer 1-5 (JSON numbers:
a score written as text, "9", is a value of the wrong type, refused at its question), `text` a
string.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mobile_contracts.v1.patterns import whole

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
QuestionKey = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            "[a-z][a-z0-9_]{0,39}",
            says="1 to 40 lowercase letters, digits and _, starting with a letter",
        )
    ),
]
QuestionText = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
OptionValue = Annotated[
    str,
    msgspec.Meta(pattern=whole("[A-Za-z0-9_.-]{1,40}", says="1 to 40 letters, digits, _, . and -")),
]
OptionLabel = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
CustomerTag = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
TextAnswer = Annotated[str, msgspec.Meta(max_length=2000)]
# An integer in skip logic or an answer: a score is 0-10; the bound only keeps absurd numbers out
# (they are refused as what they are, a score out of range, by the checks of the rules).
Integer = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
MAX_QUESTIONS = 50
MAX_OPTIONS = 30


class Audience(enum.StrEnum):
    """Customers answer through a single-use link; staff in their inbox, signed in."""

    CUSTOMER = "customer"
    STAFF = "staff"


class QuestionType(enum.StrEnum):
    SINGLE = "single"
    MULTI = "multi"
    NPS = "nps"  # 0-10: promoters 9-10, detractors 0-6
    RATING = "rating"  # 1-5: satisfied 4-5
    TEXT = "text"


class SurveyStatus(enum.StrEnum):
    """draft (never published) -> published (answerable; the draft may be edited and published
    again as a new version) -> archived (no new invitations; links already sent still work)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Option(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A choice of a single or multi question. `tag`: added to the customer who chooses it."""

    value: OptionValue
    label: OptionLabel
    tag: CustomerTag | None = None


class ShowIf(msgspec.Struct, kw_only=True):
    """Show the question only when the earlier question `key` was answered with one of `in`
    (option values of a choice question, or integers of an nps or rating question)."""

    key: QuestionKey
    in_: Annotated[list[str | Integer], msgspec.Meta(min_length=1, max_length=MAX_OPTIONS)] = (
        msgspec.field(name="in")
    )


class Question(msgspec.Struct, kw_only=True, omit_defaults=True):
    key: QuestionKey
    type: QuestionType
    text: QuestionText
    # Always sent, `false` too (API.md lists it without `?`): see tasks.FormField.required.
    required: bool = msgspec.field(default_factory=bool)
    options: Annotated[list[Option], msgspec.Meta(max_length=MAX_OPTIONS)] = []
    show_if: ShowIf | None = None


Questions = Annotated[list[Question], msgspec.Meta(min_length=1, max_length=MAX_QUESTIONS)]


class SurveyCreate(msgspec.Struct, kw_only=True):
    """A new draft. `after_template_id` (customer surveys): send this survey to the customer of
    every task of that template when the task is done."""

    title: Title
    audience: Audience
    questions: Questions
    after_template_id: uuid.UUID | None = None


class SurveyEdit(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Changes to the draft; what is left out stays. Published versions never change."""

    title: Title | None = None
    questions: Questions | None = None
    after_template_id: uuid.UUID | None = None
    clear_after_template: bool = False


class SurveyFlaw(msgspec.Struct, kw_only=True):
    """Something in the draft that keeps it from being published, at question `key` (empty:
    the whole survey). `code`: duplicate_key, cycle, unknown_reference, forward_reference,
    unusable_reference, unknown_value, too_few_options, duplicate_option, duplicate_label (two
    options with the same label, after trimming), options_not_allowed, no_start, type_changed
    (the key was another type in a published version: results count versions by key)."""

    key: str
    code: str
    detail: str


class Survey(msgspec.Struct, kw_only=True):
    """A survey with its draft. `version`: the latest published version (0: none yet).
    `flaws`: what would keep the draft from being published now (a draft may be incomplete).
    `draft_changed`: whether the draft differs from the latest published version (or there is
    none yet): whether publishing would make a new version."""

    id: uuid.UUID
    title: str
    audience: Audience
    status: SurveyStatus
    version: int
    questions: list[Question]
    after_template_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    flaws: list[SurveyFlaw] = []
    draft_changed: bool = True
    published_at: datetime | None = None  # of the latest version


class SurveyRow(msgspec.Struct, kw_only=True):
    """A survey in a list: what it is and where it stands, without its questions."""

    id: uuid.UUID
    title: str
    audience: Audience
    status: SurveyStatus
    version: int
    question_count: int
    after_template_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None  # of the latest version
    draft_changed: bool = True


class SurveyVersion(msgspec.Struct, kw_only=True):
    """A published version, as it was answered."""

    survey_id: uuid.UUID
    version: int
    title: str
    audience: Audience
    questions: list[Question]
    published_at: datetime
    published_by: uuid.UUID | None = None


# null: not answered (as leaving the key out; a required question then says so).
AnswerValue = str | Integer | list[str] | None


class Submission(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Answers by question key (what the public page or the staff inbox sends)."""

    answers: dict[str, AnswerValue]

"""Survey results: response rate, NPS, CSAT, per-question distributions and text terms.

Every figure counts the invitations SENT in the period (days of the bank's time zone) and their
answers, whenever they came; so `responded` never exceeds `delivered`, nor a question's
`answered` the responses. Rates are fractions 0..1 rounded to 4 places, NPS a score -100..100
rounded to 1 place.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

import msgspec

from mobile_contracts.v1.surveys import QuestionType


class ResultsGroupBy(enum.StrEnum):
    """`org_unit`: add a row per child unit of the scope (each with its whole subtree)."""

    ORG_UNIT = "org_unit"


class WithheldReason(enum.StrEnum):
    """Why a staff survey's answers are withheld (`Headline.withheld`):
    `survey_open`: the survey is still open (not archived): answers may still come, and two
    readings a few answers apart would give those answers away, so it gives its counts only
    (sent, responded, rate) until it is closed; `too_few_answers`: closed, but this scope or row
    is not a group of at least 5 responses (or showing it would let the rest of a unit above be
    read as a smaller group)."""

    SURVEY_OPEN = "survey_open"
    TOO_FEW_ANSWERS = "too_few_answers"


class ValueCount(msgspec.Struct, kw_only=True):
    """How many answers chose a value (an option, a score). For a multi question each chosen
    option counts, so the counts may add up to more than `answered`."""

    value: str
    label: str
    count: int


class TermCount(msgspec.Struct, kw_only=True):
    """A word of text answers and the number of answers containing it."""

    term: str
    count: int


class QuestionResult(msgspec.Struct, kw_only=True):
    """One question: how many responses answered it, the distribution of values (every scale
    point and option, zeros included; empty for text), and the top words of a text question."""

    key: str
    type: QuestionType
    text: str
    answered: int
    distribution: list[ValueCount]
    top_terms: list[TermCount] = []


class Headline(msgspec.Struct, kw_only=True):
    """Invitations sent, responses, their ratio; NPS of the survey's first nps question (% of
    promoters 9-10 minus % of detractors 0-6, null without answers); CSAT of its first rating
    question (share of 4-5, null without answers).

    `withheld`: staff answer anonymously, so a staff survey's answers are shown only once it is
    closed (archived: no answer can come any more, so no two readings differ by a few answers),
    and then only for a group of at least 5 responses (employee-survey tools' minimum reporting
    group; in a smaller team a score or a word could say who gave it). True while the survey is
    open (every scope and row), or when this scope or row has fewer, or when showing it would
    let the rest of a unit above it be read as a smaller group (the rest of the unit is then
    shown together, see `SurveyResults.other`): the counts are given, but NPS and CSAT are null
    and (for the whole scope) the distributions are at zero and the top words empty.
    `withheld_reason` says why (`survey_open`, `too_few_answers`; null when not withheld).
    Always false (and null) for customer surveys."""

    delivered: int
    responded: int
    response_rate: float
    nps: float | None = None
    csat: float | None = None
    withheld: bool = False
    withheld_reason: WithheldReason | None = None


class UnitResult(Headline, kw_only=True):
    """The headline numbers of one child unit of the scope, with its whole subtree."""

    org_unit_id: uuid.UUID
    name: str


class SurveyResults(Headline, kw_only=True):
    """A survey's results in a scope (the caller's, or the `org_unit_id` subtree) and period.

    `title` is the latest published version's. `whole_survey`: a staff survey's results always
    cover every invitation of the survey (`from`/`to` give that span) whatever period was asked,
    so that two periods cannot be subtracted to read a few people's answers; false for customer
    surveys. `other` (staff surveys, with `by_unit`): the scope's answers outside the rows shown
    (its own level and the rows withheld, together: 其他（本级及不足 5 份的下级合并）), given when
    some row is shown and some is withheld; its `org_unit_id` is the scope's."""

    survey_id: uuid.UUID
    title: str
    org_unit_id: uuid.UUID | None
    from_: datetime = msgspec.field(name="from")
    to: datetime
    questions: list[QuestionResult]
    top_terms: list[TermCount]
    by_unit: list[UnitResult] | None = None
    other: UnitResult | None = None
    whole_survey: bool = False


class TermAnswer(msgspec.Struct, kw_only=True):
    """A text answer containing the term: the whole text, who answered (a customer's masked
    name; staff answers are anonymous), the unit and when.

    A staff survey's answer names no one: `org_unit_id`/`org_unit_name` are the scope's unit
    (narrow the scope to read a team's, if it holds 5 responses); `submitted_at` is the
    midnight (bank time zone) starting the day it came; `response_id` is an id of this
    answer's response in this list and the exports of this scope, not the response's own
    (which tells the time it came); `sent_on` is the day it came too, not its invitation's
    (which, for a round sent to one person, would name them). A customer's `sent_on` is the
    day their invitation was sent."""

    response_id: uuid.UUID
    question_key: str
    text: str
    respondent: str
    org_unit_id: uuid.UUID
    org_unit_name: str
    submitted_at: datetime
    sent_on: date

"""Survey results, read from the rollups (`tallies`), scoped by role in SQL.

A survey's results are read where the survey itself may be (`GET /surveys/{id}`'s visibility,
else 404), under the title of its latest published version (a draft's new title is not shown).
Admins and marketing see the whole bank, a branch head their subtree; `org_unit_id` narrows to
a subtree the caller may see (else 404, as for a survey that does not exist). The period is
whole days of the bank: the invitations sent on those days and their answers.

Staff answer anonymously, so a staff survey's answers are only shown in groups of at least
MIN_STAFF_GROUP responses (as employee-survey tools do), and so that no two figures shown, in
any scope, subtract to fewer (the rule of `disclosure`):
- Its results always cover the survey's whole life (`from`/`to` are not applied, and the answer
  says so: `whole_survey`): two periods differing by a few responses would give those away.
- A unit's answers are split into its child units, each with its subtree, and one remainder:
  its own level and the children not shown (其他（本级及不足 5 份的下级合并）). A child is shown
  with MIN_STAFF_GROUP responses or more, as long as the remainder is then empty or holds as
  many; while it is not, the smallest child shown is withheld into it too.
- A unit's figures (asked for as the scope, or as a row) are shown only if every unit on its
  path down from the bank's root is shown that way in its parent's split (the root: with
  MIN_STAFF_GROUP responses). So the groups shown nest, and what one less the groups shown
  inside it leaves is a remainder of none or MIN_STAFF_GROUP or more responses.
Withheld, a scope (or row) gives its counts (sent, responded, rate) but not its answers
(`withheld`), and its text answers and export are refused (`TooFewAnswers`). Shown, a staff
answer comes under the scope's unit (a team's label would single out the answers left under
their parent's), on its day only, under an id that says nothing of when it came; and its export
holds the figures the page shows, never a row per response (whose times and answers together
could say who answered). (Not covered: the same scope read before and after a few answers came
differs by those few, as any live count does.)
"""

from __future__ import annotations

import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from mobile_contracts.v1 import survey_results as wire
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.surveys import Audience, Question, QuestionType
from workbench.access import Caller
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import mask_long_numbers, masked_for
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, NotFound
from workbench.pagination import decode_cursor, encode_cursor
from workbench.periods import period_bound
from workbench.security.vault import FieldCipher
from workbench.surveys import queries as surveys
from workbench.surveys.rollups import queries
from workbench.surveys.submission import texts_aad as texts_aad  # how submissions encrypt texts
from workbench.surveys.tallies import ANSWERED
from workbench.surveys.terms import holds_long_number

READERS = (Role.ADMIN, Role.MARKETING, Role.BRANCH_HEAD)
WHOLE_BANK = frozenset({Role.ADMIN, Role.MARKETING})
MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30
YEARS = (2000, 2999)
TOP_TERMS = 20
QUESTION_TERMS = 10
STAFF = "员工（匿名）"
# The fewest responses of a staff survey whose answers are shown: in a smaller group, an answer
# (a score, a word, a unit, a time) could say who gave it.
MIN_STAFF_GROUP = 5
SCALE_VALUES = {QuestionType.NPS: range(0, 11), QuestionType.RATING: range(1, 6)}


class BadPeriod(DomainError):
    status, code, title = 422, "survey.bad_period", "The period is not usable"


class TooFewAnswers(Conflict):
    """409: a staff survey's text answers and exports, asked for a scope whose answers are
    withheld (see `disclosure`): fewer than MIN_STAFF_GROUP responses (the detail says how many
    there are), or as many but the rest of a unit above it would be a smaller group."""

    code, title = "survey.too_few_answers", "Too few answers to show them anonymously"

    def __init__(self, responded: int) -> None:
        if responded < MIN_STAFF_GROUP:
            detail = (
                f"Answers of staff surveys are shown in groups of at least {MIN_STAFF_GROUP} "
                f"responses, to keep them anonymous; this scope and period has {responded}"
            )
        else:
            detail = (
                f"Answers of staff surveys are shown in groups of at least {MIN_STAFF_GROUP} "
                f"responses, to keep them anonymous; this scope has {responded}, but the "
                f"answers of its parent unit less this scope's (with the other units shown "
                f"there) would be fewer than {MIN_STAFF_GROUP}: read the unit above instead"
            )
        super().__init__(detail)
        self.responded = responded


@dataclass(frozen=True, slots=True)
class Period:
    """Whole bank days [first_day, end_day), and the same as instants [start, end)."""

    first_day: date
    end_day: date
    start: datetime
    end: datetime


def period(from_: str | None, to: str | None, *, tz: str, now: datetime) -> Period:
    """The days of `?from=&to=` (see `workbench.periods`): a time inside a day takes the whole
    day. Without `to`, up to today; without `from`, the 30 days up to `to`."""
    zone = ZoneInfo(tz)
    try:
        end = period_bound(to or now.astimezone(zone).date().isoformat(), name="to", tz=tz,
                           end=True)  # fmt: skip
        start = (
            period_bound(from_, name="from", tz=tz)
            if from_
            else end - timedelta(days=DEFAULT_PERIOD_DAYS)
        )
    except OverflowError:
        raise BadPeriod(f"a period lies within the years {YEARS[0]} to {YEARS[1]}") from None
    if not (YEARS[0] <= start.year and (end - timedelta(microseconds=1)).year <= YEARS[1]):
        raise BadPeriod(f"a period lies within the years {YEARS[0]} to {YEARS[1]}")
    if end <= start:
        raise BadPeriod("`to` must be after `from`")
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise BadPeriod(f"a period spans at most {MAX_PERIOD_DAYS} days")
    end_day = last + timedelta(days=1)
    return Period(
        first_day=first,
        end_day=end_day,
        start=datetime.combine(first, time(), tzinfo=zone),
        end=datetime.combine(end_day, time(), tzinfo=zone),
    )


@dataclass(frozen=True, slots=True)
class Target:
    """A survey the caller may read results of, in a scope they may see."""

    survey_id: uuid.UUID
    title: str
    audience: str
    questions: list[Question]
    root: Any  # the scope's root unit (id, name, path)
    org_unit_id: uuid.UUID | None
    scope: queries.Scope
    period: Period
    # Per question key, the label of every option any version offered (the newest version's
    # label): an option a later version dropped is still shown by the label it was asked with.
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def staff(self) -> bool:
        """A staff survey: its answers are shown in groups only (see `disclosure`), over its
        whole life (`period` is the survey's, whatever was asked)."""
        return self.audience == Audience.STAFF


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Which of a staff survey's figures a scope shows (see `disclosure`)."""

    shown: bool  # the scope's own figures (headline, distributions, words, answers, export)
    responded: int  # the scope's responses
    children: frozenset[uuid.UUID] = frozenset()  # the child units whose rows are shown


EVERYTHING = Disclosure(shown=True, responded=0)  # a customer survey's: nothing withheld


def shown_children(total: int, responded: Mapping[uuid.UUID, int]) -> set[uuid.UUID]:
    """The child units (`responded`: each one's responses, with its subtree) a unit of `total`
    responses shows figures of: those with MIN_STAFF_GROUP or more, as long as the remainder
    (the unit's own level and the children withheld) is then 0 or MIN_STAFF_GROUP or more;
    while it is not, the smallest child shown (then by id) is withheld too."""
    shown = {unit for unit, n in responded.items() if n >= MIN_STAFF_GROUP}
    rest = total - sum(responded[unit] for unit in shown)
    smallest = sorted((responded[unit], str(unit), unit) for unit in shown)
    while smallest and 0 < rest < MIN_STAFF_GROUP:
        n, _, unit = smallest.pop(0)
        shown.discard(unit)
        rest += n
    return shown


async def disclosure(conn: Connection, target: Target) -> Disclosure:
    """Whether the target's scope shows a staff survey's answers, and which of its child units'
    rows do: the scope only if each unit on its path down from the bank's root is among the
    children its parent shows (`shown_children`), the root with MIN_STAFF_GROUP responses or
    more. So whatever scopes a reader asks for, the groups shown nest, and any of them less the
    groups shown inside it leaves none or MIN_STAFF_GROUP responses or more. (A customer
    survey: everything shown.)"""
    if not target.staff:
        return EVERYTHING
    path = [uuid.UUID(part) for part in str(target.root["path"]).strip("/").split("/")]
    rows = await queries.responded_around(conn, target.scope, units=path)
    totals = {row["id"]: int(row["responded"]) for row in rows}
    below: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(dict)
    for row in rows:
        if row["parent_id"] is not None:
            below[row["parent_id"]][row["id"]] = int(row["responded"])
    shown = totals.get(path[0], 0) >= MIN_STAFF_GROUP
    for parent, unit in pairwise(path):
        shown = shown and unit in shown_children(totals.get(parent, 0), below[parent])
    scope = path[-1]
    children = shown_children(totals.get(scope, 0), below[scope]) if shown else set()
    return Disclosure(shown=shown, responded=totals.get(scope, 0), children=frozenset(children))


async def require_group(conn: Connection, target: Target) -> None:
    """TooFewAnswers when the target's answers are withheld (a staff survey's scope that
    `disclosure` does not show); nothing for a customer survey."""
    if not target.staff:
        return
    shown = await disclosure(conn, target)
    if not shown.shown:
        raise TooFewAnswers(shown.responded)


async def target(
    conn: Connection,
    *,
    caller: Caller,
    survey_id: uuid.UUID,
    org_unit_id: uuid.UUID | None,
    period: Period,
    now: datetime | None = None,
) -> Target:
    """The survey and scope of a results request, or 404 (a survey the caller may not see at
    `GET /surveys/{id}`, or none; a unit not in view). A staff survey's period is its whole
    life up to today (`now`), whatever `period` was asked (see `whole_life`)."""
    visible = await surveys.visible_survey(conn, survey_id, caller=caller)
    found = await queries.survey(conn, survey_id) if visible is not None else None
    if visible is None or found is None:
        raise NotFound("survey")
    visible_root = None if caller.role in WHOLE_BANK else caller.org_unit_id
    root = await queries.unit_in_view(conn, org_unit_id, visible_root)
    if root is None:
        raise NotFound("org_unit")
    if found["audience"] == Audience.STAFF:
        period = whole_life(found, period, now=now or datetime.now(UTC))
    return Target(
        survey_id=survey_id,
        # The latest published version's: a draft's title is not the survey's yet (a survey
        # never published, which only its authors see, has its draft's).
        title=visible["published_title"] or visible["title"],
        audience=found["audience"],
        questions=merged_questions(found["versions"]),
        root=root,
        org_unit_id=org_unit_id,
        scope=queries.Scope(survey_id, period.first_day, period.end_day, root["id"]),
        period=period,
        labels=option_labels(found["versions"]),
    )


def whole_life(survey: Any, asked: Period, *, now: datetime) -> Period:
    """A survey's whole life as a period of the bank's days (the time zone of `asked`): from
    its first publication or invitation, whichever came first, to today or its last
    invitation's day, whichever is later. A staff survey's results cover it whatever period was
    asked: two periods differing by a few responses would give those few away."""
    zone = asked.start.tzinfo
    assert isinstance(zone, ZoneInfo)
    today = now.astimezone(zone).date()
    first = survey["first_day"] or today
    end_day = max(today, survey["last_day"] or today) + timedelta(days=1)
    return Period(
        first_day=first,
        end_day=end_day,
        start=datetime.combine(first, time(), tzinfo=zone),
        end=datetime.combine(end_day, time(), tzinfo=zone),
    )


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


async def results(
    conn: Connection, *, target: Target, group_by: wire.ResultsGroupBy | None = None
) -> wire.SurveyResults:
    """The results of the target's scope and period; a staff survey's answers withheld (its
    counts alone) where `disclosure` does not show them."""
    scope = target.scope
    head = await queries.headline(conn, scope)
    delivered, responded = int(head["delivered"]), int(head["responded"])
    shown = await disclosure(conn, target)
    hidden = not shown.shown
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in [] if hidden else await queries.value_counts(conn, scope):
        counts[row["question_key"]][row["value"]] = int(row["count"])
    overall: list[wire.TermCount] = []
    by_question: dict[str, list[wire.TermCount]] = defaultdict(list)
    for row in [] if hidden else await queries.top_terms(conn, scope, limit=TOP_TERMS):
        item = wire.TermCount(term=row["term"], count=int(row["count"]))
        if row["question_key"] is None:
            overall.append(item)
        elif len(by_question[row["question_key"]]) < QUESTION_TERMS:
            by_question[row["question_key"]].append(item)
    nps_key, csat_key = headline_keys(target.questions)
    by_unit = other = None
    if group_by is wire.ResultsGroupBy.ORG_UNIT:
        by_unit, other = await _by_unit(conn, target, shown, nps_key, csat_key)
    return wire.SurveyResults(
        survey_id=target.survey_id,
        title=target.title,
        org_unit_id=target.org_unit_id,
        from_=target.period.start,
        to=target.period.end,
        **_headline(delivered, responded, counts, nps_key, csat_key, withheld=hidden),
        questions=[
            wire.QuestionResult(
                key=q.key,
                type=q.type,
                text=q.text,
                answered=counts[q.key].get(ANSWERED, 0),
                distribution=distribution(q, counts[q.key], target.labels.get(q.key)),
                top_terms=by_question.get(q.key, []),
            )
            for q in target.questions
        ],
        top_terms=overall,
        by_unit=by_unit,
        other=other,
        whole_survey=target.staff,
    )


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


def _headline(
    delivered: int,
    responded: int,
    counts: Mapping[str, Mapping[str, int]],
    nps_key: str | None,
    csat_key: str | None,
    *,
    withheld: bool,
) -> dict[str, Any]:
    return {
        "delivered": delivered,
        "responded": responded,
        "response_rate": rate(responded, delivered),
        "nps": nps(counts.get(nps_key, {})) if nps_key and not withheld else None,
        "csat": csat(counts.get(csat_key, {})) if csat_key and not withheld else None,
        "withheld": withheld,
    }


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


async def _by_unit(
    conn: Connection,
    target: Target,
    shown: Disclosure,
    nps_key: str | None,
    csat_key: str | None,
) -> tuple[list[wire.UnitResult], wire.UnitResult | None]:
    """A row per child unit of the scope's root (with its subtree) that has invitations, and
    one for the root's own invitations (the root's counts less its children's) if any, most
    invitations first; and for a staff survey, the remainder its rows shown leave (`other`).

    A staff survey's row has its counts only (`withheld`) unless `shown` shows it; the root's
    own row is shown only when it is the whole remainder (no withheld row has responses), else
    the remainder comes as `other` (its own level and the rows withheld, together), when some
    child is shown (else it is the scope's headline)."""
    root = target.root
    names = {kid["id"]: kid["name"] for kid in await queries.children(conn, root["id"])}
    keys = [k for k in (nps_key, csat_key) if k]
    counts, values = await queries.unit_counts(
        conn, target.scope, units=[root["id"], *names], question_keys=keys
    )
    names[root["id"]] = f"{root['name']}（本级）"
    sums: dict[uuid.UUID, list[int]] = {u: [0, 0] for u in names}
    for row in counts:
        sums[row["org_unit_id"]] = [int(row["delivered"]), int(row["responded"])]
    scores: dict[uuid.UUID, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for row in values:
        scores[row["org_unit_id"]][row["question_key"]][row["value"]] = int(row["count"])
    own = sums.pop(root["id"])
    own_scores = scores.pop(root["id"], {})
    for unit, (delivered, responded) in sums.items():  # what the root holds beyond its children
        own[0] -= delivered
        own[1] -= responded
        _add(own_scores, scores.get(unit, {}), sign=-1)
    sums[root["id"]] = [max(0, n) for n in own]  # a unit moved away may leave less behind
    scores[root["id"]] = {
        key: {value: max(0, n) for value, n in by_value.items()}
        for key, by_value in own_scores.items()
    }
    sent = {unit: total for unit, total in sums.items() if total[0] > 0}
    hidden: set[uuid.UUID] = set()
    other = None
    if target.staff:
        hidden = {unit for unit in sent if unit not in shown.children}
        merged = [u for u in hidden if u != root["id"] and sent[u][1] > 0]
        own_responded = sent.get(root["id"], [0, 0])[1]
        if shown.shown and not merged and own_responded >= MIN_STAFF_GROUP:
            hidden.discard(root["id"])  # the remainder is the root's own level alone
        if shown.shown and merged and shown.children & sent.keys():
            other = _other(target, hidden, sent, scores, nps_key, csat_key)
    rows = []
    for unit, (delivered, responded) in sent.items():
        figures = _headline(delivered, responded, scores.get(unit, {}), nps_key, csat_key,
                            withheld=unit in hidden)  # fmt: skip
        rows.append(wire.UnitResult(org_unit_id=unit, name=names[unit], **figures))
    rows.sort(key=lambda r: (-r.delivered, r.name))
    return rows, other


OTHER = "其他（本级及不足 5 份的下级合并）"


def _other(
    target: Target,
    hidden: set[uuid.UUID],
    sent: Mapping[uuid.UUID, list[int]],
    scores: Mapping[uuid.UUID, Mapping[str, Mapping[str, int]]],
    nps_key: str | None,
    csat_key: str | None,
) -> wire.UnitResult:
    """The remainder of a staff survey's scope beyond its rows shown: its own level and the
    rows withheld, together (none or MIN_STAFF_GROUP responses or more: `shown_children`)."""
    delivered = sum(sent[unit][0] for unit in hidden)
    responded = sum(sent[unit][1] for unit in hidden)
    together: dict[str, dict[str, int]] = {}
    for unit in hidden:
        _add(together, scores.get(unit, {}))
    figures = _headline(delivered, responded, together, nps_key, csat_key,
                        withheld=responded < MIN_STAFF_GROUP)  # fmt: skip
    return wire.UnitResult(org_unit_id=target.root["id"], name=OTHER, **figures)


def _add(
    into: dict[str, dict[str, int]], counts: Mapping[str, Mapping[str, int]], *, sign: int = 1
) -> None:
    """Add (or with sign -1 subtract) per-question value counts into `into`."""
    for key, by_value in counts.items():
        for value, count in by_value.items():
            bucket = into.setdefault(key, {})
            bucket[value] = bucket.get(value, 0) + sign * count


# ---- the answers containing a term -----------------------------------------------------------


def open_texts(cipher: FieldCipher, response_id: uuid.UUID, blob: bytes | None) -> dict[str, str]:
    """A response's text answers by question key, as shown to staff: long numbers masked (a
    phone or ID number typed into a comment; `mask_long_numbers`, as the app's snippets are);
    {} when it has none or they cannot be read. Term search reads the stored terms, so it still
    finds what was typed."""
    if not blob:
        return {}
    plain = cipher.decrypt_or_none(
        blob, aad=texts_aad(response_id), column="survey_responses.texts_enc", row=response_id
    )
    if plain is None:
        return {}
    try:
        texts = msgspec.json.decode(plain, type=dict[str, str])
    except msgspec.DecodeError:
        return {}
    return {key: mask_long_numbers(text) for key, text in texts.items()}


def respondent(cipher: FieldCipher, role: Role, row: Any) -> str:
    """Who answered, as this role may see it: a customer's masked name; staff stay anonymous."""
    if row["user_id"] is not None or row["name_enc"] is None:
        return STAFF
    name = cipher.decrypt_or_none(
        row["name_enc"], aad=personal_data_aad("name", row["external_id"]),
        column="customers.name_enc", row=row["external_id"],
    )  # fmt: skip
    if name is None:
        return "*"
    return masked_for(role, name=name, phone="", id_number="")[0]


def normalized_term(term: str) -> str:
    """A term as the tallies store it (`terms.terms` lower-cases and NFKC-normalizes)."""
    return unicodedata.normalize("NFKC", term).strip().lower()


async def term_answers(
    conn: Connection,
    *,
    caller: Caller,
    target: Target,
    cipher: FieldCipher,
    term: str,
    question_key: str | None,
    cursor: str | None,
    limit: int,
    tz: str,
) -> tuple[list[wire.TermAnswer], str | None]:
    """The answers of the target's scope containing `term`, newest first, one page. A staff
    survey's: TooFewAnswers below MIN_STAFF_GROUP responses; else each under the unit of its
    group, on its day (midnight in the bank's time zone `tz`), under its shown id, by day, then
    by that id."""
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID, str])
    if holds_long_number(normalized_term(term)):  # never a term: a number the answers mask
        await require_group(conn, target)
        return [], None
    if target.staff:
        await require_group(conn, target)
        return await _staff_term_answers(
            conn, target=target, cipher=cipher, term=term, question_key=question_key,
            after=after, limit=limit, tz=tz,
        )  # fmt: skip
    rows = await queries.term_answers(
        conn, target.scope, term=normalized_term(term), question_key=question_key,
        after=after, limit=limit,
    )  # fmt: skip
    items = []
    for row in rows[:limit]:
        texts = open_texts(cipher, row["response_id"], row["texts_enc"])
        items.append(
            wire.TermAnswer(
                response_id=row["response_id"],
                question_key=row["question_key"],
                text=texts.get(row["question_key"], ""),
                respondent=respondent(cipher, caller.role, row),
                org_unit_id=row["org_unit_id"],
                org_unit_name=row["org_unit_name"],
                submitted_at=row["submitted_at"],
                sent_on=row["day"],
            )
        )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(
            [last["submitted_at"], last["response_id"], last["question_key"]]
        )
    return items, next_cursor


async def _staff_term_answers(
    conn: Connection,
    *,
    target: Target,
    cipher: FieldCipher,
    term: str,
    question_key: str | None,
    after: tuple[datetime, uuid.UUID, str] | None,
    limit: int,
    tz: str,
) -> tuple[list[wire.TermAnswer], str | None]:
    rows = await queries.staff_term_answers(
        conn, target.scope, term=normalized_term(term), question_key=question_key,
        after=after, limit=limit, tz=tz,
    )  # fmt: skip
    zone = ZoneInfo(tz)
    items = [
        wire.TermAnswer(
            response_id=row["shown_id"],
            question_key=row["question_key"],
            text=open_texts(cipher, row["response_id"], row["texts_enc"]).get(
                row["question_key"], ""
            ),
            respondent=STAFF,
            org_unit_id=row["org_unit_id"],
            org_unit_name=row["org_unit_name"],
            submitted_at=row["submitted_on"].astimezone(zone),  # midnight there
            sent_on=row["day"],
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([last["submitted_on"], last["shown_id"], last["question_key"]])
    return items, next_cursor

"""The results of a scope and period: delivered, responded, NPS, CSAT, every question's
distribution, the most frequent words, and a row per unit below (a staff survey's figures
withheld where `disclosure` does not show them: everywhere while it is open)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from mobile_contracts.v1 import survey_results as wire
from workbench.db import Connection
from workbench.surveys.results._figures import csat, distribution, headline_keys, nps, rate
from workbench.surveys.results._scope import Target
from workbench.surveys.results._staff_groups import MIN_STAFF_GROUP, Disclosure, disclosure
from workbench.surveys.rollups import queries
from workbench.surveys.tallies import ANSWERED

TOP_TERMS = 20
QUESTION_TERMS = 10


async def results(
    conn: Connection, *, target: Target, group_by: wire.ResultsGroupBy | None = None
) -> wire.SurveyResults:
    """The results of the target's scope and period; a staff survey's answers withheld (its
    counts alone) where `disclosure` does not show them, and everywhere while it is open."""
    scope = target.scope
    head = await queries.headline(conn, scope)
    delivered, responded = int(head["delivered"]), int(head["responded"])
    shown = await disclosure(conn, target)
    hidden = not shown.shown
    why = _why(shown)
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
        **_headline(
            delivered, responded, counts, nps_key, csat_key, withheld=why if hidden else None
        ),
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


def _why(shown: Disclosure) -> wire.WithheldReason:
    """Why a staff survey's figures not shown are withheld: the survey is open, or too few."""
    if shown.survey_open:
        return wire.WithheldReason.SURVEY_OPEN
    return wire.WithheldReason.TOO_FEW_ANSWERS


def _headline(
    delivered: int,
    responded: int,
    counts: Mapping[str, Mapping[str, int]],
    nps_key: str | None,
    csat_key: str | None,
    *,
    withheld: wire.WithheldReason | None,
) -> dict[str, Any]:
    """The headline figures; `withheld` (why, if they are): the counts alone."""
    shown = withheld is None
    return {
        "delivered": delivered,
        "responded": responded,
        "response_rate": rate(responded, delivered),
        "nps": nps(counts.get(nps_key, {})) if nps_key and shown else None,
        "csat": csat(counts.get(csat_key, {})) if csat_key and shown else None,
        "withheld": not shown,
        "withheld_reason": withheld,
    }


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

    A staff survey's row has its counts only (`withheld`) unless `shown` shows it (none while
    the survey is open); the root's own row is shown only when it is the whole remainder (no
    withheld row has responses), else the remainder comes as `other` (its own level and the rows
    withheld, together), when some child is shown (else it is the scope's headline)."""
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
    why = _why(shown)
    for unit, (delivered, responded) in sent.items():
        figures = _headline(delivered, responded, scores.get(unit, {}), nps_key, csat_key,
                            withheld=why if unit in hidden else None)  # fmt: skip
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
    why = wire.WithheldReason.TOO_FEW_ANSWERS if responded < MIN_STAFF_GROUP else None
    figures = _headline(delivered, responded, together, nps_key, csat_key, withheld=why)
    return wire.UnitResult(org_unit_id=target.root["id"], name=OTHER, **figures)


def _add(
    into: dict[str, dict[str, int]], counts: Mapping[str, Mapping[str, int]], *, sign: int = 1
) -> None:
    """Add (or with sign -1 subtract) per-question value counts into `into`."""
    for key, by_value in counts.items():
        for value, count in by_value.items():
            bucket = into.setdefault(key, {})
            bucket[value] = bucket.get(value, 0) + sign * count

"""The anonymity rule of staff surveys: when and which groups of answers a staff survey shows.

Staff answer anonymously, so a staff survey's answers are only shown once it is closed
(archived: it takes no answer any more), and then in groups of at least MIN_STAFF_GROUP
responses (as employee-survey tools do), so that no two figures shown, in any scopes or at any
times, subtract to fewer (the rule of `disclosure`):
- While it is open, its figures move with every answer: reading the results before and after
  one person answered (a round sent to one, or a quiet week) would tell that answer. So an open
  staff survey gives its counts only (sent, responded, rate: participation, not content), in
  every scope and row, and its text answers and exports are refused (`ResultsAfterClose`).
  Archiving closes it for good: nothing is sent, nor answered, after (`submission.store`).
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
(`withheld`, with `withheld_reason`), and its text answers and export are refused
(`ResultsAfterClose` while open, else `TooFewAnswers`). Shown, a staff answer comes under the
scope's unit (a team's label would single out the answers left under their parent's), on its
day only, under an id that says nothing of when it came; and its export holds the figures the
page shows, never a row per response (whose times and answers together could say who answered).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from workbench.db import Connection
from workbench.errors import Conflict
from workbench.surveys.results._scope import Target
from workbench.surveys.rollups import queries

# The fewest responses of a staff survey whose answers are shown: in a smaller group, an answer
# (a score, a word, a unit, a time) could say who gave it.
MIN_STAFF_GROUP = 5


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


class ResultsAfterClose(Conflict):
    """409: a staff survey's text answers and exports, asked for while it is open (not archived):
    answers may still come, and two readings a few answers apart would give those away."""

    code, title = "survey.results_after_close", "Staff answers are shown once the survey is closed"

    def __init__(self) -> None:
        super().__init__(
            "Staff answer anonymously: a staff survey's answers (scores, words, text answers, "
            "exports) are shown once the survey is closed (archived), when no answer can come "
            "any more; while it is open, its results give the counts only (sent, responded, "
            "response rate)"
        )


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Which of a staff survey's figures a scope shows (see `disclosure`)."""

    shown: bool  # the scope's own figures (headline, distributions, words, answers, export)
    responded: int  # the scope's responses
    children: frozenset[uuid.UUID] = frozenset()  # the child units whose rows are shown
    survey_open: bool = False  # nothing shown anywhere: the survey is open (not archived)


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
    groups shown inside it leaves none or MIN_STAFF_GROUP responses or more. A staff survey
    still open shows nothing of its answers, in any scope (`survey_open`). (A customer survey:
    everything shown.)"""
    if not target.staff:
        return EVERYTHING
    path = [uuid.UUID(part) for part in str(target.root["path"]).strip("/").split("/")]
    rows = await queries.responded_around(conn, target.scope, units=path)
    totals = {row["id"]: int(row["responded"]) for row in rows}
    if target.open_staff:
        return Disclosure(shown=False, responded=totals.get(path[-1], 0), survey_open=True)
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
    """ResultsAfterClose for a staff survey still open; TooFewAnswers when the target's answers
    are withheld (a closed staff survey's scope that `disclosure` does not show); nothing for a
    customer survey."""
    if not target.staff:
        return
    if target.open_staff:
        raise ResultsAfterClose()
    shown = await disclosure(conn, target)
    if not shown.shown:
        raise TooFewAnswers(shown.responded)

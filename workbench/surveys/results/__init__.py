"""Survey results, read from the rollups (`tallies`), scoped by role in SQL.

A survey's results are read where the survey itself may be (`GET /surveys/{id}`'s visibility,
else 404), under the title of its latest published version (a draft's new title is not shown).
Admins and marketing see the whole bank, a branch head their subtree; `org_unit_id` narrows to
a subtree the caller may see (else 404, as for a survey that does not exist). The period is
whole days of the bank: the invitations sent on those days and their answers.

Staff answer anonymously, so a staff survey's answers are shown only once it is closed
(archived), in groups of at least MIN_STAFF_GROUP responses, and its results cover its whole
life: see `_staff_groups`.

One private module per role, re-exported here:
- `_periods`: the period read (whole bank days; a staff survey's whole life)
- `_questions`: a survey's questions and option labels over its versions
- `_scope`: the survey and unit a caller may read (`Target`)
- `_staff_groups`: the anonymity rule of staff surveys (`disclosure`: after close, in groups)
- `_figures`: rate, NPS, CSAT and distributions from counts
- `_results`: the results of a scope, and its rows per unit
- `_answers`: a response's texts and respondent as staff see them (answers found, export rows)
- `_term_answers`: the answers containing a word
The SQL they run is in `workbench.surveys.rollups.queries` and `workbench.surveys.queries`.
"""

from workbench.surveys.results._answers import STAFF, open_texts, respondent
from workbench.surveys.results._figures import (
    SCALE_VALUES,
    csat,
    distribution,
    headline_keys,
    nps,
    rate,
)
from workbench.surveys.results._periods import (
    DEFAULT_PERIOD_DAYS,
    MAX_PERIOD_DAYS,
    YEARS,
    BadPeriod,
    Period,
    period,
    whole_life,
)
from workbench.surveys.results._questions import merged_questions, option_labels
from workbench.surveys.results._results import OTHER, QUESTION_TERMS, TOP_TERMS, results
from workbench.surveys.results._scope import READERS, WHOLE_BANK, Target, target
from workbench.surveys.results._staff_groups import (
    EVERYTHING,
    MIN_STAFF_GROUP,
    Disclosure,
    ResultsAfterClose,
    TooFewAnswers,
    disclosure,
    require_group,
    shown_children,
)
from workbench.surveys.results._term_answers import normalized_term, term_answers
from workbench.surveys.submission import texts_aad  # how submissions encrypt texts

__all__ = [
    "DEFAULT_PERIOD_DAYS",
    "EVERYTHING",
    "MAX_PERIOD_DAYS",
    "MIN_STAFF_GROUP",
    "OTHER",
    "QUESTION_TERMS",
    "READERS",
    "SCALE_VALUES",
    "STAFF",
    "TOP_TERMS",
    "WHOLE_BANK",
    "YEARS",
    "BadPeriod",
    "Disclosure",
    "Period",
    "ResultsAfterClose",
    "Target",
    "TooFewAnswers",
    "csat",
    "disclosure",
    "distribution",
    "headline_keys",
    "merged_questions",
    "normalized_term",
    "nps",
    "open_texts",
    "option_labels",
    "period",
    "rate",
    "require_group",
    "respondent",
    "results",
    "shown_children",
    "target",
    "term_answers",
    "texts_aad",
    "whole_life",
]

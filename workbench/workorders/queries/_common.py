"""What the work-order SQL modules share."""

from __future__ import annotations

import asyncpg

Record = asyncpg.Record

OPEN_STATES = "('open', 'in_progress')"

# The title of the survey version the work order's answer answered (`w`), as it was published:
# never the draft's (`surveys.title`), which an author may be renaming before the next version.
ANSWERED_TITLE = """
    (select v.title
       from survey_responses ar
       join survey_versions v on v.survey_id = ar.survey_id and v.version = ar.version
      where ar.id = w.response_id)
"""

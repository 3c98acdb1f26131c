"""A published staff survey for the results tests (`results_data` publishes customer ones)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.tasks_data import unit, user
from tests.workbench.surveys.results_data import QUESTIONS
from workbench.ids import uuid7

# The staff results tests' answers: two days ago, in East Branch and its teams, with a text.
DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=2)
EAST = "东城支行 East Branch"
EAST_1 = "东城一组 East Team 1"
EAST_2 = "东城二组 East Team 2"
TEXT = {"comment": "等待时间太长"}


async def publish_staff(db: Any, *, title: str = "员工脉搏") -> uuid.UUID:
    """A published staff survey (version 1) of marketing at head office, with the results
    tests' questions (`results_data.QUESTIONS`)."""
    survey_id = uuid7()
    await db.execute(
        """insert into surveys (id, title, audience, status, questions, version, owner_unit_id,
                                created_by)
           values ($1, $2, 'staff', 'published', $3::jsonb, 1, $4, $5)""",
        survey_id, title, QUESTIONS, unit("head-office"), user("marketing"),
    )  # fmt: skip
    await db.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, 1, $2, 'staff', $3::jsonb, $4)""",
        survey_id, title, QUESTIONS, user("marketing"),
    )  # fmt: skip
    return survey_id


async def close_staff(db: Any, survey_id: uuid.UUID) -> None:
    """Close (archive) a staff survey, as `POST /surveys/{id}/archive` does: its answers are
    shown only then, when no answer can come any more."""
    await db.execute(
        "update surveys set status = 'archived', updated_at = now() where id = $1", survey_id
    )

"""Who reads a survey's results, and where: the survey the caller may see, in a unit of their
view (admins and marketing: the whole bank; a branch head: their subtree; else 404), over a
period."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.surveys import Audience, Question
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.surveys import queries as surveys
from workbench.surveys.results._periods import Period, whole_life
from workbench.surveys.results._questions import merged_questions, option_labels
from workbench.surveys.rollups import queries

READERS = (Role.ADMIN, Role.MARKETING, Role.BRANCH_HEAD)
WHOLE_BANK = frozenset({Role.ADMIN, Role.MARKETING})


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
    # Archived: sent no more (a customer survey's links sent before still take answers; a
    # staff survey takes none: it is closed).
    archived: bool = False

    @property
    def staff(self) -> bool:
        """A staff survey: its answers are shown in groups only (see `disclosure`), over its
        whole life (`period` is the survey's, whatever was asked), once it is closed."""
        return self.audience == Audience.STAFF

    @property
    def open_staff(self) -> bool:
        """A staff survey not closed (archived) yet: answers may still come, so its results
        give its counts only (see `disclosure`)."""
        return self.staff and not self.archived


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
        archived=visible["status"] == "archived",
    )

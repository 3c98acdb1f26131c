"""Dispatches as a manager lists and ends them (the dispatch request and its answer: `tasks`)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class DispatchSummary(msgspec.Struct, kw_only=True):
    """A dispatch: what was sent to whom, and (a recurring series) whether it still runs."""

    id: uuid.UUID
    template_id: uuid.UUID
    template_name: str  # the template's current name
    title: str
    org_unit_id: uuid.UUID | None  # None: dispatched to a list of customers
    recurring: bool
    recurrence: str | None  # the RRULE the series runs on (None: one-off)
    created: int
    skipped: int
    not_found: int
    created_by: uuid.UUID
    created_at: datetime
    ended_at: datetime | None  # a recurring series ended: no new periods from then on
    ended_by: uuid.UUID | None

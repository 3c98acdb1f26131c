"""Delivery rules: what delivery needs from the settings (the link life, the contact cap and
its window, reminders, and what makes a link's URL), from a settings object or, for a caller
without one, from the environment."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, fields
from typing import Any

from workbench.settings import Settings
from workbench.surveys.links import SurveyLinks


@dataclass(frozen=True, slots=True)
class Rules:
    """What delivery needs from the settings (`links` and `base_url`: to make link URLs)."""

    base_url: str = ""
    links: SurveyLinks | None = None
    link_days: int = 30
    cap: int = 2
    cap_days: int = 7
    remind_after_days: int = 3
    max_reminders: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            base_url=settings.public_base_url,
            links=SurveyLinks(settings.jwt_keys),
            link_days=settings.survey_link_days,
            cap=settings.survey_contact_cap,
            cap_days=settings.survey_contact_days,
            remind_after_days=settings.survey_remind_after_days,
            max_reminders=settings.survey_max_reminders,
        )

    @classmethod
    def from_environment(cls) -> Rules:
        """The contact and link rules from WORKBENCH_SURVEY_* (defaults where unset), for a
        caller that has no settings object at hand (a task being done); no link URLs."""
        names = {"survey_link_days": "link_days", "survey_contact_cap": "cap",
                 "survey_contact_days": "cap_days"}  # fmt: skip
        values: dict[str, Any] = {}
        for f in fields(Settings):
            raw = os.environ.get(f.metadata["env"], "").strip()
            if f.name in names and raw.isdigit() and int(raw) > 0:
                values[names[f.name]] = int(raw)
        return cls(**values)

    def url(self, invitation_id: uuid.UUID) -> str:
        assert self.links is not None, "these rules make no links"
        return self.links.url(self.base_url, invitation_id)

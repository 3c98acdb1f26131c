"""Tracking beacons: what the public brochure viewer's script sends to `POST /t`.

A beacon is small and bounded in every field; the page makes a new `event_id` for every beacon and
keeps it on retries, so a beacon received twice counts once.
"""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

import msgspec

from mobile_contracts.v1.patterns import whole

ShareCode = Annotated[
    str,
    msgspec.Meta(
        pattern=whole("[0-9A-Za-z]{8,12}", says="8 to 12 letters or digits"),
        description="the share's code",
    ),
]
VisitorId = Annotated[
    str,
    msgspec.Meta(
        pattern=whole("[A-Za-z0-9_-]{1,64}", says="1 to 64 letters, digits, _ and -"),
        description="a first-party visitor id the page made (cookie `wb_vid` and local storage)",
    ),
]


class BeaconType(enum.StrEnum):
    """open: the page was visibly rendered; page_view: a page scrolled into view; heartbeat:
    every 5 s while visible (`ms` = visible time since the last one); cta: the button."""

    OPEN = "open"
    PAGE_VIEW = "page_view"
    HEARTBEAT = "heartbeat"
    CTA = "cta"


class Beacon(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """One event of a viewer page."""

    code: ShareCode
    visitor_id: VisitorId
    type: BeaconType
    page: Annotated[int, msgspec.Meta(ge=1, le=30)] | None = None
    ms: Annotated[int, msgspec.Meta(ge=0, le=60_000)] | None = None
    event_id: uuid.UUID | None = None  # absent: the server makes one (no retry safety then)

"""Tracked shares: an RM shares a live brochure as a short link or a poster with a QR code.

The link (`url`) opens the public viewer; the poster (`poster_png_url`) is a phone-sized PNG of
the brochure's first page, its title, the RM's name, the bank's name and the link's QR code. The
RM's share list counts what the viewer's beacons recorded per visitor.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import msgspec


class ShareChannel(enum.StrEnum):
    """How the RM passes the link on (for the funnels by channel)."""

    WECHAT = "wechat"
    SMS = "sms"
    QR = "qr"
    LINK = "link"


class ShareCreate(msgspec.Struct, kw_only=True):
    """What to share, with whom and how. Exactly one of `brochure_id` and `survey_id` (a survey
    is shared with one customer: `customer_id` required). `customer_id`: one of my customers.
    `client_ref`: an id the app makes for this share; sending it again (also through sync's
    `share.create`) gives the same share."""

    brochure_id: uuid.UUID | None = None
    survey_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    channel: ShareChannel
    client_ref: uuid.UUID | None = None


class Share(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A share as made: send `url`, or show the poster at `poster_png_url` (both absolute).
    `brochure_id` is null for a survey share (its `url` is the customer's single-use survey
    link, its `code` that link's token)."""

    id: uuid.UUID
    code: str
    url: str
    poster_png_url: str
    channel: ShareChannel
    brochure_id: uuid.UUID | None
    created_at: datetime
    customer_id: uuid.UUID | None = None
    client_ref: uuid.UUID | None = None


class ShareRow(msgspec.Struct, kw_only=True):
    """One of my shares with what its visitors did. `opens` and `unique_visitors`: visitors
    whose page was visibly opened (the same number today: one open per visitor); `dwell_seconds`:
    their total time on the pages; `clicks`: visitors who tapped the call to action. `customer`:
    the customer's masked name (张*三), null for a share to nobody in particular.

    A survey share (`survey_id` set, `brochure_id` null; `title` the survey's) is its customer's
    single-use link: `answered` says whether they answered it (`answered_at` when), `expires_at`
    when it expires; its visits are not tracked (the counts are 0). These four are null for a
    brochure share."""

    id: uuid.UUID
    code: str
    url: str
    poster_png_url: str
    channel: ShareChannel
    brochure_id: uuid.UUID | None
    title: str
    customer_id: uuid.UUID | None
    customer: str | None
    created_at: datetime
    opens: int
    unique_visitors: int
    dwell_seconds: int
    clicks: int
    survey_id: uuid.UUID | None = None
    answered: bool | None = None
    answered_at: datetime | None = None
    expires_at: datetime | None = None

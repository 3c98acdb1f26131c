"""Product brochures: what marketing uploads, compliance reviews and RMs present and share.

A brochure's content lives in versions. RMs only ever see a version that is published and live
(`live_from` <= now < `live_until`), or the one it replaces until its `live_from`; staff
(marketing, compliance, admins) see every version of the brochures of their org subtree, with
its review state.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mobile_contracts.v1.customers import ProductCode, ProductRisk
from mobile_contracts.v1.patterns import whole

MAX_TITLE = 120
MAX_TALK_TRACK = 5000
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)]
TalkTrack = Annotated[str, msgspec.Meta(max_length=MAX_TALK_TRACK)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
MAX_PAGES = 30
# A time of a live window: with its offset (RFC 3339); within the years 2000-2999 (checked).
WindowTime = Annotated[datetime, msgspec.Meta(tz=True)]
# The SHA-256 of a version's content, in hex (`content_hash` of a version): what a reviewer saw.
ContentHash = Annotated[
    str,
    msgspec.Meta(
        pattern=whole("[0-9a-fA-F]{64}", says="64 hexadecimal digits (a SHA-256)"),
        description="The `content_hash` (hex SHA-256) of the content the reviewer looked at",
    ),
]


class BrochureStatus(enum.StrEnum):
    """Where a version is in its review: draft -> pending_review -> approved | rejected ->
    published -> unpublished; superseded once a newer version is published."""

    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"
    SUPERSEDED = "superseded"


class LiveState(enum.StrEnum):
    """Of a published version, as of the answer: before its window, in it, or after it."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    EXPIRED = "expired"


class Change(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One difference of a version under review from the one compliance approved before: a
    field's text before and after, or the pages added (numbers in the new version) and removed
    (numbers in the old one)."""

    field: str
    before: str
    after: str
    pages_added: list[int] = []
    pages_removed: list[int] = []


class BrochureMeta(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """The `meta` part of an upload or an edit (multipart, with the page images as `pages`).

    `pages` orders the pages of an edit: each entry is an image id already on the brochure (the
    `image` of a page) or `upload:<n>`, the n-th (0-based) uploaded file. Left out, an upload's
    files are the pages in order, and an edit without files keeps the pages as they are."""

    title: Title
    product_code: ProductCode
    talk_track: TalkTrack = ""
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []
    pages: Annotated[list[str], msgspec.Meta(max_length=MAX_PAGES)] | None = None


class Rendition(msgspec.Struct, kw_only=True):
    """One size of a page, in both formats: WebP for the app, JPEG for anything else."""

    width: int
    height: int
    webp: str
    jpeg: str


class Page(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A page and its renditions. A rendition not built yet (or that failed) is null: the page
    shows a placeholder and the other pages are unaffected."""

    number: int
    image: str  # the source image's id (SHA-256, hex): stable while the image is unchanged
    width: int
    height: int
    phone: Rendition | None = None
    tablet: Rendition | None = None
    thumb: Rendition | None = None


class CatalogueItem(msgspec.Struct, kw_only=True):
    """A brochure as RMs see it: its live version, with the product's facts."""

    id: uuid.UUID
    version: int
    title: str
    product_code: str
    product_name: str
    category: str
    risk_level: ProductRisk
    talk_track: str
    tags: list[str]
    pages: list[Page]
    live_from: datetime | None
    live_until: datetime | None  # or sooner, when a newer version replaces it then
    published_at: datetime


class ApproveRequest(msgspec.Struct, kw_only=True):
    """What compliance approves: the content they looked at, named by its `content_hash` (the
    `latest.content_hash` of the staff view they reviewed). If the version holds other content
    by then (marketing edited and resubmitted it meanwhile), nothing is approved: 409
    `brochure.content_changed`. Left out (`{}`, as with no body at all: older apps): the
    content under review at the time of the call is approved."""

    content_hash: ContentHash | None = None


class RejectRequest(msgspec.Struct, kw_only=True):
    """Why compliance sends the version back; `content_hash` (recommended) names the content
    they looked at, as for an approval: another content by then is 409
    `brochure.content_changed` and nothing is rejected."""

    reason: Reason
    content_hash: ContentHash | None = None


class PublishRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The live window, in RFC 3339 times with their offset (the bank's time zone applies to
    what is shown). It lies within the window compliance approved (the version's
    `approved_from`/`approved_until`; outside it, or once it has passed, 409: submit the brochure
    for review again). Neither given: live from now (or the approved start, if later) until the
    approved end, or with no end when the approval has none. A new version with a later
    `live_from` replaces the live one at that time; until then the live one stays live."""

    live_from: WindowTime | None = None
    live_until: WindowTime | None = None


class SubmitRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The live window the version is submitted for (RFC 3339 times with their offset): compliance
    sees it when reviewing and the approval covers it, no more (a later publication outside it
    needs a new review). Neither given (`{}`, or no body: older apps): an approval without bounds.
    """

    live_from: WindowTime | None = None
    live_until: WindowTime | None = None


class UnpublishRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Why the brochure is taken down. Compliance (and admins) withdraw it: the reason is
    required (422 `brochure.reason_required` without one) and the approval is void (publishing it
    again needs a new submission and approval). Marketing pauses it: the reason is optional and
    the approval is kept (it can be published again within the approved window). No body: a
    pause without a reason (older apps)."""

    reason: Reason | None = None


class VersionSummary(msgspec.Struct, kw_only=True):
    version: int
    status: BrochureStatus
    live_state: LiveState | None  # of a published version; `live` for a superseded one still
    # live until the version replacing it starts
    title: str
    content_hash: str  # hex; an approval is bound to it
    approved: bool  # compliance approved exactly this content
    reject_reason: str | None
    live_from: datetime | None
    live_until: datetime | None
    created_by: uuid.UUID
    created_at: datetime
    submitted_at: datetime | None
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    published_at: datetime | None
    updated_at: datetime
    # Of a version that was live when a later one was published to start later: that start,
    # when it hands over (live until then, or its `live_until` if sooner).
    replaced_at: datetime | None = None
    # The live window the version was submitted for review with (null: none asked).
    requested_from: datetime | None = None
    requested_until: datetime | None = None
    # What its approval covers besides the content: the window (null: unbounded) and the
    # product's risk level then. A product whose risk level is no longer this one makes the
    # version live for no one until compliance approves it again.
    approved_from: datetime | None = None
    approved_until: datetime | None = None
    approved_risk_level: ProductRisk | None = None
    # Who took it down, when and why (a reason is optional for marketing's pause); `withdrawn`:
    # compliance (or an admin) withdrew it, which voided its approval.
    unpublished_by: uuid.UUID | None = None
    unpublished_at: datetime | None = None
    unpublish_reason: str | None = None
    withdrawn: bool = False


class ReviewDecision(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class Review(msgspec.Struct, kw_only=True):
    """One decision of compliance on a version, with the content it was about: kept when the
    version is edited and resubmitted (which reuses the version)."""

    version: int
    decision: ReviewDecision
    reason: str | None  # why it was rejected
    content_hash: str  # hex: the content decided on
    title: str  # of the content decided on
    reviewed_by: uuid.UUID
    reviewed_at: datetime
    # What the decision covered besides the content: the product's risk level and the live
    # window submitted (null: decisions recorded before these were, or no window asked).
    risk_level: ProductRisk | None = None
    live_from: datetime | None = None
    live_until: datetime | None = None


class Withdrawal(msgspec.Struct, kw_only=True):
    """Compliance (or an admin) took a published brochure down and voided its approval: it is
    published again only after a new submission and approval."""

    version: int
    reason: str
    withdrawn_by: uuid.UUID
    withdrawn_at: datetime


class StaffBrochure(msgspec.Struct, kw_only=True):
    """A brochure as marketing and compliance see it: its latest version in full, the version
    that is published, and the version live now (the same one, or while the published one is
    scheduled, the one it will replace)."""

    id: uuid.UUID
    owner_unit_id: uuid.UUID
    created_by: uuid.UUID
    created_at: datetime
    latest: VersionSummary
    product_code: str
    product_name: str
    category: str
    risk_level: ProductRisk
    talk_track: str
    tags: list[str]
    pages: list[Page]
    published: VersionSummary | None
    versions: list[VersionSummary]
    # What the latest version changes against the last approved one (empty for a first one).
    changes: list[Change] = []
    # Every decision of compliance on the brochure's versions, newest first.
    reviews: list[Review] = []
    # What the latest version changes against the content compliance last decided on in it
    # (rejected, or approved before an edit voided the approval); empty if none or unchanged.
    changes_since_review: list[Change] = []
    # Whether the bank still offers the product (the product feed's `active`): a brochure of a
    # withdrawn product is live for no one, whatever its window says.
    product_active: bool = True
    # The version in its live window now, which RMs get (while the product is offered): the
    # published one once it starts, or until then the version it replaces (superseded, with
    # `replaced_at`); `published` may then be a later version still `scheduled`.
    live: VersionSummary | None = None
    # Whether the caller may approve or reject the latest version now: compliance, the version
    # pending review, and no hand of theirs in it (created, edited, submitted, or a page image
    # uploaded: four eyes). An app shows its decision buttons only then.
    may_review: bool = False
    # Compliance's withdrawals of the brochure, newest first, and the one still in force (no
    # approval since): marketing cannot publish it again before compliance approves it anew.
    withdrawals: list[Withdrawal] = []
    withdrawal: Withdrawal | None = None
    # The product's risk level is no longer the one compliance approved the published version
    # (else the latest approved one) at: live for no one until compliance approves it again.
    risk_changed: bool = False


class StaffBrochureRow(msgspec.Struct, kw_only=True):
    """A line of the staff's brochure list: the latest version, the published one (`live_state`
    is its state) and the one live now (`live_version`)."""

    id: uuid.UUID
    title: str
    product_code: str
    product_name: str
    risk_level: ProductRisk
    version: int
    status: BrochureStatus
    updated_at: datetime
    submitted_at: datetime | None
    published_version: int | None
    live_state: LiveState | None  # of the published version
    live_from: datetime | None
    live_until: datetime | None
    product_active: bool = True  # false: the product is withdrawn, the brochure live for no one
    # The version in its live window now (what RMs get): the published one, or, while the
    # published one is scheduled, the version it replaces at its start; and when that one stops
    # being live (its `live_until`, or sooner the start of the version replacing it).
    live_version: int | None = None
    live_version_until: datetime | None = None
    # Why compliance withdrew the brochure, while that withdrawal is in force (no approval since).
    withdrawal_reason: str | None = None
    # The product's risk level changed since the approval RMs would get it under (as
    # `StaffBrochure.risk_changed`): live for no one until compliance approves it again.
    risk_changed: bool = False

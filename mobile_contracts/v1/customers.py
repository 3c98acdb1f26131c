"""Customer butler: bank feeds, the RM's customer list and 360° view, notes, verification,
recommendations. Personal data (name, phone, ID number) only ever leaves the server masked."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from mobile_contracts.v1.common import CheckedAmounts, Money
from mobile_contracts.v1.patterns import whole

ExternalId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=256,
        description="1-64 characters once trimmed (a bank system may pad its keys with spaces)",
    ),
]
"""A feed's key as sent: the row trims it, and a row whose key is then not 1-64 characters is
rejected alone (a fixed-width column padded past 64 still names a customer)."""
ProductCode = Annotated[
    str,
    msgspec.Meta(pattern=whole("[A-Za-z0-9._-]{1,40}", says="1 to 40 letters, digits, ., _ and -")),
]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]

FEED_MAX_ROWS = 10_000


class CustomerRisk(enum.StrEnum):
    """The customer's assessed risk tolerance, C1 (most cautious) to C5."""

    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    C4 = "C4"
    C5 = "C5"


class ProductRisk(enum.StrEnum):
    """The product's risk rating, R1 (lowest) to R5."""

    R1 = "R1"
    R2 = "R2"
    R3 = "R3"
    R4 = "R4"
    R5 = "R5"


# ---- bank feeds ------------------------------------------------------------------------------


# Every key of every feed (external ids, product codes, logins) is trimmed before it is used:
# " QA-1 " names the customer QA-1, wherever it is written. The rows trim their keys as they are
# decoded (or made); a key of spaces only is then empty, and its row is rejected.


class CustomerStatus(enum.StrEnum):
    """Whether the customer banks with the bank: `closed`, they left it (all accounts closed)."""

    ACTIVE = "active"
    CLOSED = "closed"


class CustomerFeedRow(CheckedAmounts, kw_only=True):
    """One customer from the bank's core system. Rows are validated one by one.

    `status`: `closed` when the customer left the bank. A closed customer is kept (timeline,
    work orders, reports) but leaves the RM's lists, search, 360° view and devices, and their
    tasks not started are cancelled; sent again as `active` (the default), they are back."""

    external_id: ExternalId
    name: str
    id_number: str
    phone: str
    owner_login: str
    risk_level: str
    segment: str | None = None
    tags: list[str] | None = None
    aum: Money | None = None
    status: CustomerStatus = CustomerStatus.ACTIVE

    def __post_init__(self) -> None:
        super().__post_init__()
        self.external_id, self.owner_login = self.external_id.strip(), self.owner_login.strip()


class CustomerFeed(msgspec.Struct, kw_only=True):
    customers: Annotated[list[CustomerFeedRow], msgspec.Meta(max_length=FEED_MAX_ROWS)]


class HoldingFeedRow(CheckedAmounts, kw_only=True):
    """One position; `amount` 0 is a position closed (sold): it is no longer shown, until a
    later `as_of` brings an amount again."""

    customer_external_id: ExternalId
    product_code: str
    amount: Money
    as_of: date

    def __post_init__(self) -> None:
        super().__post_init__()
        self.customer_external_id = self.customer_external_id.strip()
        self.product_code = self.product_code.strip()


class HoldingFeed(msgspec.Struct, kw_only=True):
    holdings: Annotated[list[HoldingFeedRow], msgspec.Meta(max_length=FEED_MAX_ROWS)]


class ProductFeedRow(CheckedAmounts, kw_only=True):
    code: str
    name: str
    category: str
    risk_level: str
    max_holding: Money | None = None
    active: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.code = self.code.strip()


class ProductFeed(msgspec.Struct, kw_only=True):
    products: Annotated[list[ProductFeedRow], msgspec.Meta(max_length=FEED_MAX_ROWS)]


class RejectedRow(msgspec.Struct, kw_only=True):
    """A feed row that was not applied; the other rows were."""

    index: int
    code: str
    detail: str


class FeedResult(msgspec.Struct, kw_only=True):
    inserted: int
    updated: int
    unchanged: int = 0
    rejected: list[RejectedRow]


# ---- the RM's view ---------------------------------------------------------------------------


class CustomerSummary(msgspec.Struct, kw_only=True):
    """A list row: personal data masked (张*三, 138****1234, 110***********123X)."""

    id: uuid.UUID
    name: str
    phone: str
    id_number: str
    risk_level: CustomerRisk
    segment: str | None
    tags: list[str]
    aum: Decimal
    verified: bool
    owner_id: uuid.UUID


class Holding(msgspec.Struct, kw_only=True):
    product_code: str
    product_name: str
    category: str
    risk_level: ProductRisk
    amount: Decimal
    as_of: date


class TimelineEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Something that happened with the customer (a note, a confirmed visit, an opened share...)."""

    id: uuid.UUID
    occurred_at: datetime
    kind: str
    actor_id: uuid.UUID | None = None
    text: str | None = None
    data: dict[str, Any] = {}


class TimelinePage(msgspec.Struct, kw_only=True):
    items: list[TimelineEntry]
    next_cursor: str | None = None


class Customer360(msgspec.Struct, kw_only=True):
    """The whole customer: masked profile, holdings, score and the newest timeline entries."""

    id: uuid.UUID
    external_id: str
    name: str
    phone: str
    id_number: str
    risk_level: CustomerRisk
    segment: str | None
    tags: list[str]
    aum: Decimal
    verified: bool
    verified_at: datetime | None
    owner_id: uuid.UUID
    intimacy_score: int
    holdings: list[Holding]
    timeline: TimelinePage


class NoteKind(enum.StrEnum):
    VISIT = "visit"
    CALL = "call"
    CHAT = "chat"
    OTHER = "other"


class NoteCreate(msgspec.Struct, kw_only=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    kind: NoteKind
    id: uuid.UUID | None = None  # apps may create the id offline; resending it creates nothing new


class VerificationInvite(msgspec.Struct, kw_only=True):
    """A single-customer link to the real-name verification page."""

    url: str
    expires_at: datetime


# ---- recommendations -------------------------------------------------------------------------


class Recommendation(msgspec.Struct, kw_only=True):
    product_code: str
    name: str
    category: str
    risk_level: ProductRisk
    score: int
    reasons: list[str]


class RuleCondition(CheckedAmounts, kw_only=True, omit_defaults=True):
    """All given conditions must hold for the customer; none given = every customer."""

    segment: str | None = None
    tag: str | None = None
    holds_category: str | None = None
    min_aum: Money | None = None


class RuleTarget(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Which products the rule favours: one product, or a whole category."""

    product_code: str | None = None
    category: str | None = None


class RecommendationRule(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    when: RuleCondition
    recommend: RuleTarget
    weight: Annotated[int, msgspec.Meta(ge=-1000, le=1000)]
    id: uuid.UUID | None = None


class RecommendationRules(msgspec.Struct, kw_only=True):
    """The whole rule table; PUT replaces it."""

    rules: Annotated[list[RecommendationRule], msgspec.Meta(max_length=500)]

"""Conversions fed by the bank's systems, and the share funnels built on them.

A funnel counts shares, and every step is a subset of the one before, so no step is ever above the
one before it and no rate exceeds 100 %:

- `shared`: shares created in the period;
- `opened`: of those, shares with at least one (human) visitor who opened them;
- `engaged`: of the opened, shares where some opener stayed 10 s or more, or clicked;
- `clicked`: of the opened, shares where some opener clicked the call to action (a click is
  engagement too, so clicked <= engaged);
- `converted`: of the clicked, shares with at least one attributed conversion.

Beside the steps, two raw figures: `visitors` (each share's unique human visitors who opened it,
summed over the group's shares: someone who opened two shares counts in both, as in each share's
list entry) and `conversions` (every conversion attributed to the group's shares, clicked or not).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mobile_contracts.v1.common import CheckedAmounts, Money
from mobile_contracts.v1.customers import FEED_MAX_ROWS, ExternalId, RejectedRow

ENGAGED_DWELL_MS = 10_000
"""Dwell from which an opener counts as engaged (10 s)."""

MAX_FUNNEL_ROWS = 500


# ---- the conversions feed --------------------------------------------------------------------


class ConversionKind(enum.StrEnum):
    """What the customer did: bought the product, or asked the bank about it."""

    PURCHASE = "purchase"
    CONSULT = "consult"


class ConversionFeedRow(CheckedAmounts, kw_only=True):
    """One conversion from a bank system. Rows are validated one by one."""

    external_id: (
        Annotated[
            ExternalId,
            msgspec.Meta(
                description="Optional: the bank system's own id of this conversion (1-64 "
                "characters once trimmed); resending it changes nothing. Without it the id is "
                "derived from what identifies the conversion: `auto:` and the first 59 hex "
                "digits of the SHA-256 of the compact UTF-8 JSON array [customer_external_id, "
                "product_code, kind, amount with 2 decimals or null, occurred_at in UTC "
                "microseconds since 1970] (keys trimmed), so the same row resent is `unchanged` "
                "and one differing in amount or occurred_at is another conversion"
            ),
        ]
        | None
    ) = None
    customer_external_id: ExternalId
    product_code: str
    kind: Annotated[str, msgspec.Meta(description="`purchase` or `consult`")]
    amount: Money | None = None
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]

    def __post_init__(self) -> None:
        super().__post_init__()
        # Keys are trimmed, as in every feed (mobile_contracts.v1.customers).
        if self.external_id is not None:
            self.external_id = self.external_id.strip()
        self.customer_external_id = self.customer_external_id.strip()
        self.product_code = self.product_code.strip()


class ConversionFeed(msgspec.Struct, kw_only=True):
    conversions: Annotated[list[ConversionFeedRow], msgspec.Meta(max_length=FEED_MAX_ROWS)]


class ConversionFeedResult(msgspec.Struct, kw_only=True):
    """What a conversions feed did: rows stored (and how many of them were attributed to a
    share), rows already stored under the same `external_id`, given or derived (left as they
    were), rows rejected."""

    inserted: int
    attributed: int
    unchanged: int
    rejected: list[RejectedRow]


# ---- funnels ---------------------------------------------------------------------------------


class FunnelGroupBy(enum.StrEnum):
    """What a funnel row is: one RM, one org unit (the sharer's unit when sharing), one unit
    directly below the funnel's unit (`sub_unit`: `org_unit_id`, else the caller's own unit or
    the bank; the bank's branches for marketing, a branch's teams for its head; the sharer's
    unit counts in the row of the one it lies under, a share made at the funnel's unit itself
    in that unit's own row) or one brochure."""

    RM = "rm"
    ORG_UNIT = "org_unit"
    SUB_UNIT = "sub_unit"
    BROCHURE = "brochure"


class FunnelCounts(msgspec.Struct, kw_only=True):
    """The steps (counted in shares, each a subset of the one before) and the raw figures."""

    shared: int
    opened: int
    engaged: int
    clicked: int
    converted: int
    visitors: int
    conversions: int


class FunnelRow(FunnelCounts, kw_only=True):
    """One group: `key` is the RM's, the org unit's or the brochure's id; `label` its name (the
    RM's name, the unit's name, the brochure's current title)."""

    key: uuid.UUID
    label: str


class Funnel(msgspec.Struct, kw_only=True):
    """Funnel rows over the shares created in [from, to), most shares first."""

    group_by: FunnelGroupBy
    org_unit_id: uuid.UUID | None
    from_: datetime = msgspec.field(name="from")
    to: datetime
    rows: list[FunnelRow]
    total_groups: int
    total: FunnelCounts
    next_cursor: Annotated[
        str | None,
        msgspec.Meta(
            description="Pass back as `cursor` for the rows after these (null: no more rows)"
        ),
    ] = None

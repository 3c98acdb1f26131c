"""The conversions feed: bank systems report purchases and consultations; each new one is
attributed to the last share of its product to its customer within the attribution window.

Idempotent by the bank's `external_id`, or for a row sent without one (as API.md has it) by an
id derived from what identifies the conversion (`derived_external_id`): a conversion already
stored is left exactly as it was (its attribution too), however often it is resent, even by two
feeds at once (the unique key makes the second insert wait for the first and then do nothing).
Rows are checked one by one: a bad row is reported with its index and reason and the good rows
land.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import msgspec

from mobile_contracts.v1 import funnels as wire
from mobile_contracts.v1.common import MONEY_SCALE
from mobile_contracts.v1.customers import RejectedRow
from workbench.customers import queries as customer_queries
from workbench.db import Connection
from workbench.funnels import queries
from workbench.ids import uuid7
from workbench.nul import NUL_CODE, NUL_MESSAGE, rows_with_nul
from workbench.periods import YEARS, within_years

_KINDS = frozenset(kind.value for kind in wire.ConversionKind)

DERIVED_PREFIX = "auto:"
"""Starts every derived external id; the rest is 59 hex digits, so the id fills the column's 64
characters and no bank's own id matches one unless it copied it (a SHA-256 preimage else)."""

_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


def derived_external_id(row: wire.ConversionFeedRow) -> str:
    """The id of a conversion sent without `external_id`: `auto:` and the first 59 hex digits of
    the SHA-256 of the compact JSON array [customer_external_id, product_code, kind, amount with
    2 decimals or null, occurred_at in UTC microseconds since 1970] (keys trimmed), so resending
    the row finds it and a row differing in any of them is another conversion."""
    # Counted in timedeltas, which cannot overflow as an aware datetime near year 1 or 9999 can
    # (such a row is rejected afterwards, still by its index).
    at = row.occurred_at
    micros = (at.replace(tzinfo=None) - _EPOCH - (at.utcoffset() or timedelta())) // _MICROSECOND
    # The row holds the amount as stored (rounded to 2 places); -0.00 is 0.00.
    amount = None if row.amount is None else f"{row.amount or Decimal(0):.{MONEY_SCALE}f}"
    key = msgspec.json.encode(
        [row.customer_external_id, row.product_code, row.kind, amount, micros]
    )
    return DERIVED_PREFIX + hashlib.sha256(key).hexdigest()[: 64 - len(DERIVED_PREFIX)]


async def record_conversions(
    conn: Connection,
    *,
    rows: Sequence[wire.ConversionFeedRow],
    window_days: int,
    nul_rows: Mapping[int, str] | None = None,
) -> wire.ConversionFeedResult:
    """Store the new conversions of a feed with their attribution; report the rest."""
    rejected: list[RejectedRow] = []
    unstorable = rows_with_nul(rows, nul_rows, path="$.conversions")
    storable = [row for index, row in enumerate(rows) if index not in unstorable]
    customers = await customer_queries.customer_ids_by_external_id(
        conn, sorted({r.customer_external_id for r in storable})
    )
    products = await customer_queries.products_by_code(
        conn, sorted({r.product_code for r in storable})
    )
    columns = queries.ConversionColumns([], [], [], [], [], [], [])
    seen: set[str] = set()
    for index, row in enumerate(rows):
        external_id = ""
        if where := unstorable.get(index):
            problem: tuple[str, str] | None = (NUL_CODE, f"{where}: {NUL_MESSAGE}")
        else:
            external_id = derived_external_id(row) if row.external_id is None else row.external_id
            problem = _problem(row, external_id, customers=customers, products=products, seen=seen)
        if problem:
            rejected.append(RejectedRow(index=index, code=problem[0], detail=problem[1]))
            continue
        seen.add(external_id)
        columns.ids.append(uuid7())
        columns.external_ids.append(external_id)
        columns.customer_ids.append(customers[row.customer_external_id])
        columns.product_codes.append(row.product_code)
        columns.kinds.append(row.kind)
        columns.amounts.append(row.amount)
        columns.occurred_ats.append(row.occurred_at)
    # Inserted in external id order: two feeds holding the same conversions in other orders
    # wait on each other's unique key one way round, never both ways (a deadlock).
    columns = queries.ConversionColumns.sorted_by_external_id(columns)
    stored = (
        await queries.insert_conversions(conn, columns, window_days=window_days)
        if columns.ids
        else []
    )
    return wire.ConversionFeedResult(
        inserted=len(stored),
        attributed=sum(1 for r in stored if r["share_id"] is not None),
        unchanged=len(columns.ids) - len(stored),
        rejected=rejected,
    )


def _problem(
    row: wire.ConversionFeedRow,
    external_id: str,
    *,
    customers: Mapping[str, object],
    products: set[str],
    seen: set[str],
) -> tuple[str, str] | None:
    # Keys come trimmed (the row trims them as it is decoded): one of spaces only is empty now.
    if not 1 <= len(external_id) <= 64:
        return "conversion.bad_external_id", "external_id must have 1 to 64 characters"
    if external_id in seen:
        if row.external_id is None:
            return "conversion.duplicate_in_feed", (
                "The same conversion (customer, product, kind, amount, occurred_at) came earlier"
                " in the same feed"
            )
        return "conversion.duplicate_in_feed", "This external_id came earlier in the same feed"
    if row.customer_external_id not in customers:
        return "conversion.unknown_customer", "no customer with that external id"
    if row.product_code not in products:
        return "conversion.unknown_product", "no product with that code"
    if row.kind not in _KINDS:
        return "conversion.bad_kind", "kind must be purchase or consult"
    if row.amount is not None and row.amount < 0:
        return "conversion.bad_amount", "amount must not be negative"
    if not within_years(row.occurred_at):
        return "conversion.bad_occurred_at", f"occurred_at lies in the years {YEARS[0]}-{YEARS[1]}"
    return None

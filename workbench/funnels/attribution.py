"""The conversions feed: bank systems report purchases and consultations; each new one is
attributed to the last share of its product to its customer within the attribution window.

Idempotent by the bank's `external_id`: a conversion already stored is left exactly as it was
(its attribution too), however often it is resent, even by two feeds at once (the unique key
makes the second insert wait for the first and then do nothing). Rows are checked one by one:
a bad row is reported with its index and reason and the good rows land.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mobile_contracts.v1 import funnels as wire
from mobile_contracts.v1.customers import RejectedRow
from workbench.customers import queries as customer_queries
from workbench.db import Connection
from workbench.funnels import queries
from workbench.ids import uuid7
from workbench.nul import NUL_CODE, NUL_MESSAGE, rows_with_nul
from workbench.periods import YEARS, within_years

_KINDS = frozenset(kind.value for kind in wire.ConversionKind)


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
        if where := unstorable.get(index):
            problem: tuple[str, str] | None = (NUL_CODE, f"{where}: {NUL_MESSAGE}")
        else:
            problem = _problem(row, customers=customers, products=products, seen=seen)
        if problem:
            rejected.append(RejectedRow(index=index, code=problem[0], detail=problem[1]))
            continue
        seen.add(row.external_id)
        columns.ids.append(uuid7())
        columns.external_ids.append(row.external_id)
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
    *,
    customers: Mapping[str, object],
    products: set[str],
    seen: set[str],
) -> tuple[str, str] | None:
    # Keys come trimmed (the row trims them as it is decoded): one of spaces only is empty now.
    if not 1 <= len(row.external_id) <= 64:
        return "conversion.bad_external_id", "external_id must have 1 to 64 characters"
    if row.external_id in seen:
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

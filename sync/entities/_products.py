"""Entities: the product catalogue (the same for everyone), read by code and in code order."""

from __future__ import annotations

from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1.customers import ProductRisk
from sync import queries
from sync.entities._common import Page, Partition, Rows, _by_key
from workbench.db import Connection


def _product(r: queries.Record) -> wire.SyncProduct:
    risk = ProductRisk(f"R{r['risk_level']}")
    return wire.SyncProduct(
        code=r["code"], name=r["name"], category=r["category"], risk_level=risk, active=r["active"]
    )


def _products(rows: list[queries.Record]) -> Rows:
    return [(r["code"], _product(r)) for r in rows]


async def _products_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    return _products(await queries.products(conn, codes=keys))


async def _products_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    rows = await queries.products(conn, after=after[0] if after else None, limit=limit)
    return _by_key(_products(rows), limit)

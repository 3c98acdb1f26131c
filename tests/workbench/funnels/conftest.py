"""Funnels and conversions: the demo bank, products, customers and brochures written directly, and
shares, visitors and conversions as the share and tracking features would leave them."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from workbench.ids import uuid7

CONVERSIONS = "/api/v1/integration/conversions"
FUNNELS = "/api/v1/funnels"
PRODUCTS = ("WM90", "TECH01")
_codes = itertools.count(1)


async def add_customer(db: Any, external_id: str, *, owner: str = "rm01") -> uuid.UUID:
    customer_id = uuid7()
    await db.execute(
        """insert into customers (id, external_id, owner_id, name_enc, id_number_enc, phone_enc,
                                  name_bidx, surname_bidx, id_number_bidx, phone_bidx, risk_level)
           values ($1, $2, $3, 'x', 'x', 'x', $4, 'x', 'x', 'x', 3)""",
        customer_id,
        external_id,
        user(owner),
        external_id.encode(),
    )
    return customer_id


async def add_brochure(
    db: Any, title: str, *, product: str = "WM90", new_title: str | None = None
) -> uuid.UUID:
    """A published brochure; with `new_title`, also a newer version under review."""
    brochure_id = uuid7()
    await db.execute(
        "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
        brochure_id,
        unit("head-office"),
        user("marketing"),
    )
    versions = [(1, title, "published")] + ([(2, new_title, "pending_review")] if new_title else [])
    for version, name, status in versions:
        digest = hashlib.sha256(f"{brochure_id}{version}".encode()).digest()
        await db.execute(
            """insert into brochure_versions (brochure_id, version, title, product_code, pages,
                                              content_hash, status, approved_hash, created_by)
               values ($1, $2, $3, $4, array['\\x01'::bytea], $5, $6, $7, $8)""",
            brochure_id,
            version,
            name,
            product,
            digest,
            status,
            digest if status == "published" else None,
            user("marketing"),
        )
    return brochure_id


async def add_share(
    db: Any,
    *,
    rm: str,
    brochure: uuid.UUID,
    created_at: datetime,
    customer: uuid.UUID | None = None,
    product: str = "WM90",
    unit_key: str | None = None,
) -> uuid.UUID:
    """A share by `rm` made from their unit (or `unit_key`) at `created_at`."""
    share_id = uuid7()
    await db.execute(
        """insert into shares (id, code, brochure_id, brochure_version, product_code, customer_id,
                               rm_id, org_unit_id, channel, created_at)
           values ($1, $2, $3, 1, $4, $5, $6,
                   coalesce($7, (select org_unit_id from users where id = $6)), 'wechat', $8)""",
        share_id,
        f"code{next(_codes):06d}",
        brochure,
        product,
        customer,
        user(rm),
        unit(unit_key) if unit_key else None,
        created_at,
    )
    return share_id


async def add_visitor(
    db: Any,
    share_id: uuid.UUID,
    visitor_id: str,
    *,
    opened: bool = True,
    dwell_ms: int = 0,
    clicked: bool = False,
    at: datetime,
) -> None:
    await db.execute(
        """insert into share_visitors (share_id, visitor_id, first_open_at, last_hit_at, dwell_ms,
                                       clicked_at)
           values ($1, $2, $3, $4, $5, $6)""",
        share_id,
        visitor_id,
        at if opened else None,
        at,
        dwell_ms,
        at if clicked else None,
    )


@dataclass
class Bank:
    client: Any
    db: Any
    headers: dict[str, dict[str, str]]

    async def who(self, login: str) -> dict[str, str]:
        if login not in self.headers:
            self.headers[login] = await headers_of(self.client, login)
        return self.headers[login]

    async def convert(self, *rows: dict[str, Any], status: int = 200) -> Any:
        response = await self.client.post(
            CONVERSIONS, json={"conversions": list(rows)}, headers=await self.who("admin")
        )
        assert response.status_code == status, response.text
        return response.json()

    async def funnel(self, login: str, status: int = 200, **params: Any) -> Any:
        response = await self.client.get(FUNNELS, params=params, headers=await self.who(login))
        assert response.status_code == status, response.text
        return response.json()


def conversion(
    external_id: str,
    customer: str,
    occurred_at: datetime,
    *,
    product: str = "WM90",
    kind: str = "purchase",
    amount: str | None = "10000.00",
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "external_id": external_id,
        "customer_external_id": customer,
        "product_code": product,
        "kind": kind,
        "occurred_at": occurred_at.isoformat(),
    }
    if amount is not None:
        row["amount"] = amount
    return row


@pytest.fixture
async def bank(make_client: Any, db: Any, demo_bank: Any) -> Bank:
    for code in PRODUCTS:
        await db.execute(
            "insert into products (code, name, category, risk_level) values ($1, $2, 'fund', 2)",
            code,
            f"Product {code}",
        )
    return Bank(client=await make_client(), db=db, headers={})

"""Builders for customer-butler tests: valid ID numbers and phones, feed rows, feed calls."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers import bearer, login
from workbench.customers.personal_data import id_check_digit

FEEDS = "/api/v1/integration"
CUSTOMERS = "/api/v1/customers"


def id_number(seq: int, *, region: str = "110101", birth: date | None = None) -> str:
    """A valid 18-character resident ID number, distinct for every `seq` (0 <= seq)."""
    born = birth or date(1960, 1, 1) + timedelta(days=seq // 1000)
    first17 = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_check_digit(first17)


def id_number_ending_in_x(start: int = 0, *, region: str = "110101") -> str:
    """A valid ID number whose check character is X."""
    seq = start
    while not (value := id_number(seq, region=region)).endswith("X"):
        seq += 1
    return value


def with_wrong_check_digit(value: str) -> str:
    """The same ID number with a check character that does not match its 17 digits."""
    wrong = next(c for c in "0123456789X" if c != value[17])
    return value[:17] + wrong


def phone(seq: int, *, prefix: str = "13") -> str:
    """A valid 11-digit mainland mobile number, distinct for every `seq` < 10**9."""
    return f"{prefix}{seq:09d}"


def customer_row(
    external_id: str,
    *,
    name: str,
    owner: str = "rm01",
    id_no: str | None = None,
    mobile: str | None = None,
    seq: int = 0,
    risk_level: str = "C3",
    segment: str | None = None,
    tags: list[str] | None = None,
    aum: str | int | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "external_id": external_id,
        "name": name,
        "id_number": id_no or id_number(seq),
        "phone": mobile or phone(seq),
        "owner_login": owner,
        "risk_level": risk_level,
    }
    if segment is not None:
        row["segment"] = segment
    if tags is not None:
        row["tags"] = tags
    if aum is not None:
        row["aum"] = str(aum)
    return row


def product_row(
    code: str,
    *,
    name: str | None = None,
    category: str = "fund",
    risk_level: str = "R2",
    max_holding: str | int | None = None,
    active: bool = True,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "code": code,
        "name": name or f"Product {code}",
        "category": category,
        "risk_level": risk_level,
        "active": active,
    }
    if max_holding is not None:
        row["max_holding"] = str(max_holding)
    return row


def holding_row(
    customer_external_id: str, product_code: str, amount: str | int, as_of: date | str
) -> dict[str, Any]:
    return {
        "customer_external_id": customer_external_id,
        "product_code": product_code,
        "amount": str(amount),
        "as_of": str(as_of),
    }


async def headers_of(
    client: AsyncTestClient[Litestar], who: str, device_no: int | str | None = None
) -> dict[str, str]:
    """Sign in (on a device of the user's own, unless told) and give the auth header."""
    return bearer(await login(client, who, device_no=who if device_no is None else device_no))


async def feed(
    client: AsyncTestClient[Litestar],
    headers: dict[str, str],
    kind: str,
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """Send a feed ('customers', 'holdings', 'products'); asserts 200, returns the result."""
    response = await client.post(f"{FEEDS}/{kind}:bulk-upsert", json={kind: rows}, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def customer_ids(db: Any, external_ids: list[str] | None = None) -> dict[str, uuid.UUID]:
    """external_id -> id of the stored customers (all of them when no ids are given)."""
    rows = await db.fetch(
        "select external_id, id from customers where $1::text[] is null or external_id = any($1)",
        external_ids,
    )
    return {r["external_id"]: r["id"] for r in rows}

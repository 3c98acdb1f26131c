"""The conversions feed in API.md's form, without `external_id`: accepted, attributed as before,
and idempotent by the id derived from what identifies the conversion; rows with an id unchanged."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.workbench.funnels.conftest import (
    Bank,
    add_brochure,
    add_customer,
    add_share,
    add_visitor,
)

NOW = datetime.now(UTC).replace(microsecond=123456)


def contract_row(
    *, amount: str | None = "5000.00", occurred_at: datetime = NOW, **changes: Any
) -> dict[str, Any]:
    """A row exactly as API.md spells it: no external_id."""
    row: dict[str, Any] = {
        "customer_external_id": "QA-C-1",
        "product_code": "BOND01",
        "kind": "purchase",
        "occurred_at": occurred_at.isoformat(),
        **changes,
    }
    if amount is not None:
        row["amount"] = amount
    return row


def documented_id(customer: str, product: str, kind: str, amount: str | None, at: datetime) -> str:
    """The derived id as README's "Conversions and funnels in short" spells it out."""
    micros = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    key = json.dumps(
        [customer, product, kind, amount, micros], separators=(",", ":"), ensure_ascii=False
    )
    return "auto:" + hashlib.sha256(key.encode()).hexdigest()[:59]


@dataclass
class Bond(Bank):
    last_share: uuid.UUID | None = None


@pytest.fixture
async def bond(bank):
    """QA-C-1 was shared BOND01 twice; the last share (a day ago) was clicked."""
    bank = Bond(client=bank.client, db=bank.db, headers=bank.headers)
    db = bank.db
    await db.execute(
        "insert into products (code, name, category, risk_level)"
        " values ('BOND01', 'Bond', 'bond', 2)"
    )
    customer = await add_customer(db, "QA-C-1")
    brochure = await add_brochure(db, "债券精选", product="BOND01")
    shared = {"rm": "rm01", "brochure": brochure, "customer": customer, "product": "BOND01"}
    await add_share(db, **shared, created_at=NOW - timedelta(days=2))
    bank.last_share = await add_share(db, **shared, created_at=NOW - timedelta(days=1))
    await add_visitor(db, bank.last_share, "v1", clicked=True, at=NOW - timedelta(days=1))
    return bank


async def stored(bank) -> list[Any]:
    return await bank.db.fetch(
        "select external_id, amount, occurred_at, share_id from conversions order by occurred_at,"
        " amount"
    )


async def funnel_total(bank) -> tuple[int, int]:
    total = (await bank.funnel("admin", group_by="brochure"))["total"]
    return total["converted"], total["conversions"]


async def test_the_contract_form_is_accepted_and_attributed_to_the_last_share(bond):
    result = await bond.convert(contract_row())

    assert result == {"inserted": 1, "attributed": 1, "unchanged": 0, "rejected": []}
    [row] = await stored(bond)
    assert row["share_id"] == bond.last_share
    assert row["external_id"] == documented_id("QA-C-1", "BOND01", "purchase", "5000.00", NOW)
    assert await funnel_total(bond) == (1, 1)


async def test_sent_again_it_is_unchanged_however_it_is_spelt(bond):
    await bond.convert(contract_row())
    before = await stored(bond)

    again = await bond.convert(contract_row())
    # The same conversion: another offset for the same instant, the amount unpadded, keys padded.
    shanghai = NOW.astimezone(timezone(timedelta(hours=8)))
    respelt = await bond.convert(
        contract_row(amount="5000", occurred_at=shanghai, customer_external_id=" QA-C-1 ")
    )

    unchanged = {"inserted": 0, "attributed": 0, "unchanged": 1, "rejected": []}
    assert again == respelt == unchanged
    assert await stored(bond) == before
    assert await funnel_total(bond) == (1, 1)


async def test_a_row_differing_in_amount_or_time_is_another_conversion(bond):
    await bond.convert(contract_row())

    result = await bond.convert(
        contract_row(amount="5000.01"),
        contract_row(occurred_at=NOW + timedelta(microseconds=1)),
        contract_row(amount=None),
        contract_row(kind="consult"),
    )

    assert result == {"inserted": 4, "attributed": 4, "unchanged": 0, "rejected": []}
    rows = await stored(bond)
    assert len({r["external_id"] for r in rows}) == len(rows) == 5
    assert {r["share_id"] for r in rows} == {bond.last_share}
    assert await funnel_total(bond) == (1, 5)  # one converted share, five conversions


async def test_the_same_row_twice_in_one_feed_and_bad_rows_are_rejected_one_by_one(bond):
    result = await bond.convert(
        contract_row(),
        contract_row(amount="5000.0"),
        contract_row(customer_external_id="NOBODY"),
        contract_row(occurred_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8)))),
        contract_row(occurred_at=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-8)))),
    )

    assert (result["inserted"], result["unchanged"]) == (1, 0)
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (1, "conversion.duplicate_in_feed"),
        (2, "conversion.unknown_customer"),
        (3, "conversion.bad_occurred_at"),
        (4, "conversion.bad_occurred_at"),
    ]
    assert len(await stored(bond)) == 1


async def test_a_row_with_an_external_id_behaves_as_before(bond):
    given = {**contract_row(), "external_id": "  CRM-77 "}

    first = await bond.convert(given, {**contract_row(), "external_id": "CRM-77"},
                               {**contract_row(), "external_id": "   "})  # fmt: skip
    again = await bond.convert({**given, "amount": "1.00", "kind": "consult"})

    assert (first["inserted"], first["attributed"], first["unchanged"]) == (1, 1, 0)
    assert first["rejected"] == [
        {"index": 1, "code": "conversion.duplicate_in_feed",
         "detail": "This external_id came earlier in the same feed"},
        {"index": 2, "code": "conversion.bad_external_id",
         "detail": "external_id must have 1 to 64 characters"},
    ]  # fmt: skip
    assert again == {"inserted": 0, "attributed": 0, "unchanged": 1, "rejected": []}
    [row] = await stored(bond)
    assert (row["external_id"], str(row["amount"]), row["share_id"]) == (
        "CRM-77",
        "5000.00",
        bond.last_share,
    )

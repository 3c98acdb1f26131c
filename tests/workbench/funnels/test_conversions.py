"""The conversions feed: attribution to the last share within the window, idempotency, and the
rows it rejects one by one or the bodies it refuses whole."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec

from mobile_contracts.v1.funnels import ConversionFeedRow
from tests.workbench.funnels.conftest import (
    CONVERSIONS,
    add_brochure,
    add_customer,
    add_share,
    conversion,
)
from workbench.funnels.attribution import record_conversions

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


async def attributed_to(db, external_id):
    return await db.fetchval("select share_id from conversions where external_id = $1", external_id)


async def test_the_last_share_of_the_product_to_the_customer_wins(bank):
    db = bank.db
    c1 = await add_customer(db, "C1")
    await add_customer(db, "C2")
    wm, tech = await add_brochure(db, "稳享90天"), await add_brochure(db, "科技", product="TECH01")
    older = await add_share(db, rm="rm01", brochure=wm, customer=c1, created_at=T0 - timedelta(5))
    last = await add_share(db, rm="rm02", brochure=wm, customer=c1, created_at=T0 - timedelta(1))
    # Later than the conversion, another product, or to nobody: never the one.
    await add_share(db, rm="rm01", brochure=wm, customer=c1, created_at=T0 + timedelta(hours=1))
    await add_share(db, rm="rm01", brochure=tech, customer=c1, product="TECH01",
                    created_at=T0 - timedelta(hours=1))  # fmt: skip
    await add_share(db, rm="rm01", brochure=wm, created_at=T0 - timedelta(hours=1))

    result = await bank.convert(
        conversion("B-1", "C1", T0),
        conversion("B-2", "C2", T0),  # a customer never shared with
        conversion("B-3", "C1", T0, product="TECH01", kind="consult", amount=None),
    )

    assert result == {"inserted": 3, "attributed": 2, "unchanged": 0, "rejected": []}
    assert await attributed_to(db, "B-1") == last != older
    assert await attributed_to(db, "B-2") is None
    tech_share = await attributed_to(db, "B-3")
    assert (
        await db.fetchval("select product_code from shares where id = $1", tech_share) == "TECH01"
    )


async def test_the_window_is_30_days_back_from_the_conversion(bank):
    db = bank.db
    c1, c2 = await add_customer(db, "C1"), await add_customer(db, "C2")
    wm = await add_brochure(db, "稳享90天")
    edge = await add_share(db, rm="rm01", brochure=wm, customer=c1, created_at=T0 - timedelta(30))
    await add_share(db, rm="rm01", brochure=wm, customer=c2,
                    created_at=T0 - timedelta(days=30, seconds=1))  # fmt: skip

    result = await bank.convert(conversion("IN", "C1", T0), conversion("OUT", "C2", T0))

    assert result["attributed"] == 1
    assert await attributed_to(db, "IN") == edge
    assert await attributed_to(db, "OUT") is None


async def test_the_window_follows_the_setting(bank, make_client):
    db = bank.db
    c1 = await add_customer(db, "C1")
    wm = await add_brochure(db, "稳享90天")
    await add_share(db, rm="rm01", brochure=wm, customer=c1, created_at=T0 - timedelta(days=8))
    bank.client = await make_client(attribution_window_days=7)
    bank.headers.clear()

    result = await bank.convert(conversion("B-1", "C1", T0))

    assert (result["inserted"], result["attributed"]) == (1, 0)


async def test_resending_changes_nothing_even_after_a_newer_share(bank):
    db = bank.db
    c1 = await add_customer(db, "C1")
    wm = await add_brochure(db, "稳享90天")
    first = await add_share(db, rm="rm01", brochure=wm, customer=c1, created_at=T0 - timedelta(2))
    assert (await bank.convert(conversion("B-1", "C1", T0)))["attributed"] == 1
    await add_share(db, rm="rm02", brochure=wm, customer=c1, created_at=T0 - timedelta(1))
    before = await db.fetchrow("select * from conversions where external_id = 'B-1'")

    again = await bank.convert(conversion("B-1", "C1", T0, amount="99.00", kind="consult"))

    assert again == {"inserted": 0, "attributed": 0, "unchanged": 1, "rejected": []}
    assert await db.fetchrow("select * from conversions where external_id = 'B-1'") == before
    assert before["share_id"] == first


async def test_two_feeds_sending_the_same_conversions_at_once_store_them_once(bank, settings):
    """The second feed waits on the first one's uncommitted rows, then finds them stored."""
    await add_customer(bank.db, "C1")
    rows = [
        msgspec.convert(conversion(f"B-{n:02d}", "C1", T0), ConversionFeedRow, strict=False)
        for n in range(50)
    ]
    first = await asyncpg.connect(settings.database_url)
    second = await asyncpg.connect(settings.database_url)
    try:
        async with first.transaction():
            done = await record_conversions(first, rows=rows, window_days=30)
            resend = asyncio.ensure_future(_in_transaction(second, rows[::-1]))
            await asyncio.sleep(0.3)
            assert not resend.done()  # waiting on the first feed's rows, not counting them
        again = await asyncio.wait_for(resend, 10)
    finally:
        await first.close()
        await second.close()

    assert (done.inserted, done.unchanged) == (50, 0)
    assert (again.inserted, again.unchanged) == (0, 50)
    assert await bank.db.fetchval("select count(*) from conversions") == 50


async def _in_transaction(conn, rows):
    async with conn.transaction():
        return await record_conversions(conn, rows=rows, window_days=30)


async def test_bad_rows_are_rejected_one_by_one_and_the_good_ones_land(bank):
    await add_customer(bank.db, "C1")
    rows = [
        conversion("OK-1", "C1", T0),
        conversion("BAD-1", "NOBODY", T0),
        conversion("BAD-2", "C1", T0, product="NOPE"),
        conversion("BAD-3", "C1", T0, kind="refund"),
        conversion("BAD-4", "C1", T0, amount="-1"),
        conversion("OK-1", "C1", T0),
        conversion("BAD-5", "C1\x00", T0),
        conversion("OK-2", "C1", T0, amount="0"),
        {**conversion("BAD-6", "C1", T0), "occurred_at": "0001-01-01T00:00:00+08:00"},
    ]

    result = await bank.convert(*rows)

    assert (result["inserted"], result["unchanged"]) == (2, 0)
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (1, "conversion.unknown_customer"),
        (2, "conversion.unknown_product"),
        (3, "conversion.bad_kind"),
        (4, "conversion.bad_amount"),
        (5, "conversion.duplicate_in_feed"),
        (6, "request.nul_character"),
        (8, "conversion.bad_occurred_at"),
    ]
    stored = await bank.db.fetch("select external_id, amount from conversions order by 1")
    assert [(r["external_id"], str(r["amount"])) for r in stored] == [
        ("OK-1", "10000.00"),
        ("OK-2", "0.00"),
    ]


async def test_rows_no_column_could_hold_are_rejected_alone(bank):
    await add_customer(bank.db, "C1")
    ok = conversion("B-1", "C1", T0)
    bad = [
        ({**ok, "amount": "1e400"}, "$.amount"),
        ({**ok, "amount": "1" * 19}, "$.amount"),
        ({**ok, "occurred_at": None}, "$.occurred_at"),
        ({**ok, "occurred_at": "2026-11-20T10:00:00"}, "$.occurred_at"),  # no offset
        ({**ok, "external_id": "x" * 257}, "$.external_id"),
    ]
    result = await bank.convert(*(row for row, _ in bad), ok)
    assert result["inserted"] == 1
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (index, "row.invalid") for index in range(len(bad))
    ]
    for (_, path), rejected in zip(bad, result["rejected"], strict=True):
        assert rejected["detail"].startswith(f"{path}: "), rejected
    assert await bank.db.fetchval("select external_id from conversions") == "B-1"


async def test_bodies_that_are_no_feed_are_refused_whole(bank):
    await add_customer(bank.db, "C1")
    ok = conversion("B-1", "C1", T0)
    for body in [{"conversions": None}, {"conversions": [ok], "note\x00": 1}, [ok]]:
        response = await bank.client.post(CONVERSIONS, json=body, headers=await bank.who("admin"))
        assert response.status_code == 422, (body, response.text)
    assert await bank.db.fetchval("select count(*) from conversions") == 0


async def test_only_admins_feed_conversions(bank):
    await add_customer(bank.db, "C1")
    for login in ("rm01", "bh.east", "marketing"):
        response = await bank.client.post(
            CONVERSIONS,
            json={"conversions": [conversion("B-1", "C1", T0)]},
            headers=await bank.who(login),
        )
        assert response.status_code == 403
    assert await bank.db.fetchval("select count(*) from conversions") == 0

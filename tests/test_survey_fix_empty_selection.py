"""A delivery to a unit's customers that reaches nobody when it is asked (a tag no customer of
the subtree has: a typo, or a unit without customers) is refused as the console's send form
refuses it, 422 `survey.wrong_recipients` naming the tag and the unit, and nothing is kept;
before, it was accepted (202) and ended `done` with total 0, sent to no one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish, unit

pytestmark = pytest.mark.usefixtures("demo_bank")


async def _kept(db: Any) -> int:
    return int(await db.fetchval("select count(*) from survey_deliveries"))


async def test_a_tag_no_customer_of_the_unit_has_is_refused_naming_tag_and_unit(
    client: Any, db: Any
) -> None:
    survey = await publish(db)
    await add_customers(db, 2, owner="rm01", prefix="V", tags=["vip"])
    east = unit("branch-east")
    name = await db.fetchval("select name from org_units where id = $1", east)
    bh = await headers_of(client, "bh.east")
    deliveries = f"{SURVEYS}/{survey}/deliveries"

    for headers in (bh, {**bh, "Idempotency-Key": "typo-1"}):
        refused = await client.post(deliveries, json={"org_unit_id": str(east), "tag": " vipp "},
                                    headers=headers)  # fmt: skip
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["code"] == "survey.wrong_recipients"
        assert "'vipp'" in problem["detail"]
        assert name in problem["detail"]
        assert [e["path"] for e in problem["errors"]] == ["$.tag"]
    assert await _kept(db) == 0

    # The tag the customers have goes out, to them, as before.
    sent = await client.post(deliveries, json={"org_unit_id": str(east), "tag": "vip"}, headers=bh)
    assert sent.status_code == 202, sent.text
    assert await _kept(db) == 1


async def test_a_unit_without_customers_is_refused(client: Any, db: Any) -> None:
    survey = await publish(db)
    await add_customers(db, 1, owner="rm01", prefix="E")  # East; nobody in the West
    west = unit("branch-west")
    name = await db.fetchval("select name from org_units where id = $1", west)
    refused = await client.post(f"{SURVEYS}/{survey}/deliveries", json={"org_unit_id": str(west)},
                                headers=await headers_of(client, "admin"))  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "survey.wrong_recipients"
    assert name in refused.json()["detail"]
    assert await _kept(db) == 0

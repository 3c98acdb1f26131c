"""A delivery to a unit's customers by tag reads the tag as the customer list's `?tag=` filter
does: trimmed (spaces of any width), and a blank one is no tag. A delivery with " VIP " reached
nobody (no customer's tag has spaces) while the list showed the VIP customers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.customers_data import CUSTOMERS, headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish, unit
from workbench.db import Pool, create_pool
from workbench.surveys import delivery, delivery_jobs

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=4)
    yield made
    await made.close()


async def _listed(client: Any, headers: dict[str, str], tag: str) -> set[uuid.UUID]:
    page = await client.get(CUSTOMERS, params={"tag": tag, "limit": 200}, headers=headers)
    assert page.status_code == 200, page.text
    return {uuid.UUID(c["id"]) for c in page.json()["items"]}


@pytest.mark.parametrize("tag", [" VIP ", "VIP ", "\u3000VIP", " ", "\u3000"])
async def test_a_delivery_by_tag_reaches_the_customers_the_list_shows_for_it(
    client, db, settings, pool, tag
):
    survey = await publish(db)
    vip = await add_customers(db, 3, owner="rm01", prefix="V", tags=["VIP"])
    others = await add_customers(db, 2, owner="rm02", prefix="N", tags=["wechat"])
    bh = await headers_of(client, "bh.east")
    listed = await _listed(client, bh, tag)
    assert listed == (set(vip) if tag.strip() else set(vip + others))

    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"org_unit_id": str(unit("team-east-1")), "tag": tag},
                             headers=bh)  # fmt: skip
    assert made.status_code == 202, made.text
    rules = delivery.Rules.from_settings(settings)
    await delivery_jobs.deliver_surveys(
        {"pool": pool, "settings": settings, "survey_rules": rules, "survey_chunk": 1000}
    )
    progress = await client.get(f"{SURVEYS}/{survey}/deliveries/{made.json()['id']}", headers=bh)
    assert (progress.json()["status"], progress.json()["done"]) == ("done", len(listed))
    invited = await db.fetch("select customer_id from survey_invitations where survey_id = $1",
                             survey)  # fmt: skip
    assert {r["customer_id"] for r in invited} == listed


async def test_the_same_key_with_the_tag_spaced_otherwise_is_the_same_delivery(client, db):
    # The tag is part of what a retry must ask again: " VIP" and "VIP " ask for the same people.
    survey = await publish(db)
    await add_customers(db, 2, owner="rm01", prefix="V", tags=["VIP"])
    bh = await headers_of(client, "bh.east")
    path = f"{SURVEYS}/{survey}/deliveries"
    body = {"org_unit_id": str(unit("team-east-1"))}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(path, json={**body, "tag": " VIP"}, headers={**bh, **key})
    again = await client.post(path, json={**body, "tag": "VIP\u3000"}, headers={**bh, **key})
    assert (first.status_code, again.status_code) == (202, 202), again.text
    assert again.json()["id"] == first.json()["id"]

"""A customer the bank closed is sent no survey: not listed by id, not in a unit's selection
(nor counted in it), and not shared a link to by their former RM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish, unit
from workbench.db import Pool, create_pool
from workbench.surveys import delivery, delivery_jobs

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=4)
    yield made
    await made.close()


async def test_a_closed_customer_is_sent_no_survey(
    client: Any, db: Any, pool: Pool, settings: Any
) -> None:
    survey = await publish(db)
    gone, stays = await add_customers(db, 2, owner="rm01", prefix="Z", tags=["vip"])
    await db.execute("update customers set closed_at = now() where id = $1", gone)
    deliveries = f"{SURVEYS}/{survey}/deliveries"
    rm01 = await headers_of(client, "rm01")

    listed = await client.post(deliveries, json={"customer_ids": [str(gone)]}, headers=rm01)
    assert listed.status_code == 404, listed.text
    assert listed.json()["code"] == "customer.not_found"

    bh = await headers_of(client, "bh.east")
    sent = await client.post(
        deliveries, json={"org_unit_id": str(unit("branch-east")), "tag": "vip"}, headers=bh
    )
    assert sent.status_code == 202, sent.text  # a selection: sent by the worker
    rules = delivery.Rules.from_settings(settings)
    await delivery_jobs.deliver_surveys({"pool": pool, "settings": settings, "survey_rules": rules})
    invited = await db.fetch(
        "select customer_id from survey_invitations where survey_id = $1", survey
    )
    assert [r["customer_id"] for r in invited] == [stays]

    shared = await client.post(
        "/api/v1/shares",
        json={"survey_id": str(survey), "customer_id": str(gone), "channel": "wechat"},
        headers=rm01,
    )
    assert shared.status_code == 404, shared.text

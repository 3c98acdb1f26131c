"""End to end through the public survey page: a detractor's submission opens the work order in
its own transaction, the RM sees it with the answer, and a second submission changes nothing."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import EVERY_TYPE, SURVEYS, add_customers, publish
from tests.workbench.workorders.wo_setup import restore_root_causes

pytestmark = pytest.mark.usefixtures("demo_bank")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_a_low_score_submitted_on_the_page_opens_a_work_order_for_the_rm(
    client: Any, db: Any, settings: Any
) -> None:
    await restore_root_causes(db)
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    survey = await publish(db, questions=EVERY_TYPE)
    rule = {"survey_id": str(survey), "question_key": "nps", "op": "lte", "value": 6}
    assert (await client.post("/api/v1/alert-rules", json=rule, headers=admin)).status_code == 201
    links = []
    for customer in await add_customers(db, 2, prefix=uuid.uuid4().hex[:6]):
        sent = await client.post(
            f"{SURVEYS}/{survey}/deliveries", json={"customer_ids": [str(customer)]}, headers=rm01
        )
        assert sent.status_code == 201, sent.text
        links.append(sent.json()["recipients"][0]["url"].removeprefix(settings.public_base_url))
    low = [("nps", "3"), ("why", "排队太久了"), ("visit", "branch"), ("rating", "2")]
    high = [("nps", "10"), ("visit", "phone"), ("rating", "5")]
    for path, answers in ((links[0], low), (links[1], high), (links[0], low)):
        await client.post(path, content=urlencode(answers), headers=FORM)
    mine = (await client.get("/api/v1/work-orders", headers=rm01)).json()["items"]
    assert len(mine) == 1
    detail = (await client.get(f"/api/v1/work-orders/{mine[0]['id']}", headers=rm01)).json()
    assert detail["state"] == "open"
    assert ("nps", "3", True) in [(a["key"], a["answer"], a["matched"]) for a in detail["answers"]]
    assert ("why", "排队太久了") in [(a["key"], a["answer"]) for a in detail["answers"]]
    kinds = await db.fetch(
        "select kind from customer_timeline where customer_id = $1 order by occurred_at, kind",
        uuid.UUID(detail["customer_id"]),
    )
    assert sorted(k["kind"] for k in kinds) == ["survey.answered", "work_order.opened"]

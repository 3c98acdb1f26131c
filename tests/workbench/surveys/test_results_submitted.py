"""End to end: a link delivered by an RM, answered on the public page, shows in the results at
once (counted in the submission's transaction) and its text under its words."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish

pytestmark = pytest.mark.usefixtures("demo_bank")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_an_answer_on_the_public_page_shows_in_the_results(
    client: Any, db: Any, settings: Any
) -> None:
    survey = await publish(db)
    customers = await add_customers(db, 2, prefix=uuid.uuid4().hex[:6])
    sent = await client.post(
        f"{SURVEYS}/{survey}/deliveries",
        json={"customer_ids": [str(c) for c in customers]},
        headers=await headers_of(client, "rm01"),
    )
    assert sent.status_code == 201, sent.text
    path = sent.json()["recipients"][0]["url"].removeprefix(settings.public_base_url.rstrip("/"))
    answers = [("nps", "3"), ("why", "排队等待时间太长"), ("visit", "branch"),
               ("liked", "staff"), ("liked", "speed"), ("rating", "2")]  # fmt: skip
    done = await client.post(path, content=urlencode(answers), headers=FORM)
    assert done.status_code in (200, 303), done.text

    headers = await headers_of(client, "bh.east")
    body = (await client.get(f"{SURVEYS}/{survey}/results", headers=headers)).json()
    assert (body["delivered"], body["responded"], body["response_rate"]) == (2, 1, 0.5)
    assert body["nps"] == -100.0
    assert body["csat"] == 0.0
    liked = next(q for q in body["questions"] if q["key"] == "liked")
    assert {d["value"]: d["count"] for d in liked["distribution"]} == {
        "speed": 1, "staff": 1, "place": 0,
    }  # fmt: skip
    assert {"term": "等待时间", "count": 1} in body["top_terms"]

    found = await client.get(
        f"{SURVEYS}/{survey}/results/answers", params={"term": "排队"}, headers=headers
    )
    assert [i["text"] for i in found.json()["items"]] == ["排队等待时间太长"]
    west = (
        await client.get(f"{SURVEYS}/{survey}/results", headers=await headers_of(client, "bh.west"))
    ).json()
    assert (west["delivered"], west["responded"]) == (0, 0)

"""A score sent as JSON is a number: "9" (a number written as text) is a value of the wrong type,
refused at its question in Chinese and at `$.answers.<key>`, nothing stored; the page's form,
which has only text, still answers a score with its digits."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.customers_data import headers_of
from tests.helpers import answer_errors
from tests.workbench.surveys.delivery_data import (
    SURVEYS,
    add_customers,
    opts,
    publish,
    q,
    user,
)

pytestmark = pytest.mark.usefixtures("demo_bank")
QUESTIONS = [
    q("score", "nps", "您有多大可能推荐我行？", required=True),
    q("channel", "single", "渠道", required=True, options=opts("app", "branch")),
]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _link(client: Any, db: Any, settings: Any, survey: Any) -> str:
    """The path of a new link to the survey, sent by rm01 to a new customer of theirs."""
    customer = (await add_customers(db, 1, prefix=uuid.uuid4().hex[:6]))[0]
    sent = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(customer)]},
                             headers=await headers_of(client, "rm01"))  # fmt: skip
    assert sent.status_code == 201, sent.text
    url: str = sent.json()["recipients"][0]["url"]
    return url.removeprefix(settings.public_base_url.rstrip("/"))


async def _stored(db: Any) -> list[Any]:
    return [r["answers"] for r in await db.fetch("select answers::text from survey_responses")]


@pytest.mark.parametrize("score", ["9", " 9", "09"])
async def test_a_score_written_as_text_in_json_is_refused_at_its_question(
    client: Any, db: Any, settings: Any, score: str
) -> None:
    survey = await publish(db, questions=QUESTIONS)
    path = await _link(client, db, settings, survey)
    sent = await client.post(path, json={"answers": {"score": score, "channel": "app"}})
    assert sent.status_code == 422, sent.text
    assert sent.headers["content-type"].startswith("application/problem+json")
    problem = sent.json()
    assert problem["code"] == "survey.answers_invalid"
    assert [e["path"] for e in problem["errors"]] == ["$.answers.score"]
    assert answer_errors(problem) == {"score": "请选择 0 到 10 之间的分数"}
    assert await _stored(db) == []

    # The same answer as a number is stored; the page's form (text only) answers with digits.
    good = await client.post(path, json={"answers": {"score": 9, "channel": "app"}})
    assert good.status_code == 201, good.text
    form_path = await _link(client, db, settings, survey)
    page = await client.post(form_path, content=urlencode({"score": score, "channel": "app"}),
                             headers=FORM, follow_redirects=False)  # fmt: skip
    assert page.status_code == 303, page.text
    assert page.headers["location"].endswith("/thanks")
    assert [json.loads(a)["score"] for a in await _stored(db)] == [9, 9]


async def test_a_staff_answer_written_as_text_is_refused_too(client: Any, db: Any) -> None:
    mood = [q("mood", "rating", "本周状态？", required=True)]
    survey = await publish(db, audience="staff", title="员工脉搏调查", questions=mood)
    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"user_ids": [str(user("rm01"))]},
                             headers=await headers_of(client, "bh.east"))  # fmt: skip
    assert made.status_code == 201, made.text
    rm01 = await headers_of(client, "rm01")
    (item,) = (await client.get(f"{SURVEYS}/inbox", headers=rm01)).json()["items"]
    answer = f"{SURVEYS}/invitations/{item['invitation_id']}/response"
    refused = await client.post(answer, json={"answers": {"mood": "4"}}, headers=rm01)
    assert refused.status_code == 422, refused.text
    assert answer_errors(refused.json()) == {"mood": "请选择 1 到 5 之间的分数"}
    assert await _stored(db) == []

"""An option's customer tag must show something, as its label must: a blank or invisible tag is
refused when saved and when published, and one a version published before carries is never
added to a customer. A JSON answer of null is no answer: fine for an optional question, the
usual "此题必答" for a required one."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.helpers import answer_errors
from tests.workbench.surveys.delivery_data import EVERY_TYPE, add_customers, opts, publish, q
from tests.workbench.surveys.design_data import SURVEYS, draft, option, question, survey_body

pytestmark = pytest.mark.usefixtures("demo_bank")

BLANK_TAGS = {"spaces": "   ", "zero width space": "\u200b", "direction override": "\u202e"}


def tagged(tag: str) -> list[dict[str, Any]]:
    """A single choice whose second option carries `tag`."""
    return [question("age", options=[option("young", "中青年"), option("old", "退休", tag=tag)])]


@pytest.mark.parametrize("tag", BLANK_TAGS.values(), ids=BLANK_TAGS.keys())
async def test_a_tag_that_shows_nothing_or_reads_otherwise_is_refused(client, db, tag):
    marketing = await headers_of(client, "marketing")
    made = await client.post(SURVEYS, json=survey_body(tagged(tag)), headers=marketing)
    assert made.status_code == 422, made.text
    assert made.json()["code"] == "survey.blank_text"
    assert [(e["key"], e["field"], e["path"]) for e in made.json()["errors"]] == [
        ("age", "options[1].tag", "$.questions[0].options[1].tag")
    ]
    assert await db.fetchval("select count(*) from surveys") == 0

    survey = await draft(client, marketing, questions=tagged("退休客户"))
    url = f"{SURVEYS}/{survey['id']}"
    edited = await client.patch(url, json={"questions": tagged(tag)}, headers=marketing)
    assert (edited.status_code, edited.json()["code"]) == (422, "survey.blank_text")
    kept = (await client.get(url, headers=marketing)).json()["questions"][0]["options"][1]
    assert kept["tag"] == "退休客户"


async def test_a_draft_saved_with_a_blank_tag_before_is_not_published(client, db):
    marketing = await headers_of(client, "marketing")
    survey = await draft(client, marketing, questions=tagged("退休客户"))
    await db.execute(  # as a draft saved before blank tags were refused
        """update surveys set questions = jsonb_set(questions, '{0,options,1,tag}', '"   "')"""
    )
    refused = await client.post(f"{SURVEYS}/{survey['id']}/publish", headers=marketing)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "survey.blank_text"
    assert [e["path"] for e in refused.json()["errors"]] == ["$.questions[0].options[1].tag"]
    assert await db.fetchval("select count(*) from survey_versions") == 0


async def test_a_good_tag_still_saves_and_publishes(client):
    marketing = await headers_of(client, "marketing")
    survey = await draft(client, marketing, questions=tagged("退休客户"))
    published = await client.post(f"{SURVEYS}/{survey['id']}/publish", headers=marketing)
    assert published.status_code == 201, published.text


async def _link(client: Any, db: Any, settings: Any, survey: uuid.UUID) -> tuple[str, uuid.UUID]:
    """A fresh link to `survey` for a new customer of rm01: (path, customer id)."""
    (customer,) = await add_customers(db, 1, prefix=uuid.uuid4().hex[:6], tags=["retiree"])
    sent = await client.post(
        f"{SURVEYS}/{survey}/deliveries",
        json={"customer_ids": [str(customer)]},
        headers=await headers_of(client, "rm01"),
    )
    assert sent.status_code == 201, sent.text
    url = sent.json()["recipients"][0]["url"]
    return url.removeprefix(settings.public_base_url.rstrip("/")), customer


async def test_tags_of_a_version_published_before_are_added_trimmed_and_never_blank(
    client, db, settings
):
    survey = await publish(  # published before such tags were refused
        db,
        questions=[
            q("visit", "multi", "本次服务渠道", required=True,
              options=opts(("branch", "网点", "   "), ("phone", "电话", "\u200b"),
                           ("app", "手机银行", " 线上客户 "))),
        ],
    )  # fmt: skip
    path, customer = await _link(client, db, settings, survey)
    done = await client.post(path, json={"answers": {"visit": ["branch", "phone", "app"]}})
    assert done.status_code == 201, done.text
    tags = await db.fetchval("select tags from customers where id = $1", customer)
    assert tags == ["retiree", "线上客户"]


async def test_a_null_answer_is_no_answer(client, db, settings):
    survey = await publish(db, questions=EVERY_TYPE)
    path, _ = await _link(client, db, settings, survey)
    required = await client.post(
        path, json={"answers": {"nps": None, "visit": "branch", "rating": 3}}
    )
    assert required.status_code == 422, required.text
    assert required.json()["code"] == "survey.answers_invalid"
    assert answer_errors(required.json()) == {"nps": "此题必答"}
    assert await db.fetchval("select count(*) from survey_responses") == 0

    # `why` is hidden after a 9 and `liked` optional: null for either is left unanswered.
    answers = {"nps": 9, "visit": "branch", "rating": 3, "why": None, "liked": None}
    stored = await client.post(path, json={"answers": answers})
    assert stored.status_code == 201, stored.text
    row = await db.fetchval("select answers from survey_responses")
    assert json.loads(row) == {"nps": 9, "visit": "branch", "rating": 3}

"""Survey answers as a QA pass sent them: text made of invisible characters only is no answer (a
required question says 此题必答, an optional one stores nothing), on the page and in the staff
inbox alike; a JSON value of the wrong type is said at its question in Chinese (never the
decoder's English); a form sending two values for a question that takes one comes back to the
page with the mistake beside it, nothing stored."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.customers_data import headers_of
from tests.helpers import answer_errors
from tests.workbench.surveys.delivery_data import SURVEYS, opts, publish, q, user
from tests.workbench.surveys.test_public_survey_page import invite

pytestmark = pytest.mark.usefixtures("demo_bank")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
QA = [
    q("score", "nps", "打分", required=True),
    q("why", "text", "原因", required=True, show_if={"key": "score", "in": list(range(7))}),
    q("ch", "single", "渠道", required=True, options=opts("a", "b")),
    q("rt", "rating", "评分", required=True),
    q("liked", "multi", "满意之处", options=opts("x", "y")),
    q("more", "text", "其他意见"),
]
# Text that shows nothing: zero-width space, joiner and BOM; a Hangul filler; Braille blank.
INVISIBLE = ["\u200b\u200d\ufeff", "\u200b", "\u3164", "\u2800 \u200b"]


async def stored(db: Any) -> int:
    return int(await db.fetchval("select count(*) from survey_responses"))


def error_at(html: str, key: str) -> str:
    """The message the page shows beside a question."""
    return html.split(f'id="err-{key}">', 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize("why", INVISIBLE)
async def test_a_required_text_of_invisible_characters_is_not_an_answer(client, db, settings, why):
    path, _ = await invite(client, db, settings, questions=QA)
    sent = await client.post(path, json={"answers": {"score": 2, "why": why, "ch": "a", "rt": 2}})
    assert sent.status_code == 422, sent.text
    assert answer_errors(sent.json()) == {"why": "此题必答"}
    page = await client.post(path, content=urlencode({"score": "2", "why": why, "ch": "a",
                                                      "rt": "2"}), headers=FORM)  # fmt: skip
    assert page.status_code == 200
    assert "此题必答" in error_at(page.text, "why")
    assert await stored(db) == 0


async def test_an_optional_text_of_invisible_characters_is_left_unanswered(client, db, settings):
    path, _ = await invite(client, db, settings, questions=QA)
    sent = await client.post(path, json={"answers": {"score": 9, "ch": "a", "rt": 5,
                                                     "more": "\u200b\u200d\ufeff"}})  # fmt: skip
    assert sent.status_code == 201, sent.text
    row = await db.fetchrow("select answers::text, texts_enc from survey_responses")
    assert json.loads(row["answers"]) == {"score": 9, "ch": "a", "rt": 5}
    assert row["texts_enc"] is None  # nothing stored, nothing counted: as "   " is


async def test_a_staff_answer_of_invisible_characters_is_not_an_answer(client, db):
    questions = [q("mood", "rating", "本周工作状态如何？", required=True),
                 q("help", "text", "需要什么支持？", required=True)]  # fmt: skip
    survey = await publish(db, audience="staff", title="员工脉搏调查", questions=questions)
    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"user_ids": [str(user("rm01"))]},
                             headers=await headers_of(client, "bh.east"))  # fmt: skip
    assert made.status_code == 201, made.text
    rm01 = await headers_of(client, "rm01")
    (item,) = (await client.get(f"{SURVEYS}/inbox", headers=rm01)).json()["items"]
    answer = f"{SURVEYS}/invitations/{item['invitation_id']}/response"
    blank = await client.post(answer, json={"answers": {"mood": 3, "help": "\u200b\u2060"}},
                              headers=rm01)  # fmt: skip
    assert blank.status_code == 422, blank.text
    assert answer_errors(blank.json()) == {"help": "此题必答"}
    assert await stored(db) == 0


async def test_wrong_types_are_said_at_their_questions_in_chinese(client, db, settings):
    path, _ = await invite(client, db, settings, questions=QA)
    good = {"score": 2, "why": "太慢", "ch": "a", "rt": 2}
    cases = [
        ({"score": True}, {"score": "请选择 0 到 10 之间的分数"}),
        ({"score": 9.0}, {"score": "请选择 0 到 10 之间的分数"}),
        ({"rt": {"v": 3}}, {"rt": "请选择 1 到 5 之间的分数"}),
        ({"ch": 1}, {"ch": "请选择一个选项"}),
        ({"why": 5}, {"why": "请填写文字"}),
        ({"liked": [True]}, {"liked": "请从选项中选择"}),
        ({"ch": False, "more": ["很好"]}, {"ch": "请选择一个选项", "more": "请填写文字"}),
        # Thousands of digits: Python reads no more than 4,300 of them (it answered 500).
        ({"score": "4" * 5000}, {"score": "请选择 0 到 10 之间的分数"}),
        ({"rt": "0" * 4400 + "3"}, {"rt": "请选择 1 到 5 之间的分数"}),
    ]
    for wrong, said in cases:
        # A score that cannot be read shows no follow-up (as one out of range): no "why".
        base = {k: v for k, v in good.items() if k != "why" or "score" not in wrong}
        sent = await client.post(path, json={"answers": base | wrong})
        assert sent.status_code == 422, (wrong, sent.text)
        assert sent.headers["content-type"].startswith("application/problem+json")
        assert sent.json()["code"] == "survey.answers_invalid"
        assert answer_errors(sent.json()) == said, wrong
    assert await stored(db) == 0


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"{not json", "提交的不是有效的 JSON"),
        (b"[1, 2]", '{"answers": {题目: 回答}}'),
        (b'{"answers": [1]}', '{"answers": {题目: 回答}}'),
        (b'{"answers": {}, "extra": 1}', '{"answers": {题目: 回答}}'),
    ],
)
async def test_a_body_that_is_no_submission_gets_one_message_in_chinese(
    client, db, settings, body, said
):
    path, _ = await invite(client, db, settings, questions=QA)
    sent = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert sent.status_code == 422, sent.text
    (message,) = answer_errors(sent.json()).values()
    assert list(answer_errors(sent.json())) == ["answers"]
    assert said in message
    assert "Expected" not in message
    assert "`" not in message


@pytest.mark.parametrize(
    ("fields", "key", "message"),
    [
        ([("ch", "a"), ("ch", "b"), ("rt", "5")], "ch", "请选择一个选项"),
        ([("ch", "a"), ("rt", "5"), ("rt", "4")], "rt", "请选择 1 到 5 之间的分数"),
    ],
)
async def test_a_form_with_two_values_for_one_choice_comes_back_to_the_page(
    client, db, settings, fields, key, message
):
    path, _ = await invite(client, db, settings, questions=QA)
    sent = [("score", "3"), ("why", "x"), *fields]
    page = await client.post(path, content=urlencode(sent), headers=FORM)  # 303, then the page
    assert page.status_code == 200
    assert str(page.url).endswith(path)  # not the thank-you
    assert message in error_at(page.text, key)
    assert 'value="3" checked' in page.text  # the answers kept
    assert await stored(db) == 0


async def test_answer_errors_keep_the_messages_by_question_key(client, db, settings):
    # Apps built on the staff inbox's earlier answer read the messages by question key: they
    # stay in `answer_errors`, beside the errors[] list every 422 of the API has.
    path, _ = await invite(client, db, settings, questions=QA)
    sent = await client.post(path, json={"answers": {"score": 2, "ch": "a", "rt": 2}})
    assert sent.status_code == 422, sent.text
    assert sent.json()["answer_errors"] == {"why": "此题必答"}
    assert [(e["path"], e["message"]) for e in sent.json()["errors"]] == [
        ("$.answers.why", "此题必答")
    ]

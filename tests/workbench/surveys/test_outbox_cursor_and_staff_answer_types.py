"""The survey message outbox reads on with `?cursor=` as every list does (`after`, its earlier
name, still works), and the staff inbox's answer says a value of the wrong type at its question
in the staff member's words, as the survey page does, never as the decoder's English."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.helpers import answer_errors
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, opts, publish, q, user

pytestmark = pytest.mark.usefixtures("demo_bank")
OUTBOX = "/api/v1/integration/survey-messages"


async def test_the_outbox_reads_on_with_cursor_and_still_with_after(client, db):
    survey = await publish(db, questions=[q("r", "rating", "满意度")])
    customers = await add_customers(db, 3)
    rm01 = await headers_of(client, "rm01")
    sent = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(c) for c in customers]},
                             headers=rm01)  # fmt: skip
    assert sent.status_code == 201, sent.text
    await db.execute("update survey_messages set created_at = created_at - interval '1 minute'")
    admin = await headers_of(client, "admin")

    async def read(**params: Any) -> dict[str, Any]:
        answer = await client.get(OUTBOX, params=params, headers=admin)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        assert set(page) == {"items", "next_cursor"}
        return page

    first = await read(limit=2)
    assert len(first["items"]) == 2
    rest = await read(limit=2, cursor=first["next_cursor"])
    assert [m["url"] for m in rest["items"]] == [m["url"] for m in (await read())["items"]][2:]
    assert (await read(cursor=rest["next_cursor"]))["items"] == []
    # Gateways built on `after` read the same pages.
    assert await read(limit=2, after=first["next_cursor"]) == rest
    bad = await client.get(OUTBOX, params={"cursor": "nope"}, headers=admin)
    assert bad.status_code == 400
    assert bad.json()["code"] == "request.bad_cursor"


async def test_a_staff_answer_of_the_wrong_type_is_said_at_its_question(client, db):
    questions = [q("mood", "rating", "本周工作状态如何？", required=True),
                 q("load", "single", "工作量", options=opts("light", "heavy")),
                 q("help", "text", "需要什么支持？")]  # fmt: skip
    survey = await publish(db, audience="staff", title="员工脉搏调查", questions=questions)
    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"user_ids": [str(user("rm01"))]},
                             headers=await headers_of(client, "bh.east"))  # fmt: skip
    assert made.status_code == 201, made.text
    rm01 = await headers_of(client, "rm01")
    (item,) = (await client.get(f"{SURVEYS}/inbox", headers=rm01)).json()["items"]
    answer = f"{SURVEYS}/invitations/{item['invitation_id']}/response"

    wrong = await client.post(
        answer, json={"answers": {"mood": True, "load": 1, "help": ["人手"]}}, headers=rm01
    )
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["code"] == "survey.answers_invalid"
    assert answer_errors(wrong.json()) == {
        "mood": "请选择 1 到 5 之间的分数",
        "load": "请选择一个选项",
        "help": "请填写文字",
    }
    shape = await client.post(answer, json={"answers": [1]}, headers=rm01)
    assert shape.status_code == 422, shape.text
    assert list(answer_errors(shape.json())) == ["answers"]
    assert "Expected" not in shape.text
    assert await db.fetchval("select count(*) from survey_responses") == 0

    good = await client.post(answer, json={"answers": {"mood": 4, "load": "heavy"}}, headers=rm01)
    assert good.status_code == 201, good.text
    assert good.json()["invitation_id"] == item["invitation_id"]
    assert await db.fetchval("select answers->>'load' from survey_responses") == "heavy"

"""Staff surveys: sent to staff of the sender's subtree, waiting in each one's inbox (told by a
notification), answered once, seen by no one else; once at a time: a staff member with the
survey waiting in their inbox is not invited again."""

from __future__ import annotations

import asyncio

import pytest

from tests.customers_data import headers_of
from tests.helpers import answer_errors
from tests.workbench.surveys.delivery_data import SURVEYS, opts, publish, q, user

pytestmark = pytest.mark.usefixtures("demo_bank")
PULSE = [
    q("mood", "rating", "本周工作状态如何？", required=True),
    q("load", "single", "工作量", options=opts("light", "ok", "heavy")),
    q("help", "text", "需要什么支持？", show_if={"key": "load", "in": ["heavy"]}),
]


async def test_staff_answer_a_pulse_survey_in_their_inbox(client, db):
    survey = await publish(db, audience="staff", title="员工脉搏调查", questions=PULSE)
    bh = await headers_of(client, "bh.east")
    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"user_ids": [str(user("rm01")), str(user("rm03"))]},
                             headers=bh)  # fmt: skip
    assert made.status_code == 201, made.text
    assert [r["status"] for r in made.json()["recipients"]] == ["sent", "sent"]
    assert "url" not in made.json()["recipients"][0]
    west = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"user_ids": [str(user("rm05"))]}, headers=bh)  # fmt: skip
    assert west.status_code == 404
    told = await db.fetchval(
        "select count(*) from notifications where category = 'survey.invitation'"
    )
    assert told == 2

    rm01 = await headers_of(client, "rm01")
    inbox = (await client.get(f"{SURVEYS}/inbox", headers=rm01)).json()
    assert [(i["title"], i["questions"]) for i in inbox["items"]] == [("员工脉搏调查", 3)]
    invitation_id = inbox["items"][0]["invitation_id"]
    detail = await client.get(f"{SURVEYS}/invitations/{invitation_id}", headers=rm01)
    assert [x["key"] for x in detail.json()["questions"]] == ["mood", "load", "help"]
    rm03 = await headers_of(client, "rm03")
    assert (
        await client.get(f"{SURVEYS}/invitations/{invitation_id}", headers=rm03)
    ).status_code == 404

    answer = f"{SURVEYS}/invitations/{invitation_id}/response"
    bad = await client.post(answer, json={"answers": {"mood": 4, "load": "ok", "help": "人手"}},
                            headers=rm01)  # fmt: skip
    assert bad.status_code == 422
    assert answer_errors(bad.json()) == {"help": "此题无需作答"}
    assert (
        await client.post(answer, json={"answers": {"mood": 2}}, headers=rm03)
    ).status_code == 404
    good = await client.post(answer, json={"answers": {"mood": 2, "load": "heavy", "help": "人手"}},
                             headers=rm01)  # fmt: skip
    assert good.status_code == 201
    again = await client.post(answer, json={"answers": {"mood": 5}}, headers=rm01)
    assert again.status_code == 409
    assert again.json()["code"] == "survey.already_answered"
    assert (await client.get(f"{SURVEYS}/inbox", headers=rm01)).json()["items"] == []
    row = await db.fetchrow(
        "select user_id, customer_id, invitation_id, org_unit_id from survey_responses"
    )
    # Anonymous in the database too (migration 0054): no person, no invitation; the unit kept.
    assert (row["user_id"], row["customer_id"], row["invitation_id"]) == (None, None, None)
    assert row["org_unit_id"] == await db.fetchval(
        "select org_unit_id from users where id = $1", user("rm01")
    )


async def test_a_survey_waiting_in_an_inbox_is_not_sent_there_again(make_client, db):
    # Five sends of a staff survey to one RM put it in their inbox five times, each answerable:
    # the results counted one person five times.
    survey = await publish(db, audience="staff", title="员工脉搏调查", questions=PULSE)
    one, two = await make_client(), await make_client()
    bh = await headers_of(one, "bh.east")
    deliveries, body = f"{SURVEYS}/{survey}/deliveries", {"user_ids": [str(user("rm01"))]}
    sends = await asyncio.gather(
        one.post(deliveries, json=body, headers=bh), two.post(deliveries, json=body, headers=bh)
    )
    sends += [await one.post(deliveries, json=body, headers=bh) for _ in range(3)]
    assert [s.status_code for s in sends] == [201] * 5
    outcomes = sorted(s.json()["recipients"][0].get("reason", "sent") for s in sends)
    assert outcomes == ["already_invited"] * 4 + ["sent"]
    rm01 = await headers_of(one, "rm01")
    [waiting] = (await one.get(f"{SURVEYS}/inbox", headers=rm01)).json()["items"]
    told = await db.fetchval(
        "select count(*) from notifications where category = 'survey.invitation'"
    )
    assert told == 1

    answer = f"{SURVEYS}/invitations/{waiting['invitation_id']}/response"
    assert (await one.post(answer, json={"answers": {"mood": 4}}, headers=rm01)).status_code == 201
    # Answered, the survey may be sent to them again (a new answer).
    later = (await one.post(deliveries, json=body, headers=bh)).json()
    assert later["recipients"][0]["status"] == "sent"

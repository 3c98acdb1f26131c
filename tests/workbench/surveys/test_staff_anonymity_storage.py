"""Staff answer anonymously in the database too (migration 0054): a staff answer's row keeps no
user id, no invitation id, no time finer than its bank day and an id that tells no time; the
invitation says it was answered (so nobody answers twice, the inbox drops it) but not when.
Results still count every answer under its invitation's unit (on the answer's own day:
test_staff_anonymity_rollups). Customer answers are not anonymous and keep their customer,
invitation and moment."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, opts, publish, q, unit, user
from tests.workbench.surveys.test_public_survey_page import invite

pytestmark = pytest.mark.usefixtures("demo_bank")
PULSE = [
    q("mood", "rating", "本周工作状态如何？", required=True),
    q("load", "single", "工作量", options=opts("light", "ok", "heavy")),
    q("say", "text", "想说的话"),
]


async def send_pulse(client: Any, db: Any, *logins: str) -> uuid.UUID:
    survey = await publish(db, audience="staff", title="员工脉搏调查", questions=PULSE)
    made = await client.post(
        f"{SURVEYS}/{survey}/deliveries",
        json={"user_ids": [str(user(login)) for login in logins]},
        headers=await headers_of(client, "bh.east"),
    )
    assert made.status_code == 201, made.text
    return survey


async def inbox_invitation(client: Any, login: str) -> tuple[str, dict[str, str]]:
    headers = await headers_of(client, login)
    items = (await client.get(f"{SURVEYS}/inbox", headers=headers)).json()["items"]
    assert len(items) == 1
    return items[0]["invitation_id"], headers


def is_bank_midnight(moment: datetime, tz: str) -> bool:
    local = moment.astimezone(ZoneInfo(tz))
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


async def test_a_staff_answer_keeps_no_one_and_no_moment(client, db, settings):
    survey = await send_pulse(client, db, "rm01", "rm02", "rm03")
    invitation_id, rm01 = await inbox_invitation(client, "rm01")
    before = datetime.now(UTC)
    answer = f"{SURVEYS}/invitations/{invitation_id}/response"
    sent = await client.post(
        answer, json={"answers": {"mood": 2, "load": "heavy", "say": "人手太少"}}, headers=rm01
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    # The answer's id is random (a uuid7 tells its millisecond); the time said is its day's.
    assert uuid.UUID(body["id"]).version == 4
    said = datetime.fromisoformat(body["submitted_at"])
    assert is_bank_midnight(said, settings.bank_timezone)
    assert said <= before < said + timedelta(days=1)

    row = await db.fetchrow(
        "select r.*, to_jsonb(r)::text as whole from survey_responses r where r.survey_id = $1",
        survey,
    )
    assert (row["user_id"], row["invitation_id"], row["customer_id"]) == (None, None, None)
    assert row["id"] == uuid.UUID(body["id"])
    assert row["submitted_at"] == said
    assert row["tallied_at"] == said
    assert row["org_unit_id"] == unit("team-east-1")  # results by unit still need it
    for trace in (str(user("rm01")), invitation_id):  # nothing joins back to rm01
        assert trace not in row["whole"]
    terms = await db.fetch(
        "select submitted_at from survey_term_answers where response_id = $1", row["id"]
    )
    assert terms
    assert all(t["submitted_at"] == said for t in terms)

    invitation = await db.fetchrow(
        "select sent_at, responded_at from survey_invitations where id = $1",
        uuid.UUID(invitation_id),
    )
    assert invitation["responded_at"] == invitation["sent_at"]  # answered, never when

    # The inbox side still knows it is answered: gone from the inbox, a second answer refused.
    assert (await client.get(f"{SURVEYS}/inbox", headers=rm01)).json()["items"] == []
    again = await client.post(answer, json={"answers": {"mood": 5}}, headers=rm01)
    assert again.status_code == 409
    assert again.json()["code"] == "survey.already_answered"
    mine = (await client.get(f"{SURVEYS}/invitations/{invitation_id}", headers=rm01)).json()
    assert mine["responded_at"] is not None
    assert await db.fetchval("select count(*) from survey_responses") == 1

    # Results count every answer under the invitations' units (withheld below 5, counts shown).
    for login in ("rm02", "rm03"):
        other, headers = await inbox_invitation(client, login)
        done = await client.post(
            f"{SURVEYS}/invitations/{other}/response", json={"answers": {"mood": 4}},
            headers=headers,
        )  # fmt: skip
        assert done.status_code == 201, done.text
    results = await client.get(
        f"{SURVEYS}/{survey}/results", headers=await headers_of(client, "marketing")
    )
    assert results.status_code == 200, results.text
    assert (results.json()["delivered"], results.json()["responded"]) == (3, 3)
    east_1 = await client.get(
        f"{SURVEYS}/{survey}/results", params={"org_unit_id": str(unit("team-east-1"))},
        headers=await headers_of(client, "marketing"),
    )  # fmt: skip
    assert (east_1.json()["delivered"], east_1.json()["responded"]) == (2, 2)
    stored = await db.fetch("select user_id, invitation_id from survey_responses")
    assert len(stored) == 3
    assert {(r["user_id"], r["invitation_id"]) for r in stored} == {(None, None)}


async def test_two_answers_at_once_store_one(make_client, db):
    survey = await send_pulse(await make_client(), db, "rm01")
    one, two = await make_client(), await make_client()
    invitation_id, headers = await inbox_invitation(one, "rm01")
    answer = f"{SURVEYS}/invitations/{invitation_id}/response"
    results = await asyncio.gather(
        one.post(answer, json={"answers": {"mood": 1}}, headers=headers),
        two.post(answer, json={"answers": {"mood": 5}}, headers=headers),
    )
    assert sorted(r.status_code for r in results) == [201, 409]
    assert await db.fetchval(
        "select count(*) from survey_responses where survey_id = $1", survey
    ) == 1  # fmt: skip
    assert await db.fetchval(
        "select sum(responded) from survey_tallies where survey_id = $1 and org_unit_id = $2",
        survey, unit("team-east-1"),
    ) == 1  # fmt: skip


async def test_the_database_refuses_a_staff_answer_naming_its_author(client, db):
    survey = await send_pulse(client, db, "rm01")
    invitation = await db.fetchrow("select * from survey_invitations where survey_id = $1", survey)
    for user_id, invitation_id in ((user("rm01"), None), (None, invitation["id"])):
        with pytest.raises(asyncpg.CheckViolationError):
            await db.execute(
                """insert into survey_responses (id, invitation_id, survey_id, version, user_id,
                                                 org_unit_id, answers)
                   values (gen_random_uuid(), $1, $2, 1, $3, $4, '{}')""",
                invitation_id, survey, user_id, invitation["org_unit_id"],
            )  # fmt: skip


async def test_a_customer_answer_keeps_its_customer_invitation_and_moment(client, db, settings):
    path, customer = await invite(client, db, settings)
    before = datetime.now(UTC)
    sent = await client.post(path, json={"answers": {"nps": 9, "visit": "branch", "rating": 5}})
    assert sent.status_code == 201, sent.text
    row = await db.fetchrow("select * from survey_responses")
    invitation = await db.fetchrow("select id, responded_at from survey_invitations")
    assert (row["customer_id"], row["invitation_id"]) == (customer, invitation["id"])
    assert uuid.UUID(str(row["id"])).version == 7
    assert before <= row["submitted_at"] <= datetime.now(UTC)  # the moment, not its day
    assert invitation["responded_at"] == row["submitted_at"]

"""A staff survey's answers are shown once it is closed (archived), when no answer can come any
more: while it is open, its figures moved with every answer, so a branch head who sent it to one
RM and read the results before and after their answer read that answer (QA). Open, its results
give the counts only (sent, responded, rate) in every scope, `withheld_reason: survey_open`, and
its text answers and exports are 409 `survey.results_after_close`; closed, it takes no answer and
no delivery, and its answers show under the groups-of-5 rules. Customer surveys are unchanged."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from mobile_contracts.v1.identity import Role
from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from tests.workbench.surveys.results_data import RESULTS, add_customer, publish, respond
from tests.workbench.surveys.staff_results_data import DAY, EAST, EAST_2, TEXT, publish_staff
from workbench.access import Caller
from workbench.db import create_pool, use_json_codecs
from workbench.security.vault import Vault
from workbench.surveys import design, submission
from workbench.surveys.design import SurveyArchived

pytestmark = pytest.mark.usefixtures("demo_bank")

SURVEYS = "/api/v1/surveys"
# rm04's answer: a detractor's score with its reason, a single and a multi choice, a rating.
RM04 = {
    "score": 3,
    "reason": "加班太多，周末也要开会",
    "service": "slow",
    "topics": ["loan"],
    "stars": 2,
    "comment": "加班太多",
}
COUNTS = ("delivered", "responded", "response_rate")
MARKETING = Caller(
    user_id=user("marketing"), role=Role.MARKETING, org_unit_id=unit("head-office"),
    session_id=uuid.uuid4(), device_id="test",
)  # fmt: skip


@pytest.fixture
async def vault(settings: Any, db: Any) -> Vault:
    await use_json_codecs(db)
    return Vault.from_settings(settings.data_keys, settings.blind_index_key)


async def _get(client: Any, who: str, path: str, **params: Any) -> Any:
    return await client.get(path, params=params, headers=await headers_of(client, who))


async def _survey_answered_in_team_1(db: Any, vault: Vault, many: int = 6) -> uuid.UUID:
    """A published staff survey that East Team 1 answered `many` times (a group of 5 or more:
    a closed survey shows the branch)."""
    survey_id = await publish_staff(db)
    for n in range(many):
        await respond(db, vault, survey_id, {"score": 9, "service": "fast", "stars": 4},
                      team="team-east-1", sent_at=DAY - timedelta(days=n), texts=TEXT)  # fmt: skip
    return survey_id


async def _send(client: Any, survey_id: uuid.UUID, *logins: str) -> Any:
    return await client.post(
        f"{SURVEYS}/{survey_id}/deliveries",
        json={"user_ids": [str(user(login)) for login in logins]},
        headers=await headers_of(client, "bh.east"),
    )


async def _answer(client: Any, login: str, answers: dict[str, Any]) -> Any:
    """`login` answers the one survey waiting in their inbox."""
    headers = await headers_of(client, login)
    items = (await client.get(f"{SURVEYS}/inbox", headers=headers)).json()["items"]
    assert len(items) == 1, items
    return await client.post(
        f"{SURVEYS}/invitations/{items[0]['invitation_id']}/response",
        json={"answers": answers}, headers=headers,
    )  # fmt: skip


def _content(body: dict[str, Any]) -> dict[str, Any]:
    """Everything a results body says beyond its counts (sent, responded, rate): what an answer
    would move if it were shown."""
    rows = [{k: v for k, v in row.items() if k not in COUNTS} for row in body["by_unit"] or []]
    other = body["other"] and {k: v for k, v in body["other"].items() if k not in COUNTS}
    rest = {k: v for k, v in body.items() if k not in (*COUNTS, "by_unit", "other", "to")}
    return {**rest, "by_unit": rows, "other": other}


def _nothing_shown(body: dict[str, Any]) -> None:
    assert (body["withheld"], body["withheld_reason"]) == (True, "survey_open")
    assert (body["nps"], body["csat"], body["top_terms"], body["other"]) == (None, None, [], None)
    for question in body["questions"]:
        assert question["answered"] == 0
        assert question["top_terms"] == []
        assert all(d["count"] == 0 for d in question["distribution"])
    for row in body["by_unit"] or []:
        assert (row["withheld"], row["withheld_reason"]) == (True, "survey_open")
        assert (row["nps"], row["csat"]) == (None, None)


async def test_reading_before_and_after_one_answer_tells_nothing_of_it_while_open(
    client: Any, db: Any, vault: Vault
) -> None:
    # QA: bh.east sends the staff survey to rm04 alone, reads, rm04 answers, bh.east reads
    # again: `responded` went up by 1 and one option's count by 1 (rm04's answer), a new word
    # came, and the word's answers listed rm04's comment.
    survey_id = await _survey_answered_in_team_1(db, vault)
    sent = await _send(client, survey_id, "rm04")
    assert sent.status_code == 201, sent.text
    url = RESULTS.format(survey_id)
    scopes: list[dict[str, str]] = [
        {"group_by": "org_unit"},
        {"org_unit_id": str(unit("team-east-2"))},
        {"org_unit_id": str(unit("team-east-1")), "group_by": "org_unit"},
    ]
    before = [(await _get(client, "bh.east", url, **scope)).json() for scope in scopes]
    bank_before = (await _get(client, "admin", url, group_by="org_unit")).json()

    answered = await _answer(client, "rm04", RM04)
    assert answered.status_code == 201, answered.text

    after = [(await _get(client, "bh.east", url, **scope)).json() for scope in scopes]
    bank_after = (await _get(client, "admin", url, group_by="org_unit")).json()
    assert (before[0]["delivered"], before[0]["responded"]) == (7, 6)
    assert (after[0]["delivered"], after[0]["responded"]) == (7, 7)  # participation moves
    assert after[1]["responded"] == before[1]["responded"] + 1 == 1
    for old, new in [*zip(before, after, strict=True), (bank_before, bank_after)]:
        assert _content(new) == _content(old)  # no content figure moved
        _nothing_shown(old)
        _nothing_shown(new)
    rows = {row["name"]: row for row in after[0]["by_unit"]}
    assert rows[EAST_2]["responded"] == 1  # counts per unit: who answered, not what

    for term in ("加班", "等待时间"):
        refused = await _get(client, "bh.east", url + "/answers", term=term)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "survey.results_after_close"
        assert "closed" in refused.json()["detail"]
        assert "加班" not in refused.text


async def test_text_answers_and_exports_are_refused_in_every_scope_while_open(
    client: Any, db: Any, vault: Vault
) -> None:
    survey_id = await _survey_answered_in_team_1(db, vault, many=12)
    url = RESULTS.format(survey_id)
    for who, scope in (
        ("marketing", None),
        ("admin", None),
        ("bh.east", None),
        ("bh.east", unit("team-east-1")),
        ("admin", unit("branch-east")),
    ):
        params = {"org_unit_id": str(scope)} if scope else {}
        for path, extra in (("/answers", {"term": "等待时间"}), (".csv", {}), (".xlsx", {})):
            refused = await _get(client, who, url + path, **params, **extra)
            assert refused.status_code == 409, (who, scope, path, refused.text)
            assert refused.json()["code"] == "survey.results_after_close"
            assert "等待时间" not in refused.text
        body = (await _get(client, who, url, group_by="org_unit", **params)).json()
        assert body["responded"] == 12
        _nothing_shown(body)

    customer = await publish(db)  # a customer survey open shows its answers as before
    await respond(db, vault, customer, {"score": 9}, sent_at=DAY, texts={"comment": "等待时间"},
                  customer_id=await add_customer(db, vault, "张三"))  # fmt: skip
    body = (await _get(client, "bh.east", RESULTS.format(customer))).json()
    assert (body["withheld"], body["withheld_reason"], body["nps"]) == (False, None, 100.0)
    words = await _get(client, "bh.east", RESULTS.format(customer) + "/answers", term="等待时间")
    assert words.status_code == 200
    assert len(words.json()["items"]) == 1


async def test_once_closed_answers_show_in_groups_of_five(client: Any, db: Any, vault: Vault):
    survey_id = await _survey_answered_in_team_1(db, vault)
    assert (await _send(client, survey_id, "rm04")).status_code == 201
    assert (await _answer(client, "rm04", RM04)).status_code == 201
    marketing = await headers_of(client, "marketing")
    closed = await client.post(f"{SURVEYS}/{survey_id}/archive", headers=marketing)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "archived"

    url = RESULTS.format(survey_id)
    branch = (await _get(client, "bh.east", url, group_by="org_unit")).json()
    assert (branch["responded"], branch["withheld"], branch["withheld_reason"]) == (7, False, None)
    assert branch["csat"] == round(6 / 7, 4)
    stars = next(q for q in branch["questions"] if q["key"] == "stars")
    assert {d["value"]: d["count"] for d in stars["distribution"] if d["count"]} == {"4": 6, "2": 1}
    assert "加班" in {t["term"] for t in branch["top_terms"]}
    rows = {row["name"]: row for row in branch["by_unit"]}
    # The groups-of-5 rule still holds: the team of one is withheld, and so is the team of six
    # (shown, it would leave rm04's one answer as the rest).
    assert {name: (row["responded"], row["withheld"], row["withheld_reason"])
            for name, row in rows.items()} == {
        "东城一组 East Team 1": (6, True, "too_few_answers"),
        EAST_2: (1, True, "too_few_answers"),
    }  # fmt: skip
    team = (await _get(client, "bh.east", url, org_unit_id=str(unit("team-east-2")))).json()
    assert (team["withheld"], team["withheld_reason"], team["csat"]) == (
        True, "too_few_answers", None,
    )  # fmt: skip
    refused = await _get(client, "bh.east", url + "/answers", term="加班",
                         org_unit_id=str(unit("team-east-2")))  # fmt: skip
    assert (refused.status_code, refused.json()["code"]) == (409, "survey.too_few_answers")

    words = await _get(client, "bh.east", url + "/answers", term="加班", question_key="comment")
    assert words.status_code == 200, words.text
    [item] = words.json()["items"]
    assert item["text"] == "加班太多"
    assert (item["respondent"], item["org_unit_name"]) == ("员工（匿名）", EAST)
    for path in (".csv", ".xlsx"):
        exported = await _get(client, "bh.east", url + path)
        assert exported.status_code == 200, (path, exported.text)
    # Closed for good: reading again later reads the same.
    again = (await _get(client, "bh.east", url, group_by="org_unit")).json()
    assert {**again, "to": None} == {**branch, "to": None}


async def test_a_closed_staff_survey_takes_no_answer_and_no_delivery(
    client: Any, db: Any, vault: Vault
) -> None:
    survey_id = await _survey_answered_in_team_1(db, vault)
    assert (await _send(client, survey_id, "rm03", "rm04")).status_code == 201
    assert (await _answer(client, "rm03", {"score": 8})).status_code == 201
    rm04 = await headers_of(client, "rm04")
    [waiting] = (await client.get(f"{SURVEYS}/inbox", headers=rm04)).json()["items"]
    marketing = await headers_of(client, "marketing")
    closed = await client.post(f"{SURVEYS}/{survey_id}/archive", headers=marketing)
    assert closed.status_code == 200
    url = RESULTS.format(survey_id)
    shown = (await _get(client, "admin", url, group_by="org_unit")).json()
    assert (shown["responded"], shown["withheld"]) == (7, False)

    # rm04's invitation, sent before the closing: gone from the inbox, and its answer refused.
    assert (await client.get(f"{SURVEYS}/inbox", headers=rm04)).json()["items"] == []
    late = await client.post(
        f"{SURVEYS}/invitations/{waiting['invitation_id']}/response",
        json={"answers": RM04}, headers=rm04,
    )  # fmt: skip
    assert late.status_code == 409, late.text
    assert late.json()["code"] == "survey.archived"
    mine = await client.get(f"{SURVEYS}/invitations/{waiting['invitation_id']}", headers=rm04)
    assert mine.json()["responded_at"] is None
    # Nor sent again, to anyone.
    again = await _send(client, survey_id, "rm01")
    assert (again.status_code, again.json()["code"]) == (409, "survey.archived")
    assert await db.fetchval(
        "select count(*) from survey_invitations where survey_id = $1", survey_id
    ) == 8  # fmt: skip
    assert await db.fetchval(
        "select count(*) from survey_responses where survey_id = $1", survey_id
    ) == 7  # fmt: skip
    later = (await _get(client, "admin", url, group_by="org_unit")).json()
    assert {**later, "to": None} == {**shown, "to": None}


async def _waiting_on_a_lock(db: Any, task: asyncio.Task[Any]) -> bool:
    """Whether another session of this database waits on a lock (True) or the task ended
    without waiting (False)."""
    while not task.done():
        waiting = await db.fetchval(
            """select count(*) from pg_stat_activity
                where datname = current_database() and pid <> pg_backend_pid()
                  and wait_event_type = 'Lock'"""
        )
        if waiting:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_an_answer_under_way_is_counted_before_the_closing_or_refused_after_it(
    client: Any, db: Any, vault: Vault, settings: Any
) -> None:
    """An answer being stored and a closing exclude each other (the answer share-locks the
    survey's row, which the closing updates): the answer is in the results the closed survey
    shows, or refused; never counted after them."""
    survey_id = await _survey_answered_in_team_1(db, vault)
    assert (await _send(client, survey_id, "rm03", "rm04")).status_code == 201
    invitations = {}
    for login in ("rm03", "rm04"):
        headers = await headers_of(client, login)
        [item] = (await client.get(f"{SURVEYS}/inbox", headers=headers)).json()["items"]
        invitations[login] = uuid.UUID(item["invitation_id"])
    pool = await create_pool(settings.database_url, max_size=3)

    async def store(login: str) -> Any:
        async with pool.acquire() as conn, conn.transaction():
            return await submission.store(
                conn, cipher=vault.cipher, invitation_id=invitations[login],
                submitted={"score": 3, "stars": 2}, customer=False, user_id=user(login),
            )  # fmt: skip

    async def close() -> Any:
        async with pool.acquire() as conn, conn.transaction():
            return await design.archive(conn, caller=MARKETING, survey_id=survey_id)

    try:
        async with pool.acquire() as answering:  # rm03's answer, not committed yet
            tx = answering.transaction()
            await tx.start()
            await submission.store(
                answering, cipher=vault.cipher, invitation_id=invitations["rm03"],
                submitted={"score": 3, "stars": 2}, customer=False, user_id=user("rm03"),
            )  # fmt: skip
            closing = asyncio.create_task(close())
            waited = await _waiting_on_a_lock(db, closing)
            await tx.commit()
        assert waited  # the closing waited for rm03's answer, which it then shows
        assert (await closing).status == "archived"

        async with pool.acquire() as archiving:  # and an answer after a closing is refused
            await archiving.execute(
                "update surveys set status = 'published' where id = $1", survey_id
            )
            tx = archiving.transaction()
            await tx.start()
            await design.archive(archiving, caller=MARKETING, survey_id=survey_id)
            late = asyncio.create_task(store("rm04"))
            waited = await _waiting_on_a_lock(db, late)
            await tx.commit()
        assert waited
        with pytest.raises(SurveyArchived):
            await late
    finally:
        await pool.close()
    body = (await _get(client, "admin", RESULTS.format(survey_id))).json()
    assert (body["responded"], body["withheld"], body["csat"]) == (7, False, round(6 / 7, 4))

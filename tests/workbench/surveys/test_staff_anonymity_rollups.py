"""A staff answer counts on its own day, not its invitation's (migration 0055): the day an
invitation went out tells the round, and for a round sent to one person, whose answer a count
or a text is. So no rollup row, no term index row and no `sent_on` of the word search carries
an invitation's day for staff answers, while the staff results (whole survey) read the same.
Customer surveys still count by invitation day (a period covers the invitations sent in it)."""

from __future__ import annotations

import shutil
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import pytest

from tests.customers_data import headers_of
from tests.tasks_data import unit
from tests.workbench.surveys.results_data import RESULTS, add_customer, invite, publish
from tests.workbench.surveys.staff_results_data import DAY, TEXT, close_staff, publish_staff
from workbench import migrate
from workbench.db import use_json_codecs
from workbench.ids import uuid7
from workbench.security.passwords import Passwords
from workbench.security.vault import Vault
from workbench.seed import seed_demo_bank
from workbench.surveys import tallies
from workbench.surveys.results import texts_aad

ROLLUPS = ("survey_tallies", "survey_value_tallies", "survey_term_tallies", "survey_term_answers")


@pytest.fixture
async def vault(settings: Any, db: Any) -> Vault:
    await use_json_codecs(db)
    return Vault.from_settings(settings.data_keys, settings.blind_index_key)


async def _answer(
    db: Any,
    vault: Vault,
    survey_id: uuid.UUID,
    answers: dict[str, Any],
    *,
    sent_at: datetime,
    answered_at: datetime,
    team: str = "team-east-1",
    texts: dict[str, str] | None = None,
    customer_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """An invitation sent at `sent_at` answered at `answered_at`, stored and counted as the
    submission does (a staff answer: no invitation id, its day's midnight, random id)."""
    texts = texts or {}
    async with db.transaction():
        invitation_id = await invite(db, survey_id, team=team, sent_at=sent_at,
                                     customer_id=customer_id)  # fmt: skip
        response_id = uuid7() if customer_id else uuid.uuid4()
        blob = (
            vault.cipher.encrypt(msgspec.json.encode(texts).decode(), aad=texts_aad(response_id))
            if texts
            else None
        )
        await db.execute(
            """insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                             org_unit_id, answers, texts_enc, submitted_at)
               values ($1, case when $4::uuid is not null then $2::uuid end, $3, 1, $4, $5,
                       $6::jsonb, $7,
                       case when $4::uuid is not null then $8::timestamptz
                            else survey_day_start($8::timestamptz) end)""",
            response_id, invitation_id, survey_id, customer_id, unit(team), answers, blob,
            answered_at,
        )  # fmt: skip
        await db.execute(
            "update survey_invitations set responded_at = $2 where id = $1",
            invitation_id, answered_at if customer_id else sent_at,
        )  # fmt: skip
        await tallies.on_response(
            db, response_id=response_id, texts=texts, invitation_id=invitation_id
        )
    return response_id


async def _days(db: Any, survey_id: uuid.UUID) -> dict[str, set[date]]:
    """The days of each rollup's rows that come from answers (delivered ones aside)."""
    days = {}
    for table in ROLLUPS:
        answered = " and responded > 0" if table == "survey_tallies" else ""
        rows = await db.fetch(
            f"select distinct day from {table} where survey_id = $1{answered}",  # noqa: S608
            survey_id,
        )
        days[table] = {row["day"] for row in rows}
    return days


async def _get(client: Any, who: str, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=await headers_of(client, who))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.usefixtures("demo_bank")
async def test_staff_answers_count_on_their_day_not_their_invitations(
    client: Any, db: Any, vault: Vault, settings: Any
) -> None:
    zone = ZoneInfo(settings.bank_timezone)
    answered_on = DAY.astimezone(zone).date()
    survey_id = await publish_staff(db)
    scores = [9, 9, 10, 3, 3, 8]  # 3 promoters, 2 detractors of 6: NPS 16.7
    sent_days = set()
    for n, score in enumerate(scores, start=1):  # each invited on a day of its own
        sent = DAY - timedelta(days=n)
        sent_days.add(sent.astimezone(zone).date())
        team = "team-east-1" if n % 2 else "team-east-2"
        given = {"score": score, "service": "fast", "stars": 5 if n < 4 else 2}
        await _answer(db, vault, survey_id, given, sent_at=sent, answered_at=DAY, team=team,
                      texts=TEXT)  # fmt: skip

    days = await _days(db, survey_id)
    assert days == {table: {answered_on} for table in ROLLUPS}
    # The invitations are still counted as delivered on the days they went out.
    delivered = await db.fetch(
        """select day from survey_tallies
            where survey_id = $1 and org_unit_id = $2 and delivered > 0""",
        survey_id, unit("head-office"),
    )  # fmt: skip
    assert {row["day"] for row in delivered} == sent_days

    url = RESULTS.format(survey_id)
    await close_staff(db, survey_id)  # its answers show once it is closed
    body = await _get(client, "marketing", url)
    assert body["whole_survey"] is True
    assert (body["delivered"], body["responded"], body["response_rate"]) == (6, 6, 1.0)
    assert body["nps"] == 16.7
    assert body["csat"] == 0.5
    assert {"term": "等待时间", "count": 6} in body["top_terms"]
    service = next(q for q in body["questions"] if q["key"] == "service")
    assert {d["value"]: d["count"] for d in service["distribution"]}["fast"] == 6
    # A period asked is not applied: the answers' day outside it changes nothing.
    first_sent = min(sent_days).isoformat()
    assert (await _get(client, "marketing", url, **{"from": first_sent, "to": first_sent}))[
        "responded"
    ] == 6

    items = (await _get(client, "marketing", url + "/answers", term="等待时间"))["items"]
    assert len(items) == 6
    assert {item["sent_on"] for item in items} == {answered_on.isoformat()}
    assert {datetime.fromisoformat(i["submitted_at"]).astimezone(zone).date() for i in items} == {
        answered_on
    }


@pytest.mark.usefixtures("demo_bank")
async def test_a_customer_answer_still_counts_on_its_invitations_day(
    client: Any, db: Any, vault: Vault, settings: Any
) -> None:
    zone = ZoneInfo(settings.bank_timezone)
    survey_id = await publish(db)
    customer = await add_customer(db, vault, "张三")
    sent = DAY - timedelta(days=3)
    sent_on = sent.astimezone(zone).date()
    await _answer(db, vault, survey_id, {"score": 9, "service": "fast"}, sent_at=sent,
                  answered_at=DAY, texts=TEXT, customer_id=customer)  # fmt: skip

    assert await _days(db, survey_id) == {table: {sent_on} for table in ROLLUPS}
    url = RESULTS.format(survey_id)
    on_sending = {"from": sent_on.isoformat(), "to": sent_on.isoformat()}
    assert (await _get(client, "marketing", url, **on_sending))["responded"] == 1
    answered_on = DAY.astimezone(zone).date().isoformat()
    on_answer = {"from": answered_on, "to": answered_on}
    assert (await _get(client, "marketing", url, **on_answer))["responded"] == 0
    [item] = (await _get(client, "marketing", url + "/answers", term="等待时间"))["items"]
    assert item["sent_on"] == sent_on.isoformat()


# ---- migration 0055: the rows stored before -----------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the bank's zone where the database names none
SENT = (datetime(2025, 3, 3, 9, tzinfo=SHANGHAI), datetime(2025, 3, 4, 9, tzinfo=SHANGHAI))
ANSWERED = datetime(2025, 3, 5, tzinfo=SHANGHAI)  # a staff answer's time: its day's midnight
PULSE = [
    {"key": "mood", "type": "rating", "text": "状态"},
    {"key": "say", "type": "text", "text": "想说的话"},
    {"key": "more", "type": "text", "text": "补充"},
]


def _before_0055(folder: Path) -> Path:
    for path in migrate.default_directory().glob("*.sql"):
        if int(path.name[:4]) < 55:
            shutil.copy(path, folder / path.name)
    return folder


async def _survey(conn: asyncpg.Connection, audience: str, author: uuid.UUID) -> uuid.UUID:
    survey, questions = uuid7(), msgspec.json.encode(PULSE).decode()
    unit_id = await conn.fetchval("select org_unit_id from users where id = $1", author)
    await conn.execute(
        """insert into surveys (id, title, audience, status, questions, version, owner_unit_id,
                                created_by)
           values ($1, '问卷', $2, 'published', $3::jsonb, 1, $4, $5)""",
        survey, audience, questions, unit_id, author,
    )  # fmt: skip
    await conn.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, 1, '问卷', $2, $3::jsonb, $4)""",
        survey, audience, questions, author,
    )  # fmt: skip
    return survey


async def _answered_before(
    conn: asyncpg.Connection,
    survey: uuid.UUID,
    *,
    person: uuid.UUID,
    sent: datetime,
    answers: dict[str, Any],
    counted: list[tuple[str, str]],
    terms: list[tuple[str, str]],
    texts: bool,
    customer: uuid.UUID | None = None,
) -> None:
    """An answer stored and counted as the code before 0055 did: every count, and its words,
    on its invitation's day."""
    invitation, response = uuid7(), uuid.uuid4() if customer is None else uuid7()
    unit_id = await conn.fetchval("select org_unit_id from users where id = $1", person)
    await conn.execute(
        """insert into survey_invitations (id, survey_id, version, customer_id, user_id,
                                           org_unit_id, sent_by, sent_at, expires_at,
                                           responded_at)
           values ($1, $2, 1, $3, $4, $5, $7, $6::timestamptz,
                   $6::timestamptz + interval '30 days', $6::timestamptz)""",
        invitation, survey, customer, None if customer else person, unit_id, sent, person,
    )  # fmt: skip
    await conn.execute(
        """insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                         org_unit_id, answers, texts_enc, submitted_at,
                                         tallied_at)
           values ($1, $2, $3, 1, $4, $5, $6::jsonb, $7, $8, $8)""",
        response, invitation if customer else None, survey, customer, unit_id,
        msgspec.json.encode(answers).decode(), b"sealed" if texts else None, ANSWERED,
    )  # fmt: skip
    day, units = sent.date(), "unnest(survey_unit_and_above($3)) as u (unit)"
    await conn.execute(
        """insert into survey_tallies (survey_id, org_unit_id, day, responded)
            select $1, u.unit, $2, 1 from unnest(survey_unit_and_above($3)) as u (unit)
            on conflict (survey_id, org_unit_id, day)
            do update set responded = survey_tallies.responded + 1""",
        survey, day, unit_id,
    )  # fmt: skip
    for table, column, pairs in (("survey_value_tallies", "value", counted),
                                 ("survey_term_tallies", "term", terms)):  # fmt: skip
        for key, value in pairs:
            await conn.execute(
                f"""insert into {table} (survey_id, org_unit_id, day, question_key, {column},
                                         count)
                    select $1, u.unit, $2, $4, $5, 1 from {units}
                    on conflict (survey_id, org_unit_id, day, question_key, {column})
                    do update set count = {table}.count + 1""",  # noqa: S608
                survey, day, unit_id, key, value,
            )  # fmt: skip
    for key, term in terms:
        await conn.execute(
            """insert into survey_term_answers (survey_id, term, question_key, response_id, day,
                                                org_unit_id, submitted_at)
               values ($1, $2, $3, $4, $5, $6, $7)""",
            survey, term, key, response, day, unit_id, ANSWERED,
        )  # fmt: skip


async def _rows(conn: asyncpg.Connection, survey: uuid.UUID) -> dict[str, set[tuple[Any, ...]]]:
    """Every rollup row of the survey at the bank's root (term answers: each)."""
    rows = {}
    for table, columns in (("survey_tallies", "day, delivered, responded"),
                           ("survey_value_tallies", "day, question_key, value, count"),
                           ("survey_term_tallies", "day, question_key, term, count"),
                           ("survey_term_answers", "day, question_key, term")):  # fmt: skip
        root = (" and org_unit_id = (select id from org_units where parent_id is null)"
                if table != "survey_term_answers" else "")  # fmt: skip
        sql = f"select {columns} from {table} where survey_id = $1{root}"  # noqa: S608
        found = await conn.fetch(sql, survey)
        rows[table] = {tuple(row.values()) for row in found}
    return rows


async def test_0055_moves_the_staff_counts_stored_before_to_their_answers_day(
    scratch_db: str, tmp_path: Path
) -> None:
    await migrate.migrate(scratch_db, _before_0055(tmp_path))
    conn = await asyncpg.connect(scratch_db)
    try:
        await seed_demo_bank(conn, passwords=Passwords(memory_kib=1024, iterations=1))
        rm01 = await conn.fetchval("select id from users where login = 'rm01'")
        rm02 = await conn.fetchval("select id from users where login = 'rm02'")
        staff = await _survey(conn, "staff", rm01)
        # rm01, invited on the 3rd, and rm02 on the 4th, both answer on the 5th; rm01's second
        # text holds stop words only (counted as answered, no word to show it by).
        await _answered_before(conn, staff, person=rm01, sent=SENT[0], answers={"mood": 2},
                               counted=[("mood", ""), ("mood", "2"), ("say", ""), ("more", "")],
                               terms=[("say", "人手")], texts=True)  # fmt: skip
        await _answered_before(conn, staff, person=rm02, sent=SENT[1], answers={"mood": 4},
                               counted=[("mood", ""), ("mood", "4")], terms=[],
                               texts=False)  # fmt: skip
        customer = uuid7()
        await conn.execute(
            """insert into customers (id, external_id, owner_id, name_enc, id_number_enc,
                                      phone_enc, name_bidx, surname_bidx, id_number_bidx,
                                      phone_bidx, risk_level)
               values ($1, 'C-1', $2, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 3)""",
            customer, rm01,
        )  # fmt: skip
        customers = await _survey(conn, "customer", rm01)
        await _answered_before(conn, customers, person=rm01, sent=SENT[0], answers={"mood": 5},
                               counted=[("mood", ""), ("mood", "5"), ("say", "")],
                               terms=[("say", "排队")], texts=True,
                               customer=customer)  # fmt: skip
        customer_rows = await _rows(conn, customers)

        await migrate.migrate(scratch_db)

        day = ANSWERED.date()
        sent_1, sent_2 = (sent.date() for sent in SENT)
        assert await _rows(conn, staff) == {
            "survey_tallies": {(sent_1, 1, 0), (sent_2, 1, 0), (day, 0, 2)},
            "survey_value_tallies": {(day, "mood", "", 2), (day, "mood", "2", 1),
                                     (day, "mood", "4", 1), (day, "say", "", 1),
                                     (day, "more", "", 1)},
            "survey_term_tallies": {(day, "say", "人手", 1)},
            "survey_term_answers": {(day, "say", "人手")},
        }  # fmt: skip
        # Every unit above the answers reads the same: nothing left on an invitation's day.
        assert not await conn.fetchval(
            """select exists (select from survey_value_tallies where survey_id = $1 and day <> $2
                              union all
                              select from survey_tallies where survey_id = $1 and day <> $2
                                                           and responded > 0)""",
            staff, day,
        )  # fmt: skip
        assert await _rows(conn, customers) == customer_rows
        assert {row[0] for row in customer_rows["survey_value_tallies"]} == {sent_1}
    finally:
        await conn.close()

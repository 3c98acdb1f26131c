"""Migration 0054 scrubs the staff answers stored before it: no user id, no invitation id, the
bank day's midnight for the moment (on the response, its tally claim and its words), and the
staff invitation says answered, not when. Customer answers keep theirs."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from workbench import migrate
from workbench.ids import uuid7
from workbench.security.passwords import Passwords
from workbench.seed import seed_demo_bank

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the bank's zone where the database names none
SENT = datetime(2025, 3, 4, 9, 0, tzinfo=SHANGHAI)
ANSWERED = datetime(2025, 3, 5, 0, 41, 7, 123456, tzinfo=SHANGHAI)  # 3/4 16:41 UTC
MIDNIGHT = datetime(2025, 3, 5, tzinfo=SHANGHAI)


def _before_0054(folder: Path) -> Path:
    for path in migrate.default_directory().glob("*.sql"):
        if int(path.name[:4]) < 54:
            shutil.copy(path, folder / path.name)
    return folder


async def _answered(
    conn: asyncpg.Connection, *, audience: str, customer: uuid.UUID | None, person: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID]:
    """An answered invitation as the code before 0054 stored it: (invitation, response)."""
    survey, invitation, response = uuid7(), uuid7(), uuid7()
    unit = await conn.fetchval("select org_unit_id from users where login = 'rm01'")
    await conn.execute(
        """insert into surveys (id, title, audience, status, questions, version, owner_unit_id,
                                created_by)
           values ($1, '问卷', $2, 'published', '[]', 1, $3, $4)""",
        survey, audience, unit, person,
    )  # fmt: skip
    await conn.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, 1, '问卷', $2, '[]', $3)""",
        survey, audience, person,
    )  # fmt: skip
    await conn.execute(
        """insert into survey_invitations (id, survey_id, version, customer_id, user_id,
                                           org_unit_id, sent_by, sent_at, expires_at,
                                           responded_at)
           values ($1, $2, 1, $3, $4, $5, $6, $7::timestamptz,
                   $7::timestamptz + interval '30 days', $8)""",
        invitation, survey, customer, None if customer else person, unit, person, SENT,
        ANSWERED,
    )  # fmt: skip
    await conn.execute(
        """insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                         user_id, org_unit_id, answers, submitted_at, tallied_at)
           values ($1, $2, $3, 1, $4, $5, $6, '{"say": 1}', $7, $7)""",
        response, invitation, survey, customer, None if customer else person, unit, ANSWERED,
    )  # fmt: skip
    await conn.execute(
        """insert into survey_term_answers (survey_id, term, question_key, response_id, day,
                                            org_unit_id, submitted_at)
           values ($1, '人手', 'say', $2, $3, $4, $5)""",
        survey, response, SENT.date(), unit, ANSWERED,
    )  # fmt: skip
    return invitation, response


async def test_0054_unlinks_the_staff_answers_stored_before(scratch_db, tmp_path):
    await migrate.migrate(scratch_db, _before_0054(tmp_path))
    conn = await asyncpg.connect(scratch_db)
    try:
        await seed_demo_bank(conn, passwords=Passwords(memory_kib=1024, iterations=1))
        rm01 = await conn.fetchval("select id from users where login = 'rm01'")
        customer = uuid7()
        await conn.execute(
            """insert into customers (id, external_id, owner_id, name_enc, id_number_enc,
                                      phone_enc, name_bidx, surname_bidx, id_number_bidx,
                                      phone_bidx, risk_level)
               values ($1, 'C-1', $2, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 3)""",
            customer, rm01,
        )  # fmt: skip
        staff_invitation, staff = await _answered(conn, audience="staff", customer=None,
                                                  person=rm01)  # fmt: skip
        customer_invitation, answer = await _answered(conn, audience="customer",
                                                      customer=customer, person=rm01)  # fmt: skip

        await migrate.migrate(scratch_db)

        row = await conn.fetchrow("select * from survey_responses where id = $1", staff)
        assert (row["user_id"], row["invitation_id"]) == (None, None)
        assert row["submitted_at"] == MIDNIGHT
        assert row["tallied_at"] == MIDNIGHT
        assert row["org_unit_id"] is not None
        assert await conn.fetchval(
            "select submitted_at from survey_term_answers where response_id = $1", staff
        ) == MIDNIGHT  # fmt: skip
        # The staff invitation: answered, no longer when.
        assert await conn.fetchval(
            "select responded_at from survey_invitations where id = $1", staff_invitation
        ) == SENT  # fmt: skip

        kept = await conn.fetchrow("select * from survey_responses where id = $1", answer)
        assert (kept["customer_id"], kept["invitation_id"]) == (customer, customer_invitation)
        assert kept["submitted_at"] == ANSWERED
        assert kept["tallied_at"] == ANSWERED
        assert await conn.fetchval(
            "select submitted_at from survey_term_answers where response_id = $1", answer
        ) == ANSWERED  # fmt: skip
        assert await conn.fetchval(
            "select responded_at from survey_invitations where id = $1", customer_invitation
        ) == ANSWERED  # fmt: skip
    finally:
        await conn.close()

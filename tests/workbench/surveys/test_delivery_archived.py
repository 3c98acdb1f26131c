"""Archiving a survey stops its deliveries: a queued or running delivery sends nothing more
(`failed`, error `survey.archived`, on its progress), an archiving racing a chunk comes before it
(nothing sent) or after it, and the survey's links are reminded no more. Links sent before the
archiving are still answered (design.archive: "links already sent still work")."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mobile_contracts.v1.identity import Role
from tests.console.conftest import console, make_console, signed_in  # noqa: F401
from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import (
    SURVEYS,
    add_customers,
    age_invitations,
    unit,
    user,
)
from tests.workbench.surveys.delivery_data import publish as publish_survey
from workbench.access import Caller
from workbench.db import Pool, create_pool, use_json_codecs
from workbench.surveys import delivery, delivery_jobs, design
from workbench.surveys.invitations import queries

pytestmark = pytest.mark.usefixtures("demo_bank")
RATING = [{"key": "r", "type": "rating", "text": "满意度"}]
OUTBOX = "/api/v1/integration/survey-messages"
WEST = {"org_unit_id": str(unit("branch-west"))}


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=4)
    yield made
    await made.close()


def worker(pool: Pool, settings: Any, **extra: Any) -> dict[str, Any]:
    rules = delivery.Rules.from_settings(settings)
    return {"pool": pool, "settings": settings, "survey_rules": rules, **extra}


async def one_chunk(pool: Pool, settings: Any, delivery_id: uuid.UUID, size: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        row = await queries.claim_delivery(conn, delivery_id)
        await delivery.run_chunk(
            conn, delivery=row, rules=delivery.Rules.from_settings(settings), chunk=size
        )


async def test_archiving_stops_a_queued_send_and_its_reminders(client, db, settings, pool):
    survey = await publish_survey(db, questions=RATING)
    await add_customers(db, 5, owner="rm05", prefix="W")
    bh, marketing = await headers_of(client, "bh.west"), await headers_of(client, "marketing")
    made = await client.post(f"{SURVEYS}/{survey}/deliveries", json=WEST, headers=bh)
    assert made.status_code == 202, made.text
    delivery_id = uuid.UUID(made.json()["id"])
    await one_chunk(pool, settings, delivery_id, 2)  # two sent before the archiving

    archived = await client.post(f"{SURVEYS}/{survey}/archive", headers=marketing)
    assert archived.status_code == 200
    assert await delivery_jobs.deliver_surveys(worker(pool, settings)) == 0

    progress = await client.get(f"{SURVEYS}/{survey}/deliveries/{delivery_id}", headers=bh)
    body = progress.json()
    assert (body["status"], body["error"], body["done"], body["skipped"], body["total"]) == (
        "failed", "survey.archived", 2, 0, 5,
    )  # fmt: skip
    assert body["finished_at"] is not None
    assert await db.fetchval("select count(*) from survey_invitations") == 2
    assert await db.fetchval("select count(*) from survey_messages") == 2

    # Nothing more later either: the stopped delivery is not taken up again.
    assert await delivery_jobs.deliver_surveys(worker(pool, settings)) == 0
    assert await db.fetchval("select count(*) from survey_messages") == 2

    # The two links sent before the archiving are all the gateway reads, and not reminded...
    await age_invitations(db, survey, datetime.now(UTC) - timedelta(days=4))
    outbox = await client.get(OUTBOX, headers=await headers_of(client, "admin"))
    assert len(outbox.json()["items"]) == 2
    await use_json_codecs(db)
    async with db.transaction():
        assert await delivery.send_reminders(db, rules=delivery.Rules.from_settings(settings)) == (
            0, 0,
        )  # fmt: skip
    assert await db.fetchval("select count(*) from survey_messages where kind = 'reminder'") == 0
    # ...but are still answered (design.archive: links already sent still work).
    first = await db.fetchval("select id from survey_invitations order by id limit 1")
    url = delivery.Rules.from_settings(settings).url(first)
    path = url.removeprefix(settings.public_base_url.rstrip("/"))
    assert (await client.post(path, json={"answers": {"r": 4}})).status_code == 201


async def test_a_published_surveys_links_are_still_reminded(client, db, settings):
    """The reminder query's new condition keeps the survey that is not archived."""
    survey = await publish_survey(db, questions=RATING)
    other = await publish_survey(db, questions=RATING)
    (customer,) = await add_customers(db, 1)
    (second,) = await add_customers(db, 1, prefix="D")
    rm01 = await headers_of(client, "rm01")
    for survey_id, who in ((survey, customer), (other, second)):
        sent = await client.post(f"{SURVEYS}/{survey_id}/deliveries",
                                 json={"customer_ids": [str(who)]}, headers=rm01)  # fmt: skip
        assert sent.status_code == 201
        await age_invitations(db, survey_id, datetime.now(UTC) - timedelta(days=4))
    await client.post(f"{SURVEYS}/{other}/archive", headers=await headers_of(client, "marketing"))
    await use_json_codecs(db)
    async with db.transaction():
        assert await delivery.send_reminders(db, rules=delivery.Rules.from_settings(settings)) == (
            1, 0,
        )  # fmt: skip
    reminded = await db.fetch("select customer_id from survey_messages where kind = 'reminder'")
    assert [r["customer_id"] for r in reminded] == [customer]


MARKETING = Caller(
    user_id=user("marketing"), role=Role.MARKETING, org_unit_id=unit("head-office"),
    session_id=uuid.uuid4(), device_id="test",
)  # fmt: skip


async def _archive(pool: Pool, survey_id: uuid.UUID) -> Any:
    """POST /surveys/{id}/archive as marketing, on a connection of its own (the API's test
    client would hold up this event loop while the request waits on a lock)."""
    async with pool.acquire() as conn, conn.transaction():
        return await design.archive(conn, caller=MARKETING, survey_id=survey_id)


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


async def test_an_archiving_before_a_chunk_commits_first_and_the_chunk_sends_nothing(
    client, db, settings, pool
):
    survey = await publish_survey(db, questions=RATING)
    await add_customers(db, 3, owner="rm05", prefix="W")
    bh = await headers_of(client, "bh.west")
    made = await client.post(f"{SURVEYS}/{survey}/deliveries", json=WEST, headers=bh)
    assert made.status_code == 202, made.text
    archiving = await pool.acquire()
    try:
        tx = archiving.transaction()
        await tx.start()  # the archiving has updated the survey's row, not committed yet
        await design.archive(archiving, caller=MARKETING, survey_id=survey)
        run = asyncio.create_task(delivery_jobs.deliver_surveys(worker(pool, settings)))
        waited = await _waiting_on_a_lock(db, run)
        await tx.commit()
    finally:
        await pool.release(archiving)
    assert await run == 0
    assert waited  # the chunk waited for the archiving to end, then saw it
    row = await db.fetchrow("select status, error, done from survey_deliveries")
    assert tuple(row) == ("failed", "survey.archived", 0)
    assert await db.fetchval("select count(*) from survey_invitations") == 0
    assert await db.fetchval("select count(*) from survey_messages") == 0


async def test_an_archiving_during_a_chunk_waits_for_it(client, db, settings, pool):
    survey = await publish_survey(db, questions=RATING)
    await add_customers(db, 3, owner="rm05", prefix="W")
    bh = await headers_of(client, "bh.west")
    made = await client.post(f"{SURVEYS}/{survey}/deliveries", json=WEST, headers=bh)
    delivery_id = uuid.UUID(made.json()["id"])
    chunk = await pool.acquire()
    try:
        tx = chunk.transaction()
        await tx.start()  # a chunk of two, not committed yet
        row = await queries.claim_delivery(chunk, delivery_id)
        rules = delivery.Rules.from_settings(settings)
        await delivery.run_chunk(chunk, delivery=row, rules=rules, chunk=2)
        archive = asyncio.create_task(_archive(pool, survey))
        waited = await _waiting_on_a_lock(db, archive)
        await tx.commit()
    finally:
        await pool.release(chunk)
    assert (await archive).status == "archived"
    assert waited  # the archiving came after the chunk: its two links were sent before it
    assert await delivery_jobs.deliver_surveys(worker(pool, settings)) == 0
    row = await db.fetchrow("select status, error, done from survey_deliveries")
    assert tuple(row) == ("failed", "survey.archived", 2)
    assert await db.fetchval("select count(*) from survey_messages") == 2


async def test_a_send_in_the_request_is_refused_once_archived(client, db):
    survey = await publish_survey(db, questions=RATING)
    (customer,) = await add_customers(db, 1)
    await client.post(f"{SURVEYS}/{survey}/archive", headers=await headers_of(client, "marketing"))
    sent = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"customer_ids": [str(customer)]},
                             headers=await headers_of(client, "rm01"))  # fmt: skip
    assert (sent.status_code, sent.json()["code"]) == (409, "survey.archived")
    assert await db.fetchval("select count(*) from survey_deliveries") == 0


async def test_the_console_progress_page_says_the_delivery_stopped(
    console: Any,  # noqa: F811 (the fixture imported above)
    client: Any,
    db: Any,
    settings: Any,
    pool: Pool,
) -> None:
    survey = await publish_survey(db, questions=RATING, title="网点服务回访")
    await add_customers(db, 3, owner="rm05", prefix="W")
    bh = await headers_of(client, "bh.west")
    made = await client.post(f"{SURVEYS}/{survey}/deliveries", json=WEST, headers=bh)
    await client.post(f"{SURVEYS}/{survey}/archive", headers=await headers_of(client, "marketing"))
    await delivery_jobs.deliver_surveys(worker(pool, settings))
    await signed_in(console, "bh.west")
    page = await console.get(f"/console/surveys/{survey}/deliveries/{made.json()['id']}")
    assert page.status_code == 200
    assert 'data-status="failed">已停止<' in page.text
    assert 'data-error="survey.archived"' in page.text
    assert "问卷已归档" in page.text
    assert 'http-equiv="refresh"' not in page.text
    assert "再次发送" not in page.text

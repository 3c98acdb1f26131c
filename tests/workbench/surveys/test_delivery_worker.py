"""Large deliveries in the worker: chunk by chunk, resumed after an interruption without a
recipient invited twice, progress visible; a selection of a unit's customers by tag."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish, unit, user
from workbench.db import Pool, create_pool
from workbench.surveys import delivery, delivery_jobs
from workbench.surveys.invitations import queries

pytestmark = pytest.mark.usefixtures("demo_bank")


class Interrupted(Exception):
    pass


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=4)
    yield made
    await made.close()


def worker(pool: Pool, settings: Any, **extra: Any) -> dict[str, Any]:
    rules = delivery.Rules.from_settings(settings)
    return {"pool": pool, "settings": settings, "survey_rules": rules, "survey_chunk": 1000,
            **extra}  # fmt: skip


async def test_three_thousand_recipients_in_chunks_resume_after_an_interruption(
    client, db, settings, pool
):
    survey = await publish(db)
    customers = await add_customers(db, 3000)
    admin = await headers_of(client, "admin")
    body = {"customer_ids": [str(c) for c in customers]}
    made = await client.post(f"{SURVEYS}/{survey}/deliveries", json=body, headers=admin)
    assert made.status_code == 202, made.text
    queued = made.json()
    assert (queued["status"], queued["total"], queued["done"]) == ("queued", 3000, 0)
    progress = f"{SURVEYS}/{survey}/deliveries/{queued['id']}"
    rules = delivery.Rules.from_settings(settings)

    async with pool.acquire() as conn, conn.transaction():  # one chunk, committed
        row = await queries.claim_delivery(conn, uuid.UUID(queued["id"]))
        await delivery.run_chunk(conn, delivery=row, rules=rules)

    async def cut_off() -> None:
        async with pool.acquire() as conn, conn.transaction():
            row = await queries.claim_delivery(conn, uuid.UUID(queued["id"]))
            await delivery.run_chunk(conn, delivery=row, rules=rules)
            raise Interrupted

    with pytest.raises(Interrupted):  # the next one cut off halfway: rolled back whole
        await cut_off()
    halfway = (await client.get(progress, headers=admin)).json()
    assert (halfway["status"], halfway["done"], halfway["total"]) == ("running", 1000, 3000)

    assert await delivery_jobs.deliver_surveys(worker(pool, settings)) == 2000
    done = (await client.get(progress, headers=admin)).json()
    assert (done["status"], done["done"], done["skipped"], done["total"]) == ("done", 3000, 0, 3000)
    invited = await db.fetchval(
        "select count(distinct customer_id) from survey_invitations where delivery_id = $1",
        uuid.UUID(queued["id"]),
    )
    assert invited == 3000
    assert await db.fetchval("select count(*) from survey_invitations") == 3000
    assert await db.fetchval("select count(*) from survey_messages") == 3000
    assert await delivery_jobs.deliver_surveys(worker(pool, settings)) == 0  # nothing left

    rm01 = await headers_of(client, "rm01")
    assert (await client.get(progress, headers=rm01)).status_code == 404  # not theirs


async def test_a_branch_head_sends_to_a_units_tagged_customers(client, db, settings, pool):
    survey = await publish(db)
    vip = await add_customers(db, 3, owner="rm01", prefix="V", tags=["vip"])
    await add_customers(db, 2, owner="rm01", prefix="N")
    await add_customers(db, 2, owner="rm05", prefix="W", tags=["vip"])  # west: not in the unit
    bh = await headers_of(client, "bh.east")
    made = await client.post(f"{SURVEYS}/{survey}/deliveries",
                             json={"org_unit_id": str(unit("team-east-1")), "tag": "vip"},
                             headers=bh)  # fmt: skip
    assert made.status_code == 202, made.text
    await delivery_jobs.deliver_surveys(worker(pool, settings))
    progress = await client.get(f"{SURVEYS}/{survey}/deliveries/{made.json()['id']}", headers=bh)
    assert (progress.json()["status"], progress.json()["done"]) == ("done", 3)
    rows = await db.fetch("select customer_id from survey_invitations order by customer_id")
    assert [r["customer_id"] for r in rows] == sorted(vip)
    west_unit = {"org_unit_id": str(unit("team-west-1"))}
    west = await client.post(f"{SURVEYS}/{survey}/deliveries", json=west_unit, headers=bh)
    assert west.status_code == 404


async def test_a_delivery_that_keeps_failing_holds_up_no_other(client, db, settings, pool):
    survey = await publish(db)
    customers = await add_customers(db, 3)
    # An older delivery whose chunks fail (its selection names no unit the worker can read).
    await db.execute(
        """insert into survey_deliveries (id, survey_id, version, source, requested_by,
                                          recipients, created_at)
           values ($1, $2, 1, 'api', $3, '{"org_unit_id": "not-a-unit"}',
                   now() - interval '1 hour')""",
        uuid.uuid4(), survey, user("admin"),
    )  # fmt: skip
    admin = await headers_of(client, "admin")
    body = {"customer_ids": [str(c) for c in customers]}
    made = await client.post(f"{SURVEYS}/{survey}/deliveries", json=body, headers=admin)
    assert made.status_code == 201  # three: sent in the request
    await db.execute("update survey_deliveries set status = 'queued', done = 0, finished_at = null"
                     " where id = $1", uuid.UUID(made.json()["id"]))  # fmt: skip
    await db.execute("delete from survey_messages")
    await db.execute("delete from survey_invitations")
    assert await delivery_jobs.deliver_surveys(worker(pool, settings)) == 3
    statuses = await db.fetch("select status from survey_deliveries order by created_at")
    assert [r["status"] for r in statuses] == ["queued", "done"]  # the failing one is retried later

"""Sending a survey while its next version is being published: the send waits for the
publishing, then sends the survey under the new version (never a 404 `survey.not_found` for a
survey published all along). Two connections, sequenced through PostgreSQL's lock table."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mobile_contracts.v1 import survey_delivery as wire
from mobile_contracts.v1.identity import Role
from tests.customers_data import headers_of
from tests.locks import waits_for_a_lock
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, unit, user
from tests.workbench.surveys.delivery_data import publish as publish_survey
from workbench.access import Caller
from workbench.db import Pool, create_pool
from workbench.surveys import delivery, design

pytestmark = pytest.mark.usefixtures("demo_bank")
RATING = [{"key": "r", "type": "rating", "text": "满意度"}]


def caller(login: str, role: Role, unit_key: str) -> Caller:
    return Caller(
        user_id=user(login), role=role, org_unit_id=unit(unit_key), session_id=uuid.uuid4(),
        device_id="test",
    )  # fmt: skip


MARKETING = caller("marketing", Role.MARKETING, "head-office")


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=4)
    yield made
    await made.close()


@pytest.mark.parametrize(
    ("sender", "request_"),
    [
        pytest.param(
            caller("bh.west", Role.BRANCH_HEAD, "branch-west"),
            wire.DeliveryCreate(org_unit_id=unit("branch-west")),
            id="a branch head's selection (the worker sends it)",
        ),
        pytest.param(
            caller("rm05", Role.RM, "team-west-1"), None, id="an RM's customer (sent at once)"
        ),
    ],
)
async def test_a_send_waits_for_the_publishing_and_sends_the_new_version(
    client, db, settings, pool, sender, request_
):
    survey = await publish_survey(db, questions=RATING)
    (customer,) = await add_customers(db, 1, owner="rm05", prefix="W")
    request_ = request_ or wire.DeliveryCreate(customer_ids=[customer])
    edited = await client.patch(  # marketing changes the draft, then publishes it
        f"{SURVEYS}/{survey}", json={"title": "客户满意度调查（第二版）"},
        headers=await headers_of(client, "marketing"),
    )  # fmt: skip
    assert edited.status_code == 200, edited.text
    publishing, sending = await pool.acquire(), await pool.acquire()
    try:
        pid = await sending.fetchval("select pg_backend_pid()")
        tx = publishing.transaction()
        await tx.start()  # version 2 inserted and the survey's row updated, not committed yet
        assert (await design.publish(publishing, caller=MARKETING, survey_id=survey)).version == 2

        async def send() -> tuple[wire.Delivery, bool]:
            async with sending.transaction():
                return await delivery.create(
                    sending, caller=sender, survey_id=survey, request=request_,
                    rules=delivery.Rules.from_settings(settings),
                )  # fmt: skip

        task = asyncio.create_task(send())
        waited = await waits_for_a_lock(db, pid, task)
        await tx.commit()
        made, _ = await task
    finally:
        await pool.release(publishing)
        await pool.release(sending)
    assert waited  # the send's lock waited for the publishing, then saw it committed
    assert made.version == 2
    assert await db.fetchval("select version from survey_deliveries") == 2
    if request_.customer_ids:
        assert [r.invitation_id is not None for r in made.recipients] == [True]
        assert await db.fetchval("select version from survey_invitations") == 2

"""Sending surveys: who may send to whom, the contact cap across surveys and reminders,
reminders to non-respondents only, the gateway's outbox, and the send after a task is done."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import TASKS, create_template, field, issue_tasks
from tests.workbench.surveys.delivery_data import (
    EVERY_TYPE,
    SURVEYS,
    add_customers,
    age_invitations,
    publish,
    user,
)
from workbench.db import use_json_codecs
from workbench.surveys import delivery
from workbench.surveys.links import SurveyLinks

pytestmark = pytest.mark.usefixtures("demo_bank")
OUTBOX = "/api/v1/integration/survey-messages"


async def send(client: Any, headers: dict[str, str], survey_id: uuid.UUID, **body: Any) -> Any:
    payload = {k: [str(i) for i in v] if isinstance(v, list) else str(v) for k, v in body.items()}
    return await client.post(f"{SURVEYS}/{survey_id}/deliveries", json=payload, headers=headers)


def rules_for(settings: Any) -> delivery.Rules:
    return delivery.Rules.from_settings(settings)


async def test_rm_sends_to_own_customers_and_nobody_else(client, db, settings):
    survey = await publish(db)
    mine = await add_customers(db, 2, owner="rm01", prefix="A")
    (theirs,) = await add_customers(db, 1, owner="rm02", prefix="B")
    rm01 = await headers_of(client, "rm01")

    response = await send(client, rm01, survey, customer_ids=mine)
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["status"] == "done"
    assert (made["total"], made["done"], made["skipped"]) == (2, 2, 0)
    links = SurveyLinks(settings.jwt_keys)
    for recipient, customer in zip(made["recipients"], mine, strict=True):
        assert recipient["status"] == "sent"
        assert recipient["customer_id"] == str(customer)
        assert recipient["url"] == links.url(settings.public_base_url,
                                             uuid.UUID(recipient["invitation_id"]))  # fmt: skip
    row = await db.fetchrow(
        "select rm_id, org_unit_id, sent_by from survey_invitations where customer_id = $1", mine[0]
    )
    assert (row["rm_id"], row["sent_by"]) == (user("rm01"), user("rm01"))

    before = await db.fetchval("select count(*) from survey_invitations")
    refused = await send(client, rm01, survey, customer_ids=[mine[0], theirs])
    assert refused.status_code == 404
    assert refused.json()["code"] == "customer.not_found"
    assert await db.fetchval("select count(*) from survey_invitations") == before

    wrong = await send(client, rm01, survey, user_ids=[user("rm02")])
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "survey.wrong_recipients"
    marketing = await send(client, await headers_of(client, "marketing"), survey,
                           customer_ids=[theirs])  # fmt: skip
    # Marketing sees the survey (they design surveys) but sends none: said so, not "no survey".
    assert marketing.status_code == 403
    assert marketing.json()["code"] == "auth.forbidden"
    draft = await publish(db, status="draft")
    assert (await send(client, rm01, draft, customer_ids=mine)).status_code == 404
    staff_survey = await publish(db, audience="staff")
    assert (await send(client, rm01, staff_survey, user_ids=[user("rm01")])).status_code == 404


async def test_branch_head_reaches_their_subtree_only(client, db):
    survey = await publish(db)
    (east,) = await add_customers(db, 1, owner="rm02", prefix="E")
    (west,) = await add_customers(db, 1, owner="rm05", prefix="W")
    bh_east = await headers_of(client, "bh.east")
    assert (await send(client, bh_east, survey, customer_ids=[east])).status_code == 201
    refused = await send(client, bh_east, survey, customer_ids=[west])
    assert refused.status_code == 404
    admin = await headers_of(client, "admin")
    assert (await send(client, admin, survey, customer_ids=[west])).status_code == 201


async def test_contact_cap_holds_across_surveys_and_reminders(client, db, settings):
    first, second, third = await publish(db), await publish(db), await publish(db)
    (customer,) = await add_customers(db, 1)
    rm01 = await headers_of(client, "rm01")
    assert (await send(client, rm01, first, customer_ids=[customer])).json()["done"] == 1
    await age_invitations(db, first, datetime.now(UTC) - timedelta(days=4))
    await use_json_codecs(db)
    async with db.transaction():
        assert await delivery.send_reminders(db, rules=rules_for(settings)) == (1, 0)

    # An invitation and a reminder this week: the cap of 2 holds the next survey back.
    capped = (await send(client, rm01, second, customer_ids=[customer])).json()
    assert (capped["done"], capped["skipped"]) == (0, 1)
    assert capped["recipients"] == [
        {"status": "skipped", "customer_id": str(customer), "reason": "contact_cap"}
    ]
    # A week later the first messages no longer count.
    await db.execute("update survey_messages set created_at = created_at - interval '8 days'")
    assert (await send(client, rm01, third, customer_ids=[customer])).json()["done"] == 1
    assert await db.fetchval("select count(*) from survey_messages") == 3


async def test_a_customer_holding_an_open_link_is_not_sent_a_second(client, db, settings):
    # Two sends of one survey to a customer made two links, answered and counted twice.
    survey = await publish(db, questions=[{"key": "r", "type": "rating", "text": "满意度"}])
    holder, answered, fresh = await add_customers(db, 3)
    rm01 = await headers_of(client, "rm01")
    first = (await send(client, rm01, survey, customer_ids=[holder, answered])).json()
    url = next(r["url"] for r in first["recipients"] if r["customer_id"] == str(answered))
    path = url.removeprefix(settings.public_base_url.rstrip("/"))
    assert (await client.post(path, json={"answers": {"r": 4}})).status_code == 201

    again = (await send(client, rm01, survey, customer_ids=[holder, answered, fresh])).json()
    assert (again["done"], again["skipped"]) == (2, 1)
    assert {r["customer_id"]: r.get("reason") for r in again["recipients"]} == {
        str(holder): "already_invited",
        str(answered): None,  # answered: a new link is a new answer
        str(fresh): None,
    }
    # Once the first link has expired, the customer may be asked again.
    await db.execute(
        "update survey_invitations set expires_at = now() - interval '1 hour'"
        " where customer_id = $1",
        holder,
    )
    await db.execute("update survey_messages set created_at = created_at - interval '8 days'")
    later = (await send(client, rm01, survey, customer_ids=[holder])).json()
    assert later["done"] == 1


async def test_reminders_go_to_non_respondents_once_and_the_outbox_lists_them(client, db, settings):
    survey = await publish(db, questions=[{"key": "r", "type": "rating", "text": "满意度"}])
    answered, expired, silent = await add_customers(db, 3)
    rm01 = await headers_of(client, "rm01")
    made = (await send(client, rm01, survey, customer_ids=[answered, expired, silent])).json()
    urls = {r["customer_id"]: r["url"] for r in made["recipients"]}
    path = urls[str(answered)].removeprefix(settings.public_base_url.rstrip("/"))
    assert (await client.post(path, json={"answers": {"r": 5}})).status_code == 201
    await age_invitations(db, survey, datetime.now(UTC) - timedelta(days=4))
    await db.execute(
        "update survey_invitations set expires_at = now() - interval '1 hour'"
        " where customer_id = $1",
        expired,
    )
    await use_json_codecs(db)
    rules = rules_for(settings)
    async with db.transaction():
        assert await delivery.send_reminders(db, rules=rules) == (1, 0)
    async with db.transaction():
        assert await delivery.send_reminders(db, rules=rules) == (0, 0)  # at most one
    reminded = await db.fetch(
        "select customer_id, seq from survey_messages where kind = 'reminder'"
    )
    assert [(r["customer_id"], r["seq"]) for r in reminded] == [(silent, 1)]

    admin = await headers_of(client, "admin")
    assert (await client.get(OUTBOX, headers=admin)).json()["items"][-1]["kind"] == "invitation"
    # The reminder is listed once it is a few seconds old (none committed late is missed).
    await db.execute("update survey_messages set created_at = created_at - interval '1 minute'")
    page = (await client.get(OUTBOX, params={"limit": 3}, headers=admin)).json()
    assert [m["kind"] for m in page["items"]] == ["invitation"] * 3
    rest = (await client.get(OUTBOX, params={"after": page["next_cursor"]}, headers=admin)).json()
    assert [(m["kind"], m["seq"], m["url"]) for m in rest["items"]] == [
        ("reminder", 1, urls[str(silent)])
    ]
    assert rest["items"][0]["customer_external_id"] == "C-000002"
    nothing = await client.get(OUTBOX, params={"after": rest["next_cursor"]}, headers=admin)
    assert nothing.json()["items"] == []
    assert (await client.get(OUTBOX, headers=rm01)).status_code == 403


async def test_a_task_done_sends_its_survey_to_the_customer_once(client, db, settings):
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("notes", "text"), name="上门拜访")
    survey = await publish(db, questions=EVERY_TYPE, after_template_id=uuid.UUID(template["id"]))
    await publish(db)  # another survey, after no template
    (customer,) = await add_customers(db, 1)
    [(login, task_id, _)] = await issue_tasks(client, db, admin, template["id"],
                                             customer_ids=[customer])  # fmt: skip
    rm = await headers_of(client, login)
    assert (await client.post(f"{TASKS}/{task_id}/start", headers=rm)).status_code == 200
    done = await client.post(f"{TASKS}/{task_id}/submit", json={"values": {}}, headers=rm)
    assert done.status_code == 200
    assert done.json()["status"] == "done"

    rows = await db.fetch("select survey_id, customer_id, task_id, sent_by from survey_invitations")
    assert [tuple(r) for r in rows] == [(survey, customer, task_id, user(login))]
    assert await db.fetchval("select count(*) from survey_messages") == 1
    await use_json_codecs(db)
    task = await db.fetchrow("select * from tasks where id = $1", task_id)
    async with db.transaction():
        assert await delivery.after_task_done(db, task=task, rules=rules_for(settings)) == []
    assert await db.fetchval("select count(*) from survey_invitations") == 1


async def test_an_archived_survey_is_refused_as_archived_not_as_missing(client, db):
    archived = await publish(db, status="archived")
    (customer,) = await add_customers(db, 1, owner="rm01", prefix="R")
    admin, rm01 = await headers_of(client, "admin"), await headers_of(client, "rm01")
    sent = await send(client, admin, archived, customer_ids=[customer])
    assert (sent.status_code, sent.json()["code"]) == (409, "survey.archived")
    shared = await client.post(
        "/api/v1/shares",
        json={"survey_id": str(archived), "customer_id": str(customer), "channel": "wechat"},
        headers=rm01,
    )
    assert (shared.status_code, shared.json()["code"]) == (409, "survey.archived")
    # Who could not send it anyway still gets 404: an RM and an archived staff survey.
    staff_survey = await publish(db, audience="staff", status="archived")
    assert (await send(client, rm01, staff_survey, user_ids=[user("rm01")])).status_code == 404
    assert await db.fetchval("select count(*) from survey_invitations") == 0
    assert await db.fetchval("select count(*) from survey_deliveries") == 0

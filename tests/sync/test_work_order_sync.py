"""Work orders in offline sync (schema 4): in the assignee's partition and the branch heads' over
its unit, never another RM's; masked customer, the triggering answer and a text answer as a
masked snippet; a reassigned or escalated one reaches its new holder (and leaves the old one);
`work_order.transition` applied once (a resent batch is `duplicate`), a conflict carrying the
server's row when the work order moved on, rejected when it can never succeed; schema 3 apps
never see work orders. Answers are stored with SQL and opened by the alert hook, as a
submission does."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest

from tests.customers_data import customer_row, feed, headers_of
from tests.sync.sync_data import PUSH, App, json_codecs
from tests.sync.test_survey_sync import add_survey
from tests.tasks_data import user
from workbench.ids import uuid7
from workbench.security.vault import Vault
from workbench.settings import Settings
from workbench.workorders import alerts, escalation

pytestmark = pytest.mark.usefixtures("demo_bank")

V4 = 4
QUESTIONS = [
    {"key": "nps", "type": "nps", "text": "您有多大可能向朋友推荐我们？", "required": True},
    {"key": "comment", "type": "text", "text": "还有什么想告诉我们的？"},
]
COMMENT = "柜台排队一个小时，请回电 13812345678 说明情况，否则我要转走资金"


async def add_rule(db: Any, survey_id: uuid.UUID, *, sla_hours: int = 24) -> uuid.UUID:
    """nps <= 6 opens a work order for the customer's owning RM."""
    rule_id = uuid7()
    await db.execute(
        """
        insert into alert_rules (id, survey_id, question_key, op, value, assign_to, sla_hours,
                                 created_by)
        values ($1, $2, 'nps', 'lte', '6'::jsonb, 'owner_rm', $3, $4)
        """,
        rule_id, survey_id, sla_hours, user("admin"),
    )  # fmt: skip
    return rule_id


async def answer(
    db: Any, settings: Settings, survey_id: uuid.UUID, customer_id: uuid.UUID, *, nps: int,
    comment: str | None = None, now: datetime | None = None,
) -> uuid.UUID | None:  # fmt: skip
    """The customer answers through their link (as the public page stores it) and the alert
    hook runs; the work order it opened, if any."""
    await json_codecs(db)
    owner = await db.fetchrow(
        """
        select c.owner_id, u.org_unit_id from customers c join users u on u.id = c.owner_id
         where c.id = $1
        """,
        customer_id,
    )
    invitation_id, response_id = uuid7(), uuid7()
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    texts = {"comment": comment} if comment else {}
    sealed = (
        vault.cipher.encrypt(
            json.dumps(texts, ensure_ascii=False), aad=alerts.texts_aad(response_id)
        )
        if texts
        else None
    )
    async with db.transaction():
        await db.execute(
            """
            insert into survey_invitations (id, survey_id, version, customer_id, rm_id,
                                            org_unit_id, sent_by, expires_at, responded_at)
            select $1, id, version, $2, $3, $4, $3, now() + interval '7 days', now()
              from surveys where id = $5
            """,
            invitation_id, customer_id, owner["owner_id"], owner["org_unit_id"], survey_id,
        )  # fmt: skip
        await db.execute(
            """
            insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                          rm_id, org_unit_id, answers, texts_enc)
            select $1, i.id, i.survey_id, i.version, i.customer_id, i.rm_id, i.org_unit_id,
                   $2::jsonb, $3
              from survey_invitations i where i.id = $4
            """,
            response_id, {"nps": nps}, sealed, invitation_id,
        )  # fmt: skip
        return await alerts.on_response(db, response_id=response_id, texts=texts, now=now)


@dataclass
class Desk:
    survey: uuid.UUID
    customers: dict[str, uuid.UUID]  # external id -> id
    order: uuid.UUID  # rm01's customer's work order


async def open_desk(client: Any, db: Any, settings: Settings) -> Desk:
    """A customer NPS survey with its rule, customers of rm01 (C-1) and rm05 (C-5, west), and
    rm01's customer's low score with a comment: one work order for rm01."""
    admin = await headers_of(client, "admin")
    await feed(client, admin, "customers", [
        customer_row("C-1", name="司马光明", owner="rm01", seq=1),
        customer_row("C-5", name="赵敏", owner="rm05", seq=5),
    ])  # fmt: skip
    customers = {
        r["external_id"]: r["id"] for r in await db.fetch("select external_id, id from customers")
    }
    # The migration's list of root causes (the tests empty every table before each test).
    await db.execute(
        """
        insert into work_order_root_causes (code, label, position)
        values ('wait_time', '等候时间过长', 20), ('service_attitude', '服务态度不佳', 10)
        on conflict do nothing
        """
    )
    survey = await add_survey(db, "到店服务回访", questions=QUESTIONS)
    await add_rule(db, survey)
    order = await answer(db, settings, survey, customers["C-1"], nps=3, comment=COMMENT)
    assert order is not None
    return Desk(survey, customers, order)


@pytest.fixture
async def desk(client: Any, db: Any, settings: Settings) -> Desk:
    return await open_desk(client, db, settings)


async def app_of(client: Any, db: Any, login: str, schema: int = V4) -> App:
    return App(client, await headers_of(client, login), db, schema=schema)


async def push(app: App, client_id: str, *mutations: tuple[int, str, dict[str, Any]]) -> Any:
    body = {
        "client_id": client_id,
        "mutations": [{"id": i, "name": name, "args": args} for i, name, args in mutations],
    }
    response = await app.client.post(PUSH, json=body, headers=app.headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_a_work_order_is_in_its_holders_partitions_only(
    client: Any, db: Any, desk: Desk
) -> None:
    apps = {who: await app_of(client, db, who) for who in ("rm01", "rm02", "bh.east", "bh.west")}
    for app in apps.values():
        await app.sync()
    order = apps["rm01"].rows("work_order")[str(desk.order)]
    assert order["state"] == "open"
    assert order["overdue"] is False
    assert order["escalation_level"] == 0
    assert order["assignee_id"] == str(user("rm01"))
    assert order["customer"] != "司马光明"
    assert "*" in order["customer"]
    assert order["trigger"] == {
        "key": "nps", "question": "您有多大可能向朋友推荐我们？", "answer": "3", "matched": True,
    }  # fmt: skip
    comment = next(a for a in order["answers"] if a["key"] == "comment")["answer"]
    assert "13812345678" not in comment
    assert "138******78" in comment
    assert [e["kind"] for e in order["events"]] == ["opened"]
    assert set(apps["bh.east"].rows("work_order")) == {str(desk.order)}
    assert apps["rm02"].rows("work_order") == {}
    assert apps["bh.west"].rows("work_order") == {}

    old = await app_of(client, db, "rm01", schema=3)
    changes = await old.sync()
    assert not [c for c in changes if c["entity"] in ("work_order", "survey")]


async def test_reassigned_and_escalated_work_orders_move(
    client: Any, db: Any, settings: Settings, desk: Desk
) -> None:
    rm01, rm02, head = [await app_of(client, db, w) for w in ("rm01", "rm02", "bh.east")]
    for app in (rm01, rm02, head):
        await app.sync()

    await db.execute(
        "update work_orders set assignee_id = $2, updated_at = now() where id = $1",
        desk.order, user("rm02"),
    )  # fmt: skip
    changes = await rm01.sync()
    assert [(c["op"], c["id"]) for c in changes] == [("delete", str(desk.order))]
    await rm02.sync()
    assert rm02.rows("work_order")[str(desk.order)]["assignee_id"] == str(user("rm02"))

    due = await db.fetchval("select due_at from work_orders where id = $1", desk.order)
    await json_codecs(db)
    async with db.transaction():
        assert await escalation.escalate_due(db, now=due + timedelta(minutes=5)) == 1
    await head.sync()
    escalated = head.rows("work_order")[str(desk.order)]
    assert escalated["escalation_level"] == 1
    assert [e["kind"] for e in escalated["events"]] == ["opened", "escalated"]
    await rm02.sync()
    assert rm02.rows("work_order")[str(desk.order)]["escalation_level"] == 1


async def test_the_transition_mutation_is_applied_once_and_conflicts_when_moved_on(
    client: Any, db: Any, desk: Desk
) -> None:
    rm01, rm02 = await app_of(client, db, "rm01"), await app_of(client, db, "rm02")
    note = "已致电客户，约明天面谈"
    start = {"work_order_id": str(desk.order), "to": "in_progress", "note": note}
    first = await push(rm01, "phone", (1, "work_order.transition", start))
    assert [r["status"] for r in first] == ["applied"]
    assert first[0]["result"]["state"] == "in_progress"
    again = await push(rm01, "phone", (1, "work_order.transition", start))
    assert [r["status"] for r in again] == ["duplicate"]
    events = await db.fetchval(
        "select count(*) from work_order_events where work_order_id = $1 and kind = 'transition'",
        desk.order,
    )
    assert events == 1
    await rm01.sync()
    synced = rm01.rows("work_order")[str(desk.order)]
    assert synced["state"] == "in_progress"
    assert synced["events"][-1]["note"] == note

    # A step that can never succeed is rejected; the one before it stays applied.
    resolve = {"work_order_id": str(desk.order), "to": "resolved", "note": "客户已接受解释"}
    close = {"work_order_id": str(desk.order), "to": "closed", "note": "关闭",
             "root_cause": "no_such_cause"}  # fmt: skip
    results = await push(
        rm01, "phone", (2, "work_order.transition", resolve), (3, "work_order.transition", close)
    )
    assert [(r["status"], r.get("code")) for r in results] == [
        ("applied", None),
        ("rejected", "work_order.root_cause_unknown"),
    ]
    # A note of only spaces is no note, offline as online.
    blank = {"work_order_id": str(desk.order), "to": "closed", "note": "  ",
             "root_cause": "wait_time"}  # fmt: skip
    results = await push(rm01, "phone", (4, "work_order.transition", blank))
    assert [(r["status"], r.get("code")) for r in results] == [
        ("rejected", "work_order.note_required")
    ]
    stranger = await push(rm02, "phone", (1, "work_order.transition", resolve))
    assert [(r["status"], r.get("code")) for r in stranger] == [
        ("rejected", "work_order.not_found")
    ]

    # The branch head closes it while the RM's phone is offline: the RM's reopen conflicts.
    head = await headers_of(client, "bh.east")
    closed = await client.post(
        f"/api/v1/work-orders/{desk.order}/transition",
        json={"to": "closed", "note": "客户满意", "root_cause": "wait_time"},
        headers=head,
    )
    assert closed.status_code == 200, closed.text
    reopen = {"work_order_id": str(desk.order), "to": "in_progress", "note": "客户又来电"}
    results = await push(rm01, "phone", (5, "work_order.transition", reopen))
    assert [(r["status"], r.get("code")) for r in results] == [
        ("conflict", "work_order.transition_invalid")
    ]
    server = msgspec.convert(results[0]["server"], dict)
    assert (server["id"], server["state"], server["root_cause"]) == (
        str(desk.order), "closed", "wait_time",
    )  # fmt: skip
    assert await db.fetchval("select state from work_orders where id = $1", desk.order) == (
        "closed"
    )


async def test_a_step_chosen_in_another_state_conflicts_instead_of_reopening(
    client: Any, db: Any, desk: Desk
) -> None:
    # The RM, offline, starts the work order they see open; meanwhile the branch head starts
    # and resolves it. resolved -> in_progress is a valid reopen, so without `from` the late
    # push reopened a work order nobody meant to; with it, the server's state wins.
    rm01 = await app_of(client, db, "rm01")
    head = await headers_of(client, "bh.east")
    for to in ("in_progress", "resolved"):
        moved = await client.post(
            f"/api/v1/work-orders/{desk.order}/transition",
            json={"to": to, "note": "支行长处理"},
            headers=head,
        )
        assert moved.status_code == 200, moved.text
    start = {"work_order_id": str(desk.order), "to": "in_progress", "note": "已致电客户",
             "from": "open"}  # fmt: skip
    results = await push(rm01, "phone", (1, "work_order.transition", start))
    assert [r["status"] for r in results] == ["conflict"]
    assert msgspec.convert(results[0]["server"], dict)["state"] == "resolved"
    assert await db.fetchval("select state from work_orders where id = $1", desk.order) == (
        "resolved"
    )

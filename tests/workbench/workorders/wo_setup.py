"""Work order tests' bench: the demo bank, two customers, a published NPS survey and a staff
survey made by direct inserts, and `respond`, which stores an answer and calls the alert hook as
the survey submission does (in the submission's transaction, after the response row)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from mobile_contracts.v1.identity import Role
from tests.customers_data import customer_ids, customer_row, feed, headers_of
from workbench.access import Caller
from workbench.db import use_json_codecs
from workbench.ids import uuid5_for, uuid7
from workbench.security.vault import Vault
from workbench.settings import Settings
from workbench.workorders import alerts, service

NPS_QUESTIONS = [
    {"key": "score", "type": "nps", "text": "您向朋友推荐我行的可能性有多大？", "required": True},
    {
        "key": "channel",
        "type": "single",
        "text": "您本次办理业务的渠道",
        "options": [{"value": "counter", "label": "柜台"}, {"value": "app", "label": "手机银行"}],
    },
    {"key": "reason", "type": "text", "text": "请告诉我们原因"},
]
PULSE_QUESTIONS = [
    {"key": "mood", "type": "rating", "text": "本周工作状态如何？", "required": True},
    {"key": "comment", "type": "text", "text": "想说的话"},
]
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai


def user_id(login: str) -> uuid.UUID:
    return uuid5_for(f"user:{login}")


def unit_id(key: str) -> uuid.UUID:
    return uuid5_for(f"org:{key}")


def caller(login: str, role: Role, unit: str) -> Caller:
    return Caller(
        user_id=user_id(login), role=role, org_unit_id=unit_id(unit),
        session_id=uuid7(), device_id="test",
    )  # fmt: skip


RM01 = caller("rm01", Role.RM, "team-east-1")
RM02 = caller("rm02", Role.RM, "team-east-1")
BH_EAST = caller("bh.east", Role.BRANCH_HEAD, "branch-east")
BH_WEST = caller("bh.west", Role.BRANCH_HEAD, "branch-west")
ADMIN = caller("admin", Role.ADMIN, "head-office")


async def restore_root_causes(conn: Any) -> None:
    """The migration's list of root causes (the tests' clean-up empties every written table)."""
    sql = (Path(__file__).parents[3] / "migrations" / "0019_work_orders.sql").read_text()
    insert = re.search(r"insert into work_order_root_causes.*?;", sql, re.S)
    assert insert is not None
    await conn.execute(insert.group(0).rstrip(";") + " on conflict do nothing")


@dataclass
class Bench:
    settings: Settings
    conn: asyncpg.Connection  # with the app's JSON codecs
    vault: Vault
    client: Any
    admin: dict[str, str]
    customer: uuid.UUID  # rm01's (team-east-1): 张小三
    west_customer: uuid.UUID  # rm05's (team-west-1): 李四
    nps: uuid.UUID  # a published customer survey (version 1)
    pulse: uuid.UUID  # a published staff survey (version 1)

    async def rule(self, survey: uuid.UUID | None = None, **fields: Any) -> uuid.UUID:
        """An alert rule (nps <= 6 for the owning RM, 24 hours, unless told)."""
        body = {"question_key": "score", "op": "lte", "value": 6, "assign_to": "owner_rm",
                "sla_hours": 24, "sla_kind": "hours", **fields}  # fmt: skip
        rule_id = uuid7()
        await self.conn.execute(
            """insert into alert_rules (id, survey_id, question_key, op, value, assign_to,
                                        sla_hours, sla_kind, created_by, created_at)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp())""",
            rule_id, survey or self.nps, body["question_key"], body["op"], body["value"],
            body["assign_to"], body["sla_hours"], body["sla_kind"], user_id("admin"),
        )  # fmt: skip
        return rule_id

    async def store(
        self,
        *,
        answers: dict[str, Any],
        texts: dict[str, str] | None = None,
        customer: uuid.UUID | None = None,
        staff: str | None = None,
        survey: uuid.UUID | None = None,
        conn: Any = None,
    ) -> uuid.UUID:
        """Store a response (and its invitation) as the submission does; its id."""
        conn = conn or self.conn
        survey = survey or (self.pulse if staff else self.nps)
        if staff is not None:
            respondent = user_id(staff)
            owner, unit = (
                None,
                await conn.fetchval("select org_unit_id from users where id = $1", respondent),
            )
        else:
            customer = customer or self.customer
            row = await conn.fetchrow(
                "select c.owner_id, u.org_unit_id from customers c join users u"
                " on u.id = c.owner_id where c.id = $1",
                customer,
            )
            respondent, owner, unit = None, row["owner_id"], row["org_unit_id"]
        invitation, response = uuid7(), uuid7()
        await conn.execute(
            """insert into survey_invitations (id, survey_id, version, customer_id, user_id,
                   rm_id, org_unit_id, sent_by, expires_at, responded_at)
               values ($1, $2, 1, $3, $4, $5, $6, $7, now() + interval '30 days', now())""",
            invitation, survey, customer if staff is None else None, respondent, owner, unit,
            user_id("admin"),
        )  # fmt: skip
        texts = texts or {}
        cipher, clear = self.vault.cipher, msgspec.json.encode(texts).decode()
        texts_enc = cipher.encrypt(clear, aad=alerts.texts_aad(response)) if texts else None
        # A staff answer keeps no user or invitation id (migration 0054).
        await conn.execute(
            """insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                   rm_id, org_unit_id, answers, texts_enc)
               values ($1, $2, $3, 1, $4, $5, $6, $7, $8)""",
            response, invitation if staff is None else None, survey,
            customer if staff is None else None, owner, unit, answers, texts_enc,
        )  # fmt: skip
        return response

    async def respond(
        self, *, now: datetime = T0, texts: dict[str, str] | None = None, **kw: Any
    ) -> tuple[uuid.UUID, uuid.UUID | None]:
        """Submit: store the response and run the alert hook in one transaction; (response id,
        the work order it opened)."""
        async with self.conn.transaction():
            response = await self.store(texts=texts, **kw)
            opened = await alerts.on_response(
                self.conn, response_id=response, texts=texts or {}, now=now
            )
        return response, opened

    async def work_orders(self) -> list[asyncpg.Record]:
        return await self.conn.fetch("select * from work_orders order by created_at, id")


async def close(bench: Bench, work_order: uuid.UUID, by: Caller) -> None:
    """`by` takes the work order through in progress and resolved to closed (root cause
    `other`), a transaction a step, as the app does."""
    for to, more in (("in_progress", {}), ("resolved", {}), ("closed", {"root_cause": "other"})):
        async with bench.conn.transaction():
            await service.transition(
                bench.conn, vault=bench.vault, caller=by, work_order_id=work_order,
                to=service.State(to), note=f"{to} 说明", **more,
            )  # fmt: skip


async def _survey(
    conn: Any, title: str, audience: str, questions: list[dict[str, Any]]
) -> uuid.UUID:
    survey = uuid7()
    await conn.execute(
        """insert into surveys (id, title, audience, status, questions, version, owner_unit_id,
                                created_by)
           values ($1, $2, $3, 'published', $4, 1, $5, $6)""",
        survey, title, audience, questions, unit_id("head-office"), user_id("admin"),
    )  # fmt: skip
    await conn.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, 1, $2, $3, $4, $5)""",
        survey, title, audience, questions, user_id("admin"),
    )  # fmt: skip
    return survey


@pytest.fixture
async def bench(settings: Settings, client: Any, demo_bank: Any) -> Any:
    conn = await asyncpg.connect(settings.database_url)
    await use_json_codecs(conn)
    try:
        await restore_root_causes(conn)
        admin = await headers_of(client, "admin")
        await feed(client, admin, "customers", [
            customer_row("W-1", name="张小三", owner="rm01", seq=1),
            customer_row("W-2", name="李四", owner="rm05", seq=2),
        ])  # fmt: skip
        ids = await customer_ids(conn)
        yield Bench(
            settings=settings,
            conn=conn,
            vault=Vault.from_settings(settings.data_keys, settings.blind_index_key),
            client=client,
            admin=admin,
            customer=ids["W-1"],
            west_customer=ids["W-2"],
            nps=await _survey(conn, "网点服务满意度", "customer", NPS_QUESTIONS),
            pulse=await _survey(conn, "员工脉搏", "staff", PULSE_QUESTIONS),
        )
    finally:
        await conn.close()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


async def write_work_order_note(settings: Settings, customer_id: uuid.UUID, text: str) -> None:
    """A work order of one of rm01's customers with a note of rm01's, written under the
    settings' current data key (for the key rotation test); its push is left out."""
    conn = await asyncpg.connect(settings.database_url)
    await use_json_codecs(conn)
    try:
        await restore_root_causes(conn)
        vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
        survey = await _survey(conn, "网点服务满意度", "customer", NPS_QUESTIONS)
        bench = Bench(
            settings=settings, conn=conn, vault=vault, client=None, admin={},
            customer=customer_id, west_customer=customer_id, nps=survey, pulse=survey,
        )  # fmt: skip
        await bench.rule()
        _, opened = await bench.respond(answers={"score": 1})
        assert opened is not None
        async with conn.transaction():
            await service.transition(
                conn, vault=vault, caller=RM01, work_order_id=opened,
                to=service.State.IN_PROGRESS, note=text,
            )  # fmt: skip
            await conn.execute("delete from notifications where subject_id = $1", opened)
    finally:
        await conn.close()

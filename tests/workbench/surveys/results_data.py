"""Builders for survey results tests (on a connection with `use_json_codecs`): published
surveys, invitations and responses written directly (as the design and delivery features leave
them), each response counted by `tallies.on_response` as the submission does, in the same
transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from tests.tasks_data import unit, user
from workbench.customers.feeds import personal_data_aad
from workbench.ids import uuid7
from workbench.security.vault import Vault
from workbench.surveys import tallies
from workbench.surveys.results import texts_aad

RESULTS = "/api/v1/surveys/{}/results"

QUESTIONS: list[dict[str, Any]] = [
    {"key": "score", "type": "nps", "text": "您向亲友推荐我行的可能性有多大？", "required": True},
    {
        "key": "reason",
        "type": "text",
        "text": "请告诉我们原因",
        "show_if": {"key": "score", "in": [0, 1, 2, 3, 4, 5, 6]},
    },
    {
        "key": "service",
        "type": "single",
        "text": "本次服务速度如何？",
        "options": [
            {"value": "fast", "label": "很快"},
            {"value": "ok", "label": "一般"},
            {"value": "slow", "label": "较慢"},
        ],
    },
    {
        "key": "topics",
        "type": "multi",
        "text": "您还关心哪些业务？",
        "options": [
            {"value": "wealth", "label": "理财", "tag": "理财意向"},
            {"value": "loan", "label": "贷款"},
            {"value": "card", "label": "信用卡"},
        ],
    },
    {"key": "stars", "type": "rating", "text": "请为客户经理打分"},
    {"key": "comment", "type": "text", "text": "其他建议"},
]


async def publish(
    db: Any, *, title: str = "网点服务满意度", questions: list[dict[str, Any]] | None = None
) -> uuid.UUID:
    """A published survey (version 1) of marketing at head office."""
    survey_id = uuid7()
    body = questions or QUESTIONS
    await db.execute(
        """insert into surveys (id, title, audience, status, questions, version, owner_unit_id,
                                created_by)
           values ($1, $2, 'customer', 'published', $3::jsonb, 1, $4, $5)""",
        survey_id, title, body, unit("head-office"),
        user("marketing"),
    )  # fmt: skip
    await db.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, 1, $2, 'customer', $3::jsonb, $4)""",
        survey_id, title, body, user("marketing"),
    )  # fmt: skip
    return survey_id


async def add_customer(db: Any, vault: Vault, name: str, *, owner: str = "rm01") -> uuid.UUID:
    customer_id = uuid7()
    external_id = f"C-{customer_id.hex[-12:]}"
    await db.execute(
        """insert into customers (id, external_id, owner_id, name_enc, id_number_enc, phone_enc,
                                  name_bidx, surname_bidx, id_number_bidx, phone_bidx, risk_level)
           values ($1, $2, $3, $4, 'x', 'x', $5, 'x', 'x', 'x', 3)""",
        customer_id, external_id, user(owner),
        vault.cipher.encrypt(name, aad=personal_data_aad("name", external_id)),
        external_id.encode(),
    )  # fmt: skip
    return customer_id


async def invite(
    db: Any, survey_id: uuid.UUID, *, team: str, sent_at: datetime, customer_id: uuid.UUID | None
) -> uuid.UUID:
    """One invitation of a team's unit, to a customer (else to rm01, as staff)."""
    invitation_id = uuid7()
    await db.execute(
        """insert into survey_invitations (id, survey_id, version, customer_id, user_id,
                                           org_unit_id, sent_by, sent_at, expires_at)
           values ($1, $2, 1, $3, $4, $5, $6, $7, $7::timestamptz + interval '14 days')""",
        invitation_id, survey_id, customer_id, None if customer_id else user("rm01"),
        unit(team), user("rm01"), sent_at,
    )  # fmt: skip
    return invitation_id


async def respond(
    db: Any,
    vault: Vault,
    survey_id: uuid.UUID,
    answers: dict[str, Any],
    *,
    team: str = "team-east-1",
    sent_at: datetime,
    texts: dict[str, str] | None = None,
    customer_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """An invitation answered: the response stored and counted, in one transaction. A staff
    answer is stored as the submission stores it (migration 0054): a random id, no user or
    invitation id, its bank day's midnight; its invitation answered at its own `sent_at`."""
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
                       case when $4::uuid is not null then $8::timestamptz + interval '1 hour'
                            else survey_day_start($8::timestamptz + interval '1 hour') end)""",
            response_id, invitation_id, survey_id, customer_id, unit(team), answers, blob,
            sent_at,
        )  # fmt: skip
        await db.execute(
            "update survey_invitations set responded_at = $2 where id = $1",
            invitation_id,
            sent_at,
        )
        await tallies.on_response(
            db, response_id=response_id, texts=texts, invitation_id=invitation_id
        )
    return response_id

"""Builders for survey delivery tests: published surveys made by SQL (as the design API would
publish them), customers inserted in bulk, and the demo bank's people."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from typing import Any

import msgspec

from tests.customers_data import headers_of
from workbench.ids import uuid5_for, uuid7

SURVEYS = "/api/v1/surveys"


def user(login: str) -> uuid.UUID:
    return uuid5_for(f"user:{login}")


def unit(key: str) -> uuid.UUID:
    return uuid5_for(f"org:{key}")


def q(key: str, type_: str, text: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "text": text or f"问题 {key}", **extra}


def opts(*pairs: str | tuple[str, str, str]) -> list[dict[str, str]]:
    out = []
    for p in pairs:
        if isinstance(p, tuple):
            out.append({"value": p[0], "label": p[1], "tag": p[2]})
        else:
            out.append({"value": p, "label": f"选项{p}"})
    return out


# One question of every type; `why` is shown only to detractors and passives (nps 0-8).
EVERY_TYPE = [
    q("nps", "nps", "您有多大可能向朋友推荐我行？", required=True),
    q("why", "text", "请告诉我们原因", show_if={"key": "nps", "in": list(range(0, 9))}),
    q("visit", "single", "本次服务渠道", required=True,
      options=opts(("branch", "网点", "到店客户"), ("phone", "电话", "电话客户"))),
    q("liked", "multi", "您满意哪些方面？", options=opts("speed", "staff", "place")),
    q("rating", "rating", "总体满意度", required=True),
]  # fmt: skip


async def publish(
    db: Any,
    *,
    questions: list[dict[str, Any]] | None = None,
    audience: str = "customer",
    title: str = "客户满意度调查",
    after_template_id: uuid.UUID | None = None,
    status: str = "published",
) -> uuid.UUID:
    """A survey published as version 1 (by the admin of the demo bank)."""
    survey_id = uuid7()
    body = msgspec.json.encode(questions or EVERY_TYPE).decode()
    await db.execute(
        """insert into surveys (id, title, audience, status, questions, version,
                                after_template_id, owner_unit_id, created_by)
           values ($1, $2, $3, $4, $5::jsonb, 1, $6, $7, $8)""",
        survey_id, title, audience, status, body, after_template_id, unit("head-office"),
        user("admin"),
    )  # fmt: skip
    await db.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, 1, $2, $3, $4::jsonb, $5)""",
        survey_id, title, audience, body, user("admin"),
    )  # fmt: skip
    return survey_id


async def add_customers(
    db: Any, count: int, *, owner: str = "rm01", prefix: str = "C", tags: list[str] | None = None
) -> list[uuid.UUID]:
    """`count` customers of `owner`, straight into the table (personal data as opaque bytes:
    delivery never reads it)."""
    ids = [uuid7() for _ in range(count)]
    await db.executemany(
        """insert into customers (id, external_id, owner_id, name_enc, id_number_enc, phone_enc,
                                  name_bidx, surname_bidx, id_number_bidx, phone_bidx,
                                  risk_level, tags)
           values ($1, $2, $3, $4, $4, $4, $4, $4, $4, $4, 3, $5)""",
        [(i, f"{prefix}-{n:06d}", user(owner), os.urandom(8), tags or []) for n, i in
         enumerate(ids)],
    )  # fmt: skip
    return ids


async def staff(client: Any, *logins: str) -> list[dict[str, str]]:
    return [await headers_of(client, login) for login in logins]


async def age_invitations(db: Any, survey_id: uuid.UUID, at: datetime) -> None:
    """Make a survey's invitations and their messages look sent at `at`."""
    await db.execute(
        "update survey_invitations set sent_at = $2 where survey_id = $1", survey_id, at
    )
    await db.execute(
        """update survey_messages m set created_at = $2 from survey_invitations i
            where i.id = m.invitation_id and i.survey_id = $1""",
        survey_id, at,
    )  # fmt: skip

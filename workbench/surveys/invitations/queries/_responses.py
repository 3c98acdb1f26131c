"""Invitation SQL: responses: the answer stored, and what it does to the customer (their
owner, the tags an answer gives)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from workbench.db import Connection
from workbench.surveys.invitations.queries._common import Record


async def insert_response(
    conn: Connection,
    *,
    response_id: uuid.UUID,
    invitation: Record,
    rm_id: uuid.UUID | None,
    answers: dict[str, Any],
    texts_enc: bytes | None,
    submitted_at: datetime,
) -> datetime | None:
    """Store the answer and mark the invitation answered: the `submitted_at` stored, or None if
    it was answered already (nothing stored: the caller's transaction rolls back).

    A staff member's answer (an invitation without a customer) is stored unlinked (migration
    0054): no user id, no invitation id, the bank's day only (`survey_day_start`); and their
    invitation says it was answered, not when (`responded_at` is its `sent_at`)."""
    row = await conn.fetchrow(
        """
        with answered as (
            update survey_invitations i
               set responded_at = case when i.customer_id is null then i.sent_at else $10 end
             where i.id = $2 and i.responded_at is null
            returning i.id
        ),
        stored as (
            insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                          rm_id, org_unit_id, answers, texts_enc, submitted_at)
            select $1, case when $5::uuid is not null then a.id end, $3, $4, $5, $6, $7, $8, $9,
                   case when $5::uuid is not null then $10 else survey_day_start($10) end
              from answered a
            on conflict (invitation_id) do nothing
            returning submitted_at
        )
        select submitted_at from stored
        """,
        response_id,
        invitation["id"],
        invitation["survey_id"],
        invitation["version"],
        invitation["customer_id"],
        rm_id,
        invitation["org_unit_id"],
        answers,
        texts_enc,
        submitted_at,
    )
    return None if row is None else row["submitted_at"]


async def customer_owner(conn: Connection, customer_id: uuid.UUID) -> uuid.UUID | None:
    owner: uuid.UUID | None = await conn.fetchval(
        "select owner_id from customers where id = $1", customer_id
    )
    return owner


async def add_customer_tags(conn: Connection, customer_id: uuid.UUID, tags: list[str]) -> None:
    """Add tags of the product's (a survey answer's) the customer does not have yet, in the given
    order. They are kept apart from the bank's (`product_tags`), which a bank feed replaces, and
    shown with them (`tags`: the bank's, then the product's the bank did not give)."""
    await conn.execute(
        """update customers c
              set bank_tags = coalesce(c.bank_tags,
                                       customer_tags_without(c.tags, c.product_tags)),
                  product_tags = c.product_tags || customer_tags_without($2, c.product_tags),
                  tags = c.tags || customer_tags_without($2, c.tags),
                  updated_at = now()
            where c.id = $1 and not c.product_tags @> $2::text[]""",
        customer_id,
        tags,
    )

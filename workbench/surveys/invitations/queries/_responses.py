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
) -> bool:
    """Store the answer and mark the invitation answered; False if it was answered already."""
    row = await conn.fetchrow(
        """
        with stored as (
            insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                          user_id, rm_id, org_unit_id, answers, texts_enc,
                                          submitted_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            on conflict (invitation_id) do nothing
            returning invitation_id
        )
        update survey_invitations i set responded_at = $11
          from stored where i.id = stored.invitation_id
        returning i.id
        """,
        response_id,
        invitation["id"],
        invitation["survey_id"],
        invitation["version"],
        invitation["customer_id"],
        invitation["user_id"],
        rm_id,
        invitation["org_unit_id"],
        answers,
        texts_enc,
        submitted_at,
    )
    return row is not None


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

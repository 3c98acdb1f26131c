"""Work-order SQL: alert rules."""

from __future__ import annotations

import uuid
from datetime import datetime

from workbench.db import Connection
from workbench.workorders.queries._common import Record

_RULE = """id, survey_id, question_key, op, value, assign_to, sla_hours, sla_kind, active,
           created_by, created_at, updated_at"""


async def active_rules(conn: Connection, survey_id: uuid.UUID) -> list[Record]:
    """The survey's active rules in the order they apply."""
    return await conn.fetch(
        f"select {_RULE} from alert_rules where survey_id = $1 and active order by created_at, id",
        survey_id,
    )


async def rule(conn: Connection, rule_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(f"select {_RULE} from alert_rules where id = $1", rule_id)


async def rules_by_id(conn: Connection, rule_ids: list[uuid.UUID]) -> list[Record]:
    """These rules (one deleted since is left out)."""
    return await conn.fetch(f"select {_RULE} from alert_rules where id = any($1::uuid[])", rule_ids)


async def rules(
    conn: Connection,
    survey_id: uuid.UUID | None,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int | None = None,
) -> list[Record]:
    """The rules (of one survey, when given) in the order they apply, by (created_at, id):
    those after the key `after`, at most `limit` (None: all)."""
    return await conn.fetch(
        f"""
        select {_RULE} from alert_rules
         where ($1::uuid is null or survey_id = $1::uuid)
           and ($2::timestamptz is null or (created_at, id) > ($2::timestamptz, $3::uuid))
         order by created_at, id
         limit $4
        """,
        survey_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


async def insert_rule(
    conn: Connection,
    *,
    rule_id: uuid.UUID,
    survey_id: uuid.UUID,
    question_key: str,
    op: str,
    value: int | str,
    assign_to: str,
    sla_hours: int,
    sla_kind: str,
    active: bool,
    created_by: uuid.UUID,
    now: datetime,
) -> Record:
    row = await conn.fetchrow(
        f"""
        insert into alert_rules (id, survey_id, question_key, op, value, assign_to, sla_hours,
                                 sla_kind, active, created_by, created_at, updated_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
        returning {_RULE}
        """,
        rule_id, survey_id, question_key, op, value, assign_to, sla_hours, sla_kind, active,
        created_by, now,
    )  # fmt: skip
    assert row is not None
    return row


async def update_rule(
    conn: Connection,
    rule_id: uuid.UUID,
    *,
    question_key: str,
    op: str,
    value: int | str,
    assign_to: str,
    sla_hours: int,
    sla_kind: str,
    active: bool,
    now: datetime,
) -> Record | None:
    return await conn.fetchrow(
        f"""
        update alert_rules
           set question_key = $2, op = $3, value = $4, assign_to = $5, sla_hours = $6,
               sla_kind = $7, active = $8, updated_at = $9
         where id = $1
        returning {_RULE}
        """,
        rule_id, question_key, op, value, assign_to, sla_hours, sla_kind, active, now,
    )  # fmt: skip

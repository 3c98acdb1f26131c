"""SQL of the work-order console pages: the filtered list (the work-order service shapes its rows),
the units and people to filter by, the surveys and questions a rule may name. Scoped like the
work-order service: an admin all, a branch head their subtree's work orders and their own."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record
OPEN_STATES = ("open", "in_progress")

# $1: the caller; $2: their subtree's root (null: an admin, every work order).
_SCOPE = (
    "($2::uuid is null or w.org_unit_id in (select s.id from org_subtree($2) s(id))"
    " or w.assignee_id = $1)"
)


async def work_order_page(
    conn: Connection, *, user_id: uuid.UUID, scope_root: uuid.UUID | None, states: list[str],
    overdue_at: datetime | None, unit_id: uuid.UUID | None, assignee_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None, limit: int,
) -> list[Record]:  # fmt: skip
    """Ids of the work orders in scope that pass the filters, soonest due first (the overdue
    ones lead): (id, due_at). `unit_id`: that unit and the units below it."""
    return await conn.fetch(
        f"""
        select w.id, w.due_at
          from work_orders w
         where {_SCOPE} and w.state = any($3::text[])
           and ($4::timestamptz is null
                or (w.state in ('open', 'in_progress') and w.due_at < $4))
           and ($5::uuid is null or w.org_unit_id in (select s.id from org_subtree($5) s(id)))
           and ($6::uuid is null or w.assignee_id = $6)
           and ($7::timestamptz is null or (w.due_at, w.id) > ($7, $8::uuid))
         order by w.due_at, w.id
         limit $9
        """,
        user_id, scope_root, states, overdue_at, unit_id, assignee_id,
        after[0] if after else None, after[1] if after else None, limit,
    )  # fmt: skip


async def units(conn: Connection, scope_root: uuid.UUID | None) -> list[Record]:
    """The org units the caller may filter by, in tree order: (id, name, depth)."""
    return await conn.fetch(
        """
        select u.id, u.name, u.path
          from org_units u
         where $1::uuid is null or u.id in (select s.id from org_subtree($1) s(id))
         order by u.path
        """,
        scope_root,
    )


async def assignees(conn: Connection, scope_root: uuid.UUID | None) -> list[Record]:
    """RMs and branch heads of the caller's subtree (all: an admin), by name: (id, name)."""
    return await conn.fetch(
        """
        select u.id, u.name
          from users u
         where u.role in ('rm', 'branch_head')
           and ($1::uuid is null or u.org_unit_id in (select s.id from org_subtree($1) s(id)))
         order by u.name, u.id
        """,
        scope_root,
    )


async def rule_surveys(conn: Connection) -> list[Record]:
    """Published surveys with their latest version's questions, newest first: what a rule may
    name (id, title, audience, questions)."""
    return await conn.fetch(
        """
        select s.id, v.title, s.audience, v.questions
          from surveys s
          join survey_versions v on v.survey_id = s.id and v.version = s.version
         where s.status = 'published'
         order by v.published_at desc, s.id
        """
    )


async def surveys_of_rules(conn: Connection, survey_ids: list[uuid.UUID]) -> list[Record]:
    """The surveys these rules are on, whatever their state (a rule on an archived survey still
    opens work orders for answers to its old links), as the rules list names them: the latest
    published version's title and questions (the draft's title and no questions before
    publishing), and the survey's status (id, title, status, questions)."""
    return await conn.fetch(
        """
        select s.id, coalesce(v.title, s.title) as title, s.status, v.questions
          from surveys s
          left join survey_versions v on v.survey_id = s.id and v.version = s.version
         where s.id = any($1::uuid[])
        """,
        survey_ids,
    )


async def rule_survey(conn: Connection, survey_id: uuid.UUID) -> Record | None:
    """The survey a rule is on, as its edit form names it: the latest published version's title
    and questions (the draft's title and no questions before publishing), and its audience."""
    return await conn.fetchrow(
        """
        select s.id, coalesce(v.title, s.title) as title, s.audience, v.questions
          from surveys s
          left join survey_versions v on v.survey_id = s.id and v.version = s.version
         where s.id = $1
        """,
        survey_id,
    )

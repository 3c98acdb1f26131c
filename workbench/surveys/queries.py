"""SQL of surveys and their published versions: the only place that talks to PostgreSQL about
them.

Scope is applied here, in SQL, by the caller's role:
- authors (admin, marketing) see the surveys owned by a unit of their subtree (admins: all),
  drafts and archived ones included, and may change those;
- a branch head sees the surveys ever published (published, or archived after) owned by a unit
  on their path to the root (the head office's reach everyone) or inside their subtree; their
  list shows the published ones unless asked for archived ones;
- an RM sees the published customer surveys owned by a unit on their path to the root: those
  they may send to their customers.
Anyone else sees none.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.db import Connection
from workbench.sql import Where

Record = asyncpg.Record
AUTHORS = frozenset({Role.ADMIN, Role.MARKETING})

# Questions as compared, `required: false` written out: versions published by earlier releases
# left it out (it was omitted as a default), the same questions saved now carry it.
_AS_COMPARED = """(select coalesce(jsonb_agg(case when jsonb_typeof(q) = 'object'
                                        and not q ? 'required'
                                       then q || '{{"required": false}}' else q end
                                  order by n), '[]'::jsonb)
                     from jsonb_array_elements({0}) with ordinality a(q, n))"""
_SURVEY = f"""
    s.id, s.title, s.audience, s.status, s.questions, s.version, s.after_template_id,
    s.owner_unit_id, s.created_by, s.created_at, s.updated_at,
    v.published_at, v.title as published_title, v.questions as published_questions,
    (v.version is null or v.title <> s.title
     or {_AS_COMPARED.format("v.questions")} <> {_AS_COMPARED.format("s.questions")})
     as draft_changed
"""
_LATEST = "left join survey_versions v on v.survey_id = s.id and v.version = s.version"
# The type each question key had in the survey's published versions (the newest naming it):
# a new version keeps them, as answers are counted by key across versions.
_PUBLISHED_TYPES = """
    (select coalesce(jsonb_object_agg(t.key, t.type), '{}'::jsonb)
       from (select distinct on (q ->> 'key') q ->> 'key' as key, q ->> 'type' as type
               from survey_versions pv cross join jsonb_array_elements(pv.questions) q
              where pv.survey_id = s.id
              order by q ->> 'key', pv.version desc) t) as published_types
"""
_IN_SUBTREE = "({0}::uuid is null or s.owner_unit_id in (select u.id from org_subtree({0}) u(id)))"
_VERSION = """
    v.survey_id, v.version, v.title, v.audience, v.questions, v.published_by, v.published_at
"""


def _visible(caller: Caller) -> tuple[str, uuid.UUID | None]:
    """The condition on `s` for the surveys this caller sees ({} is its one parameter)."""
    if caller.role in AUTHORS:
        return _IN_SUBTREE, caller.scope_root
    if caller.role is Role.BRANCH_HEAD:
        return (
            """s.version > 0 and exists (
                   select from org_units me join org_units owner on owner.id = s.owner_unit_id
                    where me.id = {0}
                      and (me.path like owner.path || '%' or owner.path like me.path || '%'))""",
            caller.org_unit_id,
        )
    if caller.role is Role.RM:
        return (
            """s.status = 'published' and s.audience = 'customer' and exists (
                   select from org_units me join org_units owner on owner.id = s.owner_unit_id
                    where me.id = {0} and me.path like owner.path || '%')""",
            caller.org_unit_id,
        )
    return "false and {0}::uuid is null", None


async def insert_survey(
    conn: Connection,
    *,
    survey_id: uuid.UUID,
    title: str,
    audience: str,
    questions: list[Any],
    after_template_id: uuid.UUID | None,
    owner_unit_id: uuid.UUID,
    created_by: uuid.UUID,
) -> None:
    await conn.execute(
        """
        insert into surveys (id, title, audience, questions, after_template_id, owner_unit_id,
                             created_by)
        values ($1, $2, $3, $4, $5, $6, $7)
        """,
        survey_id,
        title,
        audience,
        questions,
        after_template_id,
        owner_unit_id,
        created_by,
    )


async def visible_survey(
    conn: Connection, survey_id: uuid.UUID, *, caller: Caller, lock: bool = False
) -> Record | None:
    """The survey with its draft, if this caller sees it (see the module's rules); locked for a
    change with `lock`. Columns: those of `surveys`; `published_at`, `published_title` and
    `published_questions` of the latest version (null: none yet); `draft_changed` (the draft
    differs from the latest version, or there is none); `published_types` ({key: type} of the
    published versions' questions)."""
    condition, root = _visible(caller)
    if lock:  # lock the row first: the read below (a new snapshot) sees what was committed
        await conn.execute(
            f"select from surveys s where s.id = $1 and {condition.format('$2')} for update",
            survey_id,
            root,
        )
    return await conn.fetchrow(
        f"select {_SURVEY}, {_PUBLISHED_TYPES} from surveys s {_LATEST}"
        f" where s.id = $1 and {condition.format('$2')}",
        survey_id,
        root,
    )


async def surveys_page(
    conn: Connection,
    *,
    caller: Caller,
    status: str | None,
    audience: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """The surveys this caller sees, most recently changed first, with their question count."""
    condition, root = _visible(caller)
    where = Where()
    where.add(condition, root)
    if status is None and caller.role is Role.BRANCH_HEAD:
        status = "published"
    where.when(status, "s.status = {}")
    where.when(audience, "s.audience = {}")
    if after is not None:
        where.add("(s.updated_at, s.id) < ({}, {})", *after)
    return await conn.fetch(
        f"""
        select {_SURVEY}, jsonb_array_length(s.questions) as question_count,
               jsonb_array_length(v.questions) as published_question_count
          from surveys s {_LATEST}
         where {where.sql}
         order by s.updated_at desc, s.id desc
         limit {where.param(limit)}
        """,
        *where.args,
    )


async def update_draft(
    conn: Connection,
    survey_id: uuid.UUID,
    *,
    title: str,
    questions: list[Any],
    after_template_id: uuid.UUID | None,
) -> None:
    await conn.execute(
        """
        update surveys set title = $2, questions = $3, after_template_id = $4, updated_at = now()
         where id = $1
        """,
        survey_id,
        title,
        questions,
        after_template_id,
    )


async def insert_version(
    conn: Connection, survey_id: uuid.UUID, *, version: int, published_by: uuid.UUID
) -> Record:
    """Publish the survey's draft as `version` (the survey row is locked by the caller); the
    survey is published and names it as its latest."""
    row = await conn.fetchrow(
        f"""
        with v as (
            insert into survey_versions (survey_id, version, title, audience, questions,
                                         published_by)
            select s.id, $2, s.title, s.audience, s.questions, $3 from surveys s where s.id = $1
            returning *
        ), s as (
            update surveys set version = $2, status = 'published', updated_at = now()
             where id = $1
        )
        select {_VERSION} from v
        """,
        survey_id,
        version,
        published_by,
    )
    assert row is not None, "the caller locked an existing survey"
    return row


async def archive(conn: Connection, survey_id: uuid.UUID) -> None:
    await conn.execute(
        "update surveys set status = 'archived', updated_at = now() where id = $1", survey_id
    )


async def version(conn: Connection, survey_id: uuid.UUID, version: int) -> Record | None:
    """One published version (no scope: the caller has checked the survey's)."""
    return await conn.fetchrow(
        f"select {_VERSION} from survey_versions v where v.survey_id = $1 and v.version = $2",
        survey_id,
        version,
    )


async def versions(conn: Connection, survey_id: uuid.UUID) -> list[Record]:
    """Every published version of a survey, newest first, with its publisher's name and its
    question count (no scope: the caller has checked the survey's)."""
    return await conn.fetch(
        """
        select v.version, v.title, v.published_by, u.name as published_by_name, v.published_at,
               jsonb_array_length(v.questions) as question_count
          from survey_versions v join users u on u.id = v.published_by
         where v.survey_id = $1
         order by v.version desc
        """,
        survey_id,
    )

"""SQL of the survey rollups (migration 0018): counting a response, and reading the counts.

Every count is keyed by a bank day (`survey_day`) and kept for the invitation's org unit and each
unit above it; so a scope (a subtree) reads its root's rows over a day range. A customer answer
counts on the day its invitation was sent (a period covers the invitations sent in it); a staff
answer on its own day (migration 0055): the day of its invitation would tell which round, and so
for a round sent to one person whose, it is. (Staff results cover the survey's whole life, so
they read the same totals.) The term -> answer index has one row per answer, at the
invitation's unit, on the same day, and is read by subtree (`org_subtree`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from workbench.db import Connection
from workbench.sql import Where

Record = asyncpg.Record


# ---- counting a response ---------------------------------------------------------------------


async def claim_response(
    conn: Connection, response_id: uuid.UUID, *, invitation_id: uuid.UUID | None = None
) -> Record | None:
    """Mark the response counted and return what counting needs (None: counted already, or no
    such response): its survey, the day it counts on, its invitation's unit, answers and
    version's questions. A customer answer counts on its invitation's day; a staff answer on its
    own (migration 0055), as it keeps no invitation id (migration 0054): `invitation_id` names
    the invitation for its unit only, and its `tallied_at` is its day's, as its `submitted_at`
    is (no moment that tells who it was)."""
    return await conn.fetchrow(
        """
        update survey_responses r
           set tallied_at = case when r.customer_id is null then r.submitted_at else now() end
          from survey_invitations i
         where r.id = $1 and r.tallied_at is null and i.id = coalesce(r.invitation_id, $2)
           and i.survey_id = r.survey_id
        returning r.id, r.survey_id, r.submitted_at, r.answers,
                  survey_day(case when r.customer_id is null then r.submitted_at
                                  else i.sent_at end) as day,
                  i.org_unit_id,
                  survey_unit_and_above(i.org_unit_id) as units,
                  (select v.questions from survey_versions v
                    where v.survey_id = r.survey_id and v.version = r.version) as questions
        """,
        response_id,
        invitation_id,
    )


@dataclass(slots=True)
class Counts:
    """What one response adds: (question key, value) pairs and (question key, term) pairs."""

    values: list[tuple[str, str]]
    terms: list[tuple[str, str]]


async def add_response(conn: Connection, response: Record, counts: Counts) -> None:
    """Add one response to the rollups (for its unit and each unit above) and the term index, in
    one statement. Rows are upserted in key order so that concurrent submissions lock shared
    rows in the same order."""
    values = sorted(set(counts.values))
    terms = sorted(set(counts.terms))
    await conn.execute(
        """
        with responded as (
            insert into survey_tallies (survey_id, org_unit_id, day, responded)
            select $1, u.unit, $2, 1
              from unnest($10::uuid[]) as u (unit)
             order by u.unit
            on conflict (survey_id, org_unit_id, day)
            do update set responded = survey_tallies.responded + 1
        ),
        answer_values as (
            insert into survey_value_tallies
                   (survey_id, org_unit_id, day, question_key, value, count)
            select $1, u.unit, $2, v.question_key, v.value, 1
              from unnest($10::uuid[]) as u (unit),
                   unnest($4::text[], $5::text[]) as v (question_key, value)
             order by u.unit, v.question_key, v.value
            on conflict (survey_id, org_unit_id, day, question_key, value)
            do update set count = survey_value_tallies.count + 1
        ),
        answer_terms as (
            insert into survey_term_tallies
                   (survey_id, org_unit_id, day, question_key, term, count)
            select $1, u.unit, $2, t.question_key, t.term, 1
              from unnest($10::uuid[]) as u (unit),
                   unnest($6::text[], $7::text[]) as t (question_key, term)
             order by u.unit, t.question_key, t.term
            on conflict (survey_id, org_unit_id, day, question_key, term)
            do update set count = survey_term_tallies.count + 1
        )
        insert into survey_term_answers
               (survey_id, term, question_key, response_id, day, org_unit_id, submitted_at)
        select $1, t.term, t.question_key, $8, $2, $3, $9
          from unnest($6::text[], $7::text[]) as t (question_key, term)
        on conflict do nothing
        """,
        response["survey_id"],
        response["day"],
        response["org_unit_id"],
        [key for key, _ in values],
        [value for _, value in values],
        [key for key, _ in terms],
        [term for _, term in terms],
        response["id"],
        response["submitted_at"],
        response["units"] or [response["org_unit_id"]],
    )


# ---- reading results -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """Which counts results read: a survey's, of days [first_day, end_day), of the subtree of
    `root` (the bank's root unit for the whole bank)."""

    survey_id: uuid.UUID
    first_day: date
    end_day: date
    root: uuid.UUID

    def where(self, alias: str) -> Where:
        """The rollup rows of the scope: its root's."""
        where = Where()
        where.add(f"{alias}.survey_id = {{}}", self.survey_id)
        where.add(f"{alias}.org_unit_id = {{}}", self.root)
        where.add(f"{alias}.day >= {{}} and {alias}.day < {{}}", self.first_day, self.end_day)
        return where

    def subtree_where(self, alias: str) -> Where:
        """Rows of one answer each (at the invitation's unit) in the scope: its subtree's."""
        where = Where()
        where.add(f"{alias}.survey_id = {{}}", self.survey_id)
        where.add(f"{alias}.day >= {{}} and {alias}.day < {{}}", self.first_day, self.end_day)
        where.add(
            f"{alias}.org_unit_id = any(array(select s.id from org_subtree({{}}) s(id)))",
            self.root,
        )
        return where


async def survey(conn: Connection, survey_id: uuid.UUID) -> Record | None:
    """The survey with every published version's questions, newest first (None: no survey),
    and the bank days its life spans so far: `first_day` (its first publication or first
    invitation, whichever is earlier) and `last_day` (its last invitation's; null: none)."""
    return await conn.fetchrow(
        """
        select s.id, s.title, s.audience,
               coalesce((select array_agg(v.questions order by v.version desc)
                           from survey_versions v where v.survey_id = s.id), '{}') as versions,
               least((select min(survey_day(v.published_at))
                        from survey_versions v where v.survey_id = s.id),
                     (select min(t.day) from survey_tallies t
                       where t.survey_id = s.id and t.org_unit_id = bank.id)) as first_day,
               (select max(t.day) from survey_tallies t
                 where t.survey_id = s.id and t.org_unit_id = bank.id) as last_day
          from surveys s
          left join org_units bank on bank.parent_id is null  -- every invitation counts there
         where s.id = $1
        """,
        survey_id,
    )


async def unit_in_view(
    conn: Connection, unit_id: uuid.UUID | None, visible_root: uuid.UUID | None
) -> Record | None:
    """The unit (id, name, path) if it lies in the subtree of `visible_root` (None: anywhere);
    without `unit_id`, `visible_root` itself, or the bank's root unit."""
    return await conn.fetchrow(
        """
        select u.id, u.name, u.path
          from org_units u
         where case when $1::uuid is not null then u.id = $1
                    when $2::uuid is not null then u.id = $2
                    else u.parent_id is null end
           and ($2::uuid is null
                or u.id in (select s.id from org_subtree($2::uuid) s(id)))
        """,
        unit_id,
        visible_root,
    )


async def headline(conn: Connection, scope: Scope) -> Record:
    """delivered and responded of the scope."""
    where = scope.where("t")
    return await conn.fetchrow(  # type: ignore[return-value]
        f"""
        select coalesce(sum(t.delivered), 0)::bigint as delivered,
               coalesce(sum(t.responded), 0)::bigint as responded
          from survey_tallies t
         where {where.sql}
        """,
        *where.args,
    )


async def value_counts(conn: Connection, scope: Scope) -> list[Record]:
    """(question_key, value, count) of the scope; value '' counts the responses answering."""
    where = scope.where("t")
    return await conn.fetch(
        f"""
        select t.question_key, t.value, sum(t.count)::bigint as count
          from survey_value_tallies t
         where {where.sql}
         group by t.question_key, t.value
        """,
        *where.args,
    )


async def top_terms(conn: Connection, scope: Scope, *, limit: int) -> list[Record]:
    """The `limit` most frequent terms per text question (`question_key` set) and over all of
    them (`question_key` null), most answers first, then by term."""
    where = scope.where("t")
    n = where.param(limit)
    return await conn.fetch(
        f"""
        with per_question as materialized (
            select t.question_key, t.term, sum(t.count)::bigint as count
              from survey_term_tallies t
             where {where.sql}
             group by t.question_key, t.term
        ),
        ranked as (
            select p.*, row_number() over (partition by p.question_key
                                           order by p.count desc, p.term) as rank
              from per_question p
        )
        (select r.question_key, r.term, r.count from ranked r where r.rank <= {n})
        union all
        (select null, p.term, sum(p.count)::bigint as count
           from per_question p
          group by p.term
          order by 3 desc, 2
          limit {n})
        """,
        *where.args,
    )


async def unit_counts(
    conn: Connection, scope: Scope, *, units: list[uuid.UUID], question_keys: list[str]
) -> tuple[list[Record], list[Record]]:
    """For each of `units` (each with its subtree): (org_unit_id, delivered, responded), and
    (org_unit_id, question_key, value, count) of the given questions, in the scope's days."""
    where = Where()
    where.add("t.survey_id = {}", scope.survey_id)
    where.add("t.org_unit_id = any({}::uuid[])", units)
    where.add("t.day >= {} and t.day < {}", scope.first_day, scope.end_day)
    counts = await conn.fetch(
        f"""
        select t.org_unit_id, sum(t.delivered)::bigint as delivered,
               sum(t.responded)::bigint as responded
          from survey_tallies t
         where {where.sql}
         group by t.org_unit_id
        """,
        *where.args,
    )
    keys = where.param(question_keys)
    values = await conn.fetch(
        f"""
        select t.org_unit_id, t.question_key, t.value, sum(t.count)::bigint as count
          from survey_value_tallies t
         where {where.sql} and t.question_key = any({keys}::text[])
         group by t.org_unit_id, t.question_key, t.value
        """,
        *where.args,
    )
    return counts, values


async def responded_around(
    conn: Connection, scope: Scope, *, units: list[uuid.UUID]
) -> list[Record]:
    """(id, parent_id, responded) of each of `units` and of each of their child units, each
    with its subtree, in the scope's survey and days: what deciding which of a staff survey's
    groups are shown reads (`results.disclosure`)."""
    return await conn.fetch(
        """
        select u.id, u.parent_id, coalesce(sum(t.responded), 0)::bigint as responded
          from org_units u
          left join survey_tallies t
            on t.survey_id = $1 and t.org_unit_id = u.id and t.day >= $2 and t.day < $3
         where u.id = any($4::uuid[]) or u.parent_id = any($4::uuid[])
         group by u.id, u.parent_id
        """,
        scope.survey_id,
        scope.first_day,
        scope.end_day,
        units,
    )


async def children(conn: Connection, parent_id: uuid.UUID) -> list[Record]:
    """The child units (id, name, path) of a unit, by name."""
    return await conn.fetch(
        "select id, name, path from org_units where parent_id = $1 order by name, id", parent_id
    )


async def term_answers(
    conn: Connection,
    scope: Scope,
    *,
    term: str,
    question_key: str | None,
    after: tuple[datetime, uuid.UUID, str] | None,
    limit: int,
) -> list[Record]:
    """The answers containing `term`, newest first (up to limit + 1), with what showing them
    needs: the encrypted texts, the customer's encrypted name, the unit's name."""
    where = scope.subtree_where("a")
    where.add("a.term = {}", term)
    where.when(question_key, "a.question_key = {}")
    if after is not None:
        where.add("(a.submitted_at, a.response_id, a.question_key) < ({}, {}, {})", *after)
    n = where.param(limit + 1)
    return await conn.fetch(
        f"""
        select a.response_id, a.question_key, a.submitted_at, a.day, a.org_unit_id,
               o.name as org_unit_name, r.texts_enc, r.user_id, c.name_enc, c.external_id
          from survey_term_answers a
          join survey_responses r on r.id = a.response_id
          join org_units o on o.id = a.org_unit_id
          left join customers c on c.id = r.customer_id
         where {where.sql}
         order by a.submitted_at desc, a.response_id desc, a.question_key desc
         limit {n}
        """,
        *where.args,
    )


# ---- staff surveys: answers shown in groups -------------------------------------------------
#
# A staff answer names no one; what comes with it must not either. So it is shown under the
# scope's own unit (the one the reader chose, whose answers `results.disclosure` shows, or
# nothing is shown): a team's label would single out the answers left under their parent's,
# the one group too small to show. It comes on the day it came (the bank's day), under an id made
# from the survey's, the response's and the scope's ids (md5, as a uuid) that says nothing of
# when it came and differs from one scope to another (two lists cannot be matched by it). A
# staff survey's export holds figures, never a row per response (`exports.figures`).


def _shown_id(survey: str, response: str, root: str) -> str:
    return f"md5({survey}::text || {response}::text || {root}::uuid::text)::uuid"


async def staff_term_answers(
    conn: Connection,
    scope: Scope,
    *,
    term: str,
    question_key: str | None,
    after: tuple[datetime, uuid.UUID, str] | None,
    limit: int,
    tz: str,
) -> list[Record]:
    """The answers of a staff survey containing `term`, by day (newest first), then by their
    shown id (up to limit + 1): `shown_id` (see above), `submitted_on` (midnight of the bank's
    day `tz` it came), the scope's unit, the encrypted texts (and `response_id`, their key, not
    to be shown)."""
    where = scope.subtree_where("a")
    where.add("a.term = {}", term)
    where.when(question_key, "a.question_key = {}")
    zone, root = where.param(tz), where.param(scope.root)
    later = "true"
    if after is not None:
        day, shown_id, key = (where.param(value) for value in after)
        later = f"(x.submitted_on, x.shown_id, x.question_key) < ({day}, {shown_id}, {key})"
    n = where.param(limit + 1)
    return await conn.fetch(
        f"""
        with found as (
            select a.response_id, a.question_key, a.day,
                   ((a.submitted_at at time zone {zone})::date::timestamp
                     at time zone {zone}) as submitted_on,
                   {_shown_id("a.survey_id", "a.response_id", root)} as shown_id
              from survey_term_answers a
             where {where.sql}
        )
        select x.shown_id, x.response_id, x.question_key, x.submitted_on, x.day,
               root.id as org_unit_id, root.name as org_unit_name, r.texts_enc
          from found x
          join survey_responses r on r.id = x.response_id
          join org_units root on root.id = {root}::uuid
         where {later}
         order by x.submitted_on desc, x.shown_id desc, x.question_key desc
         limit {n}
        """,
        *where.args,
    )


EXPORT_SQL = """
    select r.id, r.submitted_at, r.answers, r.texts_enc, r.user_id, survey_day(i.sent_at) as day,
           i.org_unit_id, o.name as org_unit_name, c.name_enc, c.external_id
      from survey_invitations i
      join survey_responses r on r.invitation_id = i.id
      join org_units o on o.id = i.org_unit_id
      left join customers c on c.id = r.customer_id
     where {where} and i.responded_at is not null
     order by i.sent_at, i.id
"""


async def export_rows(
    conn: Connection, scope: Scope, *, start: datetime, end: datetime
) -> AsyncIterator[Record]:
    """Every response of the scope, in sending order, read through a cursor (call inside a
    transaction): invitations sent in [start, end), the scope's days as instants."""
    where = Where()
    where.add("i.survey_id = {}", scope.survey_id)
    where.add("i.sent_at >= {} and i.sent_at < {}", start, end)
    where.add("i.org_unit_id = any(array(select s.id from org_subtree({}) s(id)))", scope.root)
    async for row in conn.cursor(EXPORT_SQL.format(where=where.sql), *where.args, prefetch=500):
        yield row


async def subtree_units(conn: Connection, root_id: uuid.UUID, *, limit: int) -> list[Record]:
    """The units of a subtree (id, name, depth below the root), in tree order, for a filter."""
    return await conn.fetch(
        """
        select u.id, u.name, u.depth - r.depth as level
          from org_units r
          join org_units u on u.path >= r.path and u.path < r.path || '~'
         where r.id = $1
         order by u.path
         limit $2
        """,
        root_id,
        limit,
    )


# ---- the demo bank's surveys (workbench.surveys.demo) ----------------------------------------


async def survey_exists(conn: Connection, survey_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("select exists (select from surveys where id = $1)", survey_id))


async def template_named(conn: Connection, name: str) -> uuid.UUID | None:
    """The oldest task template of this name (the demo's visit template), if any."""
    found: uuid.UUID | None = await conn.fetchval(
        """select t.id from task_templates t
            where exists (select from task_template_versions v
                           where v.template_id = t.id and v.name = $1)
            order by t.created_at, t.id limit 1""",
        name,
    )
    return found


async def users_by_login(conn: Connection, logins: list[str]) -> list[Record]:
    """(id, login, role, org_unit_id) of these active users."""
    return await conn.fetch(
        "select id, login, role, org_unit_id from users where login = any($1::text[]) and active",
        logins,
    )


async def owned_demo_customers(conn: Connection, owner_ids: list[uuid.UUID]) -> list[Record]:
    """The demo customers (external ids DEMO-…) of these RMs, in a stable order."""
    return await conn.fetch(
        """
        select id, owner_id from customers
         where owner_id = any($1::uuid[]) and external_id like 'DEMO-%'
         order by external_id
        """,
        owner_ids,
    )


async def insert_published_survey(
    conn: Connection,
    *,
    survey_id: uuid.UUID,
    title: str,
    audience: str,
    questions: list[Any],
    after_template_id: uuid.UUID | None,
    owner_unit_id: uuid.UUID,
    author_id: uuid.UUID,
    published_at: datetime,
    archived_at: datetime | None = None,
) -> None:
    """A survey published as version 1 at `published_at` (and archived at `archived_at`)."""
    await conn.execute(
        """
        with survey as (
            insert into surveys (id, title, audience, status, questions, version,
                                 after_template_id, owner_unit_id, created_by, created_at,
                                 updated_at)
            values ($1, $2, $3, case when $9::timestamptz is null then 'published'
                                     else 'archived' end,
                    $4, 1, $5, $6, $7, $8, coalesce($9, $8))
        )
        insert into survey_versions (survey_id, version, title, audience, questions,
                                     published_by, published_at)
        values ($1, 1, $2, $3, $4, $7, $8)
        """,
        survey_id, title, audience, questions, after_template_id, owner_unit_id, author_id,
        published_at, archived_at,
    )  # fmt: skip


INVITATION_COLUMNS = ("id", "survey_id", "version", "customer_id", "user_id", "rm_id",
                      "org_unit_id", "sent_by", "sent_at", "expires_at")  # fmt: skip
RESPONSE_COLUMNS = ("id", "invitation_id", "survey_id", "version", "customer_id", "user_id",
                    "rm_id", "org_unit_id", "answers", "texts_enc", "submitted_at")  # fmt: skip


async def insert_invitations(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Invitations (INVITATION_COLUMNS order) in one statement, so the delivered-count trigger
    runs once; each customer's also logged as a survey message (the contact cap's record)."""
    columns: list[Any] = list(zip(*rows, strict=True)) or [() for _ in INVITATION_COLUMNS]
    await conn.execute(
        """
        with invited as (
            insert into survey_invitations (id, survey_id, version, customer_id, user_id, rm_id,
                                            org_unit_id, sent_by, sent_at, expires_at)
            select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::uuid[],
                                 $6::uuid[], $7::uuid[], $8::uuid[], $9::timestamptz[],
                                 $10::timestamptz[])
            returning id, customer_id, sent_at
        )
        insert into survey_messages (id, customer_id, invitation_id, kind, seq, created_at)
        select gen_random_uuid(), i.customer_id, i.id, 'invitation', 0, i.sent_at
          from invited i
         where i.customer_id is not null
        """,
        *(list(column) for column in columns),
    )


async def insert_responses(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Responses (RESPONSE_COLUMNS order), their invitations marked responded. A staff answer
    (no customer) is stored as a submission stores it (migration 0054): without its user and
    invitation ids, on its day's midnight; its invitation says answered, not when."""
    columns: list[Any] = list(zip(*rows, strict=True)) or [() for _ in RESPONSE_COLUMNS]
    await conn.execute(
        """
        with given as (
            select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::uuid[],
                                 $6::uuid[], $7::uuid[], $8::uuid[], $9::text[], $10::bytea[],
                                 $11::timestamptz[])
                   as r (id, invitation_id, survey_id, version, customer_id, user_id, rm_id,
                         org_unit_id, answers, texts_enc, submitted_at)
        ),
        answered as (
            insert into survey_responses (id, invitation_id, survey_id, version, customer_id,
                                          user_id, rm_id, org_unit_id, answers, texts_enc,
                                          submitted_at)
            select r.id, case when r.customer_id is not null then r.invitation_id end,
                   r.survey_id, r.version, r.customer_id, null, r.rm_id, r.org_unit_id,
                   r.answers::jsonb, r.texts_enc,
                   case when r.customer_id is not null then r.submitted_at
                        else survey_day_start(r.submitted_at) end
              from given r
        )
        update survey_invitations i
           set responded_at = case when i.customer_id is null then i.sent_at
                                   else g.submitted_at end
          from given g
         where i.id = g.invitation_id
        """,
        *(list(column) for column in columns),
    )

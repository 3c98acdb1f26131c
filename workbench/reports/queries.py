"""SQL of monthly branch reports: branches, the report rows, the worker's claims and the
console's scoped list and lookups. `scope` is the caller's subtree root (None: the whole bank)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record

_COLUMNS = """r.id, r.org_unit_id, o.name as unit_name, r.month, r.state, r.requested_by,
              r.requested_at, r.claim_id, r.claimed_at, r.attempts, r.blob_key, r.size_bytes,
              r.pages, r.built_at, r.builds, r.error"""


# A branch is a unit where a branch head works, active or disabled (on leave, being replaced), or
# one that has a report already: it keeps its reports, and may have more built, whoever heads it.
_IS_BRANCH = """(exists (select from users u where u.org_unit_id = o.id and u.role = 'branch_head')
                 or exists (select from monthly_reports r where r.org_unit_id = o.id))"""


async def branches(conn: Connection, *, scope: uuid.UUID | None, limit: int = 1000) -> list[Record]:
    """The branches (units where a branch head works, or with a report) in the subtree, by name."""
    return await conn.fetch(
        f"""
        select o.id, o.name
          from org_units o
         where {_IS_BRANCH}
           and ($1::uuid is null or o.id in (select t.id from org_subtree($1::uuid) t(id)))
         order by o.name, o.id
         limit $2
        """,
        scope,
        limit,
    )


async def branch(conn: Connection, unit_id: uuid.UUID, *, scope: uuid.UUID | None) -> Record | None:
    """The branch `unit_id` if it is one (`branches`) and lies in the subtree."""
    return await conn.fetchrow(
        f"""
        select o.id, o.name
          from org_units o
         where o.id = $1 and {_IS_BRANCH}
           and ($2::uuid is null or o.id in (select t.id from org_subtree($2::uuid) t(id)))
        """,
        unit_id,
        scope,
    )


async def branch_above(
    conn: Connection, unit_id: uuid.UUID, *, scope: uuid.UUID | None
) -> Record | None:
    """A unit of the subtree that is no branch (a team): its name and the branch its reports are
    in, the nearest one above it in the subtree (`branch_id` null if none is); None if the unit
    is not in the subtree."""
    return await conn.fetchrow(
        f"""
        select u.id, u.name, b.id as branch_id, b.name as branch_name
          from org_units u
          left join lateral (
                select o.id, o.name
                  from org_units o
                 where starts_with(u.path, o.path) and o.id <> u.id and {_IS_BRANCH}
                   and ($2::uuid is null
                        or o.id in (select t.id from org_subtree($2::uuid) t(id)))
                 order by o.depth desc
                 limit 1
               ) b on true
         where u.id = $1
           and ($2::uuid is null or u.id in (select t.id from org_subtree($2::uuid) t(id)))
        """,
        unit_id,
        scope,
    )


async def branch_heads(conn: Connection, unit_id: uuid.UUID) -> list[uuid.UUID]:
    """The active branch heads working in the unit itself."""
    rows = await conn.fetch(
        """select id from users where org_unit_id = $1 and role = 'branch_head' and active
            order by id""",
        unit_id,
    )
    return [r["id"] for r in rows]


async def queue_month_for_branches(
    conn: Connection,
    *,
    report_ids: list[uuid.UUID],
    unit_ids: list[uuid.UUID],
    month: date,
    month_end: datetime,
) -> int:
    """Queue `month` for every branch: a new row where none exists; a row requested before the
    month was over (a partial report built during the month) is queued again, once. Returns how
    many were queued."""
    rows = await conn.fetch(
        """
        insert into monthly_reports (id, org_unit_id, month, state, requested_at)
        select b.id, b.unit, $3, 'queued', now()
          from unnest($1::uuid[], $2::uuid[]) b(id, unit)
            on conflict (org_unit_id, month) do update
               set state = 'queued', requested_by = null, requested_at = now(), attempts = 0,
                   error = null
             where monthly_reports.requested_at < $4
               and monthly_reports.state in ('ready', 'failed')
        returning id
        """,
        report_ids,
        unit_ids,
        month,
        month_end,
    )
    return len(rows)


async def request_build(
    conn: Connection,
    *,
    report_id: uuid.UUID,
    unit_id: uuid.UUID,
    month: date,
    requested_by: uuid.UUID,
) -> Record:
    """Queue (or queue again) the report of a unit and month; the row."""
    row = await conn.fetchrow(
        f"""
        with r as (
            insert into monthly_reports as m (id, org_unit_id, month, state, requested_by,
                                              requested_at)
            values ($1, $2, $3, 'queued', $4, now())
            on conflict (org_unit_id, month) do update
               set state = 'queued', requested_by = $4, requested_at = now(), attempts = 0,
                   error = null
            returning m.*
        )
        select {_COLUMNS} from r join org_units o on o.id = r.org_unit_id
        """,
        report_id,
        unit_id,
        month,
        requested_by,
    )
    assert row is not None
    return row


async def requeue(
    conn: Connection, report_id: uuid.UUID, *, scope: uuid.UUID | None, requested_by: uuid.UUID
) -> Record | None:
    """Queue the report again if the caller's subtree holds its unit (else None)."""
    return await conn.fetchrow(
        f"""
        with r as (
            update monthly_reports m
               set state = 'queued', requested_by = $3, requested_at = now(), attempts = 0,
                   error = null
             where m.id = $1
               and ($2::uuid is null
                    or m.org_unit_id in (select t.id from org_subtree($2::uuid) t(id)))
            returning m.*
        )
        select {_COLUMNS} from r join org_units o on o.id = r.org_unit_id
        """,
        report_id,
        scope,
        requested_by,
    )


async def claim(
    conn: Connection,
    *,
    claim_id: uuid.UUID,
    wanted: uuid.UUID | None,
    lease_seconds: float,
) -> Record | None:
    """Take one waiting report (this one, or the oldest): queued, or building but abandoned by
    its worker (its lease, `claimed_at` renewed while it builds, older than `lease_seconds` by
    the database's clock); rows other workers hold are skipped."""
    return await conn.fetchrow(
        f"""
        with picked as (
            select id from monthly_reports
             where (state = 'queued'
                    or (state = 'building'
                        and claimed_at < now() - make_interval(secs => $3)))
               and ($2::uuid is null or id = $2)
             order by requested_at, id
             limit 1
               for update skip locked
        ), r as (
            update monthly_reports m
               set state = 'building', claim_id = $1, claimed_at = now(),
                   attempts = m.attempts + 1
              from picked
             where m.id = picked.id
            returning m.*
        )
        select {_COLUMNS} from r join org_units o on o.id = r.org_unit_id
        """,
        claim_id,
        wanted,
        lease_seconds,
    )


async def renew(conn: Connection, *, report_id: uuid.UUID, claim_id: uuid.UUID) -> bool:
    """The build `claim_id` is alive: its lease starts again now. False if the row no longer
    names this build (queued again, or taken over after its lease ran out)."""
    done = await conn.execute(
        """
        update monthly_reports set claimed_at = now()
         where id = $1 and claim_id = $2 and state = 'building'
        """,
        report_id,
        claim_id,
    )
    return done == "UPDATE 1"


async def finish_ready(
    conn: Connection,
    *,
    report_id: uuid.UUID,
    claim_id: uuid.UUID,
    blob_key: str,
    size_bytes: int,
    pages: int,
) -> Record | None:
    """Mark the build `claim_id` ready with its file; None if the row was queued again (or
    claimed by another build) meanwhile. Returns the old file's key as `old_key`."""
    return await conn.fetchrow(
        """
        update monthly_reports m
           set state = 'ready', blob_key = $3, size_bytes = $4, pages = $5, built_at = now(),
               builds = m.builds + 1, error = null
          from (select id, blob_key from monthly_reports where id = $1 for update) old
         where m.id = old.id and m.claim_id = $2 and m.state = 'building'
        returning m.id, m.org_unit_id, m.month, m.builds, m.requested_by, old.blob_key as old_key
        """,
        report_id,
        claim_id,
        blob_key,
        size_bytes,
        pages,
    )


async def finish_failed(
    conn: Connection, *, report_id: uuid.UUID, claim_id: uuid.UUID | None, error: str
) -> bool:
    """Mark the build failed with its reason (only if it is still this build's)."""
    done = await conn.execute(
        """
        update monthly_reports
           set state = 'failed', error = left($3, 500)
         where id = $1 and state = 'building' and ($2::uuid is null or claim_id = $2)
        """,
        report_id,
        claim_id,
        error,
    )
    return done != "UPDATE 0"


async def give_up_abandoned(
    conn: Connection, *, lease_seconds: float, max_attempts: int, error: str
) -> int:
    """Builds abandoned (worker gone, lease run out) `max_attempts` times are failed, never
    claimed again."""
    done = await conn.execute(
        """
        update monthly_reports
           set state = 'failed', error = $3
         where state = 'building' and claimed_at < now() - make_interval(secs => $1)
           and attempts >= $2
        """,
        lease_seconds,
        max_attempts,
        error,
    )
    return int(done.split()[-1])


async def unit_name(conn: Connection, unit_id: uuid.UUID) -> str | None:
    """The org unit's name."""
    name: str | None = await conn.fetchval("select name from org_units where id = $1", unit_id)
    return name


async def listing(
    conn: Connection,
    *,
    scope: uuid.UUID | None,
    months: list[date],
    unit_id: uuid.UUID | None,
) -> list[Record]:
    """The reports of these months for the branches of the subtree (or one of them)."""
    return await conn.fetch(
        f"""
        select {_COLUMNS}
          from monthly_reports r
          join org_units o on o.id = r.org_unit_id
         where r.month = any($2::date[])
           and ($1::uuid is null or r.org_unit_id in (select t.id from org_subtree($1::uuid) t(id)))
           and ($3::uuid is null or r.org_unit_id = $3)
         order by r.month desc, o.name, r.org_unit_id
        """,
        scope,
        months,
        unit_id,
    )


async def latest_months(
    conn: Connection, *, scope: uuid.UUID | None, before: date | None, limit: int
) -> list[date]:
    """The months (newest first, before `before`) that have a report in the subtree."""
    rows = await conn.fetch(
        """
        select distinct r.month
          from monthly_reports r
         where ($1::uuid is null or r.org_unit_id in (select t.id from org_subtree($1::uuid) t(id)))
           and ($2::date is null or r.month < $2)
         order by r.month desc
         limit $3
        """,
        scope,
        before,
        limit,
    )
    return [r["month"] for r in rows]


async def report(
    conn: Connection, report_id: uuid.UUID, *, scope: uuid.UUID | None
) -> Record | None:
    """One report, if its unit lies in the caller's subtree."""
    return await conn.fetchrow(
        f"""
        select {_COLUMNS}
          from monthly_reports r
          join org_units o on o.id = r.org_unit_id
         where r.id = $1
           and ($2::uuid is null or r.org_unit_id in (select t.id from org_subtree($2::uuid) t(id)))
        """,
        report_id,
        scope,
    )

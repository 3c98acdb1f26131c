"""SQL of tracked shares: the only place that talks to PostgreSQL about them.

Scope is applied here, in SQL: an RM reads their own shares; a branch head those made in a unit
of their subtree (the RM's unit when they shared). The customer of a share is shown only while
the reader may still see that customer (an RM: their own; a branch head: their subtree's).
A survey shared with a customer is a share too (a survey invitation made without a delivery or
task, workbench.surveys.sharing): the share list reads both, by the same scope.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from workbench.db import Connection
from workbench.sql import Where

Record = asyncpg.Record

_SHARE = """
    s.id, s.code, s.brochure_id, s.brochure_version, s.product_code, s.customer_id, s.rm_id,
    s.org_unit_id, s.channel, s.client_ref, s.created_at
"""


def _shares_of(rm_id: uuid.UUID | None) -> str:
    """Whose shares a caller reads ({} is the RM, or a branch head's subtree root when the RM
    is None): a statement per case, so each plan uses its own index."""
    if rm_id is not None:
        return "s.rm_id = {}"
    return "s.org_unit_id in (select u.id from org_subtree({}) u(id))"


def _surveys_shared_by(rm_id: uuid.UUID | None) -> str:
    """As `_shares_of`, for survey shares (the invitation's unit: its customer's RM's, the
    sharing RM's own when they shared)."""
    if rm_id is not None:
        return "i.sent_by = {}"
    return "i.org_unit_id in (select u.id from org_subtree({}) u(id))"


# A survey invitation that is a share (the predicate of the survey_invitations_shared_* indexes).
_SURVEY_SHARE = "i.customer_id is not null and i.delivery_id is null and i.task_id is null"


def _customers_of(rm_id: uuid.UUID | None) -> str:
    """The customers a caller sees, as in workbench.customers.queries."""
    if rm_id is not None:
        return "c.owner_id = {}"
    return "c.owner_id = any(array(select u.id from subtree_users({}) u(id)))"


# The visitors' counts of the shares of a statement's `page` (a CTE of share ids), as every
# share list shows them: only visitors who opened the page count, for opens, dwell and clicks.
VISITOR_COUNTS = """counts as (
            select sv.share_id,
                   count(*) filter (where sv.first_open_at is not null) as opens,
                   coalesce(sum(sv.dwell_ms) filter (where sv.first_open_at is not null), 0)
                       as dwell_ms,
                   count(*) filter (where sv.first_open_at is not null
                                      and sv.clicked_at is not null) as clicks
              from share_visitors sv
             where sv.share_id in (select id from page)
             group by sv.share_id
        )"""


async def insert_share(
    conn: Connection,
    *,
    share_id: uuid.UUID,
    code: str,
    brochure_id: uuid.UUID,
    brochure_version: int,
    product_code: str,
    customer_id: uuid.UUID | None,
    rm_id: uuid.UUID,
    org_unit_id: uuid.UUID,
    channel: str,
    client_ref: uuid.UUID | None,
) -> Record | None:
    """The new share, or None when its code or its client_ref is taken already (nothing was
    written then; the caller tells which)."""
    return await conn.fetchrow(
        f"""
        insert into shares as s (id, code, brochure_id, brochure_version, product_code,
                                 customer_id, rm_id, org_unit_id, channel, client_ref)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        on conflict do nothing
        returning {_SHARE}
        """,
        share_id,
        code,
        brochure_id,
        brochure_version,
        product_code,
        customer_id,
        rm_id,
        org_unit_id,
        channel,
        client_ref,
    )


async def lock_client_ref(conn: Connection, client_ref: uuid.UUID) -> None:
    """Hold the client_ref's lock until the transaction ends: brochure and survey shares (kept
    in two tables) made with one client_ref at the same time are made one after the other."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended('share-client-ref:' || $1::uuid::text, 0))",
        client_ref,
    )


async def share_by_client_ref(conn: Connection, client_ref: uuid.UUID) -> Record | None:
    """The share the app made with this id, whoever made it (the caller compares the RM)."""
    return await conn.fetchrow(f"select {_SHARE} from shares s where s.client_ref = $1", client_ref)


async def visible_share(
    conn: Connection, share_id: uuid.UUID, *, rm_id: uuid.UUID | None, scope_root: uuid.UUID
) -> Record | None:
    """A share the caller may see (what its poster shows, the RM's name, title and page, comes
    from the share page's own reading: `tracking.queries.viewer_share`)."""
    return await conn.fetchrow(
        f"""
        select {_SHARE}
          from shares s
         where s.id = $1 and {_shares_of(rm_id).format("$2")}
        """,
        share_id,
        rm_id or scope_root,
    )


async def page_image_keys(conn: Connection, image: bytes, *, rendition: str) -> Record | None:
    """Where a page image is stored: its source blob, and the rendition `rendition` if built."""
    return await conn.fetchrow(
        """
        select i.blob_key as source_key, r.blob_key as rendition_key
          from brochure_images i
          left join brochure_renditions r on r.image_sha256 = i.sha256 and r.spec = $2
                                         and r.status = 'ready'
         where i.sha256 = $1
        """,
        image,
        rendition,
    )


async def shares_with_counts(
    conn: Connection,
    *,
    rm_id: uuid.UUID | None,
    scope_root: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Record]:
    """The caller's shares, brochures' and surveys', newest first, each with its visitors'
    counts from the rollup (`share_visitors`), in one statement: the page's shares first (each
    kind's newest by its own index, then merged), then one grouped lookup of their visitors. A
    survey share's row has no code (its link's token is made from its id), `survey_id`, its
    version's title, and `answered_at`/`expires_at` of its link."""
    args = Where()
    reader = args.param(rm_id or scope_root)
    brochures = [_shares_of(rm_id).format(reader)]
    surveys = [_surveys_shared_by(rm_id).format(reader), _SURVEY_SHARE]
    if after is not None:
        at, last = args.param(after[0]), args.param(after[1])
        brochures.append(f"(s.created_at, s.id) < ({at}, {last})")
        surveys.append(f"(i.sent_at, i.id) < ({at}, {last})")
    most = args.param(limit)
    return await conn.fetch(
        f"""
        with page as (
            select * from (
                (select {_SHARE}, null::uuid as survey_id, null::int as survey_version,
                        null::timestamptz as answered_at, null::timestamptz as expires_at
                   from shares s
                  where {" and ".join(brochures)}
                  order by s.created_at desc, s.id desc
                  limit {most})
                union all
                (select i.id, null, null, null, null, i.customer_id, i.sent_by, i.org_unit_id,
                        coalesce(i.share_channel, 'link'), null, i.sent_at, i.survey_id,
                        i.version, i.responded_at, i.expires_at
                   from survey_invitations i
                  where {" and ".join(surveys)}
                  order by i.sent_at desc, i.id desc
                  limit {most})
            ) both_kinds
             order by created_at desc, id desc
             limit {most}
        ), {VISITOR_COUNTS}
        select s.*, coalesce(v.title, sv.title) as title, c.external_id, c.name_enc,
               coalesce(n.opens, 0) as opens, coalesce(n.dwell_ms, 0) as dwell_ms,
               coalesce(n.clicks, 0) as clicks
          from page s
          left join brochure_versions v on v.brochure_id = s.brochure_id
                                       and v.version = s.brochure_version
          left join survey_versions sv on sv.survey_id = s.survey_id
                                      and sv.version = s.survey_version
          left join customers c on c.id = s.customer_id and {_customers_of(rm_id).format(reader)}
          left join counts n on n.share_id = s.id
         order by s.created_at desc, s.id desc
        """,
        *args.args,
    )


# ---- the demo bank's month of shares ---------------------------------------------------------

SHARE_COLUMNS = (
    "id", "code", "brochure_id", "brochure_version", "product_code", "customer_id", "rm_id",
    "org_unit_id", "channel", "created_at",
)  # fmt: skip


async def any_share(conn: Connection) -> bool:
    found: bool = await conn.fetchval("select exists (select from shares)")
    return found


async def demo_customers(conn: Connection, owner_ids: list[uuid.UUID]) -> list[Record]:
    """The demo customers (external ids DEMO-…) of these RMs with their risk level, in a stable
    order."""
    return await conn.fetch(
        """
        select id, owner_id, risk_level from customers
         where owner_id = any($1::uuid[]) and external_id like 'DEMO-%'
         order by external_id
        """,
        owner_ids,
    )


async def copy_shares(conn: Connection, rows: list[tuple[object, ...]]) -> None:
    """Store made-up shares (rows in SHARE_COLUMNS order) in one COPY (the demo's history)."""
    await conn.copy_records_to_table("shares", records=rows, columns=SHARE_COLUMNS)

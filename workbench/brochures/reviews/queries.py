"""SQL of compliance's decisions on brochure versions (`brochure_reviews`): approvals,
rejections and withdrawals (a published brochure taken down by compliance, its approval void)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from workbench.db import Connection

Record = asyncpg.Record

_DECISION = """
    r.id, r.brochure_id, r.version, r.decision, r.reason, r.content_hash, r.title,
    r.product_code, r.talk_track, r.tags, r.pages, r.reviewed_by, r.reviewed_at, r.risk_level,
    r.live_from, r.live_until
"""


async def record_decision(
    conn: Connection,
    *,
    brochure_id: uuid.UUID,
    version: int,
    decision: str,
    reason: str | None,
    reviewed_by: uuid.UUID,
    risk_level: int | None,
    live_from: datetime | None = None,
    live_until: datetime | None = None,
) -> None:
    """Keep a decision on a version with the content it holds now (the content decided on):
    its hash and page image ids as hex; and what else it covered: the product's risk level and
    the live window submitted."""
    await conn.execute(
        """
        insert into brochure_reviews (brochure_id, version, decision, reason, content_hash,
                                      title, product_code, talk_track, tags, pages, reviewed_by,
                                      risk_level, live_from, live_until)
        select v.brochure_id, v.version, $3, $4, encode(v.content_hash, 'hex'), v.title,
               v.product_code, v.talk_track, v.tags,
               array(select encode(p.image, 'hex')
                       from unnest(v.pages) with ordinality p(image, n) order by p.n),
               $5, $6, $7, $8
          from brochure_versions v
         where v.brochure_id = $1 and v.version = $2
        """,
        brochure_id,
        version,
        decision,
        reason,
        reviewed_by,
        risk_level,
        live_from,
        live_until,
    )


async def decisions(conn: Connection, brochure_id: uuid.UUID) -> list[Record]:
    """Every decision on the brochure's versions (withdrawals included), newest first."""
    return await conn.fetch(
        f"""
        select {_DECISION}
          from brochure_reviews r
         where r.brochure_id = $1
         order by r.id desc
        """,
        brochure_id,
    )


async def last_decisions(conn: Connection, versions: list[tuple[uuid.UUID, int]]) -> list[Record]:
    """The latest review (approval or rejection) of each of these versions (brochure id,
    version) that has one."""
    return await conn.fetch(
        f"""
        select distinct on (r.brochure_id, r.version) {_DECISION}
          from unnest($1::uuid[], $2::int[]) k(brochure_id, version)
          join brochure_reviews r on r.brochure_id = k.brochure_id and r.version = k.version
         where r.decision in ('approved', 'rejected')
         order by r.brochure_id, r.version, r.id desc
        """,
        [brochure for brochure, _ in versions],
        [version for _, version in versions],
    )

"""SQL of share tracking: the viewer's share, storing hits with their rollup, partitions,
re-classification and the filtered-hits page. The only place that talks to PostgreSQL about it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any

import asyncpg
import msgspec

from mobile_contracts.v1.funnels import ENGAGED_DWELL_MS
from workbench.brochures.queries import LIVE
from workbench.db import Connection

Record = asyncpg.Record

HIT_COLUMNS = (
    "received_at", "event_id", "share_id", "visitor_id", "type", "page", "ms", "ip",
    "user_agent", "verdict", "reason",
)  # fmt: skip

# Dwell is reading time the server saw pass, not what beacons claim (a heartbeat's `ms` is the
# page's word, and anyone can post one). Per visitor of a share, in the order the hits were
# received (the stream's time, its sequence within a millisecond as microseconds; a tie, past
# 999 in one millisecond, by event id), reading counts from the visitor's first open
# on (the page sends nothing before it):
# - a heartbeat counts its `ms`, but at most the time since the visitor's beacon before plus
#   HEARTBEAT_SLACK_MS (the page sends one every 5 s while visible; the network does not carry
#   each as fast as the one before);
# - the dwell never exceeds the time from the first open to the heartbeat plus
#   HEARTBEAT_INTERVAL_MS (the page was visible a moment before its open): a heartbeat past
#   that counts what is left. Heartbeats sent faster than time passes count the time passed.
# The worker adds each batch to the rollup with what it knows of the batch (`_roll_up`), and
# `rebuild_visitors` makes the same from the stored hits.
HEARTBEAT_INTERVAL_MS = 5_000
HEARTBEAT_SLACK_MS = 2_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_IN_ORDER = itemgetter(0, 1)  # received_at, event_id (a uuid or its text: the same order)
_encode_json = msgspec.json.Encoder().encode


def _epoch_ms(column: str) -> str:
    """SQL: a timestamptz column as whole milliseconds since 1970 (floored, as `_ms` does)."""
    return f"floor(extract(epoch from {column}) * 1000)::bigint"


def _ms(moment: datetime) -> int:
    """A moment as whole milliseconds since 1970 (floored: exact, unlike a float's)."""
    return (moment - _EPOCH) // _MS


# Whom a customer's page names as their RM (`coalesce(o.name, u.name)`): for a share made for a
# customer, the customer's RM now (a feed may have moved them on since) while active; else the
# sharing RM while active; else no one (a page then names no RM rather than someone gone).
RM_SHOWN = """
          left join customers c on c.id = s.customer_id
          left join users o on o.id = c.owner_id and o.active
          left join users u on u.id = s.rm_id and u.active
"""

# Whether a share (`s`, its customer `c`) was made for a customer the bank has closed since (the
# customer feed's `status: closed`): such a share is over, as one of a brochure past its window
# (its page answers 410; beacons still coming are stored, but tell no one and write no timeline
# entry). Closed now, or closed at any time after the share was made, as their timeline's
# `customer.closed` says (dated when the feed closed them): a customer the bank reopens gets no
# old link back, as their verification links (the RM shares again). A share to no one: never.
CUSTOMER_LEFT = """(c.closed_at is not null
               or exists (select from customer_timeline t
                           where t.customer_id = s.customer_id and t.kind = 'customer.closed'
                             and t.occurred_at >= s.created_at))"""


async def viewer_share(conn: Connection, code: str, *, now: datetime) -> Record | None:
    """What a share's link shows now: the brochure's version live now (the shared one while it
    is live, the one that replaced it once that took over: an edit compliance approved replaces
    what customers see behind every link already shared) with its product (name, category, risk
    level), the name of the RM the customer should turn to (`rm_name`, `RM_SHOWN`; null when
    there is none), `customer_left` (`CUSTOMER_LEFT`: made for a customer the bank closed
    since) and `live`: whether the share shows a version at all (one live, a published version
    in its window, its product offered: `brochures.queries.LIVE`; and not `customer_left`).
    Without a live one (the brochure unpublished, expired or its product withdrawn) the
    version's columns are null. None for an unknown code."""
    return await conn.fetchrow(
        f"""
        select s.id, lv.version, lv.title, lv.pages,
               p.name as product_name, p.category, p.risk_level,
               coalesce(o.name, u.name) as rm_name, ended.customer_left,
               lv.version is not null and not ended.customer_left as live
          from shares s
          {RM_SHOWN}
          cross join lateral (select {CUSTOMER_LEFT} as customer_left) ended
          left join lateral (select v.version, v.title, v.pages, v.product_code
                               from brochure_versions v
                              where v.brochure_id = s.brochure_id and {LIVE.format("$2")}
                              order by v.version desc limit 1) lv on true
          left join products p on p.code = lv.product_code
         where s.code = $1
        """,
        code,
        now,
    )


async def share_ids(conn: Connection, codes: list[str]) -> dict[str, uuid.UUID]:
    """Share ids by code (unknown codes are left out); one query for a batch."""
    rows = await conn.fetch("select code, id from shares where code = any($1::text[])", codes)
    return {r["code"]: r["id"] for r in rows}


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing a batch did: hits newly stored, and the visitors of a share who reached a
    step with it (`opened`, `engaged`, `clicked` flags; their rollup row as it now is)."""

    count: int
    milestones: list[Record]


async def store_hits(
    conn: Connection, hits: Sequence[tuple[Any, ...]], *, first_delivery: bool = False
) -> Stored:
    """Store a batch of hits (rows in HIT_COLUMNS order; the address as text or as its packed
    bytes) once, and add the human ones that were new to the per-visitor rollup. Call inside a
    transaction.

    `first_delivery`: the batch's stream entries were never delivered before, so none of its
    hits can be stored already: they are copied straight into share_hits (PostgreSQL routes
    each to its month), half the work of staging them first. Should one be there after all (a
    clash of keys), the copy is undone and the batch takes the other way: staged in a temporary
    table and inserted unless stored (a redelivery, after a worker died before acknowledging).
    Either way only hits newly stored reach the rollup, so a batch stored again changes nothing
    and no visitor reaches a step twice."""
    stored = list(hits)
    if not (first_delivery and await _copied(conn, stored)):
        stored = await _inserted_unless_stored(conn, stored)
    return Stored(count=len(stored), milestones=await _roll_up(conn, stored))


async def _copied(conn: Connection, hits: list[tuple[Any, ...]]) -> bool:
    """COPY the hits into share_hits; False (and nothing copied) if one was stored already."""
    try:
        async with conn.transaction():  # a savepoint in the caller's transaction
            await conn.copy_records_to_table("share_hits", records=hits, columns=HIT_COLUMNS)
    except asyncpg.UniqueViolationError:
        return False
    return True


async def _inserted_unless_stored(
    conn: Connection, hits: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Insert the hits not stored yet (by their key: event id and time received); those."""
    # One staging table per connection, emptied at each commit: creating and dropping one per
    # batch would write the catalog twice a batch.
    await conn.execute(
        """
        create temp table if not exists tracking_hits (like share_hits including defaults)
            on commit delete rows
        """
    )
    await conn.copy_records_to_table("tracking_hits", records=hits, columns=HIT_COLUMNS)
    columns = ", ".join(HIT_COLUMNS)
    rows = await conn.fetch(
        f"""
        insert into share_hits ({columns}) select {columns} from tracking_hits
        on conflict do nothing
        returning event_id, received_at
        """
    )
    new = {(str(r["event_id"]), r["received_at"]) for r in rows}
    stored = []
    for hit in hits:  # a key twice in the batch was inserted once
        if (key := (str(hit[1]), hit[0])) in new:
            new.discard(key)
            stored.append(hit)
    return stored


def _visitors(hits: list[tuple[Any, ...]]) -> tuple[list[list[Any]], str]:
    """The rollup's columns (share, visitor, first open, last hit, dwell, page views, first
    click) of these hits' human visitors, one entry per (share, visitor), as if the visitor
    were new (the dwell: the batch's reading from its first open on); and, as a JSON object by
    share id and visitor id, what adding the batch to a visitor who opened before needs
    (`_roll_up`), in ms: the moment of the batch's first hit, the `ms` of that hit if a
    heartbeat (capped there by the time since the visitor's last hit), the sum of the credits
    of its later heartbeats, and the least of (a hit's moment + the credits after it)."""
    mine: dict[tuple[Any, str], list[tuple[Any, ...]]] = {}
    for hit in hits:
        if hit[9] == "human":
            if (visits := mine.get(key := (hit[2], hit[3]))) is None:
                mine[key] = [hit]
            else:
                visits.append(hit)
    rows, leads = [], {}
    moments: dict[datetime, int] = {}  # in ms (a batch's hits share a few hundred moments)
    for (share_id, visitor_id), visits in mine.items():
        if len(visits) > 1:
            visits.sort(key=_IN_ORDER)  # the stream's order already, but for a tie
        first_open = clicked_at = open_ms = previous = None
        page_views = dwell = lead = beats = 0
        low = first_ms = _ms(visits[0][0])
        for hit in visits:
            kind, at = hit[4], moments.get(hit[0])
            if at is None:
                at = moments[hit[0]] = _ms(hit[0])
            if kind == "heartbeat":
                claimed = hit[6] or 0
                if previous is None:  # the visitor's hit before is in an earlier batch, if any
                    lead = claimed
                else:
                    credit = min(claimed, at - previous + HEARTBEAT_SLACK_MS)
                    beats += credit
                    if open_ms is not None:
                        dwell = min(dwell + credit, at - open_ms + HEARTBEAT_INTERVAL_MS)
            elif kind == "open":
                if first_open is None:
                    first_open, open_ms = hit[0], at
            elif kind == "page_view":
                page_views += 1
            elif kind == "cta" and clicked_at is None:
                clicked_at = hit[0]
            if at - beats < low:
                low = at - beats
            previous = at
        rows.append(
            [share_id, visitor_id, first_open, visits[-1][0], dwell, page_views, clicked_at]
        )
        if lead or beats:
            leads[f"{share_id}{visitor_id}"] = [first_ms, lead, beats, beats + low]
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else []
    return columns, _encode_json(leads).decode()


async def _roll_up(conn: Connection, hits: list[tuple[Any, ...]]) -> list[Record]:
    """Add newly stored hits to their human visitors' rollup rows; the visitors who reached a
    step with them (`opened`, `engaged`, `clicked` flags; their rollup row as it now is).

    A visitor new to the rollup (or who had not opened yet) gets the batch's own reading from
    its open. One who opened before gets the batch added to their dwell by the rules above
    (HEARTBEAT_INTERVAL_MS): with `d` their dwell, `T` their first open, `c` the credit of the
    batch's first hit if a heartbeat (capped by the time since their last hit), `s` the credits
    of the later heartbeats and `r` the least of (a hit's moment + the credits after it), the
    new dwell is `least(d + c + s, r - T + interval)`: the rule applied hit by hit. The row is
    updated under its lock, so two workers adding batches of one visitor each add theirs. A
    batch older than what is stored (a worker that died, its entries taken over later) never
    lowers a dwell."""
    columns, leads = _visitors(hits)
    if not columns:
        return []
    last_hit_ms = _epoch_ms("sv.last_hit_at")
    open_ms = _epoch_ms("least(sv.first_open_at, excluded.first_open_at)")
    return await conn.fetch(
        f"""
        with visitors as (
            select * from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[],
                                 $5::bigint[], $6::int[], $7::timestamptz[])
                       as v(share_id, visitor_id, first_open_at, last_hit_at, dwell_ms,
                            page_views, clicked_at)
        ), batch as materialized (  -- read once a statement (inlined: parsed once a row)
            select $8::text::jsonb as leads
        ), rolled as (
            insert into share_visitors as sv
                   (share_id, visitor_id, first_open_at, last_hit_at, dwell_ms, page_views,
                    clicked_at)
            select share_id, visitor_id, first_open_at, last_hit_at, dwell_ms, page_views,
                   clicked_at
              from visitors
             order by share_id, visitor_id  -- one lock order for every worker: no deadlock
            on conflict (share_id, visitor_id) do update set
                first_open_at = least(sv.first_open_at, excluded.first_open_at),
                last_hit_at = greatest(sv.last_hit_at, excluded.last_hit_at),
                dwell_ms = case
                    when sv.first_open_at is null  -- nothing read before: the batch's reading
                        then greatest(sv.dwell_ms, excluded.dwell_ms)
                    else (  -- the batch's JSON (a visitor not in it: no credit, dwell kept)
                        select greatest(sv.dwell_ms, least(
                                   sv.dwell_ms + least((v ->> 1)::bigint, greatest(
                                       (v ->> 0)::bigint - {last_hit_ms}, 0)
                                       + {HEARTBEAT_SLACK_MS}) + (v ->> 2)::bigint,
                                   (v ->> 3)::bigint - {open_ms} + {HEARTBEAT_INTERVAL_MS}))
                          from (select (select leads from batch)
                                       -> (excluded.share_id::text || excluded.visitor_id) as v)
                               as j)
                end,
                page_views = sv.page_views + excluded.page_views,
                clicked_at = least(sv.clicked_at, excluded.clicked_at)
            returning sv.share_id, sv.visitor_id, sv.first_open_at, sv.last_hit_at, sv.dwell_ms,
                      sv.clicked_at
        ), milestones as (
            -- share_visitors as read here is the statement's snapshot: each visitor's row as
            -- it was before this batch (found by its key: a join to another list of the
            -- batch's visitors was planned as a loop over that list per visitor, quadratic).
            -- A visitor's steps count from a visible open on: one who never opened (a
            -- script's heartbeats or click without the page) reaches none, and reaches them
            -- all when the open comes.
            select r.*,
                   b.first_open_at is null and r.first_open_at is not null as opened,
                   r.first_open_at is not null and r.dwell_ms >= {ENGAGED_DWELL_MS}
                       and not coalesce(b.first_open_at is not null
                                        and b.dwell_ms >= {ENGAGED_DWELL_MS}, false) as engaged,
                   r.first_open_at is not null and r.clicked_at is not null
                       and not coalesce(b.first_open_at is not null
                                        and b.clicked_at is not null, false) as clicked
              from rolled r
              left join share_visitors b using (share_id, visitor_id)
        )
        select * from milestones where opened or engaged or clicked
        """,
        *columns,
        leads,
    )


async def radar_shares(
    conn: Connection, share_ids: list[uuid.UUID], moments: list[datetime]
) -> dict[uuid.UUID, Record]:
    """What the radar says about these shares and to whom: the shared version's title, the
    customer's encrypted name (to mask) when the share names one (`customer_id`: for the
    timeline), whether the brochure was live (`live`: the share page's rule, as in
    `viewer_share`) at the share's moment in `moments` (its latest hit), and who hears of it:

    - `recipient_id`: for a share made for a customer, the customer's RM now (a feed may have
      moved them on since the share) while active; else the sharing RM while active; else null;
    - `rm_customer`: whether the customer is the recipient's (only then do they hear who is
      reading);
    - `head_ids`: without a recipient, the active branch heads of the nearest unit that has
      any, at or above the customer's RM's unit (a share to no one: the unit it was shared
      from), who hear a request to be contacted (it is never lost; opens are not for them);
    - `rm_name`: the RM the heads are told about (the customer's, else the sharer);
    - `customer_left`: made for a customer the bank closed since (`CUSTOMER_LEFT`), of whom no
      one hears anything more."""
    rows = await conn.fetch(
        f"""
        select s.id, s.rm_id, s.brochure_id, s.customer_id, v.title, c.external_id, c.name_enc,
               w.recipient_id, coalesce(c.owner_id = w.recipient_id, false) as rm_customer,
               coalesce(o.name, su.name) as rm_name,
               array(select h.id from users h
                      where h.org_unit_id = heads.unit_id and h.role = 'branch_head' and h.active
                      order by h.created_at, h.id) as head_ids,
               exists (select from brochure_versions v where v.brochure_id = s.brochure_id
                          and {LIVE.format("m.moment")}) as live,
               {CUSTOMER_LEFT} as customer_left
          from unnest($1::uuid[], $2::timestamptz[]) as m(share_id, moment)
          join shares s on s.id = m.share_id
          join users su on su.id = s.rm_id
          join brochure_versions v on v.brochure_id = s.brochure_id
                                  and v.version = s.brochure_version
          left join customers c on c.id = s.customer_id
          left join users o on o.id = c.owner_id
          cross join lateral (
              select case when o.active then o.id when su.active then su.id end as recipient_id
          ) w
          left join lateral (  -- only for a share no one active holds: its heads' unit
              select hu.id as unit_id
                from org_units b
                join org_units hu on b.path >= hu.path and b.path < hu.path || '~'
               where w.recipient_id is null and b.id = coalesce(o.org_unit_id, s.org_unit_id)
                 and exists (select from users h where h.org_unit_id = hu.id
                                and h.role = 'branch_head' and h.active)
               order by hu.depth desc
               limit 1
          ) heads on true
        """,
        share_ids,
        moments,
    )
    return {r["id"]: r for r in rows}


async def radar_told(
    conn: Connection, *, share_ids: list[uuid.UUID], user_ids: list[uuid.UUID], within: timedelta
) -> tuple[set[tuple[uuid.UUID, uuid.UUID]], set[tuple[uuid.UUID, uuid.UUID]]]:
    """Of these shares (sorted) and users, the (share, user) pairs where the user was told
    anything of the share in the last `within`, and those where they were told of a request to
    be contacted: the radar's half hour holds per person told (an RM who has taken the customer
    over is told, whoever else was told before). Takes the shares' transaction locks first,
    once, in the order given, so that two workers storing hits of a share take turns (the
    second sees the first's notification) and never deadlock."""
    await conn.execute(
        """
        select pg_advisory_xact_lock(hashtextextended('share-radar:' || id::text, 0))
          from unnest($1::uuid[]) as id
        """,
        share_ids,
    )
    rows = await conn.fetch(
        """
        select subject_id, user_id,
               -- (a request told before it had a category of its own: `action` contact)
               bool_or(category = 'brochure.contact_requested' or data ->> 'action' = 'contact')
                 as contact
          from notifications
         where user_id = any($1::uuid[])
           and category in ('brochure.opened', 'brochure.contact_requested')
           and subject_id = any($2::uuid[]) and created_at > clock_timestamp() - $3::interval
         group by subject_id, user_id
        """,
        user_ids,
        share_ids,
        within,
    )
    return (
        {(r["subject_id"], r["user_id"]) for r in rows},
        {(r["subject_id"], r["user_id"]) for r in rows if r["contact"]},
    )


# ---- partitions (share_hits_YYYYMM, UTC months) ---------------------------------------------


async def hit_partitions(conn: Connection) -> list[str]:
    """The names of share_hits' partitions."""
    rows = await conn.fetch(
        """
        select c.relname from pg_inherits i
          join pg_class c on c.oid = i.inhrelid
          join pg_class p on p.oid = i.inhparent
         where p.relname = 'share_hits'
        """
    )
    return [r["relname"] for r in rows]


async def create_partition(conn: Connection, name: str, start: date, end: date) -> None:
    """Create one month's partition unless it exists (names and bounds are ours, not input)."""
    await conn.execute(
        f"create table if not exists {name} partition of share_hits for values"
        f" from ('{start.isoformat()} 00:00:00+00') to ('{end.isoformat()} 00:00:00+00')"
    )


async def drop_partition(conn: Connection, name: str) -> None:
    await conn.execute(f"drop table if exists {name}")


# ---- re-classification -----------------------------------------------------------------------


async def shares_hit_since(conn: Connection, since: datetime | None) -> list[uuid.UUID]:
    """The shares with hits received since `since` (all shares with hits if None)."""
    rows = await conn.fetch(
        "select distinct share_id from share_hits where $1::timestamptz is null"
        " or received_at >= $1 order by share_id",
        since,
    )
    return [r["share_id"] for r in rows]


async def user_agents_of(conn: Connection, share_ids_: list[uuid.UUID]) -> list[Record]:
    """The distinct (user agent, rate flag) pairs among these shares' hits."""
    return await conn.fetch(
        "select distinct user_agent, reason = 'rate' as limited from share_hits"
        " where share_id = any($1::uuid[])",
        share_ids_,
    )


async def relabel(
    conn: Connection,
    share_ids_: list[uuid.UUID],
    labels: Sequence[tuple[str, bool, str, str]],
) -> int:
    """Set the verdict and reason of these shares' hits by (user agent, rate flag); the number
    of hits whose label changed."""
    result: str = await conn.execute(
        """
        update share_hits h set verdict = n.verdict, reason = n.reason
          from unnest($2::text[], $3::bool[], $4::text[], $5::text[])
               as n(user_agent, limited, verdict, reason)
         where h.share_id = any($1::uuid[])
           and h.user_agent = n.user_agent and (h.reason = 'rate') = n.limited
           and (h.verdict, h.reason) is distinct from (n.verdict, n.reason)
        """,
        share_ids_,
        [label[0] for label in labels],
        [label[1] for label in labels],
        [label[2] for label in labels],
        [label[3] for label in labels],
    )
    return int(result.rsplit(" ", 1)[-1])


async def rebuild_visitors(conn: Connection, share_ids_: list[uuid.UUID]) -> None:
    """Rebuild these shares' per-visitor rollup from their human hits (dwell by the rules above
    HEARTBEAT_INTERVAL_MS: per visitor, in the order received, from the first open on, with
    `d = S + least(0, min(moment - first open + interval - credits up to the hit))`, the
    closed form of adding each heartbeat's credit under the bound; S the sum of the credits)."""
    await conn.execute("delete from share_visitors where share_id = any($1::uuid[])", share_ids_)
    at = _epoch_ms("received_at")
    await conn.execute(
        f"""
        with hits as (
            select share_id, visitor_id, received_at, type, {at} as at,
                   row_number() over visit as n,
                   lag({at}) over visit as previous,
                   bool_or(type = 'open') over visit as opened,
                   case when type = 'heartbeat' then coalesce(ms, 0) else 0 end as claimed
              from share_hits
             where share_id = any($1::uuid[]) and verdict = 'human'
            window visit as (partition by share_id, visitor_id order by received_at, event_id
                             rows between unbounded preceding and current row)
        ), credited as (
            select *, case when opened and previous is not null
                           then least(claimed, at - previous + {HEARTBEAT_SLACK_MS})
                           else 0 end as credit
              from hits
        ), added as (
            select *, sum(credit) over (partition by share_id, visitor_id order by n
                                        rows between unbounded preceding and current row)
                          as upto,
                   min(at) filter (where type = 'open')
                       over (partition by share_id, visitor_id) as open_at
              from credited
        )
        insert into share_visitors
               (share_id, visitor_id, first_open_at, last_hit_at, dwell_ms, page_views, clicked_at)
        select share_id, visitor_id,
               min(received_at) filter (where type = 'open'),
               max(received_at),
               coalesce(sum(credit) + least(0, min(at - open_at + {HEARTBEAT_INTERVAL_MS} - upto)
                                               filter (where opened)), 0),
               count(*) filter (where type = 'page_view'),
               min(received_at) filter (where type = 'cta')
          from added
         group by share_id, visitor_id
        -- A visitor the worker added since the delete: these sums include its hits already.
        on conflict (share_id, visitor_id) do update set
            first_open_at = excluded.first_open_at, last_hit_at = excluded.last_hit_at,
            dwell_ms = excluded.dwell_ms, page_views = excluded.page_views,
            clicked_at = excluded.clicked_at
        """,
        share_ids_,
    )


# ---- the console's filtered hits -------------------------------------------------------------


async def filtered_by_reason(conn: Connection, *, since: datetime, limit: int) -> list[Record]:
    """Bot-labelled hits since `since` by reason: how many, the last one, its user agent."""
    return await conn.fetch(
        """
        select r.reason, r.hits, r.last_seen, last.user_agent
          from (select reason, count(*) as hits, max(received_at) as last_seen
                  from share_hits
                 where verdict = 'bot' and received_at >= $1
                 group by reason) r
          cross join lateral (
                select user_agent from share_hits h
                 where h.verdict = 'bot' and h.reason = r.reason and h.received_at = r.last_seen
                 limit 1) last
         order by r.last_seen desc
         limit $2
        """,
        since,
        limit,
    )

"""SQL of conversions and funnels: the feed's insert with its attribution, and the funnel."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from mobile_contracts.v1.funnels import FunnelGroupBy
from workbench.brochures.queries import _ON_VIEWERS_PATH, LIVE
from workbench.db import Connection
from workbench.sql import Where

Record = asyncpg.Record


# ---- conversions -----------------------------------------------------------------------------


@dataclass(slots=True)
class ConversionColumns:
    """The conversions of one feed to store, column by column (one list entry per row)."""

    ids: list[uuid.UUID]
    external_ids: list[str]
    customer_ids: list[uuid.UUID]
    product_codes: list[str]
    kinds: list[str]
    amounts: list[Decimal | None]
    occurred_ats: list[datetime]

    @classmethod
    def sorted_by_external_id(cls, rows: ConversionColumns) -> ConversionColumns:
        """The same rows in external id order."""
        lists = (rows.ids, rows.external_ids, rows.customer_ids, rows.product_codes, rows.kinds,
                 rows.amounts, rows.occurred_ats)  # fmt: skip
        order = sorted(range(len(rows.ids)), key=rows.external_ids.__getitem__)
        return cls(*([column[i] for i in order] for column in lists))  # type: ignore[arg-type]


async def insert_conversions(
    conn: Connection, rows: ConversionColumns, *, window_days: int
) -> list[Record]:
    """Store the conversions whose external id is new, each attributed to the last share of its
    product to its customer made in [occurred_at - window, occurred_at]; the rows stored."""
    return await conn.fetch(
        """
        insert into conversions (id, external_id, customer_id, product_code, kind, amount,
                                 occurred_at, share_id)
        select r.id, r.external_id, r.customer_id, r.product_code, r.kind, r.amount,
               r.occurred_at,
               (select s.id from shares s
                 where s.customer_id = r.customer_id and s.product_code = r.product_code
                   and s.created_at <= r.occurred_at
                   and s.created_at >= r.occurred_at - make_interval(days => $8)
                 order by s.created_at desc, s.id desc
                 limit 1)
          from unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[],
                      $6::numeric[], $7::timestamptz[])
               as r (id, external_id, customer_id, product_code, kind, amount, occurred_at)
        on conflict (external_id) do nothing
        returning external_id, share_id
        """,
        rows.ids,
        rows.external_ids,
        rows.customer_ids,
        rows.product_codes,
        rows.kinds,
        rows.amounts,
        rows.occurred_ats,
        window_days,
    )


# ---- funnels ---------------------------------------------------------------------------------

_KEY = {
    FunnelGroupBy.RM: "s.rm_id",
    FunnelGroupBy.ORG_UNIT: "s.org_unit_id",
    FunnelGroupBy.SUB_UNIT: "coalesce(u.sub_unit, s.org_unit_id)",
    FunnelGroupBy.BROCHURE: "s.brochure_id",
}
# sub_unit: each unit of the focus's subtree with the unit right below the focus it lies in
# (the focus itself for the focus), read off the path ('/<root>/.../<id>/': the unit at depth d
# is its part d + 2); joined to the shares by their unit, a hash join over the subtree. An RM's
# own shares made from a unit outside their current one (before a move) keep that unit's row.
_SUB_UNITS = """
        focus as (
            select o.path, o.depth from org_units o
             where o.id = coalesce({focus}::uuid,
                                   (select r.id from org_units r where r.parent_id is null))
        ),
        sub_units as (
            select o.id, coalesce(nullif(split_part(o.path, '/', f.depth + 3), ''),
                                  split_part(o.path, '/', f.depth + 2))::uuid as sub_unit
              from org_units o, focus f
             where o.path like f.path || '%'
        ),"""
_SUB_UNITS_JOIN = "left join sub_units u on u.id = s.org_unit_id"
# The label of a group, looked up for the rows answered only (a brochure's: `_brochure_title`).
_LABEL = {
    FunnelGroupBy.RM: "(select u.name from users u where u.id = g.key)",
    FunnelGroupBy.ORG_UNIT: "(select o.name from org_units o where o.id = g.key)",
    FunnelGroupBy.SUB_UNIT: "(select o.name from org_units o where o.id = g.key)",
}
_NO_KEY = "'00000000-0000-0000-0000-000000000000'::uuid"


async def unit_name(conn: Connection, unit_id: uuid.UUID) -> str | None:
    """An org unit's name; None if unknown."""
    name: str | None = await conn.fetchval("select name from org_units where id = $1", unit_id)
    return name


@dataclass(frozen=True, slots=True)
class BrochureViewer:
    """Whose brochures a funnel may name: those of `staff_root`'s subtree for staff (marketing,
    compliance, admins: as their brochure list; None with `staff`: the bank's), the versions live
    now in the catalogue of `unit_id` (as RMs and branch heads see it), and the versions shared
    within the viewer's funnel scope: by `share_rm_id`, else from `share_unit_root`'s subtree,
    else (both None) anyone's."""

    unit_id: uuid.UUID
    staff: bool
    staff_root: uuid.UUID | None
    share_unit_root: uuid.UUID | None
    share_rm_id: uuid.UUID | None


def _brochure_title(key: str, param: Callable[[Any], str], viewer: BrochureViewer) -> str:
    """The title a viewer knows brochure `key` by, null if they may not name it: of the versions
    they may see, the published one, else the newest. Staff in whose scope it is see every
    version (its current title, a draft's included); anyone else sees only the version live in
    their catalogue and those their scope shared (each once live), so a draft or a version
    scheduled for later is named to no one outside the owner's staff."""
    seen = [
        f"({LIVE.format('now()')} and {_ON_VIEWERS_PATH.format(param(viewer.unit_id))})",
        "exists (select from shares s where s.brochure_id = v.brochure_id"
        f" and s.brochure_version = v.version and {_shared_by(param, viewer)})",
    ]
    if viewer.staff:
        seen.insert(
            0,
            "true"
            if viewer.staff_root is None
            else "b.owner_unit_id in (select t.id from org_subtree("
            f"{param(viewer.staff_root)}::uuid) t(id))",
        )
    return f"""select v.title from brochure_versions v join brochures b on b.id = v.brochure_id
                where v.brochure_id = {key} and ({" or ".join(seen)})
                order by v.status = 'published' desc, v.version desc
                limit 1"""


def _shared_by(param: Callable[[Any], str], viewer: BrochureViewer) -> str:
    """The condition on a share `s` of being in the viewer's funnel scope."""
    if viewer.share_rm_id is not None:
        return f"s.rm_id = {param(viewer.share_rm_id)}"
    if viewer.share_unit_root is not None:
        root = param(viewer.share_unit_root)
        return f"s.org_unit_id in (select t.id from org_subtree({root}::uuid) t(id))"
    return "true"


async def brochure_title(
    conn: Connection, brochure_id: uuid.UUID, *, viewer: BrochureViewer
) -> str | None:
    """The title the viewer knows a brochure by (as the funnel's brochure rows name it); None if
    it is unknown or not theirs to name."""
    args: list[Any] = [brochure_id]

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    title: str | None = await conn.fetchval(_brochure_title("$1", param, viewer), *args)
    return title


@dataclass(frozen=True, slots=True)
class FunnelScope:
    """Which shares a funnel counts: created in [start, end), of the subtree of `unit_root`
    (their unit when shared), of `rm_id` and of `brochure_id`, when given. `org_unit_id`, when
    given, must be in the subtree of `visible_root` (None: any unit) or the funnel answers
    nothing. By sub_unit, the rows are the units right below `org_unit_id`, else below
    `visible_root` (the caller's own unit), else below the bank's root."""

    start: datetime
    end: datetime
    unit_root: uuid.UUID | None
    rm_id: uuid.UUID | None
    org_unit_id: uuid.UUID | None
    visible_root: uuid.UUID | None
    brochure_id: uuid.UUID | None = None  # only the shares of this brochure
    # Who names the brochure rows (by brochure): required for that grouping.
    viewer: BrochureViewer | None = None


async def funnel(
    conn: Connection,
    *,
    scope: FunnelScope,
    group_by: FunnelGroupBy,
    limit: int,
    after: tuple[int, uuid.UUID] | None = None,
) -> list[Record]:
    """One statement: the total row first (`is_total`), then up to `limit` groups by shares
    desc, key (those after the key `after`, (shared, key), when given: the next page);
    `total_groups` counts them all; `ok` is false (and every count 0) when `org_unit_id` is not
    visible.

    `shared` counts the shares; the other steps come from their per-share rollup, scoped and
    grouped by the same columns (a share's rollup row carries its RM, unit, brochure and time).
    Each step's condition holds the one before it, so no step can rise above the one before.
    """
    where = Where()
    where.add("s.created_at >= {} and s.created_at < {}", scope.start, scope.end)
    where.when(
        scope.unit_root, "s.org_unit_id = any(array(select t.id from org_subtree({}) t(id)))"
    )
    where.when(scope.rm_id, "s.rm_id = {}")
    where.when(scope.brochure_id, "s.brochure_id = {}")
    unit, visible = where.param(scope.org_unit_id), where.param(scope.visible_root)
    key = _KEY[group_by]
    sub_units, join = "", ""
    if group_by is FunnelGroupBy.SUB_UNIT:
        focus = scope.org_unit_id or scope.visible_root  # None: the bank's root
        sub_units = _SUB_UNITS.format(focus=where.param(focus))
        join = _SUB_UNITS_JOIN
    if group_by is FunnelGroupBy.BROCHURE:
        if scope.viewer is None:
            raise ValueError("a funnel by brochure names its rows for a viewer")
        label = f"({_brochure_title('g.key', where.param, scope.viewer)})"
    else:
        label = _LABEL[group_by]
    page = "true"
    if after is not None:
        shared, after_key = where.param(after[0]), where.param(after[1])
        page = (f"(gr.shared < {shared}::bigint"
                f" or (gr.shared = {shared}::bigint and gr.key > {after_key}::uuid))")  # fmt: skip
    sql = f"""
        with {sub_units}
        root as (
            select {unit}::uuid is null
                   or exists (select 1 from org_units u
                               where u.id = {unit}::uuid
                                 and ({visible}::uuid is null
                                      or u.id in (select t.id from org_subtree({visible}::uuid)
                                                  t(id)))) as ok
        ),
        shared as (
            select coalesce({key}, {_NO_KEY}) as key, grouping({key}) = 1 as is_total,
                   count(*) as shared
              from shares s {join}
             where (select ok from root) and {where.sql}
             group by grouping sets (({key}), ())
        ),
        steps as (
            select coalesce({key}, {_NO_KEY}) as key, grouping({key}) = 1 as is_total,
                   count(*) filter (where s.openers > 0) as opened,
                   count(*) filter (where s.openers > 0 and s.engaged > 0) as engaged,
                   count(*) filter (where s.openers > 0 and s.engaged > 0 and s.clickers > 0)
                       as clicked,
                   count(*) filter (where s.openers > 0 and s.engaged > 0 and s.clickers > 0
                                      and s.conversions > 0) as converted,
                   sum(s.openers) filter (where s.openers > 0) as visitors,
                   sum(s.conversions) filter (where s.conversions > 0) as conversions
              from share_funnel s {join}
             where (select ok from root) and {where.sql}
             group by grouping sets (({key}), ())
        ),
        grouped as (
            select sh.key, sh.is_total, sh.shared,
                   coalesce(st.opened, 0) as opened, coalesce(st.engaged, 0) as engaged,
                   coalesce(st.clicked, 0) as clicked, coalesce(st.converted, 0) as converted,
                   coalesce(st.visitors, 0) as visitors,
                   coalesce(st.conversions, 0) as conversions,
                   count(*) over () - 1 as total_groups
              from shared sh
              left join steps st on st.is_total = sh.is_total and st.key = sh.key
        ),
        g as (
            select gr.* from grouped gr
             where gr.is_total or {page}
             order by gr.is_total desc, gr.shared desc, gr.key
             limit {where.param(limit + 1)}
        )
        select (select ok from root) as ok, g.*,
               case when g.is_total then null else {label} end as label
          from g
         order by g.is_total desc, g.shared desc, g.key
    """
    return await conn.fetch(sql, *where.args)

"""Funnels: shared -> opened -> engaged -> clicked -> converted, per RM, org unit or brochure.

Counted in shares: the shares themselves and their per-share rollup (`share_funnel`, kept by
triggers on the tracking worker's per-visitor rollup and on conversions), in one statement per
request, grouped in the database and scoped by role in SQL: an RM sees
their own shares, a branch head those made in their subtree, marketing, compliance and admins
the whole bank. `org_unit_id` narrows to a subtree the caller may see (else 404).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mobile_contracts.v1 import funnels as wire
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.funnels import queries
from workbench.pagination import BadCursor, decode_cursor, keyset_page
from workbench.periods import YEARS, period_bound

STEP_LABELS = (  # the funnel's steps in the bank's words: every page, export and report
    ("shared", "分享"),
    ("opened", "打开"),
    ("engaged", "停留 ≥ 10 秒"),
    ("clicked", "点击"),
    ("converted", "转化"),
)

MAX_PERIOD = timedelta(days=366)
DEFAULT_PERIOD = timedelta(days=30)
WHOLE_BANK = frozenset({Role.MARKETING, Role.COMPLIANCE, Role.ADMIN})


class BadPeriod(DomainError):
    status, code, title = 422, "funnel.bad_period", "The period is not usable"


async def funnel(
    conn: Connection,
    *,
    caller: Caller,
    group_by: wire.FunnelGroupBy,
    start: datetime,
    end: datetime,
    org_unit_id: uuid.UUID | None,
    limit: int,
    brochure_id: uuid.UUID | None = None,
    cursor: str | None = None,
) -> wire.Funnel:
    """The funnel rows of the shares the caller may see, created in [start, end) (of one
    brochure, when `brochure_id` is given): `limit` of them, after those of the page `cursor`
    came with (`next_cursor`, for the rows after these)."""
    after = _after(cursor, group_by)
    if end <= start:
        raise BadPeriod("`to` must be after `from`")
    if end - start > MAX_PERIOD:
        raise BadPeriod(f"a period spans at most {MAX_PERIOD.days} days")
    whole_bank = caller.role in WHOLE_BANK
    visible_root = None if whole_bank else caller.org_unit_id
    scope = queries.FunnelScope(
        start=start,
        end=end,
        unit_root=org_unit_id or (None if whole_bank or caller.role is Role.RM else visible_root),
        rm_id=caller.user_id if caller.role is Role.RM else None,
        org_unit_id=org_unit_id,
        visible_root=visible_root,
        brochure_id=brochure_id,
        viewer=brochure_viewer(caller),
    )
    rows = await queries.funnel(conn, scope=scope, group_by=group_by, limit=limit + 1, after=after)
    if not rows[0]["ok"]:
        raise NotFound("org_unit")
    total = rows[0]
    groups, next_cursor = keyset_page(
        rows[1:], limit, lambda r: [group_by.value, r["shared"], r["key"]]
    )
    return wire.Funnel(
        group_by=group_by,
        org_unit_id=org_unit_id,
        from_=start,
        to=end,
        rows=[wire.FunnelRow(key=r["key"], label=r["label"] or "", **_counts(r)) for r in groups],
        total_groups=total["total_groups"],
        total=wire.FunnelCounts(**_counts(total)),
        next_cursor=next_cursor,
    )


_SHARE_COUNTS = range(1, 2**63)  # how many shares a group can have (a bigint count, not none)


def _after(cursor: str | None, group_by: wire.FunnelGroupBy) -> tuple[int, uuid.UUID] | None:
    """The key (shared, key) a page of groups by `group_by` follows; 400 for a cursor no page of
    this grouping came with (another grouping's, or a count no group can have)."""
    key = decode_cursor(cursor, tuple[wire.FunnelGroupBy, int, uuid.UUID])
    if key is None:
        return None
    cursor_group_by, shared, group = key
    if cursor_group_by is not group_by:
        raise BadCursor(
            "cursor", f"a cursor of the rows by {cursor_group_by.value}, not {group_by.value}"
        )
    if shared not in _SHARE_COUNTS:
        raise BadCursor("cursor", "not a cursor this list issued")
    return shared, group


def brochure_viewer(caller: Caller) -> queries.BrochureViewer:
    """Which brochures the caller's funnels may name, by the brochure API's rule for their role
    (staff: the brochures of their scope, drafts included; RMs and branch heads: what is live in
    their catalogue now), and also every brochure their funnel scope shared: a brochure their
    team shared stays reachable, under the title it was shared with, once it is withdrawn."""
    return queries.BrochureViewer(
        unit_id=caller.org_unit_id,
        staff=caller.role in WHOLE_BANK,
        staff_root=caller.scope_root,
        share_unit_root=None if caller.role in WHOLE_BANK else caller.org_unit_id,
        share_rm_id=caller.user_id if caller.role is Role.RM else None,
    )


async def brochure_title(conn: Connection, *, caller: Caller, brochure_id: uuid.UUID) -> str:
    """The title a brochure's funnel goes by for the caller; NotFound if the brochure is unknown
    or not one they may name (`brochure_viewer`): its existence and title are not told."""
    title = await queries.brochure_title(conn, brochure_id, viewer=brochure_viewer(caller))
    if title is None:
        raise NotFound("brochure")
    return title


async def unit_name(conn: Connection, unit_id: uuid.UUID) -> str:
    """The name of a unit a funnel looks at (its scope checked by `funnel` first)."""
    name = await queries.unit_name(conn, unit_id)
    if name is None:
        raise NotFound("org_unit")
    return name


def _counts(row: queries.Record) -> dict[str, int]:
    return {
        name: int(row[name])
        for name in ("shared", "opened", "engaged", "clicked", "converted", "visitors",
                     "conversions")
    }  # fmt: skip


def period(
    from_: str | None, to: str | None, *, tz: str, now: datetime
) -> tuple[datetime, datetime]:
    """The period of `?from=&to=` (see `workbench.periods`); without `to`, up to the end of
    today, without `from`, the 30 days before `to` (so no parameter: the last 30 days, today
    included, in the bank's time zone)."""
    today = now.astimezone(ZoneInfo(tz)).date().isoformat()
    try:
        end = period_bound(to or today, name="to", tz=tz, end=True)
        start = period_bound(from_, name="from", tz=tz) if from_ else end - DEFAULT_PERIOD
    except OverflowError:  # a day next to the calendar's ends (9999-12-31)
        raise BadPeriod(f"a period lies within the years {YEARS[0]} to {YEARS[1]}") from None
    if not (YEARS[0] <= start.year and (end - timedelta(microseconds=1)).year <= YEARS[1]):
        raise BadPeriod(f"a period lies within the years {YEARS[0]} to {YEARS[1]}")
    return start, end

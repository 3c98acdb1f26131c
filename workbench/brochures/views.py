"""What RMs and staff see of brochures: the catalogue, one brochure, the staff lists.

Pages carry their renditions as short-lived signed URLs (`/media/...`), built from the
content-addressed rendition rows: a page whose rendition is not ready (or failed) has none, and
the brochure's other pages are unaffected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from mobile_contracts.v1 import brochures as wire
from mobile_contracts.v1.common import Page as PageOf
from mobile_contracts.v1.customers import ProductRisk
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.brochures import queries
from workbench.brochures.reviews import queries as reviews
from workbench.brochures.workflow import authored
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.media import renditions as media_renditions
from workbench.media import service as media
from workbench.pagination import decode_cursor, encode_cursor

Status = wire.BrochureStatus
SignUrl = Callable[[str], str]
"""Turns a blob key into a short-lived signed URL."""


@dataclass(frozen=True)
class CatalogueFilters:
    category: str | None = None
    tag: str | None = None
    risk_level: ProductRisk | None = None
    q: str | None = None
    customer_id: uuid.UUID | None = None  # only brochures suitable for this customer of mine


async def catalogue(
    conn: Connection,
    *,
    caller: Caller,
    filters: CatalogueFilters,
    sign: SignUrl,
    cursor: str | None,
    limit: int,
    now: datetime | None = None,
) -> PageOf[wire.CatalogueItem]:
    """Live brochures the caller may present, newest first; suitability is SQL, not a filter
    after the fact: never a product above the customer's assessed risk level."""
    max_risk = int(filters.risk_level.value[1]) if filters.risk_level else None
    if filters.customer_id is not None:
        level = await queries.customer_risk(conn, filters.customer_id, owner_id=caller.user_id)
        if level is None:
            raise NotFound("customer")
        max_risk = level if max_risk is None else min(max_risk, level)
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.catalogue(
        conn,
        viewer_unit_id=caller.org_unit_id,
        now=now or datetime.now(UTC),
        category=filters.category,
        tag=filters.tag,
        max_risk=max_risk,
        q=filters.q,
        after=after,
        limit=limit + 1,
    )
    more, rows = len(rows) > limit, rows[:limit]
    pages = await _pages_by_version(conn, rows, sign)
    items = [catalogue_item(r, pages[_key(r)]) for r in rows]
    next_cursor = (
        encode_cursor([rows[-1]["published_at"], rows[-1]["brochure_id"]]) if more else None
    )
    return PageOf[wire.CatalogueItem](items=items, next_cursor=next_cursor)


async def live_brochure(
    conn: Connection, *, caller: Caller, brochure_id: uuid.UUID, sign: SignUrl,
    now: datetime | None = None,
) -> wire.CatalogueItem:  # fmt: skip
    """One brochure as the RM may present it now; 404 unless it is live for them."""
    row = await queries.live_version(
        conn, brochure_id, viewer_unit_id=caller.org_unit_id, now=now or datetime.now(UTC)
    )
    if row is None:
        raise NotFound("brochure")
    pages = await _pages_by_version(conn, [row], sign)
    return catalogue_item(row, pages[_key(row)])


async def live_page_image(
    conn: Connection, *, caller: Caller, brochure_id: uuid.UUID, number: int, size: str, fmt: str,
) -> tuple[str, str]:  # fmt: skip
    """The blob key of one rendition of a page of a brochure live for the caller (404 if not,
    or not built), and the page's image id (which version's page it is)."""
    row = await queries.live_version(
        conn, brochure_id, viewer_unit_id=caller.org_unit_id, now=datetime.now(UTC)
    )
    if row is None or not 1 <= number <= len(row["pages"]):
        raise NotFound("brochure")
    image = bytes(row["pages"][number - 1])
    spec = media_renditions.spec_for(size, fmt)
    found = (await media.renditions_of(conn, [image])).get(image, {}).get(spec.name)
    if found is None or found.status != "ready" or found.blob_key is None:
        raise NotFound("rendition")
    return found.blob_key, image.hex()


def catalogue_item(row: queries.Record, pages: list[wire.Page]) -> wire.CatalogueItem:
    return wire.CatalogueItem(
        id=row["brochure_id"],
        version=row["version"],
        title=row["title"],
        product_code=row["product_code"],
        product_name=row["product_name"],
        category=row["category"],
        risk_level=ProductRisk(f"R{row['risk_level']}"),
        talk_track=row["talk_track"],
        tags=list(row["tags"]),
        pages=pages,
        live_from=row["live_from"],
        live_until=live_end(row),
        published_at=row["published_at"],
    )


def live_end(row: queries.Record) -> datetime | None:
    """When a live version stops being live: its live_until, or sooner the start of the version
    that replaces it (queries.LIVE)."""
    return _earliest(row["live_until"], row["replaced_at"])


def _earliest(*times: datetime | None) -> datetime | None:
    given = [t for t in times if t is not None]
    return min(given) if given else None


# ---- staff ---------------------------------------------------------------------------------


async def staff_brochure(
    conn: Connection, *, caller: Caller, brochure_id: uuid.UUID, sign: SignUrl,
    now: datetime | None = None,
) -> wire.StaffBrochure:  # fmt: skip
    """A brochure of the staff member's scope: the latest version in full and every version."""
    brochure = await queries.staff_brochure(conn, brochure_id, scope_root=caller.scope_root)
    if brochure is None:
        raise NotFound("brochure")
    history = await queries.versions(conn, brochure_id)
    latest = history[0]
    now = now or datetime.now(UTC)
    published = next((v for v in history if v["status"] == Status.PUBLISHED.value), None)
    # What RMs get now: the published version, or the one it replaces at its later start.
    live = next((v for v in history if live_state(v, now) is wire.LiveState.LIVE), None)
    pages = await _pages_by_version(conn, [latest], sign)
    decided = await reviews.decisions(conn, brochure_id)
    return wire.StaffBrochure(
        id=brochure["id"],
        owner_unit_id=brochure["owner_unit_id"],
        created_by=brochure["created_by"],
        created_at=brochure["created_at"],
        latest=version_summary(latest, now),
        product_code=latest["product_code"],
        product_name=latest["product_name"],
        category=latest["category"],
        risk_level=ProductRisk(f"R{latest['risk_level']}"),
        talk_track=latest["talk_track"],
        tags=list(latest["tags"]),
        pages=pages[_key(latest)],
        published=version_summary(published, now) if published else None,
        versions=[version_summary(v, now) for v in history],
        changes=_changes(history),
        reviews=[review_of(r) for r in decided if r["decision"] != WITHDRAWN],
        changes_since_review=_changes_since_review(latest, decided),
        product_active=latest["product_active"],
        live=version_summary(live, now) if live else None,
        may_review=caller.role is Role.COMPLIANCE
        and latest["status"] == Status.PENDING_REVIEW.value
        and not await authored(conn, latest, caller.user_id),
        withdrawals=[withdrawal_of(r) for r in decided if r["decision"] == WITHDRAWN],
        withdrawal=withdrawal_of(decided[0])
        if decided and decided[0]["decision"] == WITHDRAWN
        else None,
        risk_changed=risk_changed(published or latest),
    )


async def staff_list(
    conn: Connection,
    *,
    caller: Caller,
    statuses: list[Status] | None,
    q: str | None,
    cursor: str | None,
    limit: int,
    now: datetime | None = None,
) -> PageOf[wire.StaffBrochureRow]:
    """The brochures of the staff member's scope, most recently changed first."""
    now = now or datetime.now(UTC)
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.staff_list(
        conn,
        scope_root=caller.scope_root,
        statuses=[s.value for s in statuses] if statuses else None,
        q=q,
        after=after,
        limit=limit + 1,
        now=now,
    )
    more, rows = len(rows) > limit, rows[:limit]
    items = [_staff_row(r, now) for r in rows]
    next_cursor = encode_cursor([rows[-1]["updated_at"], rows[-1]["brochure_id"]]) if more else None
    return PageOf[wire.StaffBrochureRow](items=items, next_cursor=next_cursor)


async def review_queue(
    conn: Connection, *, caller: Caller, now: datetime | None = None
) -> list[wire.StaffBrochureRow]:
    """What compliance has to review, oldest submission first."""
    now = now or datetime.now(UTC)
    return [
        _staff_row(r, now)
        for r in await queries.review_queue(conn, scope_root=caller.scope_root, now=now)
    ]


async def last_reviews(
    conn: Connection, rows: Sequence[wire.StaffBrochureRow]
) -> dict[uuid.UUID, wire.Review]:
    """The last decision of compliance on each row's version (of rows already in the caller's
    scope), for those that have one: a version under review that was rejected before."""
    found = await reviews.last_decisions(conn, [(r.id, r.version) for r in rows])
    return {r["brochure_id"]: review_of(r) for r in found}


async def review_count(conn: Connection, *, caller: Caller) -> int:
    """How many versions wait for compliance in the caller's scope (a count, not the rows)."""
    return await queries.review_count(conn, scope_root=caller.scope_root)


async def covers(
    conn: Connection, *, caller: Caller, rows: Sequence[wire.StaffBrochureRow], sign: SignUrl
) -> dict[uuid.UUID, wire.Rendition | None]:
    """The thumbnail of each row's first page (of its latest version) for a staff list; None
    while it is being built (or if it failed)."""
    found = await queries.first_pages(
        conn, [(r.id, r.version) for r in rows], scope_root=caller.scope_root
    )
    images = {r["brochure_id"]: bytes(r["image"]) for r in found}
    shown = await media.shown_renditions(conn, list(set(images.values())), sign)
    return {brochure: shown.get(image, {}).get("thumb") for brochure, image in images.items()}


@dataclass(frozen=True)
class ProductChoice:
    """An active product a brochure can present."""

    code: str
    name: str
    category: str
    risk_level: ProductRisk


async def product_choices(conn: Connection) -> list[ProductChoice]:
    """Every active product, by code: what an upload may name."""
    return [
        ProductChoice(code=r["code"], name=r["name"], category=r["category"],
                      risk_level=ProductRisk(f"R{r['risk_level']}"))
        for r in await queries.products(conn)
    ]  # fmt: skip


async def people(conn: Connection, user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The names of the staff who made, reviewed or published versions, by id."""
    wanted = sorted({u for u in user_ids if u is not None})
    return {r["id"]: r["name"] for r in await queries.user_names(conn, wanted)} if wanted else {}


def _staff_row(row: queries.Record, now: datetime) -> wire.StaffBrochureRow:
    published = row["published_version"]
    state = None
    if published is not None:
        start = row["published_from"] or row["published_on"]
        state = window_state(start, row["published_until"], now)
    return wire.StaffBrochureRow(
        id=row["brochure_id"],
        title=row["title"],
        product_code=row["product_code"],
        product_name=row["product_name"],
        risk_level=ProductRisk(f"R{row['risk_level']}"),
        version=row["version"],
        status=Status(row["status"]),
        updated_at=row["updated_at"],
        submitted_at=row["submitted_at"],
        published_version=published,
        live_state=state,
        live_from=row["published_from"],
        live_until=row["published_until"],
        product_active=row["product_active"],
        live_version=row["live_version"],
        live_version_until=_earliest(row["live_version_until"], row["live_version_replaced_at"]),
        withdrawal_reason=row["withdrawal_reason"],
        risk_changed=row["risk_changed"],
    )


def version_summary(row: queries.Record, now: datetime) -> wire.VersionSummary:
    return wire.VersionSummary(
        version=row["version"],
        status=Status(row["status"]),
        live_state=live_state(row, now),
        title=row["title"],
        content_hash=bytes(row["content_hash"]).hex(),
        approved=row["approved_hash"] is not None
        and bytes(row["approved_hash"]) == bytes(row["content_hash"]),
        reject_reason=row["reject_reason"],
        live_from=row["live_from"],
        live_until=row["live_until"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        submitted_at=row["submitted_at"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"],
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        replaced_at=row["replaced_at"],
        requested_from=row["requested_from"],
        requested_until=row["requested_until"],
        approved_from=row["approved_from"],
        approved_until=row["approved_until"],
        approved_risk_level=_risk(row["approved_risk_level"]),
        unpublished_by=row["unpublished_by"],
        unpublished_at=row["unpublished_at"],
        unpublish_reason=row["unpublish_reason"],
        withdrawn=row["withdrawn"],
    )


def risk_changed(row: queries.Record) -> bool:
    """Whether the product's risk level (now) is not the one this version's approval was given
    at: a published version, or an approved or paused one whose approval stands (see
    queries.LIVE: live for no one until compliance approves it again)."""
    standing = row["approved_hash"] is not None and bytes(row["approved_hash"]) == bytes(
        row["content_hash"]
    )
    held = row["status"] == Status.PUBLISHED.value or (
        standing and row["status"] in (Status.APPROVED.value, Status.UNPUBLISHED.value)
    )
    return held and row["approved_risk_level"] != row["risk_level"]


def _risk(level: int | None) -> ProductRisk | None:
    return ProductRisk(f"R{level}") if level is not None else None


def live_state(row: queries.Record, now: datetime) -> wire.LiveState | None:
    """Of a published version: before, in or after its window, as of `now`; of a superseded one
    still live until the version replacing it starts (queries.LIVE): live."""
    start = row["live_from"] or row["published_at"]
    if row["status"] == Status.PUBLISHED.value:
        return window_state(start, row["live_until"], now)
    replaced = row["replaced_at"]
    if row["status"] == Status.SUPERSEDED.value and replaced is not None and now < replaced:
        state = window_state(start, row["live_until"], now)
        return state if state is wire.LiveState.LIVE else None
    return None


def window_state(start: datetime, until: datetime | None, now: datetime) -> wire.LiveState:
    """Before, in or after a live window (the same rule as queries.LIVE)."""
    if now < start:
        return wire.LiveState.SCHEDULED
    if until is not None and now >= until:
        return wire.LiveState.EXPIRED
    return wire.LiveState.LIVE


# ---- pages -----------------------------------------------------------------------------------


def _key(row: queries.Record) -> tuple[uuid.UUID, int]:
    return row["brochure_id"], row["version"]


async def _pages_by_version(
    conn: Connection, rows: list[queries.Record], sign: SignUrl
) -> dict[tuple[uuid.UUID, int], list[wire.Page]]:
    """The pages of each version, with signed rendition URLs (two round trips in all)."""
    images = sorted({bytes(p) for r in rows for p in r["pages"]})
    sizes = {r["sha256"]: (r["width"], r["height"]) for r in await queries.images(conn, images)}
    shown = await media.shown_renditions(conn, images, sign)
    result = {}
    for row in rows:
        pages = []
        for number, raw in enumerate(row["pages"], start=1):
            image = bytes(raw)
            width, height = sizes.get(image, (0, 0))
            renditions = shown.get(image, {})
            pages.append(
                wire.Page(number=number, image=image.hex(), width=width, height=height,
                          **renditions)
            )  # fmt: skip
        result[_key(row)] = pages
    return result


# ---- review: what changed ----------------------------------------------------------------------


async def changes_under_review(
    conn: Connection, *, caller: Caller, brochure_id: uuid.UUID
) -> list[wire.Change]:
    """What the latest version changes against the last one compliance approved (the published
    one, or else the newest approved before it); empty for a first version."""
    brochure = await queries.staff_brochure(conn, brochure_id, scope_root=caller.scope_root)
    if brochure is None:
        raise NotFound("brochure")
    return _changes(await queries.versions(conn, brochure_id))


def _changes(history: list[queries.Record]) -> list[wire.Change]:
    latest, older = history[0], history[1:]
    # An approval compliance withdrew was an approval of that content all the same: what changed
    # since is what the resubmission asks them to look at.
    base = next((v for v in older if v["approved_hash"] is not None or v["withdrawn"]), None)
    return [] if base is None else diff(base, latest)


class Fields(Protocol):
    """A version's content by field name: a version's row, or the content of a decision."""

    def __getitem__(self, key: str, /) -> Any: ...


WITHDRAWN = "withdrawn"  # a decision of `brochure_reviews` that is no review: a withdrawal


def review_of(row: reviews.Record) -> wire.Review:
    return wire.Review(
        version=row["version"],
        decision=wire.ReviewDecision(row["decision"]),
        reason=row["reason"],
        content_hash=row["content_hash"],
        title=row["title"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"],
        risk_level=_risk(row["risk_level"]),
        live_from=row["live_from"],
        live_until=row["live_until"],
    )


def withdrawal_of(row: reviews.Record) -> wire.Withdrawal:
    return wire.Withdrawal(
        version=row["version"],
        reason=row["reason"],
        withdrawn_by=row["reviewed_by"],
        withdrawn_at=row["reviewed_at"],
    )


def decided_content(row: reviews.Record) -> dict[str, Any]:
    """The content a decision was about, shaped as a version's row (for `diff`)."""
    return {
        "title": row["title"],
        "product_code": row["product_code"],
        "talk_track": row["talk_track"],
        "tags": list(row["tags"]),
        "pages": [bytes.fromhex(p) for p in row["pages"]],
    }


def _changes_since_review(
    latest: queries.Record, decided: list[reviews.Record]
) -> list[wire.Change]:
    """What the latest version changes against the content last decided on in it: a rejection
    then an edit, or an approval an edit voided (both reuse the version)."""
    last = next(
        (r for r in decided if r["version"] == latest["version"] and r["decision"] != WITHDRAWN),
        None,
    )
    if last is None or last["content_hash"] == bytes(latest["content_hash"]).hex():
        return []
    return diff(decided_content(last), latest)


def diff(old: Fields, new: Fields) -> list[wire.Change]:
    """Field by field; pages by image: kept, added, removed or moved."""
    out = [
        wire.Change(field=name, before=_show(old[name]), after=_show(new[name]))
        for name in ("title", "product_code", "talk_track", "tags")
        if old[name] != new[name]
    ]
    before = [bytes(p).hex() for p in old["pages"]]
    after = [bytes(p).hex() for p in new["pages"]]
    if before != after:
        out.append(
            wire.Change(
                field="pages",
                before=f"{len(before)} 页",
                after=f"{len(after)} 页",
                pages_added=[n for n, p in enumerate(after, 1) if p not in before],
                pages_removed=[n for n, p in enumerate(before, 1) if p not in after],
            )
        )
    return out


def _show(value: object) -> str:
    return "、".join(value) if isinstance(value, list) else str(value)

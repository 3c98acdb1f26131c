"""One brochure's page, compliance's review queue and review page, and what changed since the
approved version, marked.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery

from mobile_contracts.v1 import brochures as wire
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.brochures import views, workflow
from workbench.brochures.console._shared import (
    AUTHORS,
    FIELD_LABELS,
    OWN_WORK,
    PUBLISHERS,
    QUEUE_PATH,
    REVIEWERS,
    STAFF,
    WITHDRAWERS,
    Status,
    _labels,
    _signer,
    _staff_view,
)
from workbench.console import Console, visible_to
from workbench.db import Connection
from workbench.http.deps import CurrentCaller, Db


@get("/brochures/{brochure_id:uuid}", opt=visible_to(*STAFF), name="console:brochure")
async def brochure_page(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
    page: FromQuery[int | None] = None,
) -> Response[Any]:
    """A brochure: pages, facts, talk track, versions, and what I may do with it now."""
    return await _brochure_page(request, db, caller, console, brochure_id, shown=page)


@get("/brochures/review", opt=visible_to(*REVIEWERS), name="console:brochure-queue")
async def review_queue(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """What waits for compliance, oldest submission first."""
    rows = await views.review_queue(db, caller=caller)
    thumbs = await views.covers(db, caller=caller, rows=rows, sign=_signer(request))
    decided = await views.last_reviews(db, rows)
    return console.render(
        "brochures/queue.html",
        {
            "rows": [
                {"row": r, "thumb": thumbs.get(r.id), "last_review": decided.get(r.id)}
                for r in rows
            ],
            **_labels(),
        },
    )


@get("/brochures/review/{brochure_id:uuid}", opt=visible_to(*REVIEWERS), name="console:review")
async def review_page(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
    page: FromQuery[int | None] = None,
) -> Response[Any]:
    """One version under review: its pages large, what changed, approve or reject."""
    return await _brochure_page(
        request, db, caller, console, brochure_id, shown=page, template="brochures/review.html"
    )


Form = Mapping[str, str]


async def _brochure_page(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    console: Console,
    brochure_id: uuid.UUID,
    *,
    shown: int | None = None,
    template: str = "brochures/detail.html",
    error: str | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
    sent: Form | None = None,
    failed: str | None = None,
    content_changed: bool = False,
) -> Response[Any]:
    """The brochure's page (or its review page): `error` above it, `errors` beside the fields
    they name, `sent` the form as it came back; `content_changed`: a decision refused because
    the content is no longer the one shown (the page shows the current one to review)."""
    brochure = await _staff_view(request, db, caller, brochure_id)
    zone = ZoneInfo(request.app.state.settings.bank_timezone)
    people = await views.people(
        db,
        [brochure.created_by, *(v.created_by for v in brochure.versions),
         *(v.reviewed_by for v in brochure.versions),
         *(v.unpublished_by for v in brochure.versions),
         *(r.reviewed_by for r in brochure.reviews),
         *(w.withdrawn_by for w in brochure.withdrawals)],
    )  # fmt: skip
    products = {p.code: p for p in await views.product_choices(db)}
    number = min(max(shown or 1, 1), len(brochure.pages))
    queue: list[wire.StaffBrochureRow] = []
    if template == "brochures/review.html":
        queue = await views.review_queue(db, caller=caller)
    published = brochure.published
    window = _window_defaults(published, brochure.latest, zone)
    actions = _actions(brochure, caller.role)
    # Four eyes: compliance who had a hand in the version is offered no decision, and told why.
    own_work = actions.review and await workflow.reviewer_is_author(
        db, caller=caller, brochure_id=brochure.id
    )
    if own_work:
        actions = replace(actions, review=False)
    return console.render(
        template,
        {
            "b": brochure,
            "latest": brochure.latest,
            "people": people,
            "shown": brochure.pages[number - 1],
            "actions": actions,
            "own_work": OWN_WORK if own_work else None,  # why there is no decision to take
            "changes": [_change(c, products) for c in brochure.changes],
            # Compliance's decisions, newest first; the last one on the latest version, and
            # what changed since the content it was about.
            "reviews": brochure.reviews,
            # ... and their withdrawals with them, newest first (审核记录).
            "history": _history(brochure),
            "last_review": _last_review(brochure),
            "since_review": [_change(c, products) for c in brochure.changes_since_review],
            "content_changed": content_changed,
            "added_pages": {n for c in brochure.changes for n in c.pages_added},
            "queue": queue,
            "queue_next": _next_in_queue(queue, brochure.id),
            "zone_label": _zone_label(zone),
            "error": error,  # above the page
            # beside the fields they name (the publish window, a reject reason)
            "errors": dict(errors or {}),
            "failed": failed,  # which form the error is about: reject, publish...
            "sent": dict(sent or {}),
            "window": window,
            **_labels(),
        },
        status=status,
    )


@dataclass(frozen=True)
class Actions:
    """What the viewer's role may do in the latest version's state (the service decides)."""

    edit: bool
    submit: bool
    review: bool
    publish: bool
    change_window: bool
    unpublish: bool
    # Submitting again a version approved, published or taken down (`submit` then is this):
    # why its approval no longer serves (withdrawn, risk_changed, expired), or "extend" for a
    # window longer than the approved one; "" when not offered.
    resubmit: str = ""
    withdraw: bool = False  # unpublishing is compliance's withdrawal (a reason, approval void)

    @property
    def any(self) -> bool:
        return any((self.edit, self.submit, self.review, self.publish, self.unpublish))


def _actions(brochure: wire.StaffBrochure, role: Role, now: datetime | None = None) -> Actions:
    latest = brochure.latest
    status, approved = latest.status, latest.approved
    now = now or datetime.now(UTC)
    # Why the latest version's approval no longer lets it be published (the workflow refuses
    # it too): compliance withdrew it, the product's risk level is no longer the approved one,
    # or the approved window has passed.
    lapsed = ""
    if latest.withdrawn:
        lapsed = "withdrawn"
    elif approved and latest.approved_risk_level not in (None, brochure.risk_level):
        lapsed = "risk_changed"
    elif approved and latest.approved_until is not None and latest.approved_until <= now:
        lapsed = "expired"
    again = status in (Status.APPROVED, Status.PUBLISHED, Status.UNPUBLISHED, Status.SUPERSEDED)
    resubmit = ""
    if role in AUTHORS and again:
        resubmit = lapsed or ("extend" if approved and latest.approved_until else "")
    publishable = (
        approved
        and not lapsed
        and status in (Status.APPROVED, Status.PUBLISHED, Status.UNPUBLISHED)
    )
    withdraw = role in WITHDRAWERS
    paused = status is Status.UNPUBLISHED and approved  # by marketing: compliance may withdraw
    return Actions(
        edit=role in AUTHORS and status is not Status.PENDING_REVIEW,
        submit=role in AUTHORS and (status in (Status.DRAFT, Status.REJECTED) or bool(resubmit)),
        review=role in REVIEWERS and status is Status.PENDING_REVIEW,
        publish=role in PUBLISHERS and bool(publishable),
        change_window=status is Status.PUBLISHED,
        unpublish=role in PUBLISHERS and (brochure.published is not None or (withdraw and paused)),
        resubmit=resubmit,
        withdraw=withdraw,
    )


def _history(brochure: wire.StaffBrochure) -> list[dict[str, Any]]:
    """Compliance's decisions on the brochure, newest first: its reviews (approvals and
    rejections) and its withdrawals (with the title of the version withdrawn)."""
    titles = {v.version: v.title for v in brochure.versions}
    decided: list[dict[str, Any]] = [
        {"version": r.version, "decision": r.decision.value, "reviewed_by": r.reviewed_by,
         "reviewed_at": r.reviewed_at, "title": r.title, "content_hash": r.content_hash,
         "reason": r.reason, "risk_level": r.risk_level, "live_from": r.live_from,
         "live_until": r.live_until}
        for r in brochure.reviews
    ]  # fmt: skip
    decided += [
        {"version": w.version, "decision": "withdrawn", "reviewed_by": w.withdrawn_by,
         "reviewed_at": w.withdrawn_at, "title": titles.get(w.version, ""), "content_hash": None,
         "reason": w.reason, "risk_level": None, "live_from": None, "live_until": None}
        for w in brochure.withdrawals
    ]  # fmt: skip
    return sorted(decided, key=lambda d: d["reviewed_at"], reverse=True)


def _last_review(brochure: wire.StaffBrochure) -> wire.Review | None:
    """The last decision on the latest version (a rejection before it was resubmitted, or an
    approval an edit voided, or the decision it is in now)."""
    return next((r for r in brochure.reviews if r.version == brochure.latest.version), None)


def _next_in_queue(queue: list[wire.StaffBrochureRow], current: uuid.UUID) -> str | None:
    after = [r for r in queue if r.id != current]
    return f"{QUEUE_PATH}/{after[0].id}" if after else None


def _change(change: wire.Change, products: Mapping[str, views.ProductChoice]) -> dict[str, Any]:
    def product(code: str) -> str:
        found = products.get(code)
        return f"{found.name}（{code} · {found.risk_level.value}）" if found else code

    before, after = change.before, change.after
    if change.field == "product_code":
        before, after = product(before), product(after)
    if change.field in ("title", "talk_track"):  # texts: what exactly was changed
        before_parts, after_parts = _marked(before, after)
    else:  # a product, a list of tags: the whole value
        before_parts = [(before, True)] if before else []
        after_parts = [(after, True)] if after else []
    return {
        "field": change.field,
        "label": FIELD_LABELS.get(change.field, change.field),
        "before": before,
        "after": after,
        "before_parts": before_parts,
        "after_parts": after_parts,
        "added": change.pages_added,
        "removed": change.pages_removed,
    }


Parts = list[tuple[str, bool]]


def _marked(before: str, after: str) -> tuple[Parts, Parts]:
    """Both texts in runs of (text, changed): what was taken out of the approved text and what
    was put into the new one, character by character (Chinese has no spaces to split on)."""
    old: Parts = []
    new: Parts = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            old.append((before[i1:i2], op != "equal"))
        if j2 > j1:
            new.append((after[j1:j2], op != "equal"))
    return old, new


def _window_defaults(
    published: wire.VersionSummary | None, latest: wire.VersionSummary, zone: ZoneInfo
) -> dict[str, str]:
    """The publish form's times, filled in from the published version's window (else the
    window compliance approved the latest version for); an end that has passed is left empty
    (sent as it is, it would be refused: 下架时间必须晚于现在), and `until_passed` says which it
    was. `approved`: the window the latest version's approval covers, in words (empty when
    unbounded)."""

    def local(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""

    now = datetime.now(UTC)
    if published is not None:
        start, until = published.live_from, published.live_until
    else:
        start, until = latest.approved_from, latest.approved_until
        start = start if start is not None and start > now else None
    passed = until is not None and until <= now
    version = latest
    bounded = version.approved and (version.approved_from or version.approved_until)
    return {
        "live_from": local(start),
        "live_until": "" if passed else local(until),
        "until_passed": local(until).replace("T", " ") if passed else "",
        "approved": _span(version.approved_from, version.approved_until, local) if bounded else "",
    }


def _span(start: datetime | None, until: datetime | None, local: Any) -> str:
    """A window in words: 2025-12-01 09:00 至 2025-12-31 18:00 (an open end: 长期)."""
    begin = local(start).replace("T", " ") if start else "发布时"
    end = local(until).replace("T", " ") if until else "长期"
    return f"{begin} 至 {end}"


def _zone_label(zone: ZoneInfo) -> str:
    return "北京时间" if zone.key in ("Asia/Shanghai", "Asia/Chongqing", "PRC") else zone.key

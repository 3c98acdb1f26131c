"""The compliance workflow of brochures: upload, edit, submit, approve or reject, publish.

    draft -> pending_review -> approved | rejected -> published -> unpublished
                                                   (superseded when a newer version is published)

Rules:
- An approval is bound to the content hash compliance saw: an edit that changes the content voids
  it (the version is a draft again); a save that changes nothing keeps it.
- A decision names the content the reviewer looked at (`content_hash`): if the version holds other
  content by then (rejected, edited and resubmitted in the same version meanwhile), nothing is
  decided (`brochure.content_changed`). Without one (older apps), the content under review now.
- Every decision is kept with the content decided on (`brochure_reviews`): a resubmission
  overwrites the version's own review columns, never the history.
- Editing a version that was published (or unpublished, or superseded) makes a new version; the
  published one stays live until the new one is published in its place.
- A version under review cannot be edited; compliance approves or rejects it first.
- An edit names the content it was made from (`edited_from`: the latest version's content hash
  when the form or the app drew it); if the brochure holds other content by then (another tab or
  a colleague saved meanwhile), nothing is saved (`brochure.edited_meanwhile`), so a stale form
  never silently undoes a save. Without one (older apps), the edit applies to whatever it holds.
- Compliance cannot approve (or reject) a version they created, edited (`edited_by`) or
  submitted themselves, nor one with a page image they uploaded.
- An approval covers more than the content: the live window the version was submitted for
  (`approved_from`/`approved_until`; none asked: unbounded) and the product's risk level then
  (`approved_risk_level`). Marketing publishes within that window; beyond it, or once it has
  passed, the brochure goes back to compliance (submitted again). A product feed that changes the
  risk level makes the brochure live for no one (queries.LIVE) until compliance approves it at
  the new level. A new name alone is a rename, not a change of what was approved: the brochure
  stays live and shows the product's name as the bank's product master has it.
- Taking a brochure down: compliance (and admins) withdraw it, with a reason, which voids its
  approval (and any other standing approval of the brochure): it is published again only after a
  new submission and approval. Marketing pauses it (a reason optional) and keeps the approval.
- Submitting again a version that was approved, published or taken down (to have a lapsed or
  withdrawn approval renewed, or a longer window approved): an approved version goes back under
  review in place; a published or unpublished one gets a new version with the same content, so
  the published one stays live (if it still is) until the new one is published in its place.
- Only an approved version is published, within a window; whether it is live is decided when it
  is read (queries.LIVE), so no job is needed for it to go live or expire.
- A version published to go live later replaces the live one at its start: until then the live
  one stays live (superseded, with `replaced_at`), so the brochure is never offline in between.
- Everything a request says, every page image included, is checked before any page image is
  stored: their blobs are written only once the whole request passed (`holding_blobs`), so a
  refused upload or edit leaves nothing in the blob store.
- Every transition is in `audit_events`, with who, why and from which address (`client_ip`).
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from mobile_contracts.v1 import brochures as wire
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.problems import FieldError
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.brochures import queries
from workbench.brochures.content import Content
from workbench.brochures.reviews import queries as reviews
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, Forbidden, NotFound
from workbench.ids import uuid7
from workbench.media.service import holding_blobs
from workbench.periods import YEARS, within_years
from workbench.tasks.forms import check_text
from workbench.visible import one_line_shown, reads_otherwise, shows_something

Status = wire.BrochureStatus
Window = wire.PublishRequest | wire.SubmitRequest
UPLOAD_REF = "upload:"
# Who withdraws a brochure when they take it down (its approval void); others pause it.
WITHDRAWERS = frozenset({Role.COMPLIANCE, Role.ADMIN})
StoreImage = Callable[[bytes], Awaitable[bytes]]
"""Ingests and stores one uploaded page image; returns its SHA-256 (the media service's
`store_source_image`, whose blob writes `holding_blobs` holds back until the request passed)."""


class BrochureConflict(Conflict):
    """The brochure is not in a state that allows this; `code` says which rule."""

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.code = code


class BadBrochure(DomainError):
    status, title = 422, "Invalid brochure"

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        path: str | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        if errors is None and path is not None:
            errors = [FieldError(path=path, message=detail)]
        super().__init__(detail, errors=errors)
        self.code = code


# Why a title, a tag or the talk track is refused (`errors[].message`, by kind: the console says
# each kind in its words). The title and the tags are one line each; the talk track keeps its
# line breaks and tabs.
BLANK = "must not be blank"
SHOWS_NOTHING = "shows nothing: spaces or invisible (zero-width, format) characters only"
READS_OTHERWISE = (
    "holds a control character (a line break, a tab) or a direction override, which make it"
    " read otherwise than typed"
)
READS_OTHERWISE_LINES = (
    "holds a control character (line breaks and tabs aside) or a direction override, which"
    " make it read otherwise than typed"
)
_LINE_BREAKS_AND_TABS = str.maketrans(dict.fromkeys("\t\n\r\u2028\u2029", " "))


@dataclass(frozen=True)
class Upload:
    """One uploaded page file, as received."""

    data: bytes
    filename: str | None = None


async def create(
    conn: Connection,
    *,
    caller: Caller,
    meta: wire.BrochureMeta,
    files: Sequence[Upload],
    store_image: StoreImage,
    client_ip: str | None = None,
) -> uuid.UUID:
    """A new brochure (owned by the uploader's unit) with its first version, a draft;
    `client_ip`: the caller's address, for the audit trail (as for every change here)."""
    if not files:
        raise BadBrochure("brochure.no_pages", "Upload at least one page image (`pages`)")
    plan = _page_plan(meta.pages, existing=set(), uploads=len(files))
    await _check_meta(conn, meta)
    async with holding_blobs():  # written once every page passed; none if one is refused
        uploaded = [await store_image(f.data) for f in files]
        content = _content(meta, _placed(plan, uploaded))
        brochure_id = uuid7()
        await queries.insert_brochure(
            conn,
            brochure_id=brochure_id,
            owner_unit_id=caller.org_unit_id,
            created_by=caller.user_id,
        )
        await queries.insert_version(conn, _new_version(brochure_id, 1, content, caller))
        await _audit(conn, caller, client_ip, "brochure.created", brochure_id, version=1)
    return brochure_id


async def edit(
    conn: Connection,
    *,
    caller: Caller,
    brochure_id: uuid.UUID,
    meta: wire.BrochureMeta,
    files: Sequence[Upload],
    store_image: StoreImage,
    edited_from: bytes | None = None,
    client_ip: str | None = None,
) -> None:
    """Change the working version (or start a new one after publication); see the rules.
    `edited_from`: the content hash of the latest version the edit was made from (409
    `brochure.edited_meanwhile` if it holds other content now); None: no check (older apps)."""
    async with holding_blobs():  # written once the edit passed; none if anything is refused
        await _edit(conn, caller, brochure_id, meta, files, store_image, edited_from, client_ip)


async def _edit(
    conn: Connection,
    caller: Caller,
    brochure_id: uuid.UUID,
    meta: wire.BrochureMeta,
    files: Sequence[Upload],
    store_image: StoreImage,
    edited_from: bytes | None,
    client_ip: str | None,
) -> None:
    await _brochure(conn, caller, brochure_id)  # locked: two saves are taken one after the other
    history = await queries.versions(conn, brochure_id)
    latest = history[0]
    current = bytes(latest["content_hash"])
    if edited_from is not None and edited_from != current:
        raise BrochureConflict(
            "brochure.edited_meanwhile",
            "The brochure was changed after this edit was drawn from it (another window or a "
            "colleague saved meanwhile): nothing was saved. Read the current content "
            f"(content_hash {current.hex()}) and edit that",
            current_status=latest["status"],
        )
    known = {bytes(p) for v in history for p in v["pages"]}
    if meta.pages is None and not files:
        plan: list[bytes | int] = [bytes(p) for p in latest["pages"]]
    else:
        plan = _page_plan(meta.pages, existing=known, uploads=len(files))
    await _check_meta(conn, meta)
    uploaded = [await store_image(f.data) for f in files]
    content = _content(meta, _placed(plan, uploaded))
    digest = content.digest()
    status = Status(latest["status"])
    if digest == current:
        return  # a save that changes nothing changes nothing, an approval included
    if status is Status.PENDING_REVIEW:
        raise BrochureConflict(
            "brochure.in_review", "This version is being reviewed; wait for the decision"
        )
    if status in (Status.PUBLISHED, Status.UNPUBLISHED, Status.SUPERSEDED):
        version = latest["version"] + 1
        await queries.insert_version(conn, _new_version(brochure_id, version, content, caller))
        await _audit(conn, caller, client_ip, "brochure.new_version", brochure_id, version=version)
        return
    await queries.update_version(
        conn,
        brochure_id,
        latest["version"],
        {**_content_columns(content), "status": Status.DRAFT.value, **_NO_APPROVAL,
         "edited_by": _with(list(latest["edited_by"]), caller.user_id)},
    )  # fmt: skip
    if status is Status.APPROVED:
        await _audit(
            conn, caller, client_ip, "brochure.approval_voided", brochure_id,
            version=latest["version"],
        )  # fmt: skip
    await _audit(conn, caller, client_ip, "brochure.edited", brochure_id, version=latest["version"])


async def submit(
    conn: Connection,
    *,
    caller: Caller,
    brochure_id: uuid.UUID,
    window: wire.SubmitRequest | None = None,
    now: datetime | None = None,
    client_ip: str | None = None,
) -> None:
    """Send the working version to compliance, for the live window asked (`window`; none: an
    approval without bounds). A version approved, published or taken down is submitted again
    (see the rules): an approved one in place, the others as a new version."""
    now = now or _now()
    window = window or wire.SubmitRequest()
    _check_times(window)
    if window.live_until is not None and window.live_until <= max(window.live_from or now, now):
        raise BadBrochure(
            "brochure.bad_window", "`live_until` must be after now and `live_from`",
            path="$.live_until",
        )  # fmt: skip
    await _brochure(conn, caller, brochure_id)
    latest = (await queries.versions(conn, brochure_id))[0]
    status = Status(latest["status"])
    asked = {"requested_from": window.live_from, "requested_until": window.live_until}
    submitted = {"status": Status.PENDING_REVIEW.value, "submitted_by": caller.user_id,
                 "submitted_at": now, **asked}  # fmt: skip
    if status in (Status.PUBLISHED, Status.UNPUBLISHED, Status.SUPERSEDED):
        # The same content again, as a new version: the published one stays as it is (live, if
        # it still is) until this one is approved and published in its place. Whoever had a
        # hand in that content keeps it on this version (four eyes).
        version = latest["version"] + 1
        hands = [latest["created_by"], *latest["edited_by"], latest["submitted_by"]]
        copied = {name: latest[name] for name in _CONTENT}
        await queries.insert_version(
            conn,
            {"brochure_id": brochure_id, "version": version, **copied, **submitted,
             "created_by": caller.user_id,
             "edited_by": [u for n, u in enumerate(hands) if u is not None and u not in hands[:n]]},
        )  # fmt: skip
        await _audit(conn, caller, client_ip, "brochure.new_version", brochure_id, version=version)
    else:
        _require(latest, {Status.DRAFT, Status.REJECTED, Status.APPROVED}, "submit")
        version = latest["version"]
        # Submitted again after a rejection: whoever submitted it before keeps their hand on it
        # (four eyes), with the editors.
        earlier = latest["submitted_by"]
        hands = list(latest["edited_by"])
        await queries.update_version(
            conn,
            brochure_id,
            version,
            {**submitted, "reject_reason": None, **_NO_APPROVAL,
             "edited_by": _with(hands, earlier) if earlier is not None else hands},
        )  # fmt: skip
        if status is Status.APPROVED:  # under review again: the approval it had is replaced
            await _audit(
                conn, caller, client_ip, "brochure.approval_voided", brochure_id,
                version=version, resubmitted=True,
            )  # fmt: skip
    await _audit(
        conn, caller, client_ip, "brochure.submitted", brochure_id, version=version,
        live_from=_iso(window.live_from), live_until=_iso(window.live_until),
    )  # fmt: skip


async def approve(
    conn: Connection,
    *,
    caller: Caller,
    brochure_id: uuid.UUID,
    content_hash: bytes | None = None,
    client_ip: str | None = None,
) -> None:
    """Compliance approves exactly the content under review: the content they looked at
    (`content_hash`), else nothing (see `_under_review`); for the window it was submitted for,
    at the product's risk level now (both shown on the review)."""
    latest = await _under_review(conn, caller, brochure_id, content_hash)
    await queries.update_version(
        conn,
        brochure_id,
        latest["version"],
        {"status": Status.APPROVED.value, "approved_hash": bytes(latest["content_hash"]),
         "approved_risk_level": latest["risk_level"],
         "approved_from": latest["requested_from"], "approved_until": latest["requested_until"],
         "reviewed_by": caller.user_id, "reviewed_at": _now()},
    )  # fmt: skip
    await reviews.record_decision(
        conn, brochure_id=brochure_id, version=latest["version"], decision="approved",
        reason=None, reviewed_by=caller.user_id, risk_level=latest["risk_level"],
        live_from=latest["requested_from"], live_until=latest["requested_until"],
    )  # fmt: skip
    await _audit(
        conn, caller, client_ip, "brochure.approved", brochure_id, version=latest["version"],
        content_hash=bytes(latest["content_hash"]).hex(), risk_level=f"R{latest['risk_level']}",
        live_from=_iso(latest["requested_from"]), live_until=_iso(latest["requested_until"]),
    )  # fmt: skip


async def reject(
    conn: Connection,
    *,
    caller: Caller,
    brochure_id: uuid.UUID,
    reason: str,
    content_hash: bytes | None = None,
    client_ip: str | None = None,
) -> None:
    """Compliance sends the version back, with the reason marketing reads: one that shows
    nothing (spaces or invisible characters only) is no reason. Like an approval, it is about
    the content the reviewer looked at (`content_hash`)."""
    latest = await _under_review(conn, caller, brochure_id, content_hash)
    reason = _reason(reason, "Say why the brochure is rejected")
    await queries.update_version(
        conn,
        brochure_id,
        latest["version"],
        {"status": Status.REJECTED.value, "reject_reason": reason,
         "reviewed_by": caller.user_id, "reviewed_at": _now()},
    )  # fmt: skip
    await reviews.record_decision(
        conn, brochure_id=brochure_id, version=latest["version"], decision="rejected",
        reason=reason, reviewed_by=caller.user_id, risk_level=latest["risk_level"],
        live_from=latest["requested_from"], live_until=latest["requested_until"],
    )  # fmt: skip
    await _audit(
        conn, caller, client_ip, "brochure.rejected", brochure_id, version=latest["version"],
        reason=reason, content_hash=bytes(latest["content_hash"]).hex(),
    )  # fmt: skip


async def publish(
    conn: Connection,
    *,
    caller: Caller,
    brochure_id: uuid.UUID,
    window: wire.PublishRequest,
    now: datetime | None = None,
    client_ip: str | None = None,
) -> None:
    """Publish the approved version within its window (or change the window of the published
    one); the version published before it is superseded. The version live now stays live until
    the new one starts (at once when that is now), then the new one replaces it.

    The window lies within the one compliance approved: a start left out is now (or the approved
    start, if later), an end left out the approved end (none: for ever). A version compliance
    withdrew, one whose product's risk level changed since its approval, one whose approved
    window has passed or a window beyond the approved one: 409, nothing changes (the brochure
    goes back to compliance: `submit`).

    A start in the past cannot make a version live before it was: publishing, it means "now";
    changing the window of the live version, it means "since it went live" (its record keeps
    when and by whom it was published)."""
    now = now or _now()
    _check_times(window)
    await _brochure(conn, caller, brochure_id)
    history = await queries.versions(conn, brochure_id)
    latest = history[0]
    status = Status(latest["status"])
    started = now
    if status is Status.PUBLISHED:
        went_live = latest["live_from"] or latest["published_at"]
        if went_live is not None and went_live <= now:
            started = went_live
    live_from, live_until = window.live_from, window.live_until
    if live_from is not None and live_from < started:
        live_from = started
    if live_until is not None and live_until <= max(live_from or now, now):
        raise BadBrochure(
            "brochure.bad_window", "`live_until` must be after now and `live_from`",
            path="$.live_until",
        )  # fmt: skip
    _check_publishable(latest, status)
    published_at = latest["published_at"] if status is Status.PUBLISHED else now
    live_from, live_until = _within_approval(
        latest, live_from, live_until, explicit_start=window.live_from is not None,
        default_start=published_at, now=now,
    )  # fmt: skip
    starts = live_from or published_at
    live = {r["version"] for r in await queries.live_versions_of(conn, [brochure_id], now=now)}
    for older in history[1:]:
        if older["version"] in live:  # live until the new version starts (now, or later)
            await queries.update_version(
                conn, brochure_id, older["version"],
                {"status": Status.SUPERSEDED.value, "replaced_at": max(starts, now)},
            )  # fmt: skip
        elif older["status"] == Status.PUBLISHED.value:  # not live now: it never will be
            await queries.update_version(
                conn, brochure_id, older["version"], {"status": Status.SUPERSEDED.value}
            )
    await queries.update_version(
        conn,
        brochure_id,
        latest["version"],
        {"status": Status.PUBLISHED.value, "live_from": live_from, "live_until": live_until}
        | ({} if status is Status.PUBLISHED else {"published_by": caller.user_id,
                                                    "published_at": published_at}),
    )  # fmt: skip
    await _audit(
        conn, caller, client_ip, "brochure.published", brochure_id, version=latest["version"],
        live_from=_iso(live_from), live_until=_iso(live_until),
    )  # fmt: skip


def _check_publishable(latest: queries.Record, status: Status) -> None:
    """The latest version holds an approval that still stands: not withdrawn by compliance, of
    exactly its content, at the product's risk level now."""
    if status is Status.UNPUBLISHED and latest["withdrawn"]:
        raise BrochureConflict(
            "brochure.withdrawn",
            f"Compliance withdrew this brochure ({latest['unpublish_reason']}), which voided its "
            "approval: submit it for review again; it can be published once compliance approves "
            "it",
            current_status=status.value,
        )
    if status not in (Status.APPROVED, Status.PUBLISHED, Status.UNPUBLISHED) or (
        latest["approved_hash"] is None
        or bytes(latest["approved_hash"]) != bytes(latest["content_hash"])
    ):
        raise BrochureConflict(
            "brochure.not_approved",
            "Only a version compliance approved can be published",
            current_status=status.value,
        )
    if latest["approved_risk_level"] != latest["risk_level"]:
        raise BrochureConflict(
            "brochure.risk_changed",
            f"The product's risk level changed since compliance approved this version (approved "
            f"at R{latest['approved_risk_level']}, now R{latest['risk_level']}): it is live for "
            "no one until compliance approves it at the new level. Submit it for review again",
            current_status=status.value,
        )


def _within_approval(
    latest: queries.Record,
    live_from: datetime | None,
    live_until: datetime | None,
    *,
    explicit_start: bool,
    default_start: datetime,
    now: datetime,
) -> tuple[datetime | None, datetime | None]:
    """The window to publish, within the approved one (`approved_from`/`approved_until`; null:
    no bound): an end left out is the approved end, a start left out that would come before the
    approved start is that start; anything else outside it is refused, as is an approval whose
    window has passed."""
    approved_from, approved_until = latest["approved_from"], latest["approved_until"]
    approved = (
        f"from {_iso(approved_from) or 'its publication'} until {_iso(approved_until) or 'no end'}"
    )
    if approved_until is not None:
        if approved_until <= now:
            raise BrochureConflict(
                "brochure.approval_expired",
                f"Compliance approved this version for publication until "
                f"{approved_until.isoformat()}, which has passed: submit it for review again "
                "(with the window wanted) before publishing it; nothing was changed",
                current_status=latest["status"],
                approved_until=approved_until.isoformat(),
            )  # fmt: skip
        live_until = approved_until if live_until is None else live_until
    start = live_from or default_start
    if approved_from is not None and start < approved_from and not explicit_start:
        live_from = start = approved_from
    beyond = (
        (approved_from is not None and start < approved_from)
        or (approved_until is not None and live_until is not None and live_until > approved_until)
        or (approved_until is not None and start >= approved_until)
    )
    if beyond:
        raise BrochureConflict(
            "brochure.beyond_approved_window",
            f"Compliance approved this version for publication {approved}: a window beyond it "
            "needs a new review (submit the brochure again with the window wanted); nothing was "
            "changed",
            current_status=latest["status"],
            approved_from=_iso(approved_from),
            approved_until=_iso(approved_until),
        )  # fmt: skip
    return live_from, live_until


# The reason recorded for a withdrawal asked with no body (the contract before reasons).
REASON_NOT_GIVEN = "未说明原因"


async def unpublish(
    conn: Connection,
    *,
    caller: Caller,
    brochure_id: uuid.UUID,
    reason: str | None = None,
    client_ip: str | None = None,
) -> None:
    """Take the published version off the catalogue and off every device at once, and the
    version it was to replace with it.

    Compliance (and admins) withdraw it: `reason` is required, kept with their decisions and
    the approval is void (any other approved version of the brochure's too), so marketing cannot
    publish it again before compliance approves it anew; a brochure marketing paused (approval
    kept) can be withdrawn too. Marketing pauses it: the reason is optional and the approval kept.
    """
    withdrawal = caller.role in WITHDRAWERS
    why: str | None
    if withdrawal:
        why = _reason(reason or "", "Say why the brochure is withdrawn")
    else:
        why = _reason(reason, "") if reason is not None and shows_something(reason) else None
    await _brochure(conn, caller, brochure_id)
    history = await queries.versions(conn, brochure_id)
    latest = history[0]
    published = [v for v in history if v["status"] == Status.PUBLISHED.value]
    target = published[0] if published else None
    if (
        target is None
        and withdrawal
        and latest["status"] == Status.UNPUBLISHED.value
        and latest["approved_hash"] is not None
    ):
        target = latest  # paused by marketing, approval kept: compliance withdraws it
    if target is None:
        raise BrochureConflict("brochure.not_published", "No version of this brochure is published")
    version = target["version"]
    now = _now()
    await queries.update_version(
        conn, brochure_id, version,
        {"status": Status.UNPUBLISHED.value, "unpublished_by": caller.user_id,
         "unpublished_at": now, "unpublish_reason": why}
        | ({"approved_hash": None, "withdrawn": True} if withdrawal else {}),
    )  # fmt: skip
    for older in history:
        if older["replaced_at"] is not None and older["replaced_at"] > now:
            await queries.update_version(conn, brochure_id, older["version"], {"replaced_at": now})
    if withdrawal:
        for other in history:
            if other["status"] == Status.APPROVED.value:  # its approval falls with the brochure
                await queries.update_version(
                    conn, brochure_id, other["version"],
                    {"status": Status.DRAFT.value, **_NO_APPROVAL},
                )  # fmt: skip
                await _audit(
                    conn, caller, client_ip, "brochure.approval_voided", brochure_id,
                    version=other["version"], withdrawn=True, reason=why,
                )  # fmt: skip
        await reviews.record_decision(
            conn, brochure_id=brochure_id, version=version, decision="withdrawn", reason=why,
            reviewed_by=caller.user_id, risk_level=target["risk_level"],
            live_from=target["live_from"], live_until=target["live_until"],
        )  # fmt: skip
    # A withdrawal reads as one in the audit trail (撤回宣传册), not as marketing's pause (下架).
    await _audit(
        conn, caller, client_ip, "brochure.withdrawn" if withdrawal else "brochure.unpublished",
        brochure_id, version=version, withdrawn=withdrawal, reason=why,
    )  # fmt: skip


# ---- helpers -----------------------------------------------------------------------------------


async def _brochure(conn: Connection, caller: Caller, brochure_id: uuid.UUID) -> queries.Record:
    row = await queries.staff_brochure(conn, brochure_id, scope_root=caller.scope_root, lock=True)
    if row is None:
        raise NotFound("brochure")
    return row


async def _under_review(
    conn: Connection, caller: Caller, brochure_id: uuid.UUID, content_hash: bytes | None
) -> queries.Record:
    """The version under review, locked, if the caller may decide on it, and if it holds the
    content they looked at (`content_hash`; None: whatever it holds now, for older apps)."""
    await _brochure(conn, caller, brochure_id)
    latest = (await queries.versions(conn, brochure_id))[0]
    _require(latest, {Status.PENDING_REVIEW}, "review")
    if await authored(conn, latest, caller.user_id):
        raise Forbidden(
            "Compliance cannot review a version they created, edited (its content or its page "
            "images) or submitted"
        )
    current = bytes(latest["content_hash"])
    if content_hash is not None and content_hash != current:
        raise BrochureConflict(
            "brochure.content_changed",
            "The content under review is not the content you reviewed: it changed after you "
            f"opened it. Review the current content (content_hash {current.hex()}) and decide "
            "again; nothing was changed",
            current_status=latest["status"],
        )
    return latest


async def authored(conn: Connection, version: queries.Record, user_id: uuid.UUID) -> bool:
    """Whether the user had a hand in this version's content: created, edited or submitted it,
    or uploaded one of its page images (four eyes: they may not review it)."""
    if user_id in (version["created_by"], version["submitted_by"], *version["edited_by"]):
        return True
    return await queries.any_image_uploaded_by(conn, list(version["pages"]), user_id)


async def reviewer_is_author(conn: Connection, *, caller: Caller, brochure_id: uuid.UUID) -> bool:
    """Whether the caller had a hand in the brochure's latest version (see `authored`): the
    console offers them no decision on it, and says why. Reads only (no lock)."""
    if await queries.staff_brochure(conn, brochure_id, scope_root=caller.scope_root) is None:
        raise NotFound("brochure")
    return await authored(conn, (await queries.versions(conn, brochure_id))[0], caller.user_id)


def _with(users: list[uuid.UUID], user: uuid.UUID) -> list[uuid.UUID]:
    return users if user in users else [*users, user]


def _require(version: queries.Record, allowed: set[Status], action: str) -> None:
    if Status(version["status"]) not in allowed:
        raise BrochureConflict(
            "brochure.illegal_transition",
            f"Cannot {action} a brochure whose version is {version['status']}",
            current_status=version["status"],
        )


def _page_plan(refs: list[str] | None, *, existing: set[bytes], uploads: int) -> list[bytes | int]:
    """The pages of `meta.pages` (existing image ids, and `upload:<n>` as the index n of an
    uploaded file), or every upload in order: checked before any file is stored."""
    if uploads > wire.MAX_PAGES:
        raise BadBrochure("brochure.too_many_pages", f"At most {wire.MAX_PAGES} `pages` files")
    if refs is None:
        return list(range(uploads))
    pages: list[bytes | int] = []
    for n, ref in enumerate(refs):
        path = f"$.meta.pages[{n}]"
        if ref.startswith(UPLOAD_REF):
            index = ref.removeprefix(UPLOAD_REF)
            # A few ASCII digits only: isdigit() is also true of "²", which int() refuses, and
            # int() refuses more than 4,300 digits.
            digits = index.isascii() and index.isdigit() and len(index) <= 3
            if not digits or int(index) >= uploads:
                raise BadBrochure(
                    "brochure.bad_page", f"{ref[:80]!r}: no such uploaded file", path=path
                )
            pages.append(int(index))
            continue
        try:
            image = bytes.fromhex(ref)
        except ValueError:
            image = b""
        if image not in existing:
            raise BadBrochure(
                "brochure.bad_page", f"{ref[:80]!r} is not a page of this brochure", path=path
            )
        pages.append(image)
    if not pages:
        raise BadBrochure("brochure.no_pages", "A brochure has at least one page")
    if len(pages) > wire.MAX_PAGES:
        raise BadBrochure("brochure.too_many_pages", f"At most {wire.MAX_PAGES} pages")
    return pages


def _placed(plan: list[bytes | int], uploaded: list[bytes]) -> list[bytes]:
    """The page images of a plan, its uploads stored."""
    return [uploaded[p] if isinstance(p, int) else p for p in plan]


async def _check_meta(conn: Connection, meta: wire.BrochureMeta) -> None:
    """What the contract's types let through but cannot be stored: a title or a tag that shows
    nothing (blank once trimmed, or invisible characters only; a blank tag is left out) or
    reads otherwise (control characters, direction overrides), a talk track that reads
    otherwise (its line breaks and tabs aside), a title or talk track that normalising (NFC)
    makes too long, an unknown product. Every text refused is named at once (`errors`)."""
    content = _content(meta, [])
    errors = []
    if why := _not_shown(content.title):
        errors.append(FieldError(path="$.meta.title", message=why))
    for n, tag in enumerate(meta.tags):
        if (text := unicodedata.normalize("NFC", tag).strip()) and (why := _not_shown(text)):
            errors.append(FieldError(path=f"$.meta.tags[{n}]", message=why))
    if reads_otherwise(content.talk_track.translate(_LINE_BREAKS_AND_TABS)):
        errors.append(FieldError(path="$.meta.talk_track", message=READS_OTHERWISE_LINES))
    for name, text, most in (("title", content.title, wire.MAX_TITLE),
                             ("talk_track", content.talk_track, wire.MAX_TALK_TRACK)):  # fmt: skip
        if len(text) > most:
            errors.append(FieldError(path=f"$.meta.{name}", message=f"at most {most} characters"))
    if errors:
        detail = "; ".join(f"{e.path}: {e.message}" for e in errors)
        raise BadBrochure("request.validation_failed", detail, errors=errors)
    product = await queries.product(conn, meta.product_code)
    if product is None or not product["active"]:
        raise BadBrochure("brochure.unknown_product", "No active product with that code")


def _not_shown(text: str) -> str | None:
    """Why one line (a title, a tag; trimmed) would not show what it says, if so: the app, the
    console and the share page show it as stored (`workbench.visible`)."""
    if not text:
        return BLANK
    if reads_otherwise(text):
        return READS_OTHERWISE
    if not one_line_shown(text):
        return SHOWS_NOTHING
    return None


def _check_times(window: Window) -> None:
    """Both ends of a window are times with an offset, in the years a business time lies in."""
    for name, moment in (("live_from", window.live_from), ("live_until", window.live_until)):
        if moment is None:
            continue
        if moment.utcoffset() is None:
            problem = "a time with its offset (RFC 3339), e.g. 2026-12-01T09:00:00+08:00"
        elif not within_years(moment):
            problem = f"a time within the years {YEARS[0]} to {YEARS[1]}"
        else:
            continue
        raise BadBrochure("brochure.bad_window", f"`{name}` must be {problem}", path=f"$.{name}")


def _content(meta: wire.BrochureMeta, pages: list[bytes]) -> Content:
    return Content.of(
        title=meta.title, product_code=meta.product_code, talk_track=meta.talk_track,
        tags=meta.tags, pages=pages,
    )  # fmt: skip


def _content_columns(content: Content) -> dict[str, Any]:
    return {
        "title": content.title,
        "product_code": content.product_code,
        "talk_track": content.talk_track,
        "tags": list(content.tags),
        "pages": list(content.pages),
        "content_hash": content.digest(),
    }


# A version's content columns, and the columns of an approval (cleared when it is void).
_CONTENT = ("title", "product_code", "talk_track", "tags", "pages", "content_hash")
_NO_APPROVAL: dict[str, Any] = {
    "approved_hash": None, "approved_risk_level": None, "approved_from": None,
    "approved_until": None,
}  # fmt: skip
_MAX_REASON = 500  # wire.Reason's


def _new_version(
    brochure_id: uuid.UUID, version: int, content: Content, caller: Caller
) -> dict[str, Any]:
    return {
        "brochure_id": brochure_id,
        "version": version,
        **_content_columns(content),
        "status": Status.DRAFT.value,
        "created_by": caller.user_id,
    }


def _reason(reason: str, blank: str) -> str:
    """A reason as someone will read it (a rejection's, a withdrawal's, a pause's): trimmed, one
    that shows nothing (spaces or invisible characters only) is no reason (`blank` says so),
    read as typed, and at most as long as the contract's."""
    reason = reason.strip()
    if not shows_something(reason):
        raise BadBrochure("brochure.reason_required", blank, path="$.reason")
    check_text(reason, path="$.reason")
    if len(reason) > _MAX_REASON:
        raise BadBrochure(
            "request.validation_failed", f"at most {_MAX_REASON} characters", path="$.reason"
        )
    return reason


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def _audit(
    conn: Connection,
    caller: Caller,
    client_ip: str | None,
    action: str,
    brochure_id: uuid.UUID,
    **detail: Any,
) -> None:
    await audit.record(
        conn,
        action=action,
        actor_id=caller.user_id,
        subject=f"brochure:{brochure_id}",
        client_ip=client_ip,
        detail=msgspec.to_builtins(detail),
    )


def _now() -> datetime:
    return datetime.now(UTC)

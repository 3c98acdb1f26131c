"""Brochure endpoints: the RMs' catalogue, and upload, review and publication for staff."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, head, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body, FromPath, FromQuery, HeaderParameter, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from mobile_contracts.v1 import brochures as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.customers import ProductRisk
from mobile_contracts.v1.identity import Role
from workbench.access import Caller, requires_role
from workbench.brochures import views, workflow
from workbench.db import Connection
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS, file_responses
from workbench.nul import NUL_MESSAGE, find_nul
from workbench.pagination import DEFAULT_LIMIT, Limit

CATALOGUE_PAGE = 20  # brochures per catalogue page: a phone's screenful or two, each with pages
UPLOAD_LIMIT = 200_000_000  # 30 pages of up to 20 MB, with room for the form
PRESENTERS = [requires_role(Role.RM, Role.BRANCH_HEAD)]
AUTHORS = [requires_role(Role.MARKETING, Role.ADMIN)]
REVIEWERS = [requires_role(Role.COMPLIANCE)]
PUBLISHERS = [requires_role(Role.MARKETING, Role.COMPLIANCE, Role.ADMIN)]
STAFF = [requires_role(Role.MARKETING, Role.COMPLIANCE, Role.ADMIN)]
_MOVED_ON = (
    "The brochure is not in a state that allows this (`brochure.illegal_transition`, "
    "`brochure.in_review`, `brochure.not_approved`, `brochure.not_published`, with "
    "`current_status`)"
)
_NOT_PUBLISHABLE = (
    _MOVED_ON[:-1] + "), or its approval does not cover this publication (submit it for review "
    "again): compliance withdrew it (`brochure.withdrawn`), the product's risk level changed "
    "since it was approved (`brochure.risk_changed`), the approved window has passed "
    "(`brochure.approval_expired`) or the window lies beyond it "
    "(`brochure.beyond_approved_window`, with `approved_from` and `approved_until`)"
)
_BAD_REASON = (
    "Compliance or an admin withdrawing it gave no reason, or one that shows nothing "
    "(`brochure.reason_required` naming `$.reason`), or a reason with control characters or "
    "direction overrides, or over 500 characters (`request.validation_failed`)"
)
_DECIDED_ON = (
    _MOVED_ON[:-1] + "), or the version holds other content than the content reviewed "
    "(`brochure.content_changed`: it was edited and resubmitted after the reviewer opened it; "
    "nothing is changed: review the current content and decide again)"
)
_BAD_REVIEWED = (
    "`content_hash` is not a hex SHA-256 (`request.validation_failed` naming `$.content_hash`), "
    "`If-Match` is not one quoted content hash (naming `header.If-Match`), or the two name "
    "different content"
)
_IF_MATCH = 'The content reviewed, as an entity tag: `"<content_hash>"` (or in the body). `*`: any.'
# The `If-Match` of a decision: one strong entity tag, the content hash in quotes (bare: too).
_ENTITY_TAG = re.compile(r'"(?P<quoted>[0-9a-fA-F]{64})"|(?P<bare>[0-9a-fA-F]{64})')
IfMatch = Annotated[
    str | None, HeaderParameter(name="If-Match", max_length=200, description=_IF_MATCH)
]
_EDIT_IF_MATCH = (
    'The content this edit was made from, as an entity tag: `"<content_hash>"` (the '
    "`latest.content_hash` of the staff view read). Other content by then: 409 "
    "`brochure.edited_meanwhile`, nothing saved. Optional (none or `*`: no check)."
)
EditIfMatch = Annotated[
    str | None, HeaderParameter(name="If-Match", max_length=200, description=_EDIT_IF_MATCH)
]
_EDITED_ON = (
    _MOVED_ON[:-1] + "), or the brochure holds other content than the one named by `If-Match` "
    "(`brochure.edited_meanwhile`: saved meanwhile from another window or by a colleague; "
    "nothing is saved: read the current content and edit that)"
)
_BAD_UPLOAD = (
    "A page is not an acceptable image (`image.not_allowed`, `image.too_large`, "
    "`image.too_many_pixels`, `image.corrupt`), the product is unknown "
    "(`brochure.unknown_product`), the pages do not add up (`brochure.no_pages`, "
    "`brochure.bad_page` naming `$.meta.pages[i]`, `brochure.too_many_pages`: more than 30 "
    "pages or `pages` files), or `meta` is not valid (`request.validation_failed` naming the "
    "field, e.g. a blank `$.meta.title`); all checked before any image is stored"
)
_BAD_EDIT = (
    _BAD_UPLOAD + "; or `If-Match` is not one quoted content hash (naming `header.If-Match`)"
)
_BAD_WINDOW = (
    "The window is not valid (`brochure.bad_window` naming `$.live_from` or `$.live_until`: a "
    "time outside the years 2000-2999, or an end not after now and the start), or a time has "
    "no offset (`request.validation_failed`)"
)


PageNumber = Annotated[int, Parameter(ge=1, le=wire.MAX_PAGES, description="From 1")]
# A page image (200: image/webp or image/jpeg by the rendition's format), and what else it answers.
_PAGE_RESPONSES = file_responses(
    "image/webp",
    "image",
    ok="The image (`image/webp`, or `image/jpeg` for a `.jpeg` rendition), with `ETag`, "
    "`Accept-Ranges` and `X-Image-Id` (the page's image id, as in the synced row)",
)


@dataclass
class BrochureUpload:
    """Multipart form data: `meta` (JSON, see BrochureMeta) and the page images as `pages`."""

    meta: str
    pages: list[UploadFile] = field(default_factory=list)


def _ip(request: Request[Any, Any, Any]) -> str:
    """The caller's address for the audit trail (relay headers believed from trusted proxies)."""
    return request_ip(request)


class BrochureController(Controller):
    """RMs present and share approved, published and live brochures only; marketing uploads
    and edits, compliance reviews, either publishes."""

    path = "/api/v1/brochures"
    tags = ["brochures"]

    @get("", operation_id="listBrochures", guards=PRESENTERS,
         opt={ERRORS: {404: "`customer_id` is not mine (`customer.not_found`)"}})  # fmt: skip
    async def catalogue(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        category: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        risk_level: FromQuery[ProductRisk | None] = None,
        q: FromQuery[str | None] = None,
        customer_id: FromQuery[uuid.UUID | None] = None,
        limit: Limit = CATALOGUE_PAGE,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.CatalogueItem]:
        """The brochure catalogue: live brochures I may present, newest first.

        Filters: product `category`, `tag`, highest product `risk_level` (R1-R5), text `q`
        (title, product, talk track). With `customer_id` (one of my customers) only brochures
        suitable for them: never a product above their assessed risk level. Page images come
        as short-lived signed URLs per size (phone, tablet, thumb) and format (webp, jpeg).
        """
        filters = views.CatalogueFilters(
            category=category, tag=tag, risk_level=risk_level, q=q, customer_id=customer_id
        )
        return await views.catalogue(
            db, caller=caller, filters=filters, sign=_signer(request), cursor=cursor, limit=limit
        )

    @get("/{brochure_id:uuid}", operation_id="getBrochure", guards=PRESENTERS)
    async def brochure(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID],
    ) -> wire.CatalogueItem:
        """One live brochure (404 unless it is live for me)."""
        return await views.live_brochure(
            db, caller=caller, brochure_id=brochure_id, sign=_signer(request)
        )

    @get(
        "/{brochure_id:uuid}/pages/{number:int}/{rendition:str}",
        operation_id="getBrochurePage",
        guards=PRESENTERS,
        responses=_PAGE_RESPONSES,
        opt={
            ERRORS: {
                404: "Not a page of a brochure live for me, or no such rendition (yet)",
                416: "The byte range lies past the end of the image",
            }
        },
    )
    async def page(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID],
        number: PageNumber,
        rendition: FromPath[str],
    ) -> Response[Any]:
        """A page image of a live brochure, for the app's offline copy.

        `rendition` is a size and a format: `phone.webp`, `tablet.jpeg`, `thumb.webp`... The
        image answers with ETag and Range, and `X-Image-Id` (the page's image id, as in the
        synced row: a different one means a newer version replaced the page). Its content type
        is its format's (`image/webp`, `image/jpeg`)."""
        # The route declares no media type: one would override the format's.
        return await _page_image(request, db, caller, brochure_id, number, rendition)

    @head(
        "/{brochure_id:uuid}/pages/{number:int}/{rendition:str}",
        guards=PRESENTERS,
        include_in_schema=False,
    )
    async def page_head(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID],
        number: PageNumber,
        rendition: FromPath[str],
    ) -> Response[None]:
        """What GET would answer, without the body (Content-Length, ETag, Accept-Ranges,
        `X-Image-Id`): the app's downloader asks them before it fetches or resumes a page. The
        same callers and 404s as GET."""
        return await _page_image(request, db, caller, brochure_id, number, rendition)

    @post("", operation_id="uploadBrochure", guards=AUTHORS, status_code=HTTP_201_CREATED,
          request_max_body_size=UPLOAD_LIMIT, opt={ERRORS: {422: _BAD_UPLOAD}})  # fmt: skip
    async def upload(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: Annotated[BrochureUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> wire.StaffBrochure:
        """Upload a brochure: a draft, owned by my unit.

        Multipart form data: `meta` (JSON: `title`, `product_code` of an existing product,
        `talk_track`, `tags`) and one `pages` file per page, in order: JPEG, PNG or WEBP,
        recognised by their content. Each image is stripped of its metadata, turned upright,
        and gets phone, tablet and thumbnail renditions built by the worker.
        """
        meta, files = await _upload(data)
        brochure_id = await workflow.create(
            db, caller=caller, meta=meta, files=files,
            store_image=_image_store(request, db, caller), client_ip=_ip(request),
        )  # fmt: skip
        return await _staff_view(request, db, caller, brochure_id)

    @put("/{brochure_id:uuid}", operation_id="editBrochure", guards=AUTHORS,
         request_max_body_size=UPLOAD_LIMIT,
         opt={ERRORS: {409: _EDITED_ON, 422: _BAD_EDIT}})  # fmt: skip
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID],
        data: Annotated[BrochureUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        if_match: EditIfMatch = None,
    ) -> wire.StaffBrochure:
        """Edit a brochure's working version (a published one gets a new version).

        As the upload; `meta.pages` orders the pages (image ids of this brochure and
        `upload:<n>` for the n-th file). A change voids an approval; a save that changes
        nothing does not. The published version stays live until a new one replaces it.
        Apps should send `If-Match: "<content_hash>"` (the `latest.content_hash` they edited
        from): if the brochure was saved meanwhile (another device, a colleague), nothing is
        saved (409 `brochure.edited_meanwhile`) instead of silently undoing that save.
        """
        edited_from = _edited_from(if_match)
        meta, files = await _upload(data)
        await workflow.edit(
            db, caller=caller, brochure_id=brochure_id, meta=meta, files=files,
            store_image=_image_store(request, db, caller), edited_from=edited_from,
            client_ip=_ip(request),
        )  # fmt: skip
        return await _staff_view(request, db, caller, brochure_id)

    @post("/{brochure_id:uuid}/submit", operation_id="submitBrochure", guards=AUTHORS,
          status_code=HTTP_200_OK, opt={ERRORS: {409: _MOVED_ON, 422: _BAD_WINDOW}})  # fmt: skip
    async def submit(
        self, request: Request[Any, Any, Any], db: Db, caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID], data: JSONBody[wire.SubmitRequest | None] = None,
    ) -> wire.StaffBrochure:  # fmt: skip
        """Send the working version to compliance for review, for the live window asked.

        `live_from`/`live_until` (optional, RFC 3339 with an offset): the window the approval
        will cover; publishing beyond it later needs a new review (none: unbounded). A version
        approved, published or taken down is submitted again this way (an approval withdrawn,
        lapsed with its window or its product's risk level, or a longer window wanted): a
        published one as a new version with the same content, which stays live meanwhile.
        """
        await workflow.submit(
            db, caller=caller, brochure_id=brochure_id, window=data, client_ip=_ip(request)
        )
        return await _staff_view(request, db, caller, brochure_id)

    @post("/{brochure_id:uuid}/approve", operation_id="approveBrochure", guards=REVIEWERS,
          status_code=HTTP_200_OK,
          opt={ERRORS: {409: _DECIDED_ON, 422: _BAD_REVIEWED}})  # fmt: skip
    async def approve(
        self, request: Request[Any, Any, Any], db: Db, caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID], data: JSONBody[wire.ApproveRequest | None] = None,
        if_match: IfMatch = None,
    ) -> wire.StaffBrochure:  # fmt: skip
        """Approve exactly the content I reviewed (not my own upload).

        Name that content: `{"content_hash": ...}` (the `latest.content_hash` of the staff view
        I reviewed) or `If-Match: "<content_hash>"`. If the version holds other content by then
        (rejected, edited and resubmitted meanwhile), nothing is approved: 409
        `brochure.content_changed`. Apps should always send it; without it (no body, `{}` or
        `{"content_hash": null}`: older apps) the content under review at the time of the call
        is approved.
        """
        reviewed = _reviewed(data.content_hash if data else None, if_match)
        await workflow.approve(
            db, caller=caller, brochure_id=brochure_id, content_hash=reviewed,
            client_ip=_ip(request),
        )  # fmt: skip
        return await _staff_view(request, db, caller, brochure_id)

    @post("/{brochure_id:uuid}/reject", operation_id="rejectBrochure", guards=REVIEWERS,
          status_code=HTTP_200_OK, opt={ERRORS: {409: _DECIDED_ON}})  # fmt: skip
    async def reject(
        self, request: Request[Any, Any, Any], db: Db, caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID], data: JSONBody[wire.RejectRequest],
        if_match: IfMatch = None,
    ) -> wire.StaffBrochure:  # fmt: skip
        """Send the version under review back to marketing, with the reason.

        Like an approval, name the content I reviewed (`content_hash` in the body, or
        `If-Match`): other content by then is 409 `brochure.content_changed` and nothing is
        rejected. The decision is kept in the brochure's `reviews`.
        """
        reviewed = _reviewed(data.content_hash, if_match)
        await workflow.reject(
            db, caller=caller, brochure_id=brochure_id, reason=data.reason, content_hash=reviewed,
            client_ip=_ip(request),
        )  # fmt: skip
        return await _staff_view(request, db, caller, brochure_id)

    @post("/{brochure_id:uuid}/publish", operation_id="publishBrochure", guards=PUBLISHERS,
          status_code=HTTP_200_OK,
          opt={ERRORS: {409: _NOT_PUBLISHABLE, 422: _BAD_WINDOW}})  # fmt: skip
    async def publish(
        self, request: Request[Any, Any, Any], db: Db, caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID], data: JSONBody[wire.PublishRequest | None] = None,
    ) -> wire.StaffBrochure:  # fmt: skip
        """Publish the approved version within a window.

        `live_from` and `live_until` (both optional, RFC 3339 with an offset) bound the window,
        within the one compliance approved (left out: the approved start and end). It is
        enforced whenever the brochure is read: it goes live and expires at its times without
        any job. The version published before is replaced; the one live now stays live until
        the new one's `live_from` (at once without one), so there is no gap. A brochure
        compliance withdrew, whose product's risk level changed, whose approved window has
        passed, or a window beyond it: 409, back to review (`submit`).
        """
        await workflow.publish(
            db, caller=caller, brochure_id=brochure_id, window=data or wire.PublishRequest(),
            client_ip=_ip(request),
        )  # fmt: skip
        return await _staff_view(request, db, caller, brochure_id)

    @post("/{brochure_id:uuid}/unpublish", operation_id="unpublishBrochure", guards=PUBLISHERS,
          status_code=HTTP_200_OK,
          opt={ERRORS: {409: _MOVED_ON, 422: _BAD_REASON}})  # fmt: skip
    async def unpublish(
        self, request: Request[Any, Any, Any], db: Db, caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID], data: JSONBody[wire.UnpublishRequest | None] = None,
    ) -> wire.StaffBrochure:  # fmt: skip
        """Take the published version off the catalogue and off RMs' devices.

        Compliance (and admins) withdraw it: `reason` is required and the approval is void, so
        it is published again only after a new submission and approval (a brochure marketing
        paused can be withdrawn too); a call with no body at all (an app from before reasons)
        withdraws it with the reason recorded as 未说明原因. Marketing pauses it: `reason` is
        optional and the approval is kept. The reason is kept with the decision
        (`withdrawals`, `unpublish_reason`).
        """
        # No body at all is the contract before withdrawals took a reason (an older app): a
        # withdrawal still, its reason recorded as not given; a body must give one.
        await workflow.unpublish(
            db, caller=caller, brochure_id=brochure_id,
            reason=data.reason if data else workflow.REASON_NOT_GIVEN, client_ip=_ip(request),
        )  # fmt: skip
        return await _staff_view(request, db, caller, brochure_id)


class StaffBrochuresController(Controller):
    """The brochures of a staff member's org subtree, in every state."""

    path = "/api/v1/studio/brochures"
    tags = ["brochures"]
    guards = STAFF

    @get("", operation_id="listStudioBrochures")
    async def brochures(
        self,
        db: Db,
        caller: CurrentCaller,
        status: FromQuery[list[wire.BrochureStatus] | None] = None,
        q: FromQuery[str | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.StaffBrochureRow]:
        """Brochures of my subtree by their latest version, most recently changed first."""
        return await views.staff_list(
            db, caller=caller, statuses=status, q=q, cursor=cursor, limit=limit
        )

    @get("/review-queue", operation_id="brochureReviewQueue")
    async def review_queue(self, db: Db, caller: CurrentCaller) -> list[wire.StaffBrochureRow]:
        """Versions waiting for compliance, oldest submission first."""
        return await views.review_queue(db, caller=caller)

    @get("/{brochure_id:uuid}", operation_id="getStudioBrochure")
    async def brochure(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        brochure_id: FromPath[uuid.UUID],
    ) -> wire.StaffBrochure:
        """One brochure of my subtree: its latest version in full, and every version."""
        return await _staff_view(request, db, caller, brochure_id)


async def _upload(data: BrochureUpload) -> tuple[wire.BrochureMeta, list[workflow.Upload]]:
    try:
        meta = msgspec.json.decode(data.meta, type=wire.BrochureMeta)
    except msgspec.ValidationError as exc:
        raise ValidationException(extra=[{"message": f"{exc}".replace("`$", "`$.meta")}]) from None
    except msgspec.DecodeError:
        raise ValidationException(extra=[{"key": "meta", "message": "not valid JSON"}]) from None
    if where := find_nul(msgspec.to_builtins(meta), "$.meta"):
        raise ValidationException(extra=[{"message": f"{NUL_MESSAGE} - at `{where}`"}])
    files = [workflow.Upload(data=await f.read(), filename=f.filename) for f in data.pages]
    return meta, files


async def _page_image(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    brochure_id: uuid.UUID,
    number: int,
    rendition: str,
) -> Response[Any]:
    """A live page image as `serve_blob` answers it (a HEAD: its headers alone)."""
    from workbench.media.routes import serve_blob

    size, _, fmt = rendition.partition(".")
    key, image = await views.live_page_image(
        db, caller=caller, brochure_id=brochure_id, number=number, size=size, fmt=fmt
    )
    response = await serve_blob(
        request, request.app.state.blobs, key,
        content_type="image/webp" if fmt == "webp" else "image/jpeg",
        cache_control="private, max-age=86400",
    )  # fmt: skip
    # Which image this is: a new version may have replaced the page since the app's pull.
    response.headers["X-Image-Id"] = image
    return response


def _reviewed(body: str | None, if_match: str | None) -> bytes | None:
    """The content a decision is about: the body's `content_hash` (checked by the contract) and
    `If-Match`, which must agree; None when neither names one (older apps)."""
    named = bytes.fromhex(body) if body is not None else None
    matched = _if_match_hash(if_match, "reviewed")
    if matched is None:
        return named
    if named is not None and named != matched:
        raise workflow.BadBrochure(
            "request.validation_failed",
            "If-Match and `content_hash` name different content",
            path="header.If-Match",
        )
    return matched


def _edited_from(if_match: str | None) -> bytes | None:
    """The content an edit was made from, as its `If-Match` names it (one quoted content hash,
    as for a decision); None for none or `*` (no check: older apps)."""
    return _if_match_hash(if_match, "edited from")


def _if_match_hash(if_match: str | None, what: str) -> bytes | None:
    """The content hash an `If-Match` names (quoted, or bare); None for none or `*`; a 422
    naming the header for anything else."""
    tag = (if_match or "").strip()
    if if_match is None or tag == "*":
        return None
    found = _ENTITY_TAG.fullmatch(tag)
    if found is None:
        raise workflow.BadBrochure(
            "request.validation_failed",
            f'If-Match: the content hash {what}, in quotes ("<64 hex digits>")',
            path="header.If-Match",
        )
    return bytes.fromhex(found.group("quoted") or found.group("bare"))


def _signer(request: Request[Any, Any, Any]) -> views.SignUrl:
    state = request.app.state
    ttl = state.settings.media_url_ttl_seconds
    return lambda key: state.media_signer.url(key, ttl)


def _image_store(
    request: Request[Any, Any, Any], db: Connection, caller: Caller
) -> workflow.StoreImage:
    from workbench.media import service as media

    state = request.app.state

    wake = media.wake_worker(state.redis, state.settings.redis_prefix)

    async def store(raw: bytes) -> bytes:
        image = await media.store_source_image(
            db, state.blobs, raw, limits=state.settings.image_limits, uploaded_by=caller.user_id,
            enqueue=wake,
        )  # fmt: skip
        return image.sha256

    return store


async def _staff_view(
    request: Request[Any, Any, Any], db: Db, caller: Caller, brochure_id: uuid.UUID
) -> wire.StaffBrochure:
    return await views.staff_brochure(
        db, caller=caller, brochure_id=brochure_id, sign=_signer(request)
    )


ROUTES = [BrochureController, StaffBrochuresController]

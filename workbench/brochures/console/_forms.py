"""Upload and edit: the form page, and storing a new brochure or an edit of one."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from mobile_contracts.v1 import brochures as wire
from workbench.brochures import views, workflow
from workbench.brochures.console._shared import (
    AUTHORS,
    LIST_PATH,
    MESSAGES,
    _labels,
    _staff_view,
    client_address,
)
from workbench.brochures.console._uploads import (
    BrochureForm,
    PagesRefused,
    Refusal,
    _collecting,
    _done,
    _image_store,
    _json_refusal,
    _read_upload,
    _upload_refusal,
    _wants_json,
)
from workbench.brochures.routes import UPLOAD_LIMIT
from workbench.console import Console, once, visible_to
from workbench.console.rendering import SECURITY_HEADERS
from workbench.db import Connection
from workbench.http.deps import CurrentCaller, Db

ALREADY_UPLOADED = "这份宣传册已经上传过，本次没有再上传：请在宣传册列表中查看。"
# The edit form names the content it was drawn from (the latest version's content hash) in its
# address, `?drawn_from=`, so that the plain form and the page's script (which sends the API's
# multipart shape, not the form's fields) both send it.
DRAWN_FROM = "drawn_from"
_HASH = re.compile(r"[0-9a-f]{64}")


@get("/brochures/new", opt=visible_to(*AUTHORS), name="console:brochure-new")
async def new_brochure(db: Db, console: Console) -> Response[Any]:
    """The upload form: details, then page images by drag and drop or the file picker."""
    return await _form_page(db, console, brochure=None, form=BrochureForm())


@post(
    "/brochures/new",
    opt=visible_to(*AUTHORS, acts_once=True),
    name="console:brochure-create",
    request_max_body_size=UPLOAD_LIMIT,
)
async def create_brochure(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Upload a brochure (workflow.create): a draft of my unit. The form sent again (a retry
    whose first answer was lost) uploads nothing (409, linking to the first)."""
    form, meta, files, refusal = await _read_upload(request)
    if meta is not None and refusal is None:
        try:
            claim = await once.claim(request, await request.form(), db, back=f"{LIST_PATH}/new")
        except once.Resubmitted as again:
            if not _wants_json(request):
                raise
            return _json_refusal(Refusal(ALREADY_UPLOADED, status=again.status))
        try:
            async with claim, db.transaction():  # a refusal lets the form's token go
                brochure_id = await workflow.create(
                    db, caller=caller, meta=meta, files=files,
                    store_image=_collecting(_image_store(request, db, caller), len(files)),
                    client_ip=client_address(request),
                )  # fmt: skip
                claim.made(f"{LIST_PATH}/{brochure_id}")
        except (PagesRefused, workflow.BadBrochure) as exc:
            refusal = _upload_refusal(exc, request, files)
        else:
            return _done(request, console, f"{LIST_PATH}/{brochure_id}", "已上传为草稿。")
    assert refusal is not None
    if _wants_json(request):
        return _json_refusal(refusal)
    return await _form_page(db, console, brochure=None, form=form, refusal=refusal)


@get("/brochures/{brochure_id:uuid}/edit", opt=visible_to(*AUTHORS), name="console:brochure-edit")
async def edit_brochure(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """The edit form, filled in; the pages can be reordered, removed and added to."""
    brochure = await _staff_view(request, db, caller, brochure_id)
    form = BrochureForm(
        title=brochure.latest.title,
        product_code=brochure.product_code,
        talk_track=brochure.talk_track,
        tags="、".join(brochure.tags),
    )
    return await _form_page(
        db, console, brochure=brochure, form=form, drawn_from=brochure.latest.content_hash
    )


@post(
    "/brochures/{brochure_id:uuid}/edit",
    opt=visible_to(*AUTHORS),
    name="console:brochure-save",
    request_max_body_size=UPLOAD_LIMIT,
)
async def save_brochure(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Save an edit (workflow.edit): a change voids an approval, a save without one does not.
    Made from a page older than the brochure is now (saved meanwhile in another window or by a
    colleague), nothing is saved (409): the form comes back as typed, with a link to the
    latest content."""
    before = await _staff_view(request, db, caller, brochure_id)
    drawn_from = request.query_params.get(DRAWN_FROM)
    form, meta, files, refusal = await _read_upload(
        request, existing=[p.image for p in before.pages]
    )
    if meta is not None and refusal is None:
        try:
            async with db.transaction():
                await workflow.edit(
                    db, caller=caller, brochure_id=brochure_id, meta=meta, files=files,
                    store_image=_collecting(_image_store(request, db, caller), len(files)),
                    edited_from=_edited_from(drawn_from), client_ip=client_address(request),
                )  # fmt: skip
        except (PagesRefused, workflow.BadBrochure, workflow.BrochureConflict) as exc:
            refusal = _upload_refusal(exc, request, files)
            if exc.code == "brochure.edited_meanwhile":
                refusal = _edited_meanwhile(brochure_id)
        else:
            after = await _staff_view(request, db, caller, brochure_id)
            return _done(request, console, f"{LIST_PATH}/{brochure_id}", _saved(before, after))
    assert refusal is not None
    if _wants_json(request):
        return _json_refusal(refusal)
    return await _form_page(
        db, console, brochure=before, form=form, refusal=refusal, drawn_from=drawn_from
    )


def _edited_from(value: str | None) -> bytes | None:
    """The content hash the edit form was drawn from (its `?drawn_from=`); anything but a hash
    names no content there is (refused as changed meanwhile). None: a form without it (drawn
    before it had one), saved over whatever the brochure holds, as the API does for older
    apps."""
    if value is None:
        return None
    value = value.strip().lower()
    return bytes.fromhex(value) if _HASH.fullmatch(value) else b""


def _edited_meanwhile(brochure_id: uuid.UUID) -> Refusal:
    """A save from a stale page: what was typed stays in the form (sent again from it, it is
    refused again); the latest content is one link away."""
    latest = f"{LIST_PATH}/{brochure_id}/edit"
    return Refusal(MESSAGES["brochure.edited_meanwhile"], status=409, latest=latest)


def _saved(before: wire.StaffBrochure, after: wire.StaffBrochure) -> str:
    if after.latest.content_hash == before.latest.content_hash:
        return "内容没有改动，状态保持不变。"
    if after.latest.version != before.latest.version:
        return f"已保存为第 {after.latest.version} 版草稿；审核通过并发布前，线上仍是当前版本。"
    if before.latest.approved:
        return "已保存。内容有改动，原审核结论失效，请重新提交审核。"
    return "已保存。"


async def _form_page(
    db: Connection,
    console: Console,
    *,
    brochure: wire.StaffBrochure | None,
    form: BrochureForm,
    refusal: Refusal | None = None,
    drawn_from: str | None = None,
) -> Response[Any]:
    settings = console.request.app.state.settings
    limits = settings.image_limits
    products = await views.product_choices(db)
    pages = []
    if brochure is not None:
        keep = set(form.keep) if form.keep is not None else None
        pages = [
            {"page": p, "kept": keep is None or p.image in keep, "key": f"page-{p.image[:12]}"}
            for p in brochure.pages
        ]
    return console.render(
        "brochures/form.html",
        {
            "brochure": brochure,
            "form": form,
            "pages": pages,
            "products": products,
            "refusal": refusal,
            # The edit form's address names the content it was drawn from: the page's own
            # (sent again from a page refused as stale, it is refused again).
            "drawn_from": drawn_from,
            "max_pages": wire.MAX_PAGES,
            "max_mb": limits.max_bytes // 1_000_000,
            "max_bytes": limits.max_bytes,
            "max_megapixels": limits.max_pixels // 1_000_000,
            "upload_limit": UPLOAD_LIMIT,
            **_labels(),
        },
        status=refusal.status if refusal else 200,
        # Page previews are object URLs (blob:) of the files picked, never sent anywhere.
        headers={"Content-Security-Policy": _PREVIEW_CSP},
    )


_PREVIEW_CSP = SECURITY_HEADERS["Content-Security-Policy"].replace(
    "img-src 'self' data:", "img-src 'self' data: blob:"
)

"""The brochure pages of the staff console (/console/brochures): the list, upload and edit, a
brochure with its pages, versions and actions, and compliance's review queue.

Every page calls the API's own functions (`workflow`, `views`) with the console's `Caller`, so
roles, org-subtree scope and the workflow's rules are exactly the API's: a brochure of another
subtree is the 404 page, and a refusal of the workflow (an illegal transition, a review of one's
own upload, a bad window) is a message on the page the form came from, with the form as it was
sent. Each change runs in a savepoint: a refused one leaves nothing behind (no stored image).

Uploads take two shapes on one URL: the page's script sends the API's multipart shape (`meta`
JSON and one `pages` file per page, in the order chosen) with `Accept: application/json` and
gets JSON back (where to go, or the errors per field and per file); without script, the form's
own fields and files (pages in the order picked; an edit keeps the pages left ticked).
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery

from mobile_contracts.v1 import brochures as wire
from mobile_contracts.v1.customers import ProductRisk
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.brochures import views, workflow
from workbench.brochures.routes import UPLOAD_LIMIT
from workbench.console import Console, nav, visible_to
from workbench.console.cookies import Flash, flash_cookie
from workbench.console.rendering import SECURITY_HEADERS
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.http.deps import CurrentCaller, Db
from workbench.media import service as media
from workbench.media.images import ImageRefused
from workbench.nul import find_nul

Status = wire.BrochureStatus
LIST_PATH = "/console/brochures"
QUEUE_PATH = "/console/brochures/review"
PAGE_SIZE = 20

STAFF = tuple(sorted(nav.BROCHURES.roles))
AUTHORS = (Role.MARKETING, Role.ADMIN)
REVIEWERS = (Role.COMPLIANCE,)
PUBLISHERS = (Role.MARKETING, Role.COMPLIANCE, Role.ADMIN)

STATUS_LABELS = {
    Status.DRAFT: "草稿",
    Status.PENDING_REVIEW: "待审核",
    Status.APPROVED: "已通过",
    Status.REJECTED: "已退回",
    Status.PUBLISHED: "已发布",
    Status.UNPUBLISHED: "已下架",
    Status.SUPERSEDED: "已被新版替换",
}
LIVE_LABELS = {
    wire.LiveState.LIVE: "生效中",
    wire.LiveState.SCHEDULED: "待生效",
    wire.LiveState.EXPIRED: "已过期",
}
RISK_LABELS = {
    ProductRisk.R1: "低风险",
    ProductRisk.R2: "中低风险",
    ProductRisk.R3: "中风险",
    ProductRisk.R4: "中高风险",
    ProductRisk.R5: "高风险",
}
FIELD_LABELS = {
    "title": "标题",
    "product_code": "产品",
    "talk_track": "话术",
    "tags": "标签",
    "pages": "页面",
}
# The list's filter chips: (query value, label, statuses of the latest version).
FILTERS: tuple[tuple[str, str], ...] = (
    ("", "全部"),
    (Status.DRAFT.value, "草稿"),
    (Status.PENDING_REVIEW.value, "待审核"),
    (Status.APPROVED.value, "已通过"),
    (Status.REJECTED.value, "已退回"),
    (Status.PUBLISHED.value, "已发布"),
    (Status.UNPUBLISHED.value, "已下架"),
)
_TAG_SEPARATORS = re.compile(r"[,，、;；\s]+")
# Where a form may send the browser on: a brochure page of the console (`next`, `from`).
_BROCHURE_PATH = re.compile(r"^/console/brochures(?:/[a-z0-9-]{1,60}){0,3}$")
_AT_PATH = re.compile(r"`\$\.([a-z_]+)")

# What the workflow's refusals say on the page (by the API's codes).
MESSAGES = {
    "brochure.in_review": "这个版本正在合规审核，审核结束前不能修改。",
    "brochure.not_approved": "只有合规审核通过的版本才能发布。",
    "brochure.not_published": "这本宣传册目前没有已发布的版本，无需下架。",
    "brochure.bad_window": "下架时间必须晚于现在，也必须晚于上架时间。",
    "brochure.reason_required": "请填写退回原因，市场部会据此修改。",
    "brochure.unknown_product": "请选择一个在售的产品。",
    "brochure.no_pages": "请至少添加一页页面图片。",
    "brochure.bad_page": "页面列表已过期（可能有人刚修改过），请刷新页面后重试。",
    "brochure.too_many_pages": f"一本宣传册最多 {wire.MAX_PAGES} 页。",
    "auth.forbidden": "这个版本是您上传或提交的，需由其他合规同事审核。",
}
_ACTIONS = {"submit": "提交审核", "review": "审核"}


# ---- the list --------------------------------------------------------------------------------


@get("/brochures", opt=visible_to(*STAFF), name="console:brochures")
async def brochure_list(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    status: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[Any]:
    """The brochures of my subtree by latest version: filter chips, search, pages of 20."""
    chosen = status if status in {value for value, _ in FILTERS} else ""
    text = (q or "").strip()[:100]
    page = await views.staff_list(
        db,
        caller=caller,
        statuses=[Status(chosen)] if chosen else None,
        q=text or None,
        cursor=cursor or None,
        limit=PAGE_SIZE,
    )
    thumbs = await views.covers(db, caller=caller, rows=page.items, sign=_signer(request))
    rows = [
        {"row": row, "thumb": thumbs.get(row.id), "action": _row_action(row, caller.role)}
        for row in page.items
    ]
    return console.render(
        "brochures/list.html",
        {
            "rows": rows,
            "chips": [
                {"label": label, "href": _list_url(value, text, None), "current": value == chosen}
                for value, label in FILTERS
            ],
            "status": chosen,
            "q": text,
            "first_page": not cursor,
            "next_url": _list_url(chosen, text, page.next_cursor) if page.next_cursor else None,
            "first_url": _list_url(chosen, text, None),
            "can_upload": caller.role in AUTHORS,
            **_labels(),
        },
    )


def _list_url(status: str, q: str, cursor: str | None) -> str:
    params = {k: v for k, v in (("status", status), ("q", q), ("cursor", cursor or "")) if v}
    return LIST_PATH + (f"?{urlencode(params)}" if params else "")


def _row_action(row: wire.StaffBrochureRow, role: Role) -> dict[str, str]:
    """The one thing this viewer most likely does next with the brochure."""
    base = f"{LIST_PATH}/{row.id}"
    if role is Role.COMPLIANCE and row.status is Status.PENDING_REVIEW:
        return {"label": "审核", "href": f"{QUEUE_PATH}/{row.id}", "kind": "primary"}
    if role in AUTHORS and row.status in (Status.DRAFT, Status.REJECTED):
        label = "修改" if row.status is Status.REJECTED else "编辑"
        return {"label": label, "href": f"{base}/edit", "kind": "primary"}
    if row.status is Status.APPROVED:
        return {"label": "发布", "href": f"{base}#publish", "kind": "primary"}
    return {"label": "查看", "href": base, "kind": "quiet"}


# ---- upload and edit -------------------------------------------------------------------------


@dataclass
class BrochureForm:
    """What the upload or edit form shows (as typed, when it comes back with errors)."""

    title: str = ""
    product_code: str = ""
    talk_track: str = ""
    tags: str = ""
    keep: list[str] | None = None  # edit: the existing pages still ticked (None: all)


@dataclass
class Refusal:
    """Why an upload or a change was refused: a message, per field, per file."""

    message: str
    status: int = 422
    fields: dict[str, str] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)  # index, name, message


class PagesRefused(DomainError):
    """Some uploaded page images are not acceptable: each with its index and the API's code."""

    status, code, title = 422, "image.refused", "Page images refused"

    def __init__(self, refused: list[tuple[int, ImageRefused]]) -> None:
        super().__init__(f"{len(refused)} page image(s) refused")
        self.refused = refused


@get("/brochures/new", opt=visible_to(*AUTHORS), name="console:brochure-new")
async def new_brochure(db: Db, console: Console) -> Response[Any]:
    """The upload form: details, then page images by drag and drop or the file picker."""
    return await _form_page(db, console, brochure=None, form=BrochureForm())


@post(
    "/brochures/new",
    opt=visible_to(*AUTHORS),
    name="console:brochure-create",
    request_max_body_size=UPLOAD_LIMIT,
)
async def create_brochure(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Upload a brochure (workflow.create): a draft of my unit."""
    form, meta, files, refusal = await _read_upload(request)
    if meta is not None and refusal is None:
        try:
            async with db.transaction():
                brochure_id = await workflow.create(
                    db, caller=caller, meta=meta, files=files,
                    store_image=_collecting(_image_store(request, db, caller), len(files)),
                )  # fmt: skip
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
    return await _form_page(db, console, brochure=brochure, form=form)


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
    """Save an edit (workflow.edit): a change voids an approval, a save without one does not."""
    before = await _staff_view(request, db, caller, brochure_id)
    form, meta, files, refusal = await _read_upload(
        request, existing=[p.image for p in before.pages]
    )
    if meta is not None and refusal is None:
        try:
            async with db.transaction():
                await workflow.edit(
                    db, caller=caller, brochure_id=brochure_id, meta=meta, files=files,
                    store_image=_collecting(_image_store(request, db, caller), len(files)),
                )  # fmt: skip
        except (PagesRefused, workflow.BadBrochure, workflow.BrochureConflict) as exc:
            refusal = _upload_refusal(exc, request, files)
        else:
            after = await _staff_view(request, db, caller, brochure_id)
            return _done(request, console, f"{LIST_PATH}/{brochure_id}", _saved(before, after))
    assert refusal is not None
    if _wants_json(request):
        return _json_refusal(refusal)
    return await _form_page(db, console, brochure=before, form=form, refusal=refusal)


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


async def _read_upload(
    request: Request[Any, Any, Any], *, existing: Sequence[str] = ()
) -> tuple[BrochureForm, wire.BrochureMeta | None, list[workflow.Upload], Refusal | None]:
    """The form as sent (either shape), the API's BrochureMeta decoded from it (None if it is
    not valid, with the refusal saying where), and the page files in order."""
    data = await request.form()
    uploads = [f for f in data.getall("pages", []) if isinstance(f, UploadFile) and f.filename]
    files = [workflow.Upload(data=await f.read(), filename=f.filename) for f in uploads]
    raw_meta = data.get("meta")
    try:
        if isinstance(raw_meta, str):  # the page's script: the API's shape
            meta = msgspec.json.decode(raw_meta, type=wire.BrochureMeta)
            form = BrochureForm(
                title=meta.title, product_code=meta.product_code, talk_track=meta.talk_track,
                tags="、".join(meta.tags), keep=[p for p in meta.pages or [] if p in existing],
            )  # fmt: skip
        else:  # a plain form: its own fields; an edit keeps the pages left ticked
            keep = [k for k in data.getall("keep", []) if isinstance(k, str)]
            form = BrochureForm(
                title=_text(data, "title"),
                product_code=_text(data, "product_code"),
                talk_track=_text(data, "talk_track"),
                tags=_text(data, "tags"),
                keep=[k for k in existing if k in keep] if existing else None,
            )
            pages = None
            if existing and (form.keep != list(existing) or files):
                pages = [*(form.keep or []), *(f"upload:{n}" for n in range(len(files)))]
            meta = msgspec.convert(
                {"title": form.title, "product_code": form.product_code,
                 "talk_track": form.talk_track, "tags": _tags(form.tags), "pages": pages},
                type=wire.BrochureMeta,
            )  # fmt: skip
    except msgspec.ValidationError as exc:
        return _form_of(data), None, files, _invalid(str(exc))
    except msgspec.DecodeError:
        return _form_of(data), None, files, Refusal("提交的内容无法识别，请刷新页面后重试。")
    if where := find_nul(msgspec.to_builtins(meta)):
        return form, None, files, _invalid(f"NUL - at `{where}`")
    return form, meta, files, None


def _form_of(data: Any) -> BrochureForm:
    return BrochureForm(
        title=_text(data, "title"),
        product_code=_text(data, "product_code"),
        talk_track=_text(data, "talk_track"),
        tags=_text(data, "tags"),
    )


def _text(data: Any, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _tags(text: str) -> list[str]:
    return [t for t in _TAG_SEPARATORS.split(text.strip()) if t]


def _invalid(detail: str) -> Refusal:
    """A field the contract refuses (msgspec's `... - at `$.title``), said for that field."""
    match = _AT_PATH.search(detail)
    name = match.group(1) if match else ""
    texts = {
        "title": "请填写标题（最多 120 个字）。",
        "product_code": "请选择产品。",
        "talk_track": "话术最多 5000 个字。",
        "tags": "最多 20 个标签，每个不超过 20 个字。",
        "pages": f"页面最多 {wire.MAX_PAGES} 页；页面列表有误时请刷新页面后重试。",
    }
    text = texts.get(name, "提交的内容有误，请检查后重试。")
    if "NUL" in detail:
        text = "内容中有无法保存的字符，请删除后重试。"
    if name in FIELD_LABELS:
        return Refusal("请检查标红的内容。", fields={name: text})
    return Refusal(text)


def _collecting(store: workflow.StoreImage, count: int) -> workflow.StoreImage:
    """The media service's `store_image`, checking every file before giving up: a refused
    file is remembered and the next one tried; after the last one, all refusals are raised at
    once (the savepoint around the change then forgets the images that were fine)."""
    refused: list[tuple[int, ImageRefused]] = []
    calls = 0

    async def store_image(raw: bytes) -> bytes:
        nonlocal calls
        index, calls = calls, calls + 1
        try:
            sha = await store(raw)
        except ImageRefused as exc:
            refused.append((index, exc))
            sha = b""  # never used: the last file raises below
        if refused and calls >= count:
            raise PagesRefused(refused)
        return sha

    return store_image


def _upload_refusal(
    exc: DomainError, request: Request[Any, Any, Any], files: Sequence[workflow.Upload]
) -> Refusal:
    if isinstance(exc, PagesRefused):
        limits = request.app.state.settings.image_limits
        listed = [
            {"index": index, "name": files[index].filename or f"第 {index + 1} 个文件",
             "code": refused.code, "message": _image_message(refused.code, limits)}
            for index, refused in exc.refused
        ]  # fmt: skip
        return Refusal(f"有 {len(listed)} 张图片不能使用，请移除或更换后再提交。", files=listed)
    message = MESSAGES.get(exc.code, "提交的内容有误，请检查后重试。")
    if exc.code == "brochure.unknown_product":
        return Refusal("请检查标红的内容。", fields={"product_code": message})
    if exc.code in ("brochure.no_pages", "brochure.too_many_pages"):
        return Refusal(message, fields={"pages": message})
    return Refusal(message, status=exc.status)


def _image_message(code: str, limits: Any) -> str:
    return {
        "image.not_allowed": "不是可用的图片：请使用 JPEG、PNG 或 WebP 格式。",
        "image.too_large": f"文件超过 {limits.max_bytes // 1_000_000} MB。",
        "image.too_many_pixels": (
            f"图片尺寸过大（超过 {limits.max_pixels // 1_000_000} 百万像素）。"
        ),
        "image.corrupt": "文件已损坏或不完整，无法读取。",
    }.get(code, "这张图片不能使用。")


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("accept", "").startswith("application/json")


def _done(
    request: Request[Any, Any, Any], console: Console, location: str, message: str
) -> Response[Any]:
    """After a change: the page's script gets where to go (the message waits there), a plain
    form a 303."""
    if not _wants_json(request):
        return console.redirect(location, flash=message)
    secret = request.app.state.settings.blind_index_key
    return Response(
        {"location": location},
        status_code=200,
        headers={"Cache-Control": "no-store"},
        cookies=[flash_cookie(secret, [Flash("success", message)])],
    )


def _json_refusal(refusal: Refusal) -> Response[Any]:
    return Response(
        {"message": refusal.message, "fields": refusal.fields, "files": refusal.files},
        status_code=refusal.status,
        headers={"Cache-Control": "no-store"},
    )


# ---- one brochure ----------------------------------------------------------------------------


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
    return console.render(
        "brochures/queue.html",
        {"rows": [{"row": r, "thumb": thumbs.get(r.id)} for r in rows], **_labels()},
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
    status: int = 200,
    sent: Form | None = None,
    failed: str | None = None,
) -> Response[Any]:
    brochure = await _staff_view(request, db, caller, brochure_id)
    zone = ZoneInfo(request.app.state.settings.bank_timezone)
    people = await views.people(
        db,
        [brochure.created_by, *(v.created_by for v in brochure.versions),
         *(v.reviewed_by for v in brochure.versions)],
    )  # fmt: skip
    products = {p.code: p for p in await views.product_choices(db)}
    number = min(max(shown or 1, 1), len(brochure.pages))
    queue: list[wire.StaffBrochureRow] = []
    if template == "brochures/review.html":
        queue = await views.review_queue(db, caller=caller)
    published = brochure.published
    window = _window_defaults(published, zone) if published else {"live_from": "", "live_until": ""}
    return console.render(
        template,
        {
            "b": brochure,
            "latest": brochure.latest,
            "people": people,
            "shown": brochure.pages[number - 1],
            "actions": _actions(brochure, caller.role),
            "changes": [_change(c, products) for c in brochure.changes],
            "added_pages": {n for c in brochure.changes for n in c.pages_added},
            "queue": queue,
            "queue_next": _next_in_queue(queue, brochure.id),
            "zone_label": _zone_label(zone),
            "error": error,
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

    @property
    def any(self) -> bool:
        return any((self.edit, self.submit, self.review, self.publish, self.unpublish))


def _actions(brochure: wire.StaffBrochure, role: Role) -> Actions:
    status, approved = brochure.latest.status, brochure.latest.approved
    publishable = approved and status in (Status.APPROVED, Status.PUBLISHED, Status.UNPUBLISHED)
    return Actions(
        edit=role in AUTHORS and status is not Status.PENDING_REVIEW,
        submit=role in AUTHORS and status in (Status.DRAFT, Status.REJECTED),
        review=role in REVIEWERS and status is Status.PENDING_REVIEW,
        publish=role in PUBLISHERS and publishable,
        change_window=status is Status.PUBLISHED,
        unpublish=role in PUBLISHERS and brochure.published is not None,
    )


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


def _window_defaults(published: wire.VersionSummary, zone: ZoneInfo) -> dict[str, str]:
    def local(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""

    return {"live_from": local(published.live_from), "live_until": local(published.live_until)}


def _zone_label(zone: ZoneInfo) -> str:
    return "北京时间" if zone.key in ("Asia/Shanghai", "Asia/Chongqing", "PRC") else zone.key


# ---- actions ---------------------------------------------------------------------------------

Action = Literal["submit", "approve", "reject", "publish", "unpublish"]


@post("/brochures/{brochure_id:uuid}/submit", opt=visible_to(*AUTHORS), name="console:submit")
async def submit(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Send the working version to compliance (workflow.submit)."""
    return await _act(
        request, db, caller, console, brochure_id, "submit", "已提交合规审核。",
        lambda: workflow.submit(db, caller=caller, brochure_id=brochure_id),
    )  # fmt: skip


@post("/brochures/{brochure_id:uuid}/approve", opt=visible_to(*REVIEWERS), name="console:approve")
async def approve(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Approve exactly the content under review (workflow.approve)."""
    return await _act(
        request, db, caller, console, brochure_id, "approve", "已审核通过，可以发布了。",
        lambda: workflow.approve(db, caller=caller, brochure_id=brochure_id),
    )  # fmt: skip


@post("/brochures/{brochure_id:uuid}/reject", opt=visible_to(*REVIEWERS), name="console:reject")
async def reject(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Send the version back with the reason marketing reads (workflow.reject)."""
    reason = _text(await request.form(), "reason")
    try:  # the API's contract first (RejectRequest), then the workflow's own rule
        msgspec.convert({"reason": reason}, type=wire.RejectRequest)
    except msgspec.ValidationError:
        message = MESSAGES["brochure.reason_required"] if not reason else "退回原因最多 500 个字。"
        return await _refused(request, db, caller, console, brochure_id, "reject", message, 422)
    return await _act(
        request, db, caller, console, brochure_id, "reject", "已退回，市场部会看到退回原因。",
        lambda: workflow.reject(db, caller=caller, brochure_id=brochure_id, reason=reason),
    )  # fmt: skip


@post("/brochures/{brochure_id:uuid}/publish", opt=visible_to(*PUBLISHERS), name="console:publish")
async def publish(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Publish the approved version in a window given in the bank's time zone
    (workflow.publish); both ends optional."""
    data = await request.form()
    zone = ZoneInfo(request.app.state.settings.bank_timezone)
    try:
        window = wire.PublishRequest(
            live_from=_instant(_text(data, "live_from"), zone),
            live_until=_instant(_text(data, "live_until"), zone),
        )
    except ValueError:
        return await _refused(
            request, db, caller, console, brochure_id, "publish",
            "请按“年-月-日 时:分”填写上架和下架时间。", 422,
        )  # fmt: skip
    return await _act(
        request, db, caller, console, brochure_id, "publish", _published_message(window, zone),
        lambda: workflow.publish(db, caller=caller, brochure_id=brochure_id, window=window),
    )  # fmt: skip


@post(
    "/brochures/{brochure_id:uuid}/unpublish",
    opt=visible_to(*PUBLISHERS),
    name="console:unpublish",
)
async def unpublish(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Take the published version off the catalogue and every device (workflow.unpublish)."""
    return await _act(
        request, db, caller, console, brochure_id, "unpublish",
        "已下架：客户经理的目录和设备上不再显示。",
        lambda: workflow.unpublish(db, caller=caller, brochure_id=brochure_id),
    )  # fmt: skip


def _instant(value: str, zone: ZoneInfo) -> datetime | None:
    """A `datetime-local` value (the bank's wall-clock time) as an instant; blank: None."""
    value = value.strip()
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _published_message(window: wire.PublishRequest, zone: ZoneInfo) -> str:
    def local(value: datetime) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    start = (
        f"将于 {local(window.live_from)} 自动上架"
        if window.live_from and window.live_from > datetime.now(UTC)
        else "已上架"
    )
    end = f"，{local(window.live_until)} 自动下架" if window.live_until else "，长期有效"
    return f"已发布：{start}{end}。"


async def _act(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    console: Console,
    brochure_id: uuid.UUID,
    action: Action,
    done: str,
    change: Callable[[], Awaitable[None]],
) -> Response[Any]:
    """Run one workflow step in a savepoint; done: back where the form was (or the review
    queue's next version), refused: the same page with the workflow's reason."""
    try:
        async with db.transaction():
            await change()
    except NotFound:
        raise
    except DomainError as exc:
        return await _refused(
            request, db, caller, console, brochure_id, action, _refusal_text(exc, action),
            exc.status,
        )  # fmt: skip
    data = await request.form()
    target = _brochure_path(_text(data, "next")) or f"{LIST_PATH}/{brochure_id}"
    return console.redirect(target, flash=done)


def _brochure_path(value: str) -> str | None:
    """A console brochure path to go on to (anything else is ignored)."""
    return value if _BROCHURE_PATH.match(value) else None


def _refusal_text(exc: DomainError, action: Action) -> str:
    if exc.code == "brochure.illegal_transition":
        now = exc.extra.get("current_status")
        label = STATUS_LABELS.get(Status(now), now) if now in set(Status) else "已变化"
        verb = _ACTIONS.get("review" if action in ("approve", "reject") else action, "操作")
        return f"这本宣传册当前是“{label}”，不能{verb}。页面已显示最新状态。"
    return MESSAGES.get(exc.code, "操作未完成：内容的状态可能已被他人改变，请查看最新状态。")


async def _refused(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    console: Console,
    brochure_id: uuid.UUID,
    action: Action,
    message: str,
    status: int,
) -> Response[Any]:
    data = await request.form()
    sent = {k: v for k, v in data.items() if isinstance(v, str) and not k.startswith("_")}
    on_review = sent.get("from") == f"{QUEUE_PATH}/{brochure_id}"
    return await _brochure_page(
        request, db, caller, console, brochure_id,
        template="brochures/review.html" if on_review and caller.role in REVIEWERS
        else "brochures/detail.html",
        error=message, status=status, sent=sent, failed=action,
    )  # fmt: skip


# ---- shared ----------------------------------------------------------------------------------


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "live_labels": LIVE_LABELS,
        "risk_labels": RISK_LABELS,
    }


def _signer(request: Request[Any, Any, Any]) -> views.SignUrl:
    state = request.app.state
    ttl = state.settings.media_url_ttl_seconds
    signer = state.media_signer

    def sign(key: str) -> str:
        url: str = signer.url(key, ttl)
        return url

    return sign


def _image_store(
    request: Request[Any, Any, Any], db: Connection, caller: Caller
) -> workflow.StoreImage:
    """Page images as the API stores them (the media service), waking the rendition worker
    after the commit."""
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
    request: Request[Any, Any, Any], db: Connection, caller: Caller, brochure_id: uuid.UUID
) -> wire.StaffBrochure:
    return await views.staff_brochure(
        db, caller=caller, brochure_id=brochure_id, sign=_signer(request)
    )


async def pending_reviews(conn: Connection, caller: Caller) -> int:
    """The review queue's length, for compliance's badge in the navigation."""
    return await views.review_count(conn, caller=caller)


nav.add_badge(
    nav.BROCHURES, nav.Badge(label="待审核", roles=frozenset(REVIEWERS), count=pending_reviews)
)

PAGES = [
    brochure_list,
    new_brochure,
    create_brochure,
    review_queue,
    review_page,
    brochure_page,
    edit_brochure,
    save_brochure,
    submit,
    approve,
    reject,
    publish,
    unpublish,
]

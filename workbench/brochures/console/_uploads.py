"""Reading an upload or an edit (either shape), storing its page images, and saying why one
was refused: per field and per page image, as the form page or as JSON for its script.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.datastructures import UploadFile

from mobile_contracts.v1 import brochures as wire
from workbench.access import Caller
from workbench.brochures import workflow
from workbench.brochures.console._shared import FIELD_LABELS, MESSAGES, _text
from workbench.console import Console
from workbench.console.cookies import Flash, flash_cookie
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.media import service as media
from workbench.media.images import ImageRefused
from workbench.nul import find_nul

_TAG_SEPARATORS = re.compile(r"[,，、;；\s]+")
_AT_PATH = re.compile(r"`\$\.([a-z_]+)")


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
    latest: str | None = None  # saved meanwhile: where the latest content is (the edit form)


class PagesRefused(DomainError):
    """Some uploaded page images are not acceptable: each with its index and the API's code."""

    status, code, title = 422, "image.refused", "Page images refused"

    def __init__(self, refused: list[tuple[int, ImageRefused]]) -> None:
        super().__init__(f"{len(refused)} page image(s) refused")
        self.refused = refused


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


def _tags(text: str) -> list[str]:
    return [t for t in _TAG_SEPARATORS.split(text.strip()) if t]


# What a field the contract refuses says (msgspec: a length, a missing value, a wrong type).
_CONTRACT_TEXTS = {
    "title": "请填写标题（最多 120 个字）。",
    "product_code": "请选择产品。",
    "talk_track": "话术最多 5000 个字。",
    "tags": "最多 20 个标签，每个不超过 20 个字。",
    "pages": f"页面最多 {wire.MAX_PAGES} 页；页面列表有误时请刷新页面后重试。",
}
_NUL_TEXT = "内容中有无法保存的字符，请删除后重试。"
_CONTROL = "不可见字符或控制字符（如文字方向控制符、换行）"
# What a text the service refused says, by field and by kind (`workflow`'s messages): blank,
# invisible characters only, or characters that make it read otherwise than typed. A tag's
# text names it by its place ({n}).
_TITLE_INVISIBLE = "标题只有空格或不可见字符（如零宽空格），请填写能看到的文字。"
_TITLE_CONTROL = f"标题中有{_CONTROL}，显示出来会与输入的不同，请删除后重试。"
_SERVICE_TEXTS = {
    ("title", workflow.BLANK): _CONTRACT_TEXTS["title"],
    ("title", workflow.SHOWS_NOTHING): _TITLE_INVISIBLE,
    ("title", workflow.READS_OTHERWISE): _TITLE_CONTROL,
    ("tags", workflow.SHOWS_NOTHING): "第 {n} 个标签只有不可见字符（如零宽空格），请删除或改写。",
    ("tags", workflow.READS_OTHERWISE): f"第 {{n}} 个标签中有{_CONTROL}，请删除后重试。",
    ("talk_track", workflow.READS_OTHERWISE_LINES): (
        "话术中有不可见的控制字符或文字方向控制符（换行可以保留），显示出来会与输入的不同，"
        "请删除后重试。"
    ),
}
_FIELD_AT = re.compile(r"^\$\.meta\.([a-z_]+)(?:\[(\d+)\])?$")  # $.meta.tags[2]: tags, 2


def _invalid(detail: str) -> Refusal:
    """A field the contract refuses (msgspec's `... - at `$.title``), said for that field."""
    match = _AT_PATH.search(detail)
    name = match.group(1) if match else ""
    text = _CONTRACT_TEXTS.get(name, "提交的内容有误，请检查后重试。")
    if "NUL" in detail:
        text = _NUL_TEXT
    if name in FIELD_LABELS:
        return Refusal("请检查标红的内容。", fields={name: text})
    return Refusal(text)


def _service_invalid(errors: Sequence[Any]) -> Refusal | None:
    """The fields of the brochure the service refused (`errors[]`: a title, tags or a talk
    track that shows nothing or reads otherwise than typed, a text too long once normalised),
    each said under its field by its kind; several tags' reasons side by side. None if no
    error names a field of the form."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        at = _FIELD_AT.match(getattr(error, "path", ""))
        if at is None or (name := at.group(1)) not in FIELD_LABELS:
            continue
        text = _SERVICE_TEXTS.get((name, getattr(error, "message", "")), _CONTRACT_TEXTS[name])
        if name == "tags" and at.group(2) is not None:
            text = text.format(n=int(at.group(2)) + 1)
        if text not in fields.setdefault(name, []):
            fields[name].append(text)
    if not fields:
        return None
    return Refusal("请检查标红的内容。", fields={k: " ".join(v) for k, v in fields.items()})


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
    if fields := _service_invalid(exc.extra.get("errors") or ()):  # a blank title...
        return fields
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
    message = refusal.message
    if refusal.latest:  # the script shows the message as text: no link, so say where it is
        message += "您填写的内容仍在本页；可在新窗口中打开此编辑页面查看最新内容。"
    return Response(
        {
            "message": message,
            "fields": refusal.fields,
            "files": refusal.files,
            "latest": refusal.latest,
        },
        status_code=refusal.status,
        headers={"Cache-Control": "no-store"},
    )

"""The workflow's steps on a brochure: submit, approve, reject, publish, unpublish; each in a
savepoint, a refusal shown on the page the form came from with the workflow's reason. Each is
audited with the staff member's address, as the API's are.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, post
from litestar.params import FromPath

from mobile_contracts.v1 import brochures as wire
from workbench.access import Caller
from workbench.brochures import workflow
from workbench.brochures.console._pages import _brochure_page
from workbench.brochures.console._shared import (
    AUTHORS,
    LIST_PATH,
    MESSAGES,
    PUBLISHERS,
    QUEUE_PATH,
    REVIEWERS,
    STATUS_LABELS,
    Status,
    _text,
    client_address,
)
from workbench.console import Console, visible_to
from workbench.db import Connection
from workbench.errors import DomainError, NotFound
from workbench.http.deps import CurrentCaller, Db
from workbench.periods import YEARS, within_years
from workbench.visible import shows_something

# Where a form may send the browser on: a brochure page of the console (`next`, `from`).
_BROCHURE_PATH = re.compile(r"^/console/brochures(?:/[a-z0-9-]{1,60}){0,3}$")
_ACTIONS = {"submit": "提交审核", "review": "审核"}
_HASH = re.compile(r"[0-9a-fA-F]{64}")

Action = Literal["submit", "approve", "reject", "publish", "unpublish"]
_WINDOW_FIELDS = {"live_from": "上架时间", "live_until": "下架时间"}  # the publish form's times
# The submit form's times (the window asked for review), by the workflow's names.
_ASKED_FIELDS = {"ask_from": ("live_from", "上架时间"), "ask_until": ("live_until", "下架时间")}


@post("/brochures/{brochure_id:uuid}/submit", opt=visible_to(*AUTHORS), name="console:submit")
async def submit(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Send the working version to compliance (workflow.submit), for the window typed in the
    bank's time zone (both ends optional): the approval covers it, no more."""
    data = await request.form()
    zone = ZoneInfo(request.app.state.settings.bank_timezone)
    times, errors = _times(data, zone, {name: what for name, (_, what) in _ASKED_FIELDS.items()})
    if errors:
        return await _refused(
            request, db, caller, console, brochure_id, "submit", None, 422, errors=errors
        )
    window = wire.SubmitRequest(live_from=times["ask_from"], live_until=times["ask_until"])
    return await _act(
        request, db, caller, console, brochure_id, "submit", "已提交合规审核。",
        lambda: workflow.submit(
            db, caller=caller, brochure_id=brochure_id, window=window,
            client_ip=client_address(request),
        ),
        field_of=lambda exc: _asked_refusal(exc, window),
    )  # fmt: skip


@post("/brochures/{brochure_id:uuid}/approve", opt=visible_to(*REVIEWERS), name="console:approve")
async def approve(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Approve exactly the content shown on the page (workflow.approve): the form names it by
    its hash."""
    reviewed = _reviewed(await request.form())
    return await _act(
        request, db, caller, console, brochure_id, "approve", "已审核通过，可以发布了。",
        lambda: workflow.approve(
            db, caller=caller, brochure_id=brochure_id, content_hash=reviewed,
            client_ip=client_address(request),
        ),
    )  # fmt: skip


@post("/brochures/{brochure_id:uuid}/reject", opt=visible_to(*REVIEWERS), name="console:reject")
async def reject(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    brochure_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Send the version back with the reason marketing reads (workflow.reject), about the
    content shown on the page (named by its hash)."""
    data = await request.form()
    reason = _text(data, "reason")
    reviewed = _reviewed(data)
    try:  # the API's contract first (RejectRequest), then the workflow's own rule
        msgspec.convert({"reason": reason}, type=wire.RejectRequest)
    except msgspec.ValidationError:
        blank = not shows_something(reason)
        message = MESSAGES["brochure.reason_required"] if blank else "退回原因最多 500 个字。"
        return await _refused(
            request, db, caller, console, brochure_id, "reject", None, 422,
            errors={"reason": message},
        )  # fmt: skip
    return await _act(
        request, db, caller, console, brochure_id, "reject", "已退回，市场部会看到退回原因。",
        lambda: workflow.reject(
            db, caller=caller, brochure_id=brochure_id, reason=reason, content_hash=reviewed,
            client_ip=client_address(request),
        ),
        field_of=_reason_refusal,
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
    times, errors = _times(data, zone, _WINDOW_FIELDS)
    if errors:
        return await _refused(
            request, db, caller, console, brochure_id, "publish", None, 422, errors=errors
        )
    window = wire.PublishRequest(live_from=times["live_from"], live_until=times["live_until"])
    return await _act(
        request, db, caller, console, brochure_id, "publish", _published_message(window, zone),
        lambda: workflow.publish(
            db, caller=caller, brochure_id=brochure_id, window=window,
            client_ip=client_address(request),
        ),
        field_of=lambda exc: _window_refusal(exc, window),
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
    """Take the published version off the catalogue and every device (workflow.unpublish):
    compliance withdraws it with the reason marketing reads (its approval void), marketing
    pauses it (a reason optional, the approval kept)."""
    reason = _text(await request.form(), "unpublish_reason")
    withdrawal = caller.role in workflow.WITHDRAWERS
    if withdrawal and not shows_something(reason):
        return await _refused(
            request, db, caller, console, brochure_id, "unpublish", None, 422,
            errors={"unpublish_reason": MESSAGES["withdraw.reason_required"]},
        )  # fmt: skip
    done = (
        "已撤回：客户经理的目录、设备和已分享的链接都不再显示；市场部需重新提交审核，通过后才能再发布。"
        if withdrawal
        else "已下架：客户经理的目录和设备上不再显示。"
    )
    return await _act(
        request, db, caller, console, brochure_id, "unpublish", done,
        lambda: workflow.unpublish(
            db, caller=caller, brochure_id=brochure_id, reason=reason or None,
            client_ip=client_address(request),
        ),
        field_of=_unpublish_refusal,
    )  # fmt: skip


def _times(
    data: Any, zone: ZoneInfo, fields: dict[str, str]
) -> tuple[dict[str, datetime | None], dict[str, str]]:
    """A form's times (`fields`: name and what it is), typed in the bank's time zone, and what
    is wrong with any of them, by name."""
    times: dict[str, datetime | None] = {}
    errors: dict[str, str] = {}
    for name, what in fields.items():
        try:
            times[name] = _instant(_text(data, name), zone)
        except (ValueError, OverflowError):  # not a time, or a year 1 before UTC
            errors[name] = f"请按“年-月-日 时:分”填写{what}。"
            continue
        moment = times[name]
        if moment is not None and not within_years(moment):
            errors[name] = f"{what}须在 {YEARS[0]} 至 {YEARS[1]} 年之间。"
    return times, errors


def _asked_refusal(exc: DomainError, window: wire.SubmitRequest) -> dict[str, str] | None:
    """The workflow's refusal of the window asked for review, beside its end; None for a
    refusal of the submission itself."""
    if exc.code != "brochure.bad_window":
        return None
    start, end = window.live_from, window.live_until
    if end is not None and start is not None and end <= start:
        return {"ask_until": "下架时间必须晚于上架时间。"}
    if end is not None and end <= datetime.now(UTC):
        return {"ask_until": "下架时间必须晚于现在。"}
    return {"ask_until": MESSAGES[exc.code]}


def _unpublish_refusal(exc: DomainError) -> dict[str, str] | None:
    """The workflow's refusal of a withdrawal's or a pause's reason, beside it; None for a
    refusal of the unpublishing itself."""
    if exc.code == "brochure.reason_required":
        return {"unpublish_reason": MESSAGES["withdraw.reason_required"]}
    paths = [getattr(e, "path", "") for e in exc.extra.get("errors") or []]
    if "$.reason" in paths:
        return {"unpublish_reason": "原因最多 500 个字，且不能含控制字符或文字方向控制符。"}
    return None


def _reviewed(data: Any) -> bytes | None:
    """The content the decision form was shown with (its `content_hash` field); anything but a
    hash names no content there is (refused as changed). None: a form without the field (one
    rendered before the field existed), deciding on the content under review now, as the API
    does for older apps."""
    if "content_hash" not in data:
        return None
    value = _text(data, "content_hash").strip()
    return bytes.fromhex(value) if _HASH.fullmatch(value) else b""


def _instant(value: str, zone: ZoneInfo) -> datetime | None:
    """A `datetime-local` value (the bank's wall-clock time) as an instant; blank: None."""
    value = value.strip()
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _reason_refusal(exc: DomainError) -> dict[str, str] | None:
    """The workflow's refusal of a reason (one that shows nothing once trimmed: only spaces or
    invisible characters), said under the reason; None for a refusal of the decision."""
    if exc.code == "brochure.reason_required":
        return {"reason": MESSAGES[exc.code]}
    return None


def _window_refusal(exc: DomainError, window: wire.PublishRequest) -> dict[str, str] | None:
    """The workflow's refusal of a window, by the time it concerns (`errors[].path`); None for
    a refusal of no time (a version not approved...)."""
    if exc.code != "brochure.bad_window":
        return None
    paths = [getattr(e, "path", "") for e in exc.extra.get("errors") or []]
    name = next((p[2:] for p in paths if p[2:] in _WINDOW_FIELDS), "live_until")
    if name == "live_until" and window.live_until is not None:
        start = window.live_from
        if start is not None and window.live_until <= start:
            return {name: "下架时间必须晚于上架时间。"}
        if window.live_until <= datetime.now(UTC):
            return {name: "下架时间必须晚于现在。"}
    return {name: MESSAGES[exc.code]}


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
    *,
    field_of: Callable[[DomainError], dict[str, str] | None] = lambda exc: None,
) -> Response[Any]:
    """Run one workflow step in a savepoint; done: back where the form was (or the review
    queue's next version), refused: the same page with the workflow's reason (beside the field
    it concerns when `field_of` names one, else above the page)."""
    try:
        async with db.transaction():
            await change()
    except NotFound:
        raise
    except DomainError as exc:
        errors = field_of(exc)
        if exc.code == "brochure.content_changed":  # the page again, with the current content
            return await _refused(
                request, db, caller, console, brochure_id, action, MESSAGES[exc.code],
                exc.status, content_changed=True,
            )  # fmt: skip
        if errors:
            return await _refused(
                request, db, caller, console, brochure_id, action, None, exc.status,
                errors=errors,
            )  # fmt: skip
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
    message: str | None,
    status: int,
    *,
    errors: dict[str, str] | None = None,
    content_changed: bool = False,
) -> Response[Any]:
    """The page the form came from again, with the form as sent: `message` above the page, or
    `errors` beside the fields they name (the decision forms always name the current content:
    `content_changed` says the one sent was not)."""
    data = await request.form()
    sent = {k: v for k, v in data.items() if isinstance(v, str) and not k.startswith("_")}
    on_review = sent.get("from") == f"{QUEUE_PATH}/{brochure_id}"
    return await _brochure_page(
        request, db, caller, console, brochure_id,
        template="brochures/review.html" if on_review and caller.role in REVIEWERS
        else "brochures/detail.html",
        error=message, errors=errors, status=status, sent=sent, failed=action,
        content_changed=content_changed,
    )  # fmt: skip

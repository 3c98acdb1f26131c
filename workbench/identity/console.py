"""The device pages of the staff console (/console/devices): a branch head (or an admin) finds a
lost phone, tablet or browser among the devices of their subtree's staff, revokes it after a
confirmation that says what happens, and restores it once found. Every page calls the identity
services with the console's `Caller`, so scope and rules are the API's: a device of another
subtree is the 404 page, and the service records the audit events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter

from mobile_contracts.v1 import identity as wire
from workbench.console import Console, nav, visible_to
from workbench.errors import DomainError
from workbench.http.deps import CurrentCaller, Db
from workbench.identity import devices, staff
from workbench.identity.admin_console.forms import client_address
from workbench.pagination import decode_cursor, encode_cursor

LIST_PATH = "/console/devices"
ROLES = nav.DEVICES.roles
PAGE_ROWS = 30
PLATFORM_LABELS = {
    wire.Platform.IOS: "iOS",
    wire.Platform.ANDROID: "Android",
    wire.Platform.HARMONY: "鸿蒙",
    wire.Platform.WEB: "浏览器",
}
# The state chips: query value -> (label, state filter).
STATE_FILTERS: dict[str, tuple[str, wire.DeviceState | None]] = {
    "": ("全部", None),
    "active": ("使用中", wire.DeviceState.ACTIVE),
    "revoked": ("已停用", wire.DeviceState.REVOKED),
}


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def ago(when: datetime, now: datetime) -> str:
    """ "刚刚" / "5 分钟前" / "3 小时前" / "2 天前" / "4 个月前": how long ago, roughly."""
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "刚刚"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} 分钟前"
    if minutes < 24 * 60:
        return f"{minutes // 60} 小时前"
    days = minutes // (24 * 60)
    if days < 31:
        return f"{days} 天前"
    return f"{days // 30} 个月前" if days < 365 else f"{days // 365} 年前"


def device_label(item: wire.DeviceListItem) -> str:
    """ "iOS · iPhone 15" / "浏览器 · Chrome · Windows": what the device is, in a few words."""
    platform = PLATFORM_LABELS.get(item.platform, item.platform.value)
    return f"{platform} · {item.model}" if item.model else platform


def _back(value: str | None) -> str:
    """The device list (with its filters) to return to; anything else is the plain list."""
    if not value or len(value) > 500 or "\\" in value or any(ord(c) < 32 for c in value):
        return LIST_PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path != LIST_PATH:
        return LIST_PATH
    return value


def _device_path(device_id: str, action: str = "") -> str:
    # Device ids hold only letters, digits and `._:-` (the contract), all safe in a path.
    return f"{LIST_PATH}/{device_id}" + (f"/{action}" if action else "")


@get(LIST_PATH.removeprefix("/console"), opt=visible_to(*ROLES), name="console:devices")
async def device_list(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    q: Annotated[str | None, QueryParameter(max_length=100)] = None,
    state_filter: Annotated[str | None, QueryParameter(name="state", max_length=20)] = None,
    unit: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[Any]:
    """Devices of the caller's subtree (an admin: all), the most recently seen first, filtered."""
    now = datetime.now(UTC)
    chosen = state_filter if state_filter in STATE_FILTERS else ""
    text = (q or "").strip()
    units = await staff.list_org_units(db, caller=caller)
    unit_id = _uuid(unit)
    if unit_id not in {u.id for u in units}:
        unit_id = None
    try:
        after = decode_cursor(cursor, tuple[datetime, str])
    except DomainError:
        after = None  # a cursor mangled in the address bar: the first page
    found = await devices.list_devices(
        db, caller=caller, q=text or None, state=STATE_FILTERS[chosen][1], org_unit_id=unit_id,
        after=after, limit=PAGE_ROWS + 1,
    )  # fmt: skip
    more, found = len(found) > PAGE_ROWS, found[:PAGE_ROWS]
    filters = {"q": text, "state": chosen, "unit": str(unit_id or "")}
    query = urlencode({k: v for k, v in filters.items() if v})
    here = f"{LIST_PATH}?{query}" if query else LIST_PATH
    next_url = None
    if more:
        key = encode_cursor([found[-1].last_seen_at, found[-1].device_id])
        next_url = (
            f"{LIST_PATH}?{urlencode({**{k: v for k, v in filters.items() if v}, 'cursor': key})}"
        )
    top = min((u.depth for u in units), default=0)
    return console.render(
        "devices/list.html",
        {
            "items": [_row(item, caller.device_id, now, here) for item in found],
            "filters": filters,
            "state_chips": [
                {
                    "label": label,
                    "href": LIST_PATH
                    + (
                        "?" + urlencode(p)
                        if (p := {k: v for k, v in {**filters, "state": key}.items() if v})
                        else ""
                    ),
                    "current": key == chosen,
                }
                for key, (label, _) in STATE_FILTERS.items()
            ],
            "units": [{"id": str(u.id), "name": u.name, "depth": u.depth - top} for u in units],
            "filtered": bool(text or unit_id or chosen),
            "next_url": next_url,
            "first_url": here if after else None,
            "whole_bank": caller.scope_root is None,
        },
    )


def _row(item: wire.DeviceListItem, own_device: str, now: datetime, back: str) -> dict[str, Any]:
    return {
        "d": item,
        "label": device_label(item),
        "seen_ago": ago(item.last_seen_at, now),
        "revoked_ago": ago(item.revoked_at, now) if item.revoked_at else "",
        "this_browser": item.device_id == own_device,
        "revoke_url": _device_path(item.device_id, "revoke") + "?" + urlencode({"back": back}),
        "restore_url": _device_path(item.device_id, "restore"),
        "back": back,
    }


@get(
    LIST_PATH.removeprefix("/console") + "/{device_id:str}/revoke",
    opt=visible_to(*ROLES),
    name="console:device-revoke-confirm",
)
async def confirm_revoke(
    db: Db,
    caller: CurrentCaller,
    console: Console,
    device_id: FromPath[str],
    back: Annotated[str | None, QueryParameter(max_length=500)] = None,
) -> Response[Any]:
    """What revoking this device does, and the button that does it."""
    item = await devices.device(db, caller=caller, device_id=device_id)
    to = _back(back)
    if item.state is wire.DeviceState.REVOKED:
        return console.redirect(to, flash=f"{item.user.name}的 {device_label(item)} 已经停用。",
                                kind="info")  # fmt: skip
    now = datetime.now(UTC)
    return console.render(
        "devices/revoke.html",
        {
            **_row(item, caller.device_id, now, to),
            "first_seen_ago": ago(item.first_seen_at, now),
            "action": _device_path(device_id, "revoke"),
        },
    )


@post(
    LIST_PATH.removeprefix("/console") + "/{device_id:str}/revoke",
    opt=visible_to(*ROLES),
    name="console:device-revoke",
)
async def revoke(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    device_id: FromPath[str],
) -> Response[Any]:
    """Revoke the device (the API's service: tokens stop everywhere, the app wipes its data)."""
    form = await request.form()
    item = await devices.device(db, caller=caller, device_id=device_id)
    if item.revoked_at is not None:  # a stale page: someone revoked it meanwhile
        return console.redirect(
            _back(_text(form, "back")),
            flash=f"{item.user.name}的 {device_label(item)} 已经停用，无需再次操作。",
            kind="info",
        )
    revoked = await devices.revoke_device(
        db, auth=request.app.state.auth, caller=caller, device_id=device_id,
        client_ip=client_address(request),
    )  # fmt: skip
    ended = "其会话已立即失效，" if revoked.sessions_ended else ""
    return console.redirect(
        _back(_text(form, "back")),
        flash=f"已停用 {item.user.name}的 {device_label(item)}：{ended}"
        "App 下次联网时会清除本机数据；找回后可在此恢复。",
    )


@post(
    LIST_PATH.removeprefix("/console") + "/{device_id:str}/restore",
    opt=visible_to(*ROLES),
    name="console:device-restore",
)
async def restore(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    device_id: FromPath[str],
) -> Response[Any]:
    """Let the device sign in again (its old tokens stay dead)."""
    form = await request.form()
    item = await devices.device(db, caller=caller, device_id=device_id)
    await devices.restore_device(
        db, auth=request.app.state.auth, caller=caller, device_id=device_id,
        client_ip=client_address(request),
    )  # fmt: skip
    return console.redirect(
        _back(_text(form, "back")),
        flash=f"已恢复 {item.user.name}的 {device_label(item)}：重新登录后即可使用。",
    )


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


PAGES = [device_list, confirm_revoke, revoke, restore]

"""The offline-package page of the staff console (/console/packages, admins): per app id its H5
packages, its gray releases with the forms to release, widen, pause, resume and roll back, the
adoption of each version (devices reporting it) and the devices still on a rolled-back version.
Every form goes through the release service, so the rules and audit are exactly the API's."""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from mobile_contracts.v1 import offline_releases as wire
from sync.packages import releases
from sync.packages.gray_release import queries
from sync.packages.store import package_signer
from workbench.console import Console, nav, visible_to
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db

PATH = "/packages"
PAGE = f"/console{PATH}"
PACKAGES_PER_APP = 20  # the highest versions listed per app id (with every open release's)
MAX_ROLLED_BACK_DEVICES = 200
FIRST_PERCENT = "10"  # the release form's percentage for a version not released yet
ROLES = nav.PACKAGES.roles
STATE_LABELS = {"active": "发布中", "paused": "已暂停", "rolled_back": "已回滚"}
MOVE_LABELS = {"pause": "已暂停", "resume": "已恢复", "rollback": "已回滚"}
MESSAGES = {
    "offline_release.narrowing": "灰度比例只能扩大，不能缩小。如需停止，请暂停或回滚。",
    "offline_release.invalid": "请填写灰度比例，或选择机构、填写员工账号。",
    "offline_release.state": "该发布当前的状态不允许这个操作，请刷新后重试。",
    "offline_release.not_found": "这个安装包还没有发布。",
    "offline_package.not_found": "没有这个安装包。",
}
BAD_PACKAGE = "请选择要发布的版本。"
BAD_PERCENT = "请填写 0–100 之间的灰度比例（最多两位小数）。"
BAD_UNITS = "所选机构不存在，请重新选择。"
# The release form's fields in page order: the first one refused gets the focus.
FIELDS = ("package_id", "percent", "units", "logins")
_LOGINS = re.compile(r"[\s,，;；、]+")


@dataclass(frozen=True, slots=True)
class Refused:
    """A release form sent back: the app id whose form it was (None: not known), what was
    typed in it, and the message per field (`FIELDS`)."""

    app_id: str | None
    sent: dict[str, Any]
    errors: dict[str, str]

    @property
    def first(self) -> str | None:
        """The first field refused, in page order (it gets the focus)."""
        return next((name for name in FIELDS if name in self.errors), None)


def _text(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _size(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


async def _apps(db: Connection) -> list[dict[str, Any]]:
    packages = await queries.h5_packages(db, per_app=PACKAGES_PER_APP)
    app_ids = list(dict.fromkeys(p["app_id"] for p in packages))
    rels = await queries.releases_of_apps(db, app_ids, package_ids=[p["id"] for p in packages])
    names = await queries.names_of(
        db,
        units=[u for r in rels for u in r["org_unit_ids"]],
        users=[u for r in rels for u in r["user_ids"]],
    )
    adoption = await queries.adoption(db, app_ids)
    stale = await queries.on_rolled_back(db, app_ids, limit=MAX_ROLLED_BACK_DEVICES)
    now = datetime.now(UTC)
    expired = {p["id"] for p in packages if p["expires_at"] <= now}
    open_state = {r["package_id"]: r["state"] for r in rels if r["state"] != "rolled_back"}
    # The open release's percentage prefills the form: a release is only widened, so a form
    # starting at 10 % refused widening one at 50 % by an org unless the admin retyped it.
    open_percent = {
        r["package_id"]: f"{float(r['percent']):g}" for r in rels if r["state"] != "rolled_back"
    }
    rolled_back = {r["package_id"] for r in rels if r["state"] == "rolled_back"}
    apps = []
    for app_id in app_ids:
        counts = [a for a in adoption if a["app_id"] == app_id]
        total = sum(a["devices"] for a in counts) or 1
        apps.append(
            {
                "app_id": app_id,
                "packages": [
                    {
                        "p": p,
                        "size": _size(p["size"]),
                        "state": open_state.get(p["id"])
                        or ("rolled_back" if p["id"] in rolled_back else None),
                        "percent": open_percent.get(p["id"]),
                        "expired": p["id"] in expired,
                    }
                    for p in packages
                    if p["app_id"] == app_id
                ],
                # The form selects the newest version: its open percentage, or 10 % to start.
                "default_percent": next(
                    (open_percent.get(p["id"]) for p in packages if p["app_id"] == app_id), None
                )
                or FIRST_PERCENT,
                "releases": [
                    {
                        "r": r,
                        "units": [names.get(u, str(u)) for u in r["org_unit_ids"]],
                        "users": [names.get(u, str(u)) for u in r["user_ids"]],
                        "percent": f"{float(r['percent']):g}",
                        # An expired package is not answered to devices, even when released.
                        "expired": r["package_id"] in expired,
                    }
                    for r in rels
                    if r["app_id"] == app_id
                ],
                "adoption": [
                    {
                        "version": a["version"],
                        "devices": a["devices"],
                        "share": round(100 * a["devices"] / total),
                        "last": a["last_reported"],
                        "rolled_back": a["rolled_back"],
                    }
                    for a in counts
                ],
                "stale": [s for s in stale if s["app_id"] == app_id],
            }
        )
    return apps


def _form_of(apps: list[dict[str, Any]], refused: Refused) -> int | None:
    """The place (1..) on the page of the app whose release form was sent back: the app id the
    form names, else the app of the version chosen in it; None when neither is on the page."""
    for n, app in enumerate(apps, 1):
        if refused.app_id and app["app_id"] == refused.app_id:
            return n
    chosen = refused.sent.get("package_id")
    for n, app in enumerate(apps, 1):
        if any(str(it["p"]["id"]) == chosen for it in app["packages"]):
            return n
    return None


async def _page(
    db: Connection, console: Console, *, refused: Refused | None = None, status: int = 200
) -> Response[Any]:
    """The page; with `refused`, that release form is shown again with what was typed in it and
    each message under its field (the other apps' forms as always)."""
    apps = await _apps(db)
    place = _form_of(apps, refused) if refused else None
    return console.render(
        "packages/index.html",
        {
            "apps": apps,
            "units": await queries.org_units(db),
            "state_labels": STATE_LABELS,
            "refused": refused if place else None,
            "refused_place": place,
            # A form that is not on the page (an app id gone, a version of none): said on top.
            "error": "".join(refused.errors.values()) if refused and not place else None,
        },
        status=status,
    )


@get(PATH, opt=visible_to(*ROLES), name="console:packages")
async def package_page(db: Db, console: Console) -> Response[Any]:
    """Packages, releases, adoption and devices on a rolled-back version, per app id."""
    return await _page(db, console)


def _sent_percent(text: str) -> float | None:
    """The percentage typed (empty: 0), or None when it is not one from 0 to 100."""
    try:
        value = float(text or 0)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 <= value <= 100 else None


def _field_of(error: DomainError) -> str:
    """The release form field a refusal of the release service is about."""
    if error.code == "offline_release.invalid":
        detail = error.detail or ""
        if "org_unit_ids" in detail:
            return "units"
        if "user_ids" in detail:
            return "logins"
        return "percent"
    if error.code == "offline_release.narrowing":
        return "percent"
    return "package_id"


@post(PATH + "/release", opt=visible_to(*ROLES), name="console:package-release")
async def release_package(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Release a package version, or widen its release (release service). A refusal shows the
    form that was sent again, with what was typed and the reason under the field at fault."""
    form = await request.form()
    sent: dict[str, Any] = {
        "app_id": _text(form, "app_id", 100),
        "package_id": _text(form, "package_id", 40),
        "percent": _text(form, "percent", 10),
        "units": [u for u in form.getall("org_unit_ids", []) if isinstance(u, str)][:200],
        "logins": _text(form, "logins", 4000),
    }

    async def refuse(errors: dict[str, str], status: int = 422) -> Response[Any]:
        refused = Refused(app_id=sent["app_id"] or None, sent=sent, errors=errors)
        return await _page(db, console, refused=refused, status=status)

    errors: dict[str, str] = {}
    try:
        package_id = uuid.UUID(sent["package_id"])
    except ValueError:
        errors["package_id"] = BAD_PACKAGE
    percent = _sent_percent(sent["percent"])
    if percent is None:
        errors["percent"] = BAD_PERCENT
    try:
        units = [uuid.UUID(u) for u in sent["units"]]
    except ValueError:
        errors["units"] = BAD_UNITS
    logins = [x for x in _LOGINS.split(sent["logins"]) if x]
    found = await queries.users_by_login(db, logins) if logins else {}
    missing = [x for x in logins if x.lower() not in found]
    if missing:
        errors["logins"] = f"没有这些员工账号：{'、'.join(missing[:10])}。"
    if errors:
        return await refuse(errors)
    try:
        request_ = msgspec.convert(
            {
                "percent": percent,
                "org_unit_ids": units,
                "user_ids": [found[x.lower()] for x in logins],
            },
            wire.ReleaseRequest,
        )
    except msgspec.ValidationError as exc:  # too many units or staff for one release
        field = "units" if "org_unit_ids" in str(exc) else "logins"
        return await refuse({field: f"一次最多选择 {wire.MAX_RELEASE_UNITS} 个机构、"
                                    f"{wire.MAX_RELEASE_USERS} 名员工。"})  # fmt: skip
    try:
        async with db.transaction():
            done = await releases.release(
                db,
                caller=caller,
                package_id=package_id,
                request=request_,
                client_ip=request_ip(request),
            )
    except DomainError as exc:
        message = MESSAGES.get(exc.code, "发布未保存，请检查后重试。")
        return await refuse({_field_of(exc): message}, status=exc.status)
    return console.redirect(
        PAGE,
        flash=f"{done.app_id} 版本 {done.version} 已发布：灰度 {done.percent:g}%，"
        f"{len(done.org_unit_ids)} 个机构，{len(done.user_ids)} 名员工。",
    )


@post(
    PATH + "/{package_id:uuid}/{action:str}",
    opt=visible_to(*ROLES),
    name="console:package-release-move",
)
async def move_release(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    package_id: FromPath[uuid.UUID],
    action: FromPath[str],
) -> Response[Any]:
    """Pause, resume or roll back a package's release (release service)."""
    if action not in MOVE_LABELS:
        return console.redirect(PAGE, flash="没有这个操作。", kind="error")
    ip = request_ip(request)
    try:
        async with db.transaction():
            if action == "rollback":
                restorer = releases.Restorer(
                    request.app.state.blobs, package_signer(request.app.state.settings)
                )
                done = await releases.roll_back(
                    db, caller=caller, package_id=package_id, client_ip=ip, restorer=restorer
                )
                return console.redirect(PAGE, flash=rollback_message(done))
            moved = await releases.move(
                db, caller=caller, package_id=package_id, action=action, client_ip=ip
            )
    except DomainError as exc:
        return console.redirect(
            PAGE, flash=MESSAGES.get(exc.code, "操作未完成，请刷新后重试。"), kind="error"
        )
    return console.redirect(
        PAGE, flash=f"{moved.app_id} 版本 {moved.version} {MOVE_LABELS[action]}。"
    )


def rollback_message(done: releases.RollbackDone) -> str:
    """What the rollback actually did: the admin must not read "devices go back" when they do
    not (a higher release stays, nothing lies below, or a file could not be read)."""
    version = done.release.version
    head = f"{done.release.app_id} 版本 {version} 已回滚"
    unreadable = "、".join(str(v) for v in done.unreadable_versions)
    broken = f"版本 {unreadable} 的安装包文件无法读取，未能回退到它。" if unreadable else ""
    if done.rolled_forward:
        issued = "、".join(
            f"版本 {f.version}（版本 {f.files_of_version} 的文件）" for f in done.rolled_forward
        )
        return (
            f"{head}：已重新签名发布 {issued}，原受众中在版本 {version} 上的设备"
            f"下次检查更新时将更新到其中对应的版本。{broken}"
        )
    if done.higher_open_version is not None:
        why = (
            f"更高的版本 {done.higher_open_version} 仍在发布，"
            "为不让其设备退回旧文件，没有重新发布旧版本"
        )
    elif broken:
        why = broken.rstrip("。")
    else:
        why = "没有可以回退到的更早发布"
    return f"{head}，仅撤回：{why}；在版本 {version} 上的设备保留现有版本，直到收到更高版本。"


PAGES = [package_page, release_package, move_release]

"""The offline-package page of the staff console (/console/packages, admins): per app id its H5
packages, its gray releases with the forms to release, widen, pause, resume and roll back, the
adoption of each version (devices reporting it) and the devices still on a rolled-back version.
Every form goes through the release service, so the rules and audit are exactly the API's."""

from __future__ import annotations

import re
import uuid
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
from workbench.http.client_ip import client_ip
from workbench.http.deps import CurrentCaller, Db

PATH = "/packages"
PAGE = f"/console{PATH}"
MAX_PACKAGES = 300
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
_LOGINS = re.compile(r"[\s,，;；、]+")


def _text(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _size(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


async def _apps(db: Connection) -> list[dict[str, Any]]:
    packages = await queries.h5_packages(db, limit=MAX_PACKAGES)
    app_ids = list(dict.fromkeys(p["app_id"] for p in packages))
    rels = await queries.releases_of_apps(db, app_ids)
    names = await queries.names_of(
        db,
        units=[u for r in rels for u in r["org_unit_ids"]],
        users=[u for r in rels for u in r["user_ids"]],
    )
    adoption = await queries.adoption(db, app_ids)
    stale = await queries.on_rolled_back(db, app_ids, limit=MAX_ROLLED_BACK_DEVICES)
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
        rolled_versions = {
            r["version"] for r in rels if r["app_id"] == app_id and r["state"] == "rolled_back"
        }
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
                        "rolled_back": a["version"] in rolled_versions,
                    }
                    for a in counts
                ],
                "stale": [s for s in stale if s["app_id"] == app_id],
            }
        )
    return apps


async def _page(
    db: Connection,
    console: Console,
    *,
    error: str | None = None,
    sent: dict[str, Any] | None = None,
    status: int = 200,
) -> Response[Any]:
    return console.render(
        "packages/index.html",
        {
            "apps": await _apps(db),
            "units": await queries.org_units(db),
            "state_labels": STATE_LABELS,
            "error": error,
            "sent": sent or {},
        },
        status=status,
    )


@get(PATH, opt=visible_to(*ROLES), name="console:packages")
async def package_page(db: Db, console: Console) -> Response[Any]:
    """Packages, releases, adoption and devices on a rolled-back version, per app id."""
    return await _page(db, console)


@post(PATH + "/release", opt=visible_to(*ROLES), name="console:package-release")
async def release_package(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Release a package version, or widen its release (release service)."""
    form = await request.form()
    sent: dict[str, Any] = {
        "package_id": _text(form, "package_id", 40),
        "percent": _text(form, "percent", 10),
        "units": [u for u in form.getall("org_unit_ids", []) if isinstance(u, str)][:200],
        "logins": _text(form, "logins", 4000),
    }
    logins = [x for x in _LOGINS.split(sent["logins"]) if x]
    found = await queries.users_by_login(db, logins) if logins else {}
    missing = [x for x in logins if x.lower() not in found]
    if missing:
        return await _page(
            db, console, sent=sent, status=422,
            error=f"没有这些员工账号：{'、'.join(missing[:10])}。",
        )  # fmt: skip
    try:
        package_id = uuid.UUID(sent["package_id"])
        request_ = msgspec.convert(
            {
                "percent": float(sent["percent"] or 0),
                "org_unit_ids": sent["units"],
                "user_ids": [str(found[x.lower()]) for x in logins],
            },
            wire.ReleaseRequest,
        )
    except (ValueError, msgspec.ValidationError):
        return await _page(
            db, console, sent=sent, status=422,
            error="请选择版本，并填写 0–100 之间的灰度比例（最多两位小数）。",
        )  # fmt: skip
    try:
        async with db.transaction():
            done = await releases.release(
                db,
                caller=caller,
                package_id=package_id,
                request=request_,
                client_ip=client_ip(request.scope, request.app.state.trusted_networks),
            )
    except DomainError as exc:
        if exc.status == 404:
            raise
        message = MESSAGES.get(exc.code, "发布未保存，请检查后重试。")
        return await _page(db, console, sent=sent, status=exc.status, error=message)
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
    ip = client_ip(request.scope, request.app.state.trusted_networks)
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

"""What an app asks of H5 offline packages: the package it should have now (`latest`, with a
diff from the one it has) and the report of what it installed. The release rules that decide
it are `sync.packages.releases`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from mobile_contracts.v1 import offline_releases as wire
from sync.packages import diffs
from sync.packages.gray_release import queries
from sync.packages.releases import bucket
from workbench.access import Caller
from workbench.app_version import AppVersion
from workbench.db import Connection
from workbench.errors import NotFound, ServiceUnavailable
from workbench.http.auth import parse_sent
from workbench.media.store import BlobStore

log = logging.getLogger("sync.packages.updates")


def app_version_of(sent: str | None) -> AppVersion | None:
    """The app version an app sent in `X-App-Version` (None when it sent none); one that is not
    a version is refused (400 `app.bad_version`), read as the app version guard reads it."""
    return None if sent is None else parse_sent(sent)


async def latest(
    conn: Connection,
    *,
    caller: Caller,
    app_id: str,
    current: str | None,
    blobs: BlobStore,
    package_url: Callable[[uuid.UUID], str],
    app_version: str | None = None,
    now: datetime | None = None,
) -> wire.LatestPackage:
    """The package this caller should have for the app id, with a diff from `current` when one
    is offered (`available: false` when no release includes them). Call it outside a
    transaction: offering a diff may build it (`sync.packages.diffs.offer`).

    Only a package the device would install: one whose manifest has not expired (at `now`) and,
    when the app said its version (`app_version`, its `X-App-Version` as sent), whose minimum app
    version is at most that (compared as `workbench.app_version` says: 1.10.0 is above 1.9.0,
    3.2.0-beta.1 below 3.2.0). Among
    the releases including the caller, the highest such version is answered; a higher one the
    app cannot run yet is skipped, not answered to be refused at every check. Without an app
    version, the minimum is not looked at (as before apps sent it).

    Never a lower version than `current` when it names a package the server issued for the app
    id: a device refuses any version not above the one it has, so after a pause, or a rollback
    with nothing to roll forward to, the device is answered its own package, `up_to_date`
    (with `current_withdrawn` telling it that package was rolled back)."""
    bucket_ = bucket(app_id, caller.user_id)
    row = await queries.package_for_user(
        conn, app_id=app_id, user_id=caller.user_id, org_unit_id=caller.org_unit_id,
        bucket=bucket_, app_version=app_version_of(app_version), now=now or datetime.now(UTC),
    )  # fmt: skip
    withdrawn = bool(current) and await queries.withdrawn(conn, app_id=app_id, sha256=current or "")
    if row is None:
        return wire.LatestPackage(available=False, current_withdrawn=withdrawn)
    if current and current != row["sha256"]:
        installed = await queries.issued_package(conn, app_id=app_id, sha256=current)
        if installed is not None and installed["version"] > row["version"]:
            row = installed  # nothing newer for this device
    answer = wire.LatestPackage(
        version=row["version"],
        url=package_url(row["id"]),
        sha256=row["sha256"],
        size=row["size"],
        signature=row["signature"],
        key_id=row["key_id"],
        up_to_date=current == row["sha256"],
        current_withdrawn=withdrawn,
    )
    if not answer.up_to_date and current:
        await _offer_diff(conn, blobs, answer, target_id=row["id"], current=current)
    return answer


async def _offer_diff(
    conn: Connection, blobs: BlobStore, answer: wire.LatestPackage, *, target_id: uuid.UUID,
    current: str,
) -> None:  # fmt: skip
    """Add the diff from `current` to the answer when one is offered (a blob store outage only
    costs the diff: the full package still downloads)."""
    try:
        diff = await diffs.offer(conn, blobs, target_package_id=target_id, installed_sha256=current)
    except ServiceUnavailable as exc:
        log.warning("no diff offered for %s: %s", answer.url, type(exc).__name__)
        return
    if diff is not None:
        answer.diff_url = diff.url
        answer.diff_sha256 = diff.sha256
        answer.diff_size = diff.size


async def report_install(
    conn: Connection, *, caller: Caller, report: wire.InstallReport
) -> wire.Install:
    """Record the package the caller's device installed for an app id (one row per device).

    Only a package `latest` could have answered the caller is accepted: one with a release
    (active, paused or rolled back) that includes them. Any signed-in user may download any H5
    package, but adoption counts what releases reached; a report of a package never released to
    the caller (an East-only package from a head-office user) is 404 and changes nothing."""
    package = await queries.offered_package(
        conn, app_id=report.app_id, version=report.version, sha256=report.sha256,
        user_id=caller.user_id, org_unit_id=caller.org_unit_id,
        bucket=bucket(report.app_id, caller.user_id),
    )  # fmt: skip
    if package is None:
        raise NotFound(
            "offline_package",
            "No H5 package of that app id, version and SHA-256 was released to you",
        )
    row = await queries.upsert_install(
        conn,
        device_id=caller.device_id,
        user_id=caller.user_id,
        app_id=report.app_id,
        version=report.version,
        sha256=report.sha256,
    )
    if row is None:
        raise NotFound("device")
    return wire.Install(**dict(row))

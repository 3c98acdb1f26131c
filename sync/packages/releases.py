"""Gray release and rollback of H5 offline packages, the `latest` resolution and install reports.

A release sends one package version of an app id to a sticky percentage of users, to org
subtrees and to listed users. A user's bucket is `int(SHA-256(app_id + ":" + user_id)[:8], 16)
% 10000`, and they are in when `bucket < percent x 100`: fixed per user and app id, so a user in at
10 % is in at 20 %. A release is widened (a higher percentage, more units and users; never
narrowed), paused and resumed, and rolled back for good. `latest` answers the highest version
among the active releases that include the caller, so after a rollback (or a pause) it answers
the previous active release's package again, or nothing.

Everything is read from PostgreSQL on every request (nothing is cached in a process), so a
change is visible on every API instance at once.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg

from mobile_contracts.v1 import offline_releases as wire
from sync.packages import diffs
from sync.packages.archive import PackageFile
from sync.packages.gray_release import queries
from sync.packages.manifest import PackageSigner
from sync.packages.store import store_package
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, NotFound, ServiceUnavailable
from workbench.media.store import BlobNotFound, BlobStore, BlobStoreUnavailable

log = logging.getLogger("sync.packages.releases")
BUCKETS = 10_000


class ReleaseRefused(DomainError):
    status, code, title = 422, "offline_release.invalid", "This release cannot be made"


class ReleaseStateConflict(Conflict):
    code, title = "offline_release.state", "The release is not in a state that allows this"


class NarrowingRefused(Conflict):
    code, title = "offline_release.narrowing", "A release is only widened"


def bucket(app_id: str, user_id: uuid.UUID) -> int:
    """The user's fixed place (0..9999) in the app id's percentage releases."""
    digest = hashlib.sha256(f"{app_id}:{user_id}".encode()).hexdigest()
    return int(digest[:8], 16) % BUCKETS


def in_percent(app_id: str, user_id: uuid.UUID, percent: float | Decimal) -> bool:
    """Whether a percentage release includes the user."""
    return bucket(app_id, user_id) < Decimal(str(percent)) * 100


def _percent(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def to_wire(row: asyncpg.Record) -> wire.Release:
    return wire.Release(
        id=row["id"],
        app_id=row["app_id"],
        package_id=row["package_id"],
        version=row["version"],
        state=wire.ReleaseState(row["state"]),
        percent=float(row["percent"]),
        org_unit_ids=list(row["org_unit_ids"]),
        user_ids=list(row["user_ids"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _unique(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))


async def release(
    conn: Connection,
    *,
    caller: Caller,
    package_id: uuid.UUID,
    request: wire.ReleaseRequest,
    client_ip: str | None = None,
) -> wire.Release:
    """Release a package, or widen its open (active or paused) release."""
    async with conn.transaction():
        package = await queries.package_for_release(conn, package_id)
        if package is None:
            raise NotFound("offline_package")
        units, users = _unique(request.org_unit_ids), _unique(request.user_ids)
        if set(units) - await queries.known_units(conn, units):
            raise ReleaseRefused("An org unit in `org_unit_ids` does not exist")
        if set(users) - await queries.known_users(conn, users):
            raise ReleaseRefused("A user in `user_ids` does not exist")
        percent = _percent(request.percent)
        current = await queries.open_release(conn, package_id)
        if current is None:
            if percent == 0 and not units and not users:
                raise ReleaseRefused("Release to a percentage, org units or users")
            release_id = uuid.uuid4()
            await queries.insert_release(
                conn,
                release_id=release_id,
                app_id=package["app_id"],
                package_id=package_id,
                percent=percent,
                org_unit_ids=units,
                user_ids=users,
                created_by=caller.user_id,
            )
            action = "offline_package.release"
        else:
            release_id = current["id"]
            if percent < current["percent"]:
                raise NarrowingRefused(
                    f"The release is at {current['percent']} %: widen it, pause it or roll it back"
                )
            units = _unique([*current["org_unit_ids"], *units])
            users = _unique([*current["user_ids"], *users])
            await queries.widen_release(
                conn, release_id, percent=percent, org_unit_ids=units, user_ids=users
            )
            action = "offline_package.widen"
        await audit.record(
            conn,
            action=action,
            actor_id=caller.user_id,
            subject=f"offline_release:{release_id}",
            client_ip=client_ip,
            detail={
                "app_id": package["app_id"],
                "version": package["version"],
                "percent": str(percent),
                "org_units": len(units),
                "users": len(users),
            },
        )
        return to_wire(await queries.release(conn, release_id))


_MOVES: dict[str, tuple[frozenset[str], str]] = {
    # action: (states it applies to, the state after)
    "pause": (frozenset({"active"}), "paused"),
    "resume": (frozenset({"paused"}), "active"),
    "rollback": (frozenset({"active", "paused"}), "rolled_back"),
}


@dataclass(frozen=True, slots=True)
class Restorer:
    """What a rollback needs to issue the previous package's files again as the next version."""

    blobs: BlobStore
    signer: PackageSigner


async def move(
    conn: Connection,
    *,
    caller: Caller,
    package_id: uuid.UUID,
    action: str,
    client_ip: str | None = None,
    restorer: Restorer | None = None,
    now: datetime | None = None,
) -> wire.Release:
    """Pause, resume or roll back the package's release (its most recent one).

    A rollback with a `restorer` rolls forward: versions only go up on a device (its verifier
    refuses an older manifest, so that nobody can replay one), so the files of the package the
    app id's other active releases answer below it are signed again as the next version and
    released to the rolled-back release's audience. Devices that installed the withdrawn
    version update to that one; the others keep what they have. Without an earlier active
    release (or when its file cannot be read), `latest` answers what remains, and tells a
    device on the withdrawn package so (`current_withdrawn`)."""
    states, after = _MOVES[action]
    async with conn.transaction():
        current = await queries.latest_release(conn, package_id)
        if current is None:
            raise NotFound("offline_release")
        if current["state"] not in states:
            raise ReleaseStateConflict(f"The release is {current['state']}")
        await queries.set_state(conn, current["id"], after)
        await audit.record(
            conn,
            action=f"offline_package.{action}",
            actor_id=caller.user_id,
            subject=f"offline_release:{current['id']}",
            client_ip=client_ip,
            detail={"app_id": current["app_id"], "version": current["version"]},
        )
        if action == "rollback" and restorer is not None:
            await _roll_forward(
                conn, restorer, rolled=current, caller=caller, client_ip=client_ip,
                now=now or datetime.now(UTC),
            )  # fmt: skip
        return to_wire(await queries.release(conn, current["id"]))


async def _roll_forward(
    conn: Connection,
    restorer: Restorer,
    *,
    rolled: asyncpg.Record,
    caller: Caller,
    client_ip: str | None,
    now: datetime,
) -> None:
    previous = await queries.previous_answer(
        conn, app_id=rolled["app_id"], below_version=rolled["version"]
    )
    if previous is None:
        return
    try:
        data = b"".join([chunk async for chunk in restorer.blobs.read(previous["blob_key"])])
        package = diffs.read_package(data)
    except (BlobNotFound, BlobStoreUnavailable, diffs.PackageUnreadable) as exc:
        log.warning(
            "rollback of %s v%s: the file of v%s cannot be read (%s); not rolled forward",
            rolled["app_id"], rolled["version"], previous["version"], type(exc).__name__,
        )  # fmt: skip
        return
    files = [
        PackageFile(path=path, data=content, sha256=hashlib.sha256(content).hexdigest())
        for path, content in package.files.items()
    ]
    issued = await store_package(
        conn, restorer.blobs, restorer.signer, app_id=rolled["app_id"], kind=previous["kind"],
        files=files, min_app_version=previous["min_app_version"], now=now,
        created_by=caller.user_id,
    )  # fmt: skip
    release_id = uuid.uuid4()
    await queries.insert_release(
        conn, release_id=release_id, app_id=rolled["app_id"], package_id=issued["id"],
        percent=rolled["percent"], org_unit_ids=list(rolled["org_unit_ids"]),
        user_ids=list(rolled["user_ids"]), created_by=caller.user_id,
    )  # fmt: skip
    await audit.record(
        conn,
        action="offline_package.roll_forward",
        actor_id=caller.user_id,
        subject=f"offline_release:{release_id}",
        client_ip=client_ip,
        detail={
            "app_id": rolled["app_id"],
            "withdrawn_version": rolled["version"],
            "files_of_version": previous["version"],
            "version": issued["version"],
        },
    )


# ---- what the app asks -------------------------------------------------------------------------


async def latest(
    conn: Connection,
    *,
    caller: Caller,
    app_id: str,
    current: str | None,
    blobs: BlobStore,
    package_url: Callable[[uuid.UUID], str],
) -> wire.LatestPackage:
    """The package this caller should have for the app id, with a diff from `current` when one
    is offered (`available: false` when no release includes them). Call it outside a
    transaction: offering a diff may build it (`sync.packages.diffs.offer`)."""
    row = await queries.package_for_user(
        conn,
        app_id=app_id,
        user_id=caller.user_id,
        org_unit_id=caller.org_unit_id,
        bucket=bucket(app_id, caller.user_id),
    )
    withdrawn = bool(current) and await queries.withdrawn(conn, app_id=app_id, sha256=current or "")
    if row is None:
        return wire.LatestPackage(available=False, current_withdrawn=withdrawn)
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
    if current and current != row["sha256"]:
        try:
            diff = await diffs.offer(
                conn, blobs, target_package_id=row["id"], installed_sha256=current
            )
        except ServiceUnavailable as exc:  # the blob store: the full package still downloads
            log.warning("no diff offered for %s: %s", app_id, type(exc).__name__)
            diff = None
        if diff is not None:
            answer.diff_url = diff.url
            answer.diff_sha256 = diff.sha256
            answer.diff_size = diff.size
    return answer


async def report_install(
    conn: Connection, *, caller: Caller, report: wire.InstallReport
) -> wire.Install:
    """Record the package the caller's device installed for an app id (one row per device)."""
    package = await queries.package_by_hash(
        conn, app_id=report.app_id, version=report.version, sha256=report.sha256
    )
    if package is None:
        raise NotFound("offline_package")
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

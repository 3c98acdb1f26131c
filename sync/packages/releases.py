"""Gray release and rollback of H5 offline packages (what an app is then answered: `updates`).

A release sends one package version of an app id to a sticky percentage of users, to org
subtrees and to listed users. A user's bucket is `int(SHA-256(app_id + ":" + user_id)[:8], 16)
% 10000`, and they are in when `bucket < percent x 100`: fixed per user and app id, so a user in at
10 % is in at 20 %. A release is widened (a higher percentage, more units and users; never
narrowed), paused and resumed, and rolled back for good. `latest` answers the highest version
among the active releases that include the caller that their app can install (not expired, its
`min_app_version` at most the app's), but never one below the package the device reports it has
(it would refuse it; `sync.packages.updates`). A rollback rolls forward only the
devices the withdrawn release answered, each to the files it had before (see `roll_back`).

Everything is read from PostgreSQL on every request (nothing is cached in a process), so a
change is visible on every API instance at once.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
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
from workbench.errors import Conflict, DomainError, NotFound
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


@dataclass(frozen=True, slots=True)
class RolledForward:
    """A package a rollback issued: `version`, holding the files of `files_of_version`."""

    version: int
    files_of_version: int


@dataclass(frozen=True, slots=True)
class RollbackDone:
    """What a rollback did: the withdrawn release, the packages it rolled devices forward to,
    and when none, why it only withdrew (`higher_open_version`: a higher open release stays;
    `nothing_below`: no active release below it; `unreadable_versions`: lower releases whose
    files could not be read)."""

    release: wire.Release
    rolled_forward: list[RolledForward]
    higher_open_version: int | None = None
    unreadable_versions: tuple[int, ...] = ()


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
    """Pause, resume or roll back the package's release (its most recent one); a rollback as
    `roll_back` does it."""
    if action == "rollback":
        done = await roll_back(
            conn, caller=caller, package_id=package_id, client_ip=client_ip,
            restorer=restorer, now=now,
        )  # fmt: skip
        return done.release
    async with conn.transaction():
        current = await _change_state(
            conn, caller=caller, package_id=package_id, action=action, client_ip=client_ip
        )
        return to_wire(await queries.release(conn, current["id"]))


async def roll_back(
    conn: Connection,
    *,
    caller: Caller,
    package_id: uuid.UUID,
    client_ip: str | None = None,
    restorer: Restorer | None = None,
    now: datetime | None = None,
) -> RollbackDone:
    """Roll the package's release back for good, rolling forward only the devices it answered.

    Versions only go up on a device (its verifier refuses an older manifest, so that nobody can
    replay one), so going back means new versions. The rule:

    - When an open (active or paused) release of the app id has a higher version, the rollback
      only withdraws: issuing anything would take a version above that release and push its
      audience (say the 10 % on v3 above a 100 % v2) back to older files, now or when it is
      resumed or widened. Devices on the withdrawn version keep it (`latest` answers them up to
      date, `current_withdrawn: true`) until a higher version is released to them.
    - Otherwise every user of the withdrawn release was answered it. For each active release
      below it, lowest first, its files are signed again as the next version and released to
      the withdrawn release's audience *within* that lower release's (`within_release_ids`):
      each user gets, above the withdrawn version, exactly the files they were answered before
      it (the highest lower release including them wins, as it did). A user of the withdrawn
      release in no lower release is only withdrawn from, as above; so is everyone when the
      files cannot be read, or without a `restorer`.
    """
    async with conn.transaction():
        rolled = await _change_state(
            conn, caller=caller, package_id=package_id, action="rollback", client_ip=client_ip
        )
        done = RollbackDone(release=to_wire(await queries.release(conn, rolled["id"])),
                            rolled_forward=[])  # fmt: skip
        higher = await queries.higher_open_version(
            conn, app_id=rolled["app_id"], above=rolled["version"]
        )
        if higher is not None:
            return RollbackDone(release=done.release, rolled_forward=[], higher_open_version=higher)
        if restorer is None:
            return done
        return await _roll_forward(
            conn, restorer, rolled=rolled, done=done, caller=caller, client_ip=client_ip,
            now=now or datetime.now(UTC),
        )  # fmt: skip


async def _change_state(
    conn: Connection, *, caller: Caller, package_id: uuid.UUID, action: str, client_ip: str | None
) -> asyncpg.Record:
    """Move the package's most recent release to the action's state (audited); its row."""
    states, after = _MOVES[action]
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
    return current


async def _roll_forward(
    conn: Connection,
    restorer: Restorer,
    *,
    rolled: asyncpg.Record,
    done: RollbackDone,
    caller: Caller,
    client_ip: str | None,
    now: datetime,
) -> RollbackDone:
    """Re-issue each lower active release's files to the withdrawn audience within it."""
    issued: list[RolledForward] = []
    unreadable: list[int] = []
    below = await queries.active_releases_below(
        conn, app_id=rolled["app_id"], below_version=rolled["version"]
    )
    for lower in below:
        files = await _files_of(restorer.blobs, lower, rolled=rolled)
        if files is None:
            unreadable.append(lower["version"])
            continue
        version = await _reissue(
            conn, restorer, files, lower=lower, rolled=rolled, caller=caller, client_ip=client_ip,
            now=now,
        )  # fmt: skip
        issued.append(RolledForward(version=version, files_of_version=lower["version"]))
    return RollbackDone(
        release=done.release, rolled_forward=issued, unreadable_versions=tuple(unreadable)
    )


async def _files_of(
    blobs: BlobStore, lower: asyncpg.Record, *, rolled: asyncpg.Record
) -> list[PackageFile] | None:
    """The files of a lower release's package, or None (logged) when its file cannot be read."""
    try:
        data = b"".join([chunk async for chunk in blobs.read(lower["blob_key"])])
        package = diffs.read_package(data)
    except (BlobNotFound, BlobStoreUnavailable, diffs.PackageUnreadable) as exc:
        log.warning(
            "rollback of %s v%s: the file of v%s cannot be read (%s); not rolled forward",
            rolled["app_id"], rolled["version"], lower["version"], type(exc).__name__,
        )  # fmt: skip
        return None
    return [
        PackageFile(path=path, data=content, sha256=hashlib.sha256(content).hexdigest())
        for path, content in package.files.items()
    ]


async def _reissue(
    conn: Connection,
    restorer: Restorer,
    files: list[PackageFile],
    *,
    lower: asyncpg.Record,
    rolled: asyncpg.Record,
    caller: Caller,
    client_ip: str | None,
    now: datetime,
) -> int:
    """Sign the files again as the next version and release them to the rolled-back release's
    audience within the lower release's (and within whatever either was within); its version."""
    package = await store_package(
        conn, restorer.blobs, restorer.signer, app_id=rolled["app_id"], kind=lower["kind"],
        files=files, min_app_version=lower["min_app_version"], now=now,
        created_by=caller.user_id,
    )  # fmt: skip
    within = _unique(
        [*rolled["within_release_ids"], lower["release_id"], *lower["within_release_ids"]]
    )
    release_id = uuid.uuid4()
    await queries.insert_release(
        conn, release_id=release_id, app_id=rolled["app_id"], package_id=package["id"],
        percent=rolled["percent"], org_unit_ids=list(rolled["org_unit_ids"]),
        user_ids=list(rolled["user_ids"]), created_by=caller.user_id, within_release_ids=within,
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
            "files_of_version": lower["version"],
            "version": package["version"],
        },
    )
    return int(package["version"])

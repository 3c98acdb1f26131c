"""Storing a package: the next version, the signed manifest, the package file, its row.

The package file lives in the blob store under `packages/<sha256>.zip` (content-addressed, so a
file stored by a transaction that then rolled back is harmless and simply reused or left alone).
Media packs (built by the worker) go through `store_package` as uploads do; an upload through
`store_upload`, which answers the latest version instead when that already holds the same files.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from mobile_contracts.v1 import offline_packages as wire
from sync.packages import queries
from sync.packages.archive import PackageFile
from sync.packages.manifest import (
    MEDIA_APP_IDS,
    PackageSigner,
    new_manifest,
    write_package,
)
from workbench.db import Connection
from workbench.errors import Conflict
from workbench.ids import uuid7
from workbench.media.store import BlobStore
from workbench.settings import Settings

CONTENT_TYPE = "application/zip"
DEFAULT_EXPIRES_DAYS = 180
MAX_VERSION = 2_000_000_000  # what a device reports back (InstallReport) and PostgreSQL int holds
_APP_ID = re.compile(r"[a-z0-9][a-z0-9._:-]{0,99}")
_APP_VERSION = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6}){0,3}")


def h5_app_id_problem(app_id: str) -> str | None:
    """Why an H5 package (uploaded or built) may not have this app id, or None.

    The media pack app ids are reserved for the media packs: an H5 package under one would take a
    version in the packs' numbering and verify as that app id on a device."""
    if not _APP_ID.fullmatch(app_id):
        return "lowercase letters, digits and . _ : - (at most 100)"
    if app_id in MEDIA_APP_IDS:
        return f"{app_id} is reserved for the brochure media packs"
    return None


def app_version_problem(text: str) -> str | None:
    """Why this is not a minimum app version like 2.3.0, or None."""
    if not _APP_VERSION.fullmatch(text):
        return "an app version like 2.3.0"
    return None


class VersionNotAbove(Conflict):
    code = "package.version_not_above"

    def __init__(self, app_id: str, version: int, latest: int) -> None:
        super().__init__(
            f"Version {version} of {app_id} is not above the latest, {latest}", latest=latest
        )


def package_key(sha256: str) -> str:
    return f"packages/{sha256}.zip"


def download_path(package_id: uuid.UUID) -> str:
    return f"/api/v1/offline-packages/{package_id}/download"


async def store_package(
    conn: Connection,
    blobs: BlobStore,
    signer: PackageSigner,
    *,
    app_id: str,
    kind: str,
    files: Iterable[PackageFile],
    min_app_version: str,
    now: datetime,
    expires_in: timedelta = timedelta(days=DEFAULT_EXPIRES_DAYS),
    owner_id: uuid.UUID | None = None,
    created_by: uuid.UUID | None = None,
    version: int | None = None,
) -> queries.Record:
    """Assign the app id's next version (under a per-app lock), sign, store file and row.

    Always a new version, whatever the latest holds (a rollback issues older files again this
    way); an upload goes through `store_upload`. A `version` asked for must be above every
    stored one of the app id (VersionNotAbove).
    """
    files = sorted(files, key=lambda f: f.path)
    await queries.lock_app(conn, app_id)
    next_version = await queries.next_version(conn, app_id)
    if version is not None and version < next_version:
        raise VersionNotAbove(app_id, version, next_version - 1)
    version = version or next_version
    manifest = new_manifest(
        app_id=app_id,
        version=version,
        kind=kind,
        files=[{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files],
        min_app_version=min_app_version,
        issued_at=now,
        expires_at=now + expires_in,
    )
    key_id, signature = signer.sign(manifest)
    # Deflating and hashing up to 200 MB takes seconds: off the event loop, which goes on serving.
    data, sha256 = await asyncio.to_thread(_package_file, manifest, signature, files)
    key = package_key(sha256)
    await blobs.put(key, data, content_type=CONTENT_TYPE)
    return await queries.insert_package(
        conn,
        package_id=uuid7(),
        app_id=app_id,
        version=version,
        kind=kind,
        owner_id=owner_id,
        sha256=sha256,
        size=len(data),
        blob_key=key,
        manifest=manifest,
        signature=signature,
        key_id=key_id,
        min_app_version=min_app_version,
        issued_at=now.replace(microsecond=0),
        expires_at=(now + expires_in).replace(microsecond=0),
        created_by=created_by,
    )


def _package_file(
    manifest: dict[str, Any], signature: str, files: list[PackageFile]
) -> tuple[bytes, str]:
    """The package zip and its SHA-256 (hex)."""
    data = write_package(manifest, signature, ((f.path, f.data) for f in files))
    return data, hashlib.sha256(data).hexdigest()


async def store_upload(
    conn: Connection,
    blobs: BlobStore,
    signer: PackageSigner,
    *,
    app_id: str,
    kind: str,
    files: Iterable[PackageFile],
    min_app_version: str,
    now: datetime,
    expires_in: timedelta = timedelta(days=DEFAULT_EXPIRES_DAYS),
    created_by: uuid.UUID | None = None,
) -> tuple[queries.Record, bool]:
    """Store uploaded files as the app id's next version, unless its latest version already
    holds them: (the package, whether it is new).

    An upload the same as the app id's latest stored version (the same kind, files by path,
    size and SHA-256, minimum app version and lifetime, and that version not expired) is the
    same upload again, a retry after a lost answer or a second click: it answers that package
    and stores nothing. The check runs under the per-app lock, so uploads of the same zip at
    once make one version. The same files as an older version (not the latest) are a new
    version, as any other upload: publishing old files again on purpose is how a rollback by
    upload works (a device only takes a version above its own).
    """
    files = sorted(files, key=lambda f: f.path)
    await queries.lock_app(conn, app_id)
    latest = await queries.latest_shared_package(conn, app_id)
    if latest is not None and _holds(
        latest, kind=kind, files=files, min_app_version=min_app_version, expires_in=expires_in,
        now=now,
    ):  # fmt: skip
        return latest, False
    row = await store_package(
        conn, blobs, signer, app_id=app_id, kind=kind, files=files,
        min_app_version=min_app_version, now=now, expires_in=expires_in, created_by=created_by,
    )  # fmt: skip
    return row, True


def _holds(
    row: queries.Record,
    *,
    kind: str,
    files: list[PackageFile],
    min_app_version: str,
    expires_in: timedelta,
    now: datetime,
) -> bool:
    """Whether the stored package is what these files would be signed as, apart from its version
    and dates (the manifest's file list compares the files by their SHA-256)."""
    listed = [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files]
    return bool(
        row["kind"] == kind
        and row["manifest"]["files"] == listed
        and row["min_app_version"] == min_app_version
        and row["expires_at"] - row["issued_at"] == expires_in
        and row["expires_at"] > now
    )


def package_signer(settings: Settings) -> PackageSigner:
    """Keys derived from WORKBENCH_JWT_KEYS: they rotate with them."""
    return PackageSigner(settings.jwt_keys)


def package_view(row: queries.Record) -> wire.OfflinePackage:
    return wire.OfflinePackage(
        id=row["id"],
        app_id=row["app_id"],
        version=row["version"],
        kind=wire.PackageKind(row["kind"]),
        sha256=row["sha256"],
        size=row["size"],
        key_id=row["key_id"],
        signature=row["signature"],
        min_app_version=row["min_app_version"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        file_count=len(row["manifest"]["files"]),
        url=download_path(row["id"]),
        created_at=row["created_at"],
    )

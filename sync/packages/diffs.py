"""Diff packages: what changed between a released offline package and the next.

A diff is a zip with `diff.json`:

    {"format": 1, "base_sha256", "target_sha256", "target_manifest" (the exact canonical
     manifest text), "target_signature", "changed": [{"path", "mode": "full"|"bsdiff",
     "sha256", "size"}], "deleted": [path, ...]}

and, per changed or new file, either `files/<path>` (the whole new file) or
`patches/<path>.bsdiff` (a bsdiff4 delta from the base's file). A delta is used only where it
is smaller than the file compressed, whatever the file's type; unchanged files are not carried.
The base is named by the SHA-256 of its package file, never by its version number: a device
that holds other bytes under the same version number is never offered the diff.

`make_diff` and `read_package` are pure. The client side (and its reference implementation,
`sync.packages.applying`) checks everything against the signed target manifest.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import re
import uuid
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import bsdiff4
from asyncpg import Record
from litestar import Request, Response, get, head
from litestar.params import FromPath

from sync.packages.diff_files import queries as diff_rows
from sync.packages.manifest import UNREADABLE_ZIP, path_problem
from sync.packages.serving import serve_package
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS
from workbench.ids import uuid7
from workbench.media.store import BlobNotFound, BlobStore, BlobStoreUnavailable

log = logging.getLogger("sync.packages.diffs")

DIFF_FORMAT = 1
DIFF_JSON = "diff.json"
FILES_PREFIX = "files/"
PATCHES_PREFIX = "patches/"
PATCH_SUFFIX = ".bsdiff"
# bsdiff's suffix sort takes memory and time in proportion to the file (an edited 8 MB file:
# ~3 s); beyond this a changed file is carried whole (media renditions are replaced, not edited).
MAX_DELTA_BYTES = 8 * 1024 * 1024
# bsdiff is slow on unrelated contents (two different 2 MB images: ~4 s, for a patch as large as
# the file), so a changed file above SMALL_FILE_BYTES is diffed only when at least a quarter of
# SAMPLES evenly spaced SAMPLE_BYTES-byte pieces of the new file occur in the old one.
SMALL_FILE_BYTES = 16 * 1024
SAMPLES = 32
SAMPLE_BYTES = 32
# A fixed timestamp for every member, so the same two packages always give the same diff bytes
# (and so the same SHA-256 and blob key, whichever instance builds it).
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
MAX_MEMBERS = 20_000
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024


class PackageUnreadable(ValueError):
    """A package file that is not a well-formed offline package zip."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_path(path: object) -> str:
    """`path` if it passes the package path rule (`manifest.path_problem`, the rule uploads are
    checked by too); otherwise ValueError saying why."""
    problem = path_problem(path)
    if problem is not None:
        raise ValueError(problem)
    assert isinstance(path, str)
    return path


@dataclass(frozen=True)
class PackageFiles:
    """A package as the diff builder and applier see it: its file's SHA-256, the exact signed
    manifest bytes and signature, and its files by path."""

    sha256: str
    manifest_bytes: bytes
    signature: str
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class DiffPackage:
    data: bytes
    sha256: str
    base_sha256: str
    target_sha256: str
    changed: int
    deleted: int

    @property
    def size(self) -> int:
        return len(self.data)


def read_package(data: bytes) -> PackageFiles:
    """The files of a package zip (`manifest.json`, `manifest.sig`, `files/<path>`); paths are
    checked, sizes bounded. The manifest is not verified here (see manifest.verify)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except UNREADABLE_ZIP as error:
        raise PackageUnreadable(f"not a zip file: {error}") from None
    if len(infos) > MAX_MEMBERS:
        raise PackageUnreadable("too many files")
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise PackageUnreadable("too large unpacked")
    manifest_bytes: bytes | None = None
    signature: str | None = None
    files: dict[str, bytes] = {}
    try:
        for info in infos:
            # The whole stored name: `filename` is cut at a NUL, so `files/a\x00b` would read
            # as `files/a` and pass the path rule (`orig_filename` keeps it, and is refused).
            name = info.orig_filename
            if name.endswith("/"):
                continue
            if name == "manifest.json":
                manifest_bytes = archive.read(info)
            elif name == "manifest.sig":
                signature = archive.read(info).decode("ascii").strip()
            elif name.startswith(FILES_PREFIX):
                path = safe_path(name[len(FILES_PREFIX) :])
                if path in files:
                    raise PackageUnreadable(f"duplicate file {path!r}")
                files[path] = archive.read(info)
            else:
                raise PackageUnreadable(f"unexpected member {name[:80]!r}")
    except UNREADABLE_ZIP as error:  # UnicodeDecodeError is a ValueError
        raise PackageUnreadable(f"unreadable member: {error}") from None
    except ValueError as error:
        raise PackageUnreadable(str(error)) from None
    if manifest_bytes is None or signature is None:
        raise PackageUnreadable("manifest.json or manifest.sig missing")
    return PackageFiles(
        sha256=sha256_hex(data), manifest_bytes=manifest_bytes, signature=signature, files=files
    )


def _member(name: str, *, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _alike(old: bytes, new: bytes) -> bool:
    """Whether `new` looks like an edit of `old` (worth a delta), judged by sampled pieces."""
    if len(new) <= SMALL_FILE_BYTES:
        return True
    step = (len(new) - SAMPLE_BYTES) // (SAMPLES - 1)
    found = sum(new[i * step : i * step + SAMPLE_BYTES] in old for i in range(SAMPLES))
    return found * 4 >= SAMPLES


def _delta(old: bytes, new: bytes) -> bytes | None:
    """A bsdiff4 patch turning `old` into `new` when it is smaller than `new` deflated."""
    if len(old) > MAX_DELTA_BYTES or len(new) > MAX_DELTA_BYTES or not _alike(old, new):
        return None
    patch: bytes = bsdiff4.diff(old, new)
    return patch if len(patch) < len(zlib.compress(new, 6)) else None


def make_diff(base: PackageFiles, target: PackageFiles) -> DiffPackage:
    """The diff package that turns `base`'s files into `target`'s. Deterministic."""
    changed: list[dict[str, Any]] = []
    members: list[tuple[zipfile.ZipInfo, bytes]] = []
    for path in sorted(target.files):
        new = target.files[path]
        old = base.files.get(path)
        if old == new:
            continue
        patch = _delta(old, new) if old is not None else None
        entry = {"path": path, "sha256": sha256_hex(new), "size": len(new)}
        if patch is not None:
            entry["mode"] = "bsdiff"
            members.append((_member(PATCHES_PREFIX + path + PATCH_SUFFIX, compress=False), patch))
        else:
            entry["mode"] = "full"
            members.append((_member(FILES_PREFIX + path, compress=True), new))
        changed.append(entry)
    deleted = sorted(set(base.files) - set(target.files))
    document = {
        "format": DIFF_FORMAT,
        "base_sha256": base.sha256,
        "target_sha256": target.sha256,
        "target_manifest": target.manifest_bytes.decode("utf-8"),
        "target_signature": target.signature,
        "changed": changed,
        "deleted": deleted,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            _member(DIFF_JSON, compress=True),
            json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        )
        for info, data in members:
            archive.writestr(info, data)
    data = buffer.getvalue()
    return DiffPackage(
        data=data,
        sha256=sha256_hex(data),
        base_sha256=base.sha256,
        target_sha256=target.sha256,
        changed=len(changed),
        deleted=len(deleted),
    )


# ---- storage: built on demand, offered only when meaningfully smaller ---------------------------

CONTENT_TYPE = "application/zip"
# A diff is offered only below this share of the full package's size; above it, the full package
# costs the device little more and is simpler and safer to install.
OFFER_RATIO = 0.6
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Diff:
    """A stored diff: from the package whose file hashes to `from_sha256` to `to_package_id`."""

    id: uuid.UUID
    from_sha256: str
    to_package_id: uuid.UUID
    sha256: str
    size: int
    blob_key: str

    @property
    def url(self) -> str:
        return download_path(self.id)


def diff_key(sha256: str) -> str:
    return f"package-diffs/{sha256}.zip"


def download_path(diff_id: uuid.UUID) -> str:
    return f"/api/v1/offline-packages/diffs/{diff_id}/download"


def _diff(row: Record) -> Diff:
    return Diff(
        id=row["id"],
        from_sha256=row["from_sha256"],
        to_package_id=row["to_package_id"],
        sha256=row["sha256"],
        size=row["size"],
        blob_key=row["blob_key"],
    )


async def _read_blob(blobs: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in blobs.read(key)])


async def stored_diff(
    conn: Connection, *, from_sha256: str, to_package_id: uuid.UUID
) -> Diff | None:
    row = await diff_rows.stored(conn, from_sha256=from_sha256, to_package_id=to_package_id)
    return None if row is None else _diff(row)


async def offer(
    conn: Connection,
    blobs: BlobStore,
    *,
    target_package_id: uuid.UUID,
    installed_sha256: str | None,
) -> Diff | None:
    """The diff to offer a device that has the package file hashing to `installed_sha256` and
    is to get `target_package_id`, or None (then it downloads the full package).

    Offered only when the installed file is a known older package of the same app id, kind and
    owner, and the diff is below `OFFER_RATIO` of the full package. A diff not stored yet is
    built now and stored (blob `package-diffs/<sha256>.zip`, one row per base and target: two
    instances building at once store the same bytes under the same key, and the second row
    insert does nothing). A diff too large to offer is stored all the same, so it is not built
    again on every request. A blob store that does not answer means no diff (None), never an
    error: the full package is the answer. Call it outside a transaction: building reads both
    packages.
    """
    if installed_sha256 is None or not _SHA256.fullmatch(installed_sha256):
        return None
    pair = await diff_rows.base_and_target(
        conn, target_package_id=target_package_id, installed_sha256=installed_sha256
    )
    if pair is None:
        return None
    diff = await stored_diff(conn, from_sha256=installed_sha256, to_package_id=target_package_id)
    if diff is None:
        diff = await _same_files(
            conn,
            target_package_id=target_package_id,
            base_sha256=installed_sha256,
            target_sha256=pair["target_sha256"],
        )
    if diff is None:
        diff = await _build(
            conn,
            blobs,
            target_package_id=target_package_id,
            base_key=pair["base_key"],
            base_sha256=installed_sha256,
            target_key=pair["target_key"],
            target_sha256=pair["target_sha256"],
        )
    if diff is None or diff.size >= OFFER_RATIO * pair["target_size"]:
        return None
    return diff


async def _insert(
    conn: Connection,
    *,
    base_sha256: str,
    target_package_id: uuid.UUID,
    sha256: str,
    size: int,
    key: str,
) -> Diff | None:
    """The diff's row; when another instance stored it first (the second insert does
    nothing), theirs: the same bytes, since diffs are deterministic."""
    row = await diff_rows.insert(
        conn, id=uuid7(), base_sha256=base_sha256, target_package_id=target_package_id,
        sha256=sha256, size=size, key=key,
    )  # fmt: skip
    if row is not None:
        return _diff(row)
    return await stored_diff(conn, from_sha256=base_sha256, to_package_id=target_package_id)


async def _same_files(
    conn: Connection, *, target_package_id: uuid.UUID, base_sha256: str, target_sha256: str
) -> Diff | None:
    """A diff already built between the same two package files for another row (media packs of
    RMs with the same catalogue share one file): its blob, under a row of this target."""
    row = await diff_rows.same_files(conn, base_sha256=base_sha256, target_sha256=target_sha256)
    if row is None:
        return None
    return await _insert(
        conn,
        base_sha256=base_sha256,
        target_package_id=target_package_id,
        sha256=row["sha256"],
        size=row["size"],
        key=row["blob_key"],
    )


async def _build(
    conn: Connection,
    blobs: BlobStore,
    *,
    target_package_id: uuid.UUID,
    base_key: str,
    base_sha256: str,
    target_key: str,
    target_sha256: str,
) -> Diff | None:
    try:
        base_zip = await _read_blob(blobs, base_key)
        target_zip = await _read_blob(blobs, target_key)
    except BlobNotFound:
        log.warning("package file missing, no diff: %s or %s", base_key, target_key)
        return None
    except BlobStoreUnavailable:  # the app downloads the full package (or asks again later)
        log.warning("blob store not answering, no diff built for %s", target_key)
        return None
    if sha256_hex(base_zip) != base_sha256 or sha256_hex(target_zip) != target_sha256:
        log.error("package file does not hash to its row, no diff: %s, %s", base_key, target_key)
        return None
    try:
        built = await asyncio.to_thread(
            lambda: make_diff(read_package(base_zip), read_package(target_zip))
        )
    except PackageUnreadable as error:
        log.error("stored package unreadable, no diff: %s", error)
        return None
    key = diff_key(built.sha256)
    try:
        await blobs.put(key, built.data, content_type=CONTENT_TYPE)
    except BlobStoreUnavailable:
        log.warning("blob store not answering, diff not stored for %s", target_key)
        return None
    return await _insert(
        conn,
        base_sha256=base_sha256,
        target_package_id=target_package_id,
        sha256=built.sha256,
        size=built.size,
        key=key,
    )


async def diff_download(
    request: Request[Any, Any, Any], conn: Connection, *, diff_id: uuid.UUID, caller: Caller
) -> Response[Any]:
    """`GET /offline-packages/diffs/{id}/download`: the diff's file, resumable exactly as a
    package download (`serving.serve_package`: its SHA-256 as strong ETag, `If-None-Match`,
    one byte range, `If-Range`). A diff to an H5 package is for every signed-in user; one to a
    media pack only for its owner while they are an active RM: anyone else gets 404."""
    row = await diff_rows.downloadable(conn, diff_id=diff_id, user_id=caller.user_id)
    if row is None:
        raise NotFound("offline_package_diff")
    return await serve_package(
        request, request.app.state.blobs, row["blob_key"], sha256=row["sha256"]
    )


@get(
    "/api/v1/offline-packages/diffs/{diff_id:uuid}/download",
    operation_id="downloadOfflinePackageDiff",
    tags=["offline packages"],
    opt={
        ERRORS: {
            404: "No such diff, or a diff to a media pack of another RM",
            416: "The byte range lies past the end of the file",
        }
    },
)
async def download_diff(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, diff_id: FromPath[uuid.UUID]
) -> Response[Any]:
    """The diff file (a zip) that latest offers as diff_url.

    Resumable: `Range: bytes=a-b | a- | -n` answers 206 with `Content-Range` (with `If-Range`
    naming the ETag); the ETag is the file's SHA-256 (`diff_sha256`), so `If-None-Match`
    answers 304 when the app already has it. The app applies it only to the package file whose
    SHA-256 the diff names, checks every rebuilt file against the signed target manifest, and
    otherwise downloads the full package."""
    return await diff_download(request, db, diff_id=diff_id, caller=caller)


@head(
    "/api/v1/offline-packages/diffs/{diff_id:uuid}/download",
    tags=["offline packages"],
    include_in_schema=False,
)
async def download_diff_head(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, diff_id: FromPath[uuid.UUID]
) -> Response[None]:
    """What GET would answer, without the body, as for a package download (a diff "downloads
    like a package"): download managers ask the size, the ETag and range support
    (Content-Length, ETag, Accept-Ranges) before they resume. The same callers and 404s as GET."""
    return await diff_download(request, db, diff_id=diff_id, caller=caller)


ROUTES: list[Any] = [download_diff, download_diff_head]

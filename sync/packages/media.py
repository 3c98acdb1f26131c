"""Brochure media packs: per RM, the renditions of every brochure live for them, for offline use.

One pack per RM and size: app id `media-phone` (the phone WebP renditions, 1080 px wide) or
`media-tablet` (the tablet WebP renditions, 2048 px). WebP only: the apps decode it, and a pack
with the JPEG twins too would be twice as large for nothing. A pack is a package of kind `media`
owned by the RM (only they may download it, and only while they are an active RM: one whose role
changed or who was disabled gets none, as their last pack lists brochures they no longer see),
signed like every package, and stored in the blob store under `packages/<sha256>.zip`. It holds
`index.json` and the page images as `<brochure id>/<page, two digits>.webp`; the index lists each
brochure (id, version, title) with its pages' file paths, in brochure id order.

A pack is rebuilt when what it would hold for its RM changes: each pack records the fingerprint of
the catalogue it was built from (SHA-256 over the sorted brochure id, version, content hash and
page rendition keys of the brochures it holds, computed in SQL), and the worker compares it with
the one of now. Publishing, unpublishing, a window edge passing, a brochure's last rendition
becoming ready and a move in the org tree all change it. A brochure whose renditions are not all
built yet is left out (an RM never presents a brochure with a page, perhaps its risk notice,
missing), and out of the fingerprint: its renditions becoming ready one by one issue no new pack
with the same content; the last one does, as the brochure then enters the pack.

RMs with the same catalogue share one built pack: once it is built for one of them, the others
get a row of their own for the same file, signed manifest and version (nothing in a pack names
its RM). A head-office publication then costs one build per distinct catalogue (about one per
team or branch whose own brochures differ), not one per RM.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from sync.packages import manifest as manifests
from sync.packages.manifest import MEDIA_SIZES, PackageSigner
from sync.packages.media_pack import queries
from workbench.db import Connection
from workbench.ids import uuid7
from workbench.media.renditions import spec_for
from workbench.media.store import BlobNotFound, BlobStore

log = logging.getLogger("sync.packages.media")

SIZES = MEDIA_SIZES
KIND = "media"
INDEX = "index.json"
MIN_APP_VERSION = "1.0.0"
LIFETIME = timedelta(days=30)  # a pack's manifest expires after this...
RENEW_BEFORE = timedelta(days=7)  # ...and is rebuilt this long before, whatever changed
READ_AHEAD = 8  # renditions read from the blob store at once
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def app_id_of(size: str) -> str:
    """`media-phone` or `media-tablet`."""
    if size not in SIZES:
        raise ValueError(f"no media pack of size {size!r}")
    return f"media-{size}"


def spec_name(size: str) -> str:
    return spec_for(size, "webp").name


@dataclass
class PackBrochure:
    brochure_id: uuid.UUID
    version: int
    title: str
    pages: list[tuple[int, str | None]] = field(default_factory=list)  # (page, blob key)

    def complete(self) -> bool:
        return all(key is not None for _, key in self.pages)

    def files(self) -> list[tuple[str, str]]:
        """(path in the pack, blob key) of each page."""
        return [(f"{self.brochure_id}/{page:02d}.webp", key or "") for page, key in self.pages]


@dataclass(frozen=True)
class BuiltPack:
    package_id: uuid.UUID
    owner_id: uuid.UUID
    app_id: str
    version: int
    sha256: str
    size: int
    brochures: int
    left_out: int  # live brochures whose renditions are not all built yet (0 when shared)
    shared: bool = False  # the pack already built for another RM with the same catalogue


def group_pages(rows: Sequence[Any]) -> list[PackBrochure]:
    """The rows of `queries.live_pages` as brochures, in brochure id order."""
    brochures: dict[uuid.UUID, PackBrochure] = {}
    for row in rows:
        item = brochures.get(row["brochure_id"])
        if item is None:
            item = brochures[row["brochure_id"]] = PackBrochure(
                row["brochure_id"], row["version"], row["title"]
            )
        item.pages.append((row["page"], row["blob_key"]))
    return list(brochures.values())


def index_document(size: str, brochures: Sequence[PackBrochure]) -> bytes:
    """index.json: the brochures of the pack with their pages' file paths."""
    document = {
        "size": size,
        "brochures": [
            {
                "id": str(b.brochure_id),
                "version": b.version,
                "title": b.title,
                "pages": [path for path, _ in b.files()],
            }
            for b in brochures
        ],
    }
    return manifests.canonical(document)


def _entry(name: str, *, stored: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    # Images are compressed already: stored as they are (deflating them again gains nothing).
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _add(zf: zipfile.ZipFile, path: str, data: bytes, *, stored: bool) -> dict[str, Any]:
    zf.writestr(_entry(manifests.FILES_PREFIX + path, stored=stored), data)
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


async def _read(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


async def write_pack_file(
    out: IO[bytes],
    *,
    store: BlobStore,
    signer: PackageSigner,
    app_id: str,
    size: str,
    version: int,
    brochures: list[PackBrochure],
    now: datetime,
) -> dict[str, Any]:
    """Write the signed pack zip to `out`, reading each rendition from the blob store (a few at
    once, one brochure's files in memory at a time); the signed manifest. A brochure whose
    rendition blob is missing is dropped from `brochures` (and so from the index)."""
    files: list[dict[str, Any]] = []
    kept: list[PackBrochure] = []
    limit = asyncio.Semaphore(READ_AHEAD)

    async def read(key: str) -> bytes:
        async with limit:
            return await _read(store, key)

    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        for brochure in brochures:
            pairs = brochure.files()
            try:
                datas = await asyncio.gather(*(read(key) for _, key in pairs))
            except BlobNotFound as exc:  # recorded ready, yet gone: left out, and logged
                log.warning(
                    "media pack: a rendition is missing from the blob store",
                    extra={"brochure": str(brochure.brochure_id), "key": str(exc)},
                )
                continue
            for (path, _), data in zip(pairs, datas, strict=True):
                files.append(await asyncio.to_thread(_add, zf, path, data, stored=True))
            kept.append(brochure)
        brochures[:] = kept
        files.append(_add(zf, INDEX, index_document(size, kept), stored=False))
        manifest = manifests.new_manifest(
            app_id=app_id,
            version=version,
            kind=KIND,
            files=files,
            min_app_version=MIN_APP_VERSION,
            issued_at=now,
            expires_at=now + LIFETIME,
        )
        _, signature = signer.sign(manifest)
        zf.writestr(_entry(manifests.MANIFEST_NAME, stored=False), manifests.canonical(manifest))
        zf.writestr(_entry(manifests.SIGNATURE_NAME, stored=False), signature.encode("ascii"))
    manifest["_signature"] = signature
    return manifest


def _digest(file: IO[bytes]) -> tuple[str, int]:
    file.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := file.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


async def build_pack(
    conn: Connection,
    *,
    store: BlobStore,
    signer: PackageSigner,
    owner_id: uuid.UUID,
    size: str,
    now: datetime,
    force: bool = False,
    fingerprint: str | None = None,
) -> BuiltPack | None:
    """Build and record this RM's pack of `size` from what is live for them at `now`, inside
    the caller's transaction; None if another worker is building it, if the RM's last pack was
    built from the same catalogue (unless `force`), or if they are no active RM.

    The pack is held with an advisory lock for the transaction: a second worker passes it over.
    Its catalogue is held too (a second worker building it for another RM waits, then shares
    the pack built here): each catalogue is built once.
    The fingerprint (read here unless the caller just read it: `stale_owners`) is read before
    the pages, so a change landing in between leaves a fingerprint that no longer matches: the
    next run builds again."""
    app_id, spec = app_id_of(size), spec_name(size)
    if not await queries.try_lock_pack(conn, owner_id, app_id):
        return None
    if fingerprint is None:
        fingerprint = await queries.fingerprint_of(conn, owner_id, spec=spec, now=now)
    if fingerprint is None:
        return None
    last = await queries.last_pack(conn, owner_id, app_id)
    if (
        not force
        and last is not None
        and last["catalogue_fingerprint"] == fingerprint
        and last["expires_at"] >= now + RENEW_BEFORE
    ):
        return None
    # Only try-locks are taken before this wait, so two builds never wait for each other.
    await queries.lock_catalogue(conn, app_id, fingerprint)
    shared = await queries.shared_pack(
        conn,
        app_id=app_id,
        fingerprint=fingerprint,
        above=last["version"] if last is not None else 0,
        fresh_until=now + RENEW_BEFORE,
    )
    if shared is not None and not force:
        return await _record_shared(conn, shared, owner_id=owner_id, app_id=app_id,
                                    fingerprint=fingerprint)  # fmt: skip
    live = group_pages(await queries.live_pages(conn, owner_id, spec=spec, now=now))
    brochures = [b for b in live if b.complete()]
    version = await queries.next_version(conn, app_id)
    with tempfile.TemporaryFile(prefix="media-pack-") as out:
        manifest = await write_pack_file(
            out,
            store=store,
            signer=signer,
            app_id=app_id,
            size=size,
            version=version,
            brochures=brochures,
            now=now,
        )
        sha256, length = await asyncio.to_thread(_digest, out)
        out.seek(0)
        data = await asyncio.to_thread(out.read)
    signature = manifest.pop("_signature")
    blob_key = f"packages/{sha256}.zip"
    await store.put(blob_key, data, content_type="application/zip")
    del data
    package_id = uuid7()
    await queries.insert_pack(
        conn,
        {
            "id": package_id,
            "app_id": app_id,
            "version": version,
            "kind": KIND,
            "owner_id": owner_id,
            "sha256": sha256,
            "size": length,
            "blob_key": blob_key,
            "manifest": manifest,
            "signature": signature,
            "key_id": manifest["key_id"],
            "min_app_version": MIN_APP_VERSION,
            "issued_at": now,
            "expires_at": now + LIFETIME,
            "catalogue_fingerprint": fingerprint,
        },
    )
    log.info(
        "media pack built",
        extra={
            "owner": str(owner_id),
            "app_id": app_id,
            "version": version,
            "brochures": len(brochures),
            "bytes": length,
        },
    )
    return BuiltPack(
        package_id=package_id,
        owner_id=owner_id,
        app_id=app_id,
        version=version,
        sha256=sha256,
        size=length,
        brochures=len(brochures),
        left_out=len(live) - len(brochures),
    )


async def _record_shared(
    conn: Connection, shared: Any, *, owner_id: uuid.UUID, app_id: str, fingerprint: str
) -> BuiltPack:
    """Give this RM the pack built for another RM with the same catalogue: the same file,
    signed manifest and version (above their last one), recorded as theirs."""
    package_id = uuid7()
    await queries.insert_pack(
        conn,
        {
            "id": package_id,
            "app_id": app_id,
            "version": shared["version"],
            "kind": KIND,
            "owner_id": owner_id,
            "sha256": shared["sha256"],
            "size": shared["size"],
            "blob_key": shared["blob_key"],
            "manifest": shared["manifest"],
            "signature": shared["signature"],
            "key_id": shared["key_id"],
            "min_app_version": shared["min_app_version"],
            "issued_at": shared["issued_at"],
            "expires_at": shared["expires_at"],
            "catalogue_fingerprint": fingerprint,
        },
    )
    index = [f for f in shared["manifest"]["files"] if f["path"] != INDEX]
    return BuiltPack(
        package_id=package_id,
        owner_id=owner_id,
        app_id=app_id,
        version=shared["version"],
        sha256=shared["sha256"],
        size=shared["size"],
        brochures=len({f["path"].split("/", 1)[0] for f in index}),
        left_out=0,
        shared=True,
    )


async def stale_owners(
    conn: Connection, *, size: str, now: datetime, limit: int
) -> list[tuple[uuid.UUID, str]]:
    """RMs whose pack of `size` is missing, out of date with what is live for them, or about to
    expire, with the fingerprint of what is live for them now."""
    rows = await queries.stale_packs(
        conn,
        app_id=app_id_of(size),
        spec=spec_name(size),
        now=now,
        renew_before=now + RENEW_BEFORE,
        limit=limit,
    )
    return [(row["owner_id"], row["fingerprint"]) for row in rows]


async def latest_pack(conn: Connection, user_id: uuid.UUID, *, size: str) -> Any:
    """The user's newest pack of `size` (a row), or None: packs are only for active RMs, so a
    former RM (or a disabled user) gets none, not the last one built while they were one."""
    return await queries.current_pack(conn, user_id, app_id_of(size))


async def package_for_download(
    conn: Connection, *, package_id: uuid.UUID, user_id: uuid.UUID
) -> Any:
    """The package (a row) if this user may download it: any H5 package; a media pack only its
    owner, while they are an active RM. None otherwise."""
    return await queries.package_for_download(conn, package_id=package_id, user_id=user_id)

"""Applying a diff package, as the app must do it (the reference implementation).

`apply_diff` takes the installed package (its zip bytes, or its `PackageFiles`) and a downloaded
diff, and answers the complete file set of the target package, or raises `DiffRefused`; then
the app throws the diff away and downloads the full package. Nothing is activated here: the
caller activates the answer as a whole or not at all.

Refused: a diff for another base (by the SHA-256 of the base package file), a target manifest
whose signature, key, version or expiry fails `manifest.verify`, a path that leaves the root, a
member whose stored name holds a control character (zipfile would read `files/a.js\\x00x` as
`files/a.js`), a patch that does not apply, and any reconstructed file whose size or SHA-256
differs from the signed target manifest (or a file set that is not exactly the manifest's).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Mapping
from datetime import datetime

import bsdiff4

from sync.packages.diffs import (
    DIFF_FORMAT,
    DIFF_JSON,
    FILES_PREFIX,
    MAX_MEMBERS,
    MAX_UNPACKED_BYTES,
    PATCH_SUFFIX,
    PATCHES_PREFIX,
    PackageFiles,
    PackageUnreadable,
    read_package,
    safe_path,
    sha256_hex,
)
from sync.packages.manifest import UNREADABLE_ZIP, PackageRefused, check_files, verify
from sync.packages.zip_names import first_untrusted_name


class DiffRefused(Exception):
    """The diff cannot be applied; fall back to the full package."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _patch_new_size(patch: bytes) -> int:
    """The new file's size a bsdiff4 patch declares (its header: magic, then the control and
    difference blocks' lengths and the new size, 8 bytes each), checked before patching so a
    forged header never makes the patcher allocate more than the signed size."""
    if len(patch) < 32 or patch[:8] != b"BSDIFF40":
        raise DiffRefused("a patch is not a bsdiff4 patch")
    control, difference, raw = struct.unpack("<QQQ", patch[8:32])
    if control + difference > len(patch) - 32:
        raise DiffRefused("a patch's header does not fit the patch")
    size: int = raw & ~(1 << 63)
    return -size if raw >> 63 else size


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise DiffRefused(f"the diff lacks {name[:80]!r}") from None
    if info.file_size > limit:
        raise DiffRefused(f"{name[:80]!r} is larger than announced")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except Exception as error:  # zlib, CRC, truncated: all mean "damaged"
        raise DiffRefused(f"{name[:80]!r} is damaged: {error}") from None
    if len(data) > limit:
        raise DiffRefused(f"{name[:80]!r} is larger than announced")
    return data


def apply_diff(
    base: bytes | PackageFiles,
    diff_zip: bytes,
    *,
    public_keys: Mapping[str, bytes],
    installed_version: int | None,
    now: datetime,
    app_id: str | None = None,
    app_version: str | None = None,
) -> dict[str, bytes]:
    """The target package's files, rebuilt from `base` and the diff, every one checked against
    the signed target manifest (`manifest.verify`, then `manifest.check_files`); `DiffRefused`
    otherwise. `public_keys`: key id -> raw public key (`manifest.parse_keys_document`)."""
    if isinstance(base, bytes):
        try:
            base = read_package(base)
        except PackageUnreadable as error:
            raise DiffRefused(f"the installed package is unreadable: {error}") from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(diff_zip))
        infos = archive.infolist()
    except UNREADABLE_ZIP as error:
        raise DiffRefused(f"the diff is not a zip file: {error}") from None
    if len(infos) > MAX_MEMBERS + 1:
        raise DiffRefused("the diff has too many members")
    if problem := first_untrusted_name(infos):  # before `getinfo` finds a cut name
        raise DiffRefused(problem)
    try:
        document = json.loads(_read_member(archive, DIFF_JSON, 64 * 1024 * 1024))
        if document["format"] != DIFF_FORMAT:
            raise DiffRefused(f"unknown diff format {document['format']!r}")
        base_sha256 = document["base_sha256"]
        manifest_bytes = document["target_manifest"].encode("utf-8")
        signature = document["target_signature"]
        changed = document["changed"]
        deleted = document["deleted"]
        if not isinstance(changed, list) or not isinstance(deleted, list):
            raise TypeError("changed and deleted must be lists")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise DiffRefused(f"diff.json is not usable: {error}") from None

    if base_sha256 != base.sha256:
        raise DiffRefused("the diff is for another base package")
    if not isinstance(signature, str):
        raise DiffRefused("diff.json's target signature is not a string")
    try:
        manifest = verify(
            manifest_bytes,
            signature,
            public_keys,
            installed_version=installed_version,
            now=now,
            app_id=app_id,
            app_version=app_version,
        )
    except PackageRefused as error:
        raise DiffRefused(f"the target manifest is refused: {error}") from None
    wanted = {f.path: f.size for f in manifest.files}
    if sum(wanted.values()) > MAX_UNPACKED_BYTES:
        raise DiffRefused("the target package is too large")

    files: dict[str, bytes] = dict(base.files)
    try:
        for path in deleted:
            files.pop(safe_path(path), None)
        for entry in changed:
            path = safe_path(entry["path"])
            mode = entry["mode"]
            if path not in wanted:
                raise DiffRefused(f"{path!r} is not in the target manifest")
            size = wanted[path]
            if mode == "full":
                files[path] = _read_member(archive, FILES_PREFIX + path, size)
            elif mode == "bsdiff":
                old = files.get(path)
                if old is None:
                    raise DiffRefused(f"a patch for {path!r}, which the base lacks")
                patch = _read_member(archive, PATCHES_PREFIX + path + PATCH_SUFFIX, 2 * size + 4096)
                if _patch_new_size(patch) != size:
                    raise DiffRefused(f"the patch for {path!r} makes a file of another size")
                try:
                    files[path] = bsdiff4.patch(old, patch)
                except Exception as error:  # a damaged patch: bz2, bounds
                    raise DiffRefused(f"the patch for {path!r} does not apply: {error}") from None
            else:
                raise DiffRefused(f"unknown mode {mode!r} for {path!r}")
    except ValueError as error:  # safe_path
        raise DiffRefused(str(error)) from None
    except (KeyError, TypeError) as error:
        raise DiffRefused(f"a changed entry is not usable: {error}") from None

    try:
        for path in manifest.files:
            safe_path(path.path)
        check_files(manifest, {p: (len(d), sha256_hex(d)) for p, d in files.items()})
    except ValueError as error:
        raise DiffRefused(str(error)) from None
    except PackageRefused as error:
        raise DiffRefused(f"a rebuilt file does not match the target manifest: {error}") from None
    return files

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

import hashlib
import io
import json
import posixpath
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import bsdiff4

DIFF_FORMAT = 1
DIFF_JSON = "diff.json"
FILES_PREFIX = "files/"
PATCHES_PREFIX = "patches/"
PATCH_SUFFIX = ".bsdiff"
# bsdiff's suffix sort takes memory and time in proportion to the file; beyond this a changed
# file is carried whole (media renditions are replaced, not edited).
MAX_DELTA_BYTES = 16 * 1024 * 1024
# A fixed timestamp for every member, so the same two packages always give the same diff bytes
# (and so the same SHA-256 and blob key, whichever instance builds it).
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_SEGMENT = re.compile(r"[^/\\\x00-\x1f]+")
MAX_MEMBERS = 20_000
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024


class PackageUnreadable(ValueError):
    """A package file that is not a well-formed offline package zip."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_path(path: object) -> str:
    """`path` if it is a plain relative path inside the package root; otherwise ValueError.
    Refused: absolute paths, backslashes, drive letters, `.`/`..`/empty segments, control
    characters."""
    if not isinstance(path, str) or not path or len(path) > 1024:
        raise ValueError("a file path must be a non-empty string")
    segments = path.split("/")
    if path.startswith("/") or any(
        s in ("", ".", "..") or not _SEGMENT.fullmatch(s) for s in segments
    ):
        raise ValueError(f"file path outside the package root: {path[:80]!r}")
    if ":" in segments[0]:
        raise ValueError(f"file path with a drive letter: {path[:80]!r}")
    if posixpath.normpath(path) != path:
        raise ValueError(f"file path not in plain form: {path[:80]!r}")
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
    except (zipfile.BadZipFile, OSError, ValueError) as error:
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
            if info.is_dir():
                continue
            name = info.filename
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
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, zlib.error) as error:
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


def _delta(old: bytes, new: bytes) -> bytes | None:
    """A bsdiff4 patch turning `old` into `new` when it is smaller than `new` deflated."""
    if len(old) > MAX_DELTA_BYTES or len(new) > MAX_DELTA_BYTES:
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

"""Intake of an uploaded zip of H5 resources: every unsafe entry refused before anything is stored.

Nothing is ever extracted to disk under the zip's names: each member is read in memory, hashed
while it streams, and stopped as soon as it passes the size or compression-ratio limit (the sizes
in the zip's headers are not trusted). Refused: paths outside the root (`..`), absolute paths,
backslashes, drive letters, paths above 1,024 characters and anything else the package path rule
(`manifest.path_problem`, the one diffs and rollbacks read by) refuses, symbolic links and other
special files, a folder entry (a name ending in `/`) that holds data, names given twice (also
when they differ only in case or Unicode normalisation, or a file also used as a folder), encrypted
members, too many files, too much unpacked, too high a compression ratio per file or overall, a
nested `manifest.json` above what a device accepts (`MAX_MANIFEST_BYTES`: refused before it is
read) and one that does not match its files.

Every check reads a member's name as the zip stores it (`stored_name`): Python's zipfile cuts
`ZipInfo.filename` at a NUL byte, so `a\\x00b.html` would otherwise pass as `a`.

An uploaded zip may be a package built before (manifest.json, manifest.sig, files/...): its
files are then taken from `files/`, checked against that manifest, and signed anew.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass

from sync.packages.manifest import (
    FILES_PREFIX,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    SIGNATURE_NAME,
    UNREADABLE_ZIP,
    path_problem,
)
from sync.packages.zip_names import has_control_character, stored_name
from workbench.errors import DomainError

_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_ALLOWED_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_EMPTY_DEFLATED = 2  # packed bytes of nothing, deflated: what some tools write for a folder
# Below this many unpacked bytes a file's ratio is not judged: a short run of spaces packs
# 1:100 honestly, and cannot hurt anyone.
RATIO_FLOOR_BYTES = 64 * 1024


class PackageUnsafe(DomainError):
    """The zip is refused; nothing was stored and the current release is untouched."""

    status, code, title = 422, "package.unsafe", "The package is refused"

    def __init__(self, reason: str, detail: str, path: str | None = None) -> None:
        if path is not None:
            detail = f"{detail}: {path[:300]!r}"
        super().__init__(detail, reason=reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_files: int = 2000
    max_unpacked_bytes: int = 200 * 1024 * 1024
    max_ratio: int = 100


@dataclass(frozen=True, slots=True)
class PackageFile:
    path: str
    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def read_upload(raw: bytes, limits: ArchiveLimits | None = None) -> list[PackageFile]:
    """The files of an uploaded zip, sorted by path, or PackageUnsafe with the first reason."""
    limits = limits or ArchiveLimits()
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except UNREADABLE_ZIP as exc:
        raise PackageUnsafe("not_a_zip", f"The upload is not a zip file ({exc})") from None
    with zf:
        infos = [i for i in zf.infolist() if not _is_dir(i)]
        if len(infos) > limits.max_files + 2:  # room for a nested manifest and signature
            raise PackageUnsafe(
                "too_many_files", f"The zip has {len(infos)} files; at most {limits.max_files}"
            )
        names = _check_names(zf.infolist())
        _check_nested_manifest(infos, names)
        files = _read_members(zf, infos, names, limits, compressed_total=len(raw))
    files = _unwrap_nested(files)
    _check_paths(files)
    if len(files) > limits.max_files:
        raise PackageUnsafe(
            "too_many_files", f"The zip has {len(files)} files; at most {limits.max_files}"
        )
    if not files:
        raise PackageUnsafe("empty", "The zip holds no files")
    return sorted(files.values(), key=lambda f: f.path)


def _check_paths(files: dict[str, PackageFile]) -> None:
    """Every path as it will be signed passes the package path rule (`manifest.path_problem`),
    the same rule diffs and rollbacks read packages by: a package accepted here can always be
    diffed, rolled forward and installed (a 5,000-character name once could not)."""
    for path in files:
        if problem := path_problem(path):
            raise PackageUnsafe("bad_path", f"A path is refused ({problem})", path)


def _is_dir(info: zipfile.ZipInfo) -> bool:
    """A folder entry: its stored name ends in `/` (`_check_names` refuses one that holds data,
    so every such entry is a folder, and nothing else is; `a/\\x00b` is a file, and refused)."""
    return stored_name(info).endswith("/")


def _check_names(infos: list[zipfile.ZipInfo]) -> dict[str, str]:
    """zip name -> normalised path, refusing unsafe or clashing names."""
    seen: dict[str, str] = {}
    folders: set[str] = set()
    paths: dict[str, str] = {}
    for info in infos:
        name = stored_name(info)
        if info.flag_bits & 0x1:
            raise PackageUnsafe("encrypted", "Encrypted zip members are not accepted", name)
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if stat.S_ISLNK(mode):
            raise PackageUnsafe("symlink", "Symbolic links are not accepted", name)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            raise PackageUnsafe("special_file", "Only plain files and folders are accepted", name)
        if "\\" in name or _DRIVE.match(name):
            raise PackageUnsafe("bad_path", "Backslashes and drive letters are not accepted", name)
        if name.startswith("/"):
            raise PackageUnsafe("absolute_path", "Absolute paths are not accepted", name)
        if has_control_character(name):
            raise PackageUnsafe("bad_path", "Control characters in a name", name)
        is_dir = _is_dir(info)
        if is_dir and (info.file_size or info.compress_size > _EMPTY_DEFLATED):
            raise PackageUnsafe("bad_path", "A folder entry (a name ending in /) holds data", name)
        segments = name.rstrip("/").split("/") if is_dir else name.split("/")
        if any(s in ("", ".", "..") for s in segments):
            raise PackageUnsafe("outside_root", "A path leaves or repeats the root", name)
        path = unicodedata.normalize("NFC", "/".join(segments))
        key = path.casefold()
        if key in seen or (not is_dir and key in folders):
            raise PackageUnsafe(
                "duplicate_name", f"{path!r} is in the zip twice (names differ only in case?)", name
            )
        normalised = key.split("/")
        for depth in range(1, len(normalised)):
            parent = "/".join(normalised[:depth])
            if parent in seen and seen[parent] == "file":
                raise PackageUnsafe("duplicate_name", f"{parent!r} is a file and a folder", name)
            folders.add(parent)
        seen[key] = "dir" if is_dir else "file"
        if is_dir:
            folders.add(key)
        else:
            paths[name] = path
    return paths


def _check_nested_manifest(infos: list[zipfile.ZipInfo], names: dict[str, str]) -> None:
    """A nested manifest.json declared above `MAX_MANIFEST_BYTES` (what a device reads at most) is
    refused before any member is read; `_read_members` stops one that passes the cap while it
    streams (a header's size is not trusted)."""
    for info in infos:
        if names[stored_name(info)] == MANIFEST_NAME and info.file_size > MAX_MANIFEST_BYTES:
            raise PackageUnsafe("too_large", _manifest_too_large(), MANIFEST_NAME)


def _manifest_too_large() -> str:
    return f"A package manifest.json is at most {MAX_MANIFEST_BYTES} bytes"


def _read_members(
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    names: dict[str, str],
    limits: ArchiveLimits,
    *,
    compressed_total: int,
) -> dict[str, PackageFile]:
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_unpacked_bytes:
        raise PackageUnsafe("too_large", _too_large(limits))
    files: dict[str, PackageFile] = {}
    total = 0
    for info in infos:
        if info.compress_type not in _ALLOWED_METHODS:
            raise PackageUnsafe(
                "compression", "Only stored or deflated members are accepted", stored_name(info)
            )
        path = names[stored_name(info)]
        budget = limits.max_unpacked_bytes - total
        per_file_cap = max(info.compress_size, 1) * limits.max_ratio
        cap, too_large = budget, None
        if path == MANIFEST_NAME and budget > MAX_MANIFEST_BYTES:
            # Stopped at what a device reads at most, whatever the zip's header says.
            cap, too_large = MAX_MANIFEST_BYTES, _manifest_too_large()
        data = _read_capped(zf, info, cap, per_file_cap, limits, too_large=too_large)
        total += len(data)
        if total > RATIO_FLOOR_BYTES and total > max(compressed_total, 1) * limits.max_ratio:
            raise PackageUnsafe("ratio", "The zip unpacks to too much for its size")
        files[path] = PackageFile(path=path, data=data, sha256=hashlib.sha256(data).hexdigest())
    return files


def _read_capped(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    budget: int,
    ratio_cap: int,
    limits: ArchiveLimits,
    *,
    too_large: str | None = None,
) -> bytes:
    """The member's bytes, refused (`too_large`, `ratio`) as soon as they pass `budget` or the
    ratio cap while they stream."""
    out = bytearray()
    try:
        with zf.open(info) as member:
            while chunk := member.read(_CHUNK):
                out += chunk
                if len(out) > budget:
                    raise PackageUnsafe(
                        "too_large", too_large or _too_large(limits), stored_name(info)
                    )
                if len(out) > RATIO_FLOOR_BYTES and len(out) > ratio_cap:
                    raise PackageUnsafe(
                        "ratio",
                        f"The file unpacks to more than {limits.max_ratio} times its packed size",
                        stored_name(info),
                    )
    except UNREADABLE_ZIP as exc:
        raise PackageUnsafe(
            "corrupt", f"A member cannot be read ({exc})", stored_name(info)
        ) from None
    return bytes(out)


def _too_large(limits: ArchiveLimits) -> str:
    return f"The zip unpacks to more than {limits.max_unpacked_bytes} bytes"


def _unwrap_nested(files: dict[str, PackageFile]) -> dict[str, PackageFile]:
    """A zip holding a package (manifest.json at its root): its files, checked against it."""
    nested = files.get(MANIFEST_NAME)
    if nested is None:
        return files
    rest = {p: f for p, f in files.items() if p not in (MANIFEST_NAME, SIGNATURE_NAME)}
    if rest and all(p.startswith(FILES_PREFIX) for p in rest):
        rest = {p[len(FILES_PREFIX) :]: f for p, f in rest.items()}
        rest = {p: PackageFile(path=p, data=f.data, sha256=f.sha256) for p, f in rest.items()}
    try:
        listed = json.loads(nested.data)["files"]
        wanted = {str(e["path"]): (int(e["size"]), str(e["sha256"])) for e in listed}
    except (ValueError, KeyError, TypeError):
        raise PackageUnsafe("manifest_mismatch", "The zip's manifest.json cannot be read") from None
    found = {p: (f.size, f.sha256) for p, f in rest.items()}
    if wanted != found:
        differs = sorted(set(wanted.items()) ^ set(found.items()))
        where = differs[0][0] if differs else None
        raise PackageUnsafe(
            "manifest_mismatch", "The zip's manifest.json does not match its files", where
        )
    return rest

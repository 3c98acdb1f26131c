"""Signed package manifests: the canonical bytes, signing, and the verifier every device runs.

A manifest names an app id, a version (only ever going up per app id), the kind of package, each
file with its size and SHA-256, the minimum app version, when it was issued and when it expires,
and the id of the key that signed it. The signature is Ed25519 over the canonical JSON (UTF-8,
keys sorted, no spaces), base64url without padding.

The signing keys are derived from the server's JWT Ed25519 seeds (WORKBENCH_JWT_KEYS), one per
seed, so they rotate with them: the first signs, all of them are published and verify. A key
signing packages never signs tokens, and the other way round (its seed is an HMAC of the JWT seed).

A package file is a zip of `manifest.json` (the canonical bytes), `manifest.sig` (the signature)
and the files under `files/`. `verify_package` checks one exactly as the app must.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sync.packages.zip_names import first_untrusted_name
from workbench import app_version
from workbench.app_version import AppVersion
from workbench.settings import JwtKey

ALGORITHM = "Ed25519"
DERIVATION_LABEL = b"rm-workbench offline packages v1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
FILES_PREFIX = "files/"
# The most a manifest may weigh before it is even parsed (2,000 files fit in well under this).
MAX_MANIFEST_BYTES = 2 * 1024 * 1024
_READ_CHUNK = 64 * 1024
# The brochure media packs' app ids (`media-<size>`): they hold media packs only, so an H5 upload
# or build may not use them (its versions would interleave with the packs' own numbering).
MEDIA_SIZES = ("phone", "tablet")
MEDIA_APP_IDS = frozenset(f"media-{size}" for size in MEDIA_SIZES)

# Everything zipfile raises for bytes that are not a readable zip (truncated, damaged, an
# unsupported zip version or compression, encrypted members): the package is refused, never a 500.
UNREADABLE_ZIP: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
    NotImplementedError, RuntimeError, zlib.error,
)  # fmt: skip


class PackageRefused(Exception):
    """The package must not be installed; `reason` is a short code, `detail` says why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail or reason


class ManifestFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    path: str
    size: int
    sha256: str


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A verified manifest (only `verify` hands these out for received packages)."""

    app_id: str
    version: int
    kind: Literal["h5", "media"]
    files: list[ManifestFile]
    min_app_version: str
    issued_at: datetime
    expires_at: datetime
    key_id: str


class PublicKey(msgspec.Struct, frozen=True):
    """One entry of GET /offline-packages/keys."""

    key_id: str
    public_key: str  # base64url of the raw 32 bytes
    alg: str = ALGORITHM


# ---- canonical bytes ---------------------------------------------------------------------------


def canonical(manifest: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: JSON, UTF-8, keys sorted, no spaces."""
    return json.dumps(
        manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def rfc3339(moment: datetime) -> str:
    """UTC, whole seconds, `Z`: the form manifests carry."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_manifest(
    *,
    app_id: str,
    version: int,
    kind: str,
    files: Iterable[Mapping[str, Any]],
    min_app_version: str,
    issued_at: datetime,
    expires_at: datetime,
    key_id: str = "",
) -> dict[str, Any]:
    """A manifest as a plain dict, its files sorted by path (sign it with `PackageSigner`)."""
    return {
        "app_id": app_id,
        "version": int(version),
        "kind": kind,
        "files": sorted(
            (
                {"path": str(f["path"]), "size": int(f["size"]), "sha256": str(f["sha256"])}
                for f in files
            ),
            key=lambda f: f["path"],
        ),
        "min_app_version": min_app_version,
        "issued_at": rfc3339(issued_at),
        "expires_at": rfc3339(expires_at),
        "key_id": key_id,
    }


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---- signing -----------------------------------------------------------------------------------


def derive_private_key(seed: bytes) -> Ed25519PrivateKey:
    """The package-signing key of one JWT seed (never the token key itself)."""
    return Ed25519PrivateKey.from_private_bytes(
        hmac.new(seed, DERIVATION_LABEL, hashlib.sha256).digest()
    )


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


class PackageSigner:
    """Signs manifests with the key derived from the first JWT seed; publishes every key."""

    def __init__(self, keys: Iterable[JwtKey]) -> None:
        self._keys = [(k.kid, derive_private_key(k.seed)) for k in keys]
        if not self._keys:
            raise ValueError("a package signer needs at least one key")

    @property
    def key_id(self) -> str:
        return self._keys[0][0]

    def sign(self, manifest: dict[str, Any]) -> tuple[str, str]:
        """Set the manifest's `key_id` to the signing key's and sign its canonical bytes.

        Returns (key_id, base64url signature). The dict is updated in place, so what is stored
        and shipped is exactly what was signed.
        """
        key_id, key = self._keys[0]
        manifest["key_id"] = key_id
        return key_id, b64url(key.sign(canonical(manifest)))

    def public_keys(self) -> dict[str, bytes]:
        """key id -> raw 32-byte public key, for every configured key (old ones still verify)."""
        return {kid: raw_public_key(key) for kid, key in self._keys}

    def keys_document(self) -> list[PublicKey]:
        return [
            PublicKey(key_id=kid, public_key=b64url(raw)) for kid, raw in self.public_keys().items()
        ]


def expected_kind(app_id: str) -> str:
    """The kind of package an app id holds: `media` for the media pack app ids, else `h5`."""
    return "media" if app_id in MEDIA_APP_IDS else "h5"


def parse_keys_document(document: bytes | str | Mapping[str, Any]) -> dict[str, bytes]:
    """The `{keys: [...]}` answer of GET /offline-packages/keys as key id -> raw public key."""
    try:
        data = json.loads(document) if isinstance(document, bytes | str) else document
        keys = {}
        for entry in data["keys"]:
            if entry.get("alg", ALGORITHM) != ALGORITHM:
                continue
            raw = unb64url(entry["public_key"])
            if len(raw) != 32:
                raise ValueError("a public key is 32 bytes")
            keys[str(entry["key_id"])] = raw
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise PackageRefused("keys_malformed", f"the key list cannot be read ({exc})") from exc
    return keys


# ---- verification ------------------------------------------------------------------------------


def parse_app_version(text: str) -> AppVersion:
    """ "2.3.0" -> (2, 3); trailing zeros do not count ("2.3" == "2.3.0"), a pre-release comes
    before its release (`workbench.app_version`)."""
    return app_version.parse(text)


def verify(
    manifest_bytes: bytes,
    signature: str | bytes,
    public_keys: Mapping[str, bytes],
    *,
    installed_version: int | None,
    now: datetime,
    app_version: str | None = None,
    app_id: str | None = None,
    kind: str | None = None,
) -> Manifest:
    """Check a manifest exactly as the app must before it touches any file.

    Refuses a bad signature, an unknown key id, a version not above the installed one (a replay
    or a rollback), an expired manifest, a minimum app version above `app_version`, another
    app id than `app_id` and another kind than `kind` (when given: an H5 package signed under a
    media pack's app id is not a media pack). Files are checked by `check_files`.
    """
    if len(manifest_bytes) > MAX_MANIFEST_BYTES:
        raise PackageRefused("malformed", "the manifest is too large")
    try:
        head = json.loads(manifest_bytes)
        key_id = head["key_id"] if isinstance(head, dict) else None
    except (ValueError, KeyError):
        raise PackageRefused("malformed", "the manifest is not a signed JSON object") from None
    if not isinstance(key_id, str) or key_id not in public_keys:
        raise PackageRefused("unknown_key", f"no published key has the id {key_id!r}")
    try:
        text = (signature.decode("ascii") if isinstance(signature, bytes) else signature).strip()
        sig = unb64url(text)
        if b64url(sig) != text:  # one spelling only: no padding, no stray bits
            raise ValueError("not canonical base64url")
        Ed25519PublicKey.from_public_bytes(public_keys[key_id]).verify(sig, manifest_bytes)
    except (InvalidSignature, ValueError, binascii.Error):
        raise PackageRefused("bad_signature", "the signature does not match the manifest") from None
    try:
        manifest = msgspec.json.decode(manifest_bytes, type=Manifest)
    except msgspec.DecodeError as exc:
        raise PackageRefused("malformed", f"the manifest cannot be read ({exc})") from None
    if app_id is not None and manifest.app_id != app_id:
        raise PackageRefused("wrong_app", f"the package is for {manifest.app_id!r}, not {app_id!r}")
    if kind is not None and manifest.kind != kind:
        raise PackageRefused("wrong_kind", f"the package is {manifest.kind!r}, not {kind!r}")
    if installed_version is not None and manifest.version <= installed_version:
        raise PackageRefused(
            "not_newer",
            f"version {manifest.version} is not above the installed version {installed_version}",
        )
    if manifest.expires_at.tzinfo is None or manifest.expires_at <= now:
        raise PackageRefused("expired", f"the manifest expired at {rfc3339(manifest.expires_at)}")
    if app_version is not None:
        try:
            too_old = parse_app_version(app_version) < parse_app_version(manifest.min_app_version)
        except ValueError as exc:
            raise PackageRefused("malformed", str(exc)) from None
        if too_old:
            raise PackageRefused(
                "app_too_old",
                f"the package needs app version {manifest.min_app_version}, this is {app_version}",
            )
    paths = [f.path for f in manifest.files]
    if paths != sorted(set(paths)):
        raise PackageRefused("malformed", "the manifest's files are not sorted and distinct")
    if unsafe := next((p for p in paths if not safe_path(p)), None):
        raise PackageRefused("malformed", f"the manifest names an unsafe path {unsafe[:100]!r}")
    return manifest


# The one path rule of every package: an upload is refused (archive), a package read for a diff
# or a rollback is unreadable (diffs), and a device refuses a manifest (verify) by this same
# rule, so nothing the server accepts can later fail to be diffed, rolled forward or installed.
MAX_PATH_CHARS = 1024
_PATH_SEGMENT = re.compile(r"[^/\\\x00-\x1f\x7f]+")


def path_problem(path: object) -> str | None:
    """Why `path` is not a plain relative path inside the package root, or None when it is.

    Refused: an empty or over-long (above MAX_PATH_CHARS) path, a leading slash, `.`, `..` or
    empty segments, backslashes, control characters, and a colon in the first segment (a drive
    letter or a URL scheme)."""
    if not isinstance(path, str) or not path:
        return "a file path must be a non-empty string"
    if len(path) > MAX_PATH_CHARS:
        return f"a file path has {len(path)} characters; at most {MAX_PATH_CHARS}"
    segments = path.split("/")
    if any(s in ("", ".", "..") or not _PATH_SEGMENT.fullmatch(s) for s in segments):
        return f"file path outside the package root or not plain: {path[:80]!r}"
    if ":" in segments[0]:
        return f"file path with a drive letter or scheme: {path[:80]!r}"
    return None


def safe_path(path: str) -> bool:
    """Whether `path` passes the package path rule (`path_problem`)."""
    return path_problem(path) is None


def check_files(manifest: Manifest, found: Mapping[str, tuple[int, str]]) -> None:
    """Every listed file present with its size and SHA-256, and nothing else."""
    listed = {f.path: f for f in manifest.files}
    if missing := sorted(listed.keys() - found.keys()):
        raise PackageRefused("file_missing", f"{missing[0]} is listed but not in the package")
    if extra := sorted(found.keys() - listed.keys()):
        raise PackageRefused("file_extra", f"{extra[0]} is in the package but not listed")
    for path, entry in listed.items():
        size, sha256 = found[path]
        if size != entry.size or not hmac.compare_digest(sha256, entry.sha256):
            raise PackageRefused("file_mismatch", f"{path} does not match its manifest entry")


# ---- package files -----------------------------------------------------------------------------


def write_package(
    manifest: Mapping[str, Any], signature: str, files: Iterable[tuple[str, bytes]]
) -> bytes:
    """The package zip: manifest.json, manifest.sig, then each file under files/ (deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_entry(MANIFEST_NAME), canonical(manifest))
        zf.writestr(_entry(SIGNATURE_NAME), signature.encode("ascii"))
        for path, data in files:
            zf.writestr(_entry(FILES_PREFIX + path), data)
    return out.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible bytes
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def verify_package(
    package: bytes | io.BufferedIOBase,
    public_keys: Mapping[str, bytes],
    *,
    installed_version: int | None,
    now: datetime,
    app_version: str | None = None,
    app_id: str | None = None,
    kind: str | None = None,
) -> Manifest:
    """Verify a downloaded package file: its signed manifest first, then every file it holds.

    Each file is hashed while it is read, and reading stops at the size the manifest gives, so
    a forged header or a zip bomb is never inflated beyond what was signed. A member whose
    stored name holds a control character (a NUL cuts zipfile's name short) is refused first,
    so every name read below is the whole name as stored.
    """
    source = io.BytesIO(package) if isinstance(package, bytes) else package
    try:
        zf = zipfile.ZipFile(source)
    except UNREADABLE_ZIP as exc:
        raise PackageRefused("malformed", f"not a zip file ({exc})") from None
    with zf:
        if problem := first_untrusted_name(zf.infolist()):
            raise PackageRefused("malformed", problem)
        names = [i.filename for i in zf.infolist()]
        if len(names) != len(set(names)):
            raise PackageRefused("malformed", "the package has a name twice")
        if MANIFEST_NAME not in names or SIGNATURE_NAME not in names:
            raise PackageRefused("malformed", "the package has no signed manifest")
        manifest_bytes = _read_capped(zf, MANIFEST_NAME, MAX_MANIFEST_BYTES)
        signature = _read_capped(zf, SIGNATURE_NAME, 1024)
        manifest = verify(
            manifest_bytes,
            signature,
            public_keys,
            installed_version=installed_version,
            now=now,
            app_version=app_version,
            app_id=app_id,
            kind=kind,
        )
        sizes = {f.path: f.size for f in manifest.files}
        found: dict[str, tuple[int, str]] = {}
        for info in zf.infolist():
            if info.filename in (MANIFEST_NAME, SIGNATURE_NAME) or info.is_dir():
                continue
            if not info.filename.startswith(FILES_PREFIX):
                raise PackageRefused("file_extra", f"{info.filename} is outside files/")
            path = info.filename[len(FILES_PREFIX) :]
            if path not in sizes:
                raise PackageRefused("file_extra", f"{path} is in the package but not listed")
            found[path] = _hash_capped(zf, info, sizes[path])
        check_files(manifest, found)
    return manifest


def _read_capped(zf: zipfile.ZipFile, name: str, cap: int) -> bytes:
    try:
        with zf.open(name) as member:
            data = member.read(cap + 1)
    except UNREADABLE_ZIP as exc:
        raise PackageRefused("malformed", f"{name} cannot be read ({exc})") from None
    if len(data) > cap:
        raise PackageRefused("malformed", f"{name} is too large")
    return data


def _hash_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> tuple[int, str]:
    """(size, sha256 hex) of a member, reading at most one byte past `cap`."""
    digest = hashlib.sha256()
    size = 0
    try:
        with zf.open(info) as member:
            while chunk := member.read(min(_READ_CHUNK, cap + 1 - size)):
                digest.update(chunk)
                size += len(chunk)
                if size > cap:
                    break
    except UNREADABLE_ZIP as exc:
        raise PackageRefused("file_mismatch", f"{info.filename} cannot be read ({exc})") from None
    return size, digest.hexdigest()

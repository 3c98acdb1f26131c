"""Offline packages: signed H5 bundles and brochure media packs, and the keys that verify them.

A package file is a zip of `manifest.json` (canonical JSON: keys sorted, no spaces, UTF-8),
`manifest.sig` (Ed25519 over those exact bytes, base64url) and the files under `files/`. The app
verifies a package before it activates it: the signature with the published key its `key_id`
names, a version above the installed one, not expired, its own version at least
`min_app_version`, and every file's size and SHA-256 (nothing missing, nothing extra).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mobile_contracts.v1.patterns import whole

AppId = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            "[a-z0-9][a-z0-9._:-]{0,99}",
            says="an app id like crm.h5: up to 100 lowercase letters, digits, ., _, : and -",
        )
    ),
]
AppVersion = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            r"[0-9]{1,6}(\.[0-9]{1,6}){0,3}",
            says="a version like 2.3.1: up to 4 numbers joined by dots",
        )
    ),
]
Sha256 = Annotated[
    str,
    msgspec.Meta(pattern=whole("[0-9a-f]{64}", says="64 lowercase hexadecimal digits (a SHA-256)")),
]


class PackageKind(enum.StrEnum):
    """h5: the customer-facing pages; media: one RM's brochure renditions."""

    H5 = "h5"
    MEDIA = "media"


class ManifestFile(msgspec.Struct, kw_only=True):
    path: str
    size: int
    sha256: Sha256


class PackageManifest(msgspec.Struct, kw_only=True):
    """The signed manifest, as in the package's manifest.json."""

    app_id: AppId
    version: int
    kind: PackageKind
    files: list[ManifestFile]
    min_app_version: AppVersion
    issued_at: datetime
    expires_at: datetime
    key_id: str


class OfflinePackage(msgspec.Struct, kw_only=True):
    """A stored package; `url` downloads its file (Range and ETag supported)."""

    id: uuid.UUID
    app_id: AppId
    version: int
    kind: PackageKind
    sha256: Sha256
    size: int
    key_id: str
    signature: str
    min_app_version: AppVersion
    issued_at: datetime
    expires_at: datetime
    file_count: int
    url: str
    created_at: datetime


class PackageKey(msgspec.Struct, kw_only=True):
    key_id: str
    public_key: str  # base64url of the raw 32-byte Ed25519 public key
    alg: str = "Ed25519"


class PackageKeys(msgspec.Struct, kw_only=True):
    """Every key a package may be signed with; the first signs new packages."""

    keys: list[PackageKey]

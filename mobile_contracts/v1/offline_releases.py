"""Gray releases of offline packages, the `latest` answer, and what a device reports it installed.

A release sends one H5 package version of an app id to a sticky percentage of users, to org
subtrees and to listed users; it is widened, paused, resumed or rolled back. `latest` answers the
highest version among the active releases that include the caller that their app can install
(its manifest not expired, its `min_app_version` at most the app's `X-App-Version`).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mobile_contracts.v1.patterns import whole

MAX_RELEASE_UNITS = 200
MAX_RELEASE_USERS = 2_000

AppId = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            "[a-z0-9][a-z0-9._:-]{0,99}",
            says="an app id like crm.h5: up to 100 lowercase letters, digits, ., _, : and -",
        )
    ),
]
Sha256 = Annotated[
    str,
    msgspec.Meta(pattern=whole("[0-9a-f]{64}", says="64 lowercase hexadecimal digits (a SHA-256)")),
]


class ReleaseState(enum.StrEnum):
    """active: answered by `latest`; paused: not answered until resumed; rolled_back: for good."""

    ACTIVE = "active"
    PAUSED = "paused"
    ROLLED_BACK = "rolled_back"


class ReleaseRequest(msgspec.Struct, kw_only=True):
    """Release a package, or widen its open release: a percentage never goes down, units and
    users are added to those already in it."""

    percent: Annotated[float, msgspec.Meta(ge=0, le=100)]
    org_unit_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_RELEASE_UNITS)] = []
    user_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_RELEASE_USERS)] = []


class Release(msgspec.Struct, kw_only=True):
    """A gray release of one package version."""

    id: uuid.UUID
    app_id: str
    package_id: uuid.UUID
    version: int
    state: ReleaseState
    percent: float
    org_unit_ids: list[uuid.UUID]
    user_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class RolledForwardPackage(msgspec.Struct, kw_only=True):
    """A package a rollback issued: `version`, holding the files of `files_of_version` (the
    previous release its devices had)."""

    version: int
    files_of_version: int


class RolledBackRelease(Release, kw_only=True):
    """A rolled-back release and what the rollback did: devices on the withdrawn version move
    to the `rolled_forward` versions, or (`withdrawn_only`) keep their package until a higher
    version reaches them; `higher_open_version`: a higher release stays open above it;
    `unreadable_versions`: lower releases whose files could not be read."""

    withdrawn_only: bool
    rolled_forward: list[RolledForwardPackage]
    higher_open_version: int | None = None
    unreadable_versions: list[int] = []


class LatestPackage(msgspec.Struct, kw_only=True):
    """The package this user should have (`available: false` and nothing else: none is released
    to them). A diff is offered only against the `current` package the app reported.

    `current_withdrawn`: the `current` package's release was rolled back. When the rollback
    rolled this device forward, the answered package is a higher version carrying the files it
    had before; otherwise (a higher release is still open, or nothing earlier to go back to) the
    answer is the device's own package (`up_to_date`), never a lower version it would refuse,
    and the app may warn until a newer version reaches it."""

    available: bool = True
    up_to_date: bool = False  # `current` is this package: nothing to download
    current_withdrawn: bool = False
    version: int | None = None
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    signature: str | None = None
    key_id: str | None = None
    manifest_url: str | None = None
    diff_url: str | None = None
    diff_sha256: str | None = None
    diff_size: int | None = None


class InstallReport(msgspec.Struct, kw_only=True):
    """The package this device just installed (and verified) for an app id."""

    app_id: AppId
    version: Annotated[int, msgspec.Meta(ge=1, le=2_000_000_000)]
    sha256: Sha256


class Install(msgspec.Struct, kw_only=True):
    """What this device reported last for the app id."""

    device_id: str
    app_id: str
    version: int
    sha256: str
    reported_at: datetime

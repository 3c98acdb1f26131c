"""Identity and org: login, tokens, the current user, org units, users and devices."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mobile_contracts.v1.patterns import anywhere, whole

# What a sign-in takes as the login: any text. One no user can have (李四, "rm04 ") is the
# wrong login (401, counted as a failed attempt), never a 422 that tells whoever tries which
# logins are well-formed; what a login may be is `NewLogin`'s.
SignInLogin = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=256,
        description="The user's login; one no user has is the wrong login (401)",
    ),
]
DeviceId = Annotated[
    str,
    msgspec.Meta(
        min_length=8,
        max_length=128,
        pattern=whole("[A-Za-z0-9._:-]+", says="letters, digits, ., _, : and - only"),
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
NewPassword = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
# A new user's login starts with a letter or digit ("..", "-x" are no one's), and their name is
# more than spaces.
NewLogin = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=whole(
            "[A-Za-z0-9][A-Za-z0-9._@-]*",
            says="letters, digits, ., _, @ and -, starting with a letter or digit",
        ),
    ),
]
NewName = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=100, pattern=anywhere(r"\S", says="more than spaces")),
]
AppVersion = Annotated[str, msgspec.Meta(max_length=32)]


class Role(enum.StrEnum):
    RM = "rm"
    BRANCH_HEAD = "branch_head"
    MARKETING = "marketing"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


class Platform(enum.StrEnum):
    IOS = "ios"
    ANDROID = "android"
    HARMONY = "harmony"
    WEB = "web"


class DeviceInfo(msgspec.Struct, kw_only=True):
    """The device a session is bound to; `device_id` is created by the app and stays stable."""

    device_id: DeviceId
    platform: Platform
    model: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    app_version: AppVersion | None = None


class LoginRequest(msgspec.Struct, kw_only=True):
    login: SignInLogin
    password: Password
    device: DeviceInfo


class RefreshRequest(msgspec.Struct, kw_only=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    device_id: DeviceId


class UserSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    role: Role
    org_unit_id: uuid.UUID


class TokenPair(msgspec.Struct, kw_only=True):
    """Answer of login and refresh: a short-lived access JWT and a single-use refresh token."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"
    user: UserSummary


class OrgUnitRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str


class Me(msgspec.Struct, kw_only=True):
    """The signed-in user with role and org unit."""

    id: uuid.UUID
    login: str
    name: str
    role: Role
    org_unit_id: uuid.UUID
    org_unit: OrgUnitRef
    device_id: str


class OrgUnitCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Create an org unit; with `id` given and already present, its name and parent are updated.
    Any other field is refused, naming it (it would be believed saved)."""

    id: uuid.UUID | None = None
    name: Name
    parent_id: uuid.UUID | None = None


class OrgUnit(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    depth: int


class UserCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Create a user, or with a known `id`/`login` update name, role, org unit and password. Any
    other field (`active`: an account is disabled with POST .../disable) is refused, naming it:
    an admin who sent one would otherwise believe it saved."""

    id: uuid.UUID | None = None
    login: NewLogin
    name: NewName
    role: Role
    org_unit_id: uuid.UUID
    password: NewPassword


class User(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    login: str
    name: str
    role: Role
    org_unit_id: uuid.UUID
    active: bool  # false: disabled, cannot sign in
    created_at: datetime
    # Their last sign-in or token refresh on any device (None: never, or not looked up).
    last_seen_at: datetime | None = None


class UserUpdate(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """PATCH /admin/users/{id}: the fields given change, the others stay; the password never
    does (POST .../password sets it). A new role, org unit or login ends every session of the
    user (their tokens carry role and unit): they sign in again. Any other field (`password`,
    `active`) is refused, naming it: an admin who sent one would otherwise believe it saved."""

    login: NewLogin | msgspec.UnsetType = msgspec.UNSET
    name: NewName | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    org_unit_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET


class PasswordSet(msgspec.Struct, kw_only=True):
    """POST /admin/users/{id}/password: the user's new password (8 to 256 characters). Every
    session of theirs ends; hand the password over in person or by another safe channel."""

    password: NewPassword


class Handover(msgspec.Struct, kw_only=True):
    """What an RM who is disabled or moved still holds, to be handed over to a colleague
    separately: customers stay theirs until the bank's feed names another `owner_login`, and
    their open tasks (pending, in progress, submitted, awaiting confirmation) stay assigned."""

    customers: int
    open_tasks: int


class UserChanged(msgspec.Struct, kw_only=True):
    """The answer of an admin's change to a user (update, disable, enable, new password)."""

    user: User
    sessions_ended: int  # their sessions that ended now (they sign in again)
    # For an RM disabled, moved to another unit or given another role: what they still hold.
    handover: Handover | None = None
    # Disabling: the user's phones and tablets that held a session, each told to erase its
    # offline copy on its next call (403 `auth.user_disabled` with `wipe: true`; a sync pull
    # answers `wipe: true`) while the user stays disabled. The devices are not revoked.
    devices_to_wipe: int = 0


class SignInUnlocked(msgspec.Struct, kw_only=True):
    """POST /admin/users/{id}/unlock-sign-in: the user's failed sign-in attempts are forgotten,
    so they may sign in at once (the limits per client address stay). `was_locked`: whether too
    many wrong passwords had locked their sign-in (false: there was nothing to lift)."""

    was_locked: bool


class DeviceRevoked(msgspec.Struct, kw_only=True):
    device_id: str
    revoked_at: datetime
    sessions_ended: int


class Device(msgspec.Struct, kw_only=True):
    device_id: str
    user_id: uuid.UUID
    platform: Platform
    model: str | None
    app_version: str | None
    last_seen_at: datetime
    revoked_at: datetime | None


class DeviceState(enum.StrEnum):
    """A device in the device list: `active` may sign in; `revoked` was stopped (lost)."""

    ACTIVE = "active"
    REVOKED = "revoked"


class UserRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str


class DeviceOwner(msgspec.Struct, kw_only=True):
    """The user a device is bound to (the last one who signed in on it)."""

    id: uuid.UUID
    login: str
    name: str
    org_unit: OrgUnitRef


class DevicePush(msgspec.Struct, kw_only=True):
    """The device's push registration: `active` while notifications reach it; otherwise
    `deactivated_reason` says why they stopped (logout, device_revoked, dead:..., ...)."""

    provider: str
    active: bool
    registered_at: datetime
    deactivated_reason: str | None = None


class DeviceListItem(msgspec.Struct, kw_only=True):
    """A device in `GET /devices`: what it is, whose it is, and whether it is still trusted."""

    device_id: str
    platform: Platform
    model: str | None = None
    app_version: str | None = None
    first_seen_at: datetime
    last_seen_at: datetime  # its last sign-in or token refresh
    state: DeviceState
    revoked_at: datetime | None = None
    revoked_by: UserRef | None = None
    user: DeviceOwner
    session_open: bool  # a signed-in session on it has not ended
    push: DevicePush | None = None  # None: it never registered for push (a console browser)

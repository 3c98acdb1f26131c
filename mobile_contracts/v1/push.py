"""Push: the device's registration with its push provider, and notification preferences."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import msgspec

from mobile_contracts.v1.identity import AppVersion, DeviceId, Platform
from mobile_contracts.v1.patterns import whole

PushToken = Annotated[
    str,
    msgspec.Meta(
        min_length=8,
        max_length=4096,
        pattern=whole(r"[\x21-\x7e]+", says="printable ASCII characters, no spaces"),
    ),
]
ClockTime = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            "([01][0-9]|2[0-3]):[0-5][0-9]", says="a time of day like 08:30 (00:00 to 23:59)"
        )
    ),
]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
CategoryName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class PushProvider(enum.StrEnum):
    APNS = "apns"
    FCM = "fcm"
    HMS = "hms"


class DeviceRegistration(msgspec.Struct, kw_only=True):
    """POST /devices: this device's push token (sent again whenever the provider rotates it).
    iOS registers with apns, HarmonyOS with hms, Android with fcm or hms."""

    device_id: DeviceId
    platform: Platform
    provider: PushProvider
    push_token: PushToken
    app_version: AppVersion | None = None


class RegisteredDevice(msgspec.Struct, kw_only=True):
    """A push registration as the app sees it (the token is never echoed)."""

    device_id: str
    platform: Platform
    provider: PushProvider
    active: bool
    registered_at: datetime


class QuietWindow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Daily quiet hours in the user's time zone, e.g. 22:00 to 08:00 (over midnight). A field
    it does not know is refused (a misspelt setting would otherwise be silently lost)."""

    start: ClockTime
    end: ClockTime


class NotificationPreferencesUpdate(
    msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True
):
    """PUT /me/notification-preferences. Omitted fields keep their value; `quiet_hours: null`
    turns quiet hours off. `time_zone` defaults to the bank's. An unknown field (a misspelt
    `mute_categories`, say) is refused with 422 naming it, rather than ignored."""

    quiet_hours: QuietWindow | msgspec.UnsetType | None = msgspec.UNSET
    muted_categories: list[CategoryName] | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType | None = msgspec.UNSET


class NotificationCategory(msgspec.Struct, kw_only=True):
    name: str
    label: str
    mutable: bool


class NotificationPreferences(msgspec.Struct, kw_only=True):
    quiet_hours: QuietWindow | None
    muted_categories: list[str]
    time_zone: str
    categories: list[NotificationCategory]

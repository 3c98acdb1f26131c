"""Request examples of push: a device registering its push token, and a user's notification
preferences (quiet hours, muted categories)."""

from __future__ import annotations

import msgspec

from mobile_contracts.examples._common import DEVICE_ID, BodyExample
from mobile_contracts.v1 import push

PUSH_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
    push.DeviceRegistration: {
        "iphone": BodyExample(
            "An iPhone registers its APNs token",
            {
                "device_id": DEVICE_ID,
                "platform": "ios",
                "provider": "apns",
                "push_token": "7f3a9c2e5b1d8f4a6c0e2b9d7f1a3c5e8b0d2f4a6c8e0b1d3f5a7c9e1b3d5f7a",
                "app_version": "1.4.0",
            },
        ),
        "harmony": BodyExample(
            "A HarmonyOS phone registers its Push Kit token",
            {
                "device_id": "harmony-phone-0042",
                "platform": "harmony",
                "provider": "hms",
                "push_token": "IQAAAACy0kYkAAB6mQzVx2m1s9tW4c8n3b7k5r1p0aQhL2fG6dJ",
            },
        ),
    },
    push.NotificationPreferencesUpdate: {
        "quiet_nights": BodyExample(
            "Quiet from 22:00 to 08:00, escalations muted",
            {
                "quiet_hours": {"start": "22:00", "end": "08:00"},
                "muted_categories": ["task.escalation"],
                "time_zone": "Asia/Shanghai",
            },
        ),
        "quiet_off": BodyExample(
            "Turn quiet hours off (other settings stay)", {"quiet_hours": None}
        ),
    },
}

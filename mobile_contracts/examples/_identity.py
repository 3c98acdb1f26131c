"""Request examples of identity and org: signing in, refreshing a session, and what the staff
admin sends to make units and users, move them and reset a password."""

from __future__ import annotations

import msgspec

from mobile_contracts.examples._common import DEVICE_ID, ORG_UNIT_ID, BodyExample
from mobile_contracts.v1 import identity

IDENTITY_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
    identity.LoginRequest: {
        "rm_on_iphone": BodyExample(
            "An RM signs in on an iPhone (demo bank)",
            {
                "login": "rm01",
                "password": "workbench-demo",
                "device": {
                    "device_id": DEVICE_ID,
                    "platform": "ios",
                    "model": "iPhone 15",
                    "app_version": "1.4.0",
                },
            },
            "`device_id` is made by the app once and kept: the session is bound to it.",
        ),
        "branch_head_on_tablet": BodyExample(
            "A branch head signs in on a HarmonyOS tablet",
            {
                "login": "bh.east",
                "password": "workbench-demo",
                "device": {"device_id": "tablet-east-0007", "platform": "harmony"},
            },
        ),
    },
    identity.RefreshRequest: {
        "rotate": BodyExample(
            "Trade the refresh token for a new pair",
            {
                "refresh_token": "wbr_Vq3m9XcT2kPz8LrA5nYw1bHs7dGf4eJu0oKi6tRx",
                "device_id": DEVICE_ID,
            },
            "Each refresh token works once; keep the new one from the answer.",
        )
    },
    identity.OrgUnitCreate: {
        "new_branch": BodyExample(
            "A new branch under the head office",
            {"name": "南区支行", "parent_id": ORG_UNIT_ID},
        )
    },
    identity.UserCreate: {
        "new_rm": BodyExample(
            "A new RM in a team",
            {
                "login": "rm09",
                "name": "王五",
                "role": "rm",
                "org_unit_id": ORG_UNIT_ID,
                "password": "change-me-on-first-day",
            },
        )
    },
    identity.UserUpdate: {
        "move_to_a_team": BodyExample(
            "Move an RM to another team (their password stays; they sign in again)",
            {"org_unit_id": ORG_UNIT_ID},
        )
    },
    identity.PasswordSet: {
        "reset": BodyExample(
            "A new password for someone who forgot theirs (hand it over safely)",
            {"password": "temporary-pass-2026"},
        )
    },
}

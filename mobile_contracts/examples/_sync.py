"""Request examples of offline work: sync pull and push, and the gray release and installs of
the offline packages (H5 pages, media packs)."""

from __future__ import annotations

import msgspec

from mobile_contracts.examples._common import (
    BROCHURE_ID,
    CURSOR,
    CUSTOMER_ID,
    H5_PACKAGE_SHA256,
    MEDIA_PACK_SHA256,
    NOTE_ID,
    NOTIFICATION_ID,
    ORG_UNIT_ID,
    SHARE_REF,
    TASK_ID,
    USER_ID,
    USER_ID_2,
    BodyExample,
)
from mobile_contracts.v1 import offline_releases, sync

SYNC_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
    sync.PullRequest: {
        "initial": BodyExample(
            "Initial sync (no cursor yet)",
            {"schema_version": 2},
            "Then pull again with the answer's `cursor` while `has_more`.",
        ),
        "next": BodyExample(
            "The next page, or changes since the last pull",
            {"schema_version": 2, "cursor": CURSOR, "limit": 1000},
        ),
    },
    sync.PushRequest: {
        "offline_work": BodyExample(
            "What an RM did offline, oldest first",
            {
                "client_id": "install-3f9c2a7e",
                "mutations": [
                    {"id": 41, "name": "task.start", "args": {"task_id": TASK_ID}},
                    {
                        "id": 42,
                        "name": "note.add",
                        "args": {
                            "customer_id": CUSTOMER_ID,
                            "id": NOTE_ID,
                            "kind": "call",
                            "text": "电话沟通续作事宜。",
                        },
                    },
                    {
                        "id": 43,
                        "name": "notification.read",
                        "args": {"notification_id": NOTIFICATION_ID},
                    },
                    {
                        "id": 44,
                        "name": "share.create",
                        "args": {
                            "client_ref": SHARE_REF,
                            "brochure_id": BROCHURE_ID,
                            "customer_id": CUSTOMER_ID,
                            "channel": "wechat",
                        },
                    },
                ],
            },
            "Ids increase per `client_id`; resending a batch applies nothing twice.",
        )
    },
}

OFFLINE_RELEASE_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
    offline_releases.ReleaseRequest: {
        "pilot": BodyExample(
            "A 10 % gray release, plus a pilot branch and two RMs",
            {"percent": 10, "org_unit_ids": [ORG_UNIT_ID], "user_ids": [USER_ID, USER_ID_2]},
            "On a package whose release is open this widens it: the percentage never goes down,"
            " units and users are added.",
        ),
        "widen": BodyExample("Widen to half of all users", {"percent": 50}),
        "everyone": BodyExample("Release to everyone", {"percent": 100}),
    },
    offline_releases.InstallReport: {
        "h5": BodyExample(
            "The app installed and verified version 7 of the customer pages",
            {"app_id": "h5", "version": 7, "sha256": H5_PACKAGE_SHA256},
            "`sha256` is of the package file the app downloaded (the ETag of its download).",
        ),
        "media_pack": BodyExample(
            "A phone installed its brochure media pack",
            {"app_id": "media-phone", "version": 12, "sha256": MEDIA_PACK_SHA256},
        ),
    },
}

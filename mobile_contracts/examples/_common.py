"""What the request examples share: the `BodyExample` they are written as, and the made-up
ids they use (use ones the API gave you)."""

from __future__ import annotations

from typing import Any

import msgspec


class BodyExample(msgspec.Struct, frozen=True):
    """One named example of a request body."""

    summary: str
    value: Any
    description: str | None = None


DEVICE_ID = "my-phone-0001"
ORG_UNIT_ID = "0191a2b3-5d6e-7f80-9a1b-2c3d4e5f6071"
TEMPLATE_ID = "0191a2b3-7a10-7c22-8d34-5e6f70819203"
CUSTOMER_ID = "0191a2b3-9b20-7e44-a556-67788990aabb"
CUSTOMER_ID_2 = "0191a2b3-9b21-7e45-a557-67788990aabc"
TASK_ID = "0191a2b4-0c30-7f66-b778-8899aabbccdd"
NOTE_ID = "0191a2b4-1d40-7a88-9c9a-aabbccddeeff"
ATTACHMENT_ID = "0191a2b4-2e50-7baa-8dbc-ccddeeff0011"
NOTIFICATION_ID = "0191a2b4-3f60-7ccc-aede-eeff00112233"
BROCHURE_ID = "0191a2b4-5a70-7ddd-8f0e-00112233aabb"
CONTENT_HASH = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0b"
SHARE_REF = "0191a2b4-6b80-7eee-9a1f-112233445566"
CURSOR = "kwGSzwAAAZGis0BjzwAAAAAAAAAqxBBhbGljZS1ybS0wMS1jdXJzb3I8f3Yq1w"
USER_ID = "0191a2b4-7c90-7f01-8b20-2233445566aa"
USER_ID_2 = "0191a2b4-7c91-7f02-8b21-2233445566ab"
SURVEY_ID = "0191a2b4-8da0-7a12-9c31-33445566778a"
SHARE_CODE = "k3Xq9TbP2m"
VISITOR_ID = "9f2c4a1e7b3d5f608a1c2e4b6d8f0a13"
EVENT_ID = "5b7e2c1a-9d4f-4e8b-a3c6-1f0e2d4b6a85"
EVENT_ID_2 = "c2a4e6f8-1b3d-4f5a-9c7e-0d2b4f6a8c13"
H5_PACKAGE_SHA256 = "3b7f0c9e5a2d8146bf0e3c7a9d5b1f2e8c4a6d0b3f7e9a1c5d2b8f4e6a0c3d71"
MEDIA_PACK_SHA256 = "a41c6e2f8b0d3957c1e4a7f2b9d6083e5c1a7f4b2e9d0c6a8f3b5e1d7c2a9f40"

"""Request examples shown in the API reference, by wire type of the request body.

Every operation whose body is one of these types shows them (named, with a summary) and fills
"Try it out" with the first one. A test decodes each example into its type exactly as the API
does, and checks it against the published OpenAPI schema, so an example never goes stale.
Ids are made up: use ones the API gave you. Decimal amounts travel as strings.
"""

from __future__ import annotations

from typing import Any

import msgspec

from mobile_contracts.v1 import customers, funnels, identity, push, shares, sync, tasks


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
SHARE_REF = "0191a2b4-6b80-7eee-9a1f-112233445566"
CURSOR = "kwGSzwAAAZGis0BjzwAAAAAAAAAqxBBhbGljZS1ybS0wMS1jdXJzb3I8f3Yq1w"

_VISIT_FORM = {
    "fields": [
        {
            "key": "summary",
            "label": "拜访纪要",
            "type": "text",
            "required": True,
            "max_length": 2000,
        },
        {
            "key": "interest",
            "label": "意向产品",
            "type": "multi_choice",
            "options": ["理财", "基金", "保险"],
        },
        {"key": "amount", "label": "意向金额（元）", "type": "number", "min": 0},
        {
            "key": "photos",
            "label": "现场照片",
            "type": "photo",
            "required": True,
            "min": 1,
            "max": 3,
        },
    ]
}

REQUEST_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
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
    customers.CustomerFeed: {
        "one_customer": BodyExample(
            "One customer from the core banking system",
            {
                "customers": [
                    {
                        "external_id": "C000123",
                        "name": "张三",
                        "id_number": "11010519491231002X",
                        "phone": "13812345678",
                        "owner_login": "rm01",
                        "risk_level": "C3",
                        "segment": "mass_affluent",
                        "tags": ["retiree", "vip"],
                        "aum": "2500000.50",
                    }
                ]
            },
            "Up to 10,000 rows; each row is checked on its own.",
        )
    },
    customers.HoldingFeed: {
        "positions": BodyExample(
            "Two positions of a customer",
            {
                "holdings": [
                    {
                        "customer_external_id": "C000123",
                        "product_code": "WM90",
                        "amount": "500000.00",
                        "as_of": "2026-03-31",
                    },
                    {
                        "customer_external_id": "C000123",
                        "product_code": "BOND01",
                        "amount": "120000.25",
                        "as_of": "2026-03-31",
                    },
                ]
            },
        )
    },
    funnels.ConversionFeed: {
        "conversions": BodyExample(
            "A purchase and a consultation",
            {
                "conversions": [
                    {
                        "external_id": "TXN-20261202-000123",
                        "customer_external_id": "C000123",
                        "product_code": "WM90",
                        "kind": "purchase",
                        "amount": "200000.00",
                        "occurred_at": "2026-12-02T10:15:00+08:00",
                    },
                    {
                        "external_id": "CRM-88231",
                        "customer_external_id": "C000124",
                        "product_code": "WM90",
                        "kind": "consult",
                        "occurred_at": "2026-12-02T14:40:00+08:00",
                    },
                ]
            },
            "`external_id` is the bank system's own id: resending it changes nothing.",
        )
    },
    customers.ProductFeed: {
        "products": BodyExample(
            "A wealth product and a capped pension product",
            {
                "products": [
                    {
                        "code": "WM90",
                        "name": "稳享90天理财",
                        "category": "wealth",
                        "risk_level": "R2",
                    },
                    {
                        "code": "PENS01",
                        "name": "个人养老金理财",
                        "category": "pension",
                        "risk_level": "R2",
                        "max_holding": "12000",
                        "active": True,
                    },
                ]
            },
        )
    },
    customers.NoteCreate: {
        "visit": BodyExample(
            "A visit note made offline (the app chose the id)",
            {"id": NOTE_ID, "kind": "visit", "text": "上门拜访，介绍了稳健型理财，客户下周再约。"},
            "Resending the same `id` and text answers the stored note and creates nothing new.",
        ),
        "call": BodyExample(
            "A call note", {"kind": "call", "text": "电话回访，客户对定期存款感兴趣。"}
        ),
    },
    customers.RecommendationRules: {
        "two_rules": BodyExample(
            "Retirees get pension products; fund holders an index fund",
            {
                "rules": [
                    {
                        "name": "养老客群配养老金",
                        "when": {"tag": "retiree"},
                        "recommend": {"category": "pension"},
                        "weight": 40,
                    },
                    {
                        "name": "持有基金的客户看指数基金",
                        "when": {"holds_category": "fund"},
                        "recommend": {"product_code": "IDX300"},
                        "weight": 15,
                    },
                ]
            },
            "The whole table: rules left out are deleted.",
        )
    },
    tasks.TemplateCreate: {
        "visit": BodyExample(
            "A customer visit the customer confirms by QR code",
            {
                "name": "客户拜访",
                "form": _VISIT_FORM,
                "requires_customer_confirmation": True,
                "sla_hours": 72,
                "reminders": [{"minutes_before_due": 1440}, {"minutes_before_due": 60}],
            },
        ),
        "weekly_report": BodyExample(
            "A weekly report, due every Monday",
            {
                "name": "周报",
                "form": {
                    "fields": [
                        {"key": "report", "label": "本周工作", "type": "text", "required": True},
                        {"key": "visits", "label": "拜访次数", "type": "number", "min": 0},
                    ]
                },
                "recurrence": "FREQ=WEEKLY;BYDAY=MO",
            },
        ),
    },
    tasks.DispatchCreate: {
        "to_subtree": BodyExample(
            "One task for every active RM of a branch",
            {
                "template_id": TEMPLATE_ID,
                "title": "季度客户回访",
                "due_at": "2026-06-30T18:00:00+08:00",
                "org_unit_id": ORG_UNIT_ID,
            },
        ),
        "per_customer": BodyExample(
            "One task per customer, for the customer's RM, at most 20 per RM",
            {
                "template_id": TEMPLATE_ID,
                "title": "到期理财续作沟通",
                "customer_ids": [CUSTOMER_ID, CUSTOMER_ID_2],
                "per_rm_cap": 20,
            },
            "Send an `Idempotency-Key` header to retry safely.",
        ),
    },
    tasks.Submission: {
        "visit": BodyExample(
            "The answers to the visit form above",
            {
                "values": {
                    "summary": "客户关注稳健收益，已介绍稳享90天理财。",
                    "interest": ["理财"],
                    "amount": 200000,
                    "photos": [ATTACHMENT_ID],
                }
            },
            "Photos and signatures are uploaded first; their values are the attachment ids.",
        )
    },
    tasks.Reschedule: {
        "later": BodyExample("Move the due time", {"due_at": "2026-07-03T17:30:00+08:00"})
    },
    tasks.Cancellation: {
        "reason": BodyExample("Cancel with a reason", {"reason": "客户已销户"}),
    },
    tasks.ConfirmationRequest: {
        "with_location": BodyExample(
            "With where the RM is (compared with the customer's location)",
            {"location": {"lat": 39.9087, "lng": 116.3975}},
        ),
        "without_location": BodyExample("Without a location", {}),
    },
    tasks.TaskRuleCreate: {
        "maturity": BodyExample(
            "Call the customer when a large deposit matures",
            {
                "name": "大额存单到期提醒",
                "event_kind": "deposit.matured",
                "field": "amount",
                "op": "gte",
                "value": 1000000,
                "template_id": TEMPLATE_ID,
                "within_days": 30,
                "due_in_hours": 48,
            },
        )
    },
    tasks.EventBatch: {
        "matured": BodyExample(
            "A deposit matured",
            {
                "events": [
                    {
                        "kind": "deposit.matured",
                        "customer_external_id": "C000123",
                        "occurred_at": "2026-04-01T09:00:00+08:00",
                        "data": {"amount": 1500000, "product_code": "DEP1Y"},
                    }
                ]
            },
        )
    },
    shares.ShareCreate: {
        "to_customer": BodyExample(
            "Share a brochure with one of my customers over WeChat",
            {
                "brochure_id": BROCHURE_ID,
                "customer_id": CUSTOMER_ID,
                "channel": "wechat",
                "client_ref": SHARE_REF,
            },
            "`client_ref` is made by the app: sending it again gives the same share.",
        ),
        "poster": BodyExample(
            "A poster with a QR code, for anyone", {"brochure_id": BROCHURE_ID, "channel": "qr"}
        ),
    },
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
"""Examples by request body type; every operation taking that type shows them."""

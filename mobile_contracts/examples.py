"""Request examples shown in the API reference, by wire type of the request body.

Every operation whose body is one of these types shows them (named, with a summary) and fills
"Try it out" with the first one. A test decodes each example into its type exactly as the API
does, and checks it against the published OpenAPI schema, so an example never goes stale.
Ids are made up: use ones the API gave you. Decimal amounts travel as strings.
"""

from __future__ import annotations

from typing import Any

import msgspec

from mobile_contracts.v1 import (
    brochures,
    customers,
    funnels,
    identity,
    offline_releases,
    push,
    shares,
    survey_delivery,
    surveys,
    sync,
    tasks,
    tracking,
    workorders,
)


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

# A customer NPS survey: the reason is asked only of detractors (a score of 0-6, skip logic), and
# choosing 理财 tags the customer.
_NPS_QUESTIONS = [
    {
        "key": "score",
        "type": "nps",
        "required": True,
        "text": "您有多大可能向亲友推荐我行的客户经理服务？（0 分最不可能，10 分最可能）",
    },
    {
        "key": "reason",
        "type": "text",
        "text": "很抱歉没能让您满意，请告诉我们原因",
        "show_if": {"key": "score", "in": [0, 1, 2, 3, 4, 5, 6]},
    },
    {
        "key": "speed",
        "type": "single",
        "required": True,
        "text": "本次业务办理的效率如何？",
        "options": [
            {"value": "fast", "label": "很快"},
            {"value": "ok", "label": "还可以"},
            {"value": "slow", "label": "较慢"},
        ],
    },
    {
        "key": "interest",
        "type": "multi",
        "text": "近期您还关心哪些金融服务？",
        "options": [
            {"value": "wealth", "label": "理财", "tag": "理财意向"},
            {"value": "insurance", "label": "保险"},
            {"value": "pension", "label": "个人养老金"},
        ],
    },
    {"key": "suggestion", "type": "text", "text": "您对我们还有什么建议？"},
]

# A weekly staff pulse: what weighs on them is asked only of those who rate the week 1 or 2.
_PULSE_QUESTIONS = [
    {
        "key": "mood",
        "type": "rating",
        "required": True,
        "text": "这一周，您对工作状态的整体感受如何？（1 分很差，5 分很好）",
    },
    {
        "key": "pressure",
        "type": "multi",
        "text": "是什么让您感到吃力？",
        "options": [
            {"value": "targets", "label": "拜访与销售指标"},
            {"value": "systems", "label": "系统卡顿、录入繁琐"},
            {"value": "training", "label": "产品培训不足"},
        ],
        "show_if": {"key": "mood", "in": [1, 2]},
    },
    {"key": "voice", "type": "text", "text": "有什么想对团队或管理层说的？（匿名）"},
]

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
    customers.CustomerFeed: {
        "two_customers": BodyExample(
            "Two customers from the core banking system",
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
                    },
                    {
                        "external_id": "C000124",
                        "name": "李娜",
                        "id_number": "310104197805234820",
                        "phone": "13916082745",
                        "owner_login": "rm01",
                        "risk_level": "C2",
                    },
                ]
            },
            "Up to 10,000 rows; each row is checked on its own (only the first five fields and"
            " `risk_level` are required).",
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
    brochures.ApproveRequest: {
        "reviewed": BodyExample(
            "Compliance approves the content they reviewed",
            {"content_hash": CONTENT_HASH},
            "`content_hash` is the `latest.content_hash` of the staff view that was reviewed. If"
            " marketing changed the content since (rejected, edited and resubmitted), nothing is"
            " approved: 409 `brochure.content_changed`.",
        ),
    },
    brochures.RejectRequest: {
        "risk_disclosure": BodyExample(
            "Compliance sends a version back for a missing risk warning",
            {
                "reason": "第3页展示了业绩比较基准，但未提示“理财非存款、产品有风险、投资须谨慎”，"
                "请补充风险揭示后重新提交。",
                "content_hash": CONTENT_HASH,
            },
            "The reason is shown to marketing and kept in the brochure's review history and the"
            " audit trail. `content_hash` names the content reviewed, as for an approval.",
        ),
        "wrong_product": BodyExample(
            "The brochure names the wrong product",
            {"reason": "宣传材料中的产品期限为180天，与所选产品“稳享90天理财”不符。"},
        ),
    },
    brochures.PublishRequest: {
        "window": BodyExample(
            "Live for the year-end wealth season only",
            {
                "live_from": "2026-12-01T09:00:00+08:00",
                "live_until": "2027-02-28T18:00:00+08:00",
            },
            "It goes live and expires at those times by itself; a `live_from` in the past means"
            " now.",
        ),
        "now": BodyExample("Live from now, with no end", {}),
        "until": BodyExample(
            "Live from now until the product's subscription closes",
            {"live_until": "2026-12-31T17:00:00+08:00"},
        ),
    },
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
    surveys.SurveyCreate: {
        "nps_after_visit": BodyExample(
            "A customer NPS survey sent after every visit, with a follow-up for detractors",
            {
                "title": "客户经理服务满意度回访",
                "audience": "customer",
                "questions": _NPS_QUESTIONS,
                "after_template_id": TEMPLATE_ID,
            },
            "`reason` is shown only when `score` is 0-6 (`show_if`); it may only look back at a"
            " choice, NPS or rating question. The answer lists what would keep the draft from"
            " being published (`flaws`).",
        ),
        "staff_pulse": BodyExample(
            "A weekly staff pulse (to staff inboxes)",
            {"title": "员工周度心声", "audience": "staff", "questions": _PULSE_QUESTIONS},
        ),
    },
    surveys.SurveyEdit: {
        "retitle": BodyExample("Rename the draft", {"title": "网点服务满意度回访（2026版）"}),
        "add_question": BodyExample(
            "Add a question (the whole list: questions left out are removed)",
            {
                "questions": [
                    *_NPS_QUESTIONS,
                    {
                        "key": "channel",
                        "type": "single",
                        "text": "您更希望通过哪种方式接收我行的服务通知？",
                        "options": [
                            {"value": "wechat", "label": "微信"},
                            {"value": "sms", "label": "短信"},
                            {"value": "phone", "label": "电话"},
                        ],
                    },
                ]
            },
            "Published versions never change: publish again to make the next version.",
        ),
        "stop_auto_send": BodyExample(
            "Stop sending it after visits", {"clear_after_template": True}
        ),
    },
    survey_delivery.DeliveryCreate: {
        "customers": BodyExample(
            "Two of my customers (sent in the request)",
            {"customer_ids": [CUSTOMER_ID, CUSTOMER_ID_2]},
            "Up to 200 listed recipients are sent at once (201), each with its link or"
            " `reason: contact_cap`.",
        ),
        "retirees_of_a_branch": BodyExample(
            "Every retiree customer of a branch (sent by the worker)",
            {"org_unit_id": ORG_UNIT_ID, "tag": "retiree"},
            "A selection answers 202; follow the delivery's progress.",
        ),
        "staff": BodyExample(
            "A staff survey to two RMs' inboxes", {"user_ids": [USER_ID, USER_ID_2]}
        ),
    },
    surveys.Submission: {
        "good_week": BodyExample(
            "A staff member answers the weekly pulse",
            {"answers": {"mood": 4, "voice": "希望多安排一些个人养老金产品的培训。"}},
            "A question not shown (here `pressure`, asked only for 1-2) must be left out.",
        ),
        "hard_week": BodyExample(
            "A hard week: the follow-up question is shown and answered",
            {
                "answers": {
                    "mood": 2,
                    "pressure": ["targets", "systems"],
                    "voice": "系统经常卡顿，录入拜访记录太慢。",
                }
            },
        ),
    },
    workorders.AlertRuleCreate: {
        "detractors": BodyExample(
            "A score of 6 or less goes to the customer's RM within 8 business hours",
            {
                "survey_id": SURVEY_ID,
                "question_key": "score",
                "op": "lte",
                "value": 6,
                "assign_to": "owner_rm",
                "sla_hours": 8,
                "sla_kind": "business_hours",
            },
            "Rules are tried in the order they were made; the first match opens the work order.",
        ),
        "complaint": BodyExample(
            "A suggestion mentioning a complaint goes to the branch head within 4 hours",
            {
                "survey_id": SURVEY_ID,
                "question_key": "suggestion",
                "op": "contains",
                "value": "投诉",
                "assign_to": "branch_head",
                "sla_hours": 4,
            },
        ),
        "slow_service": BodyExample(
            "Service rated slow (an option chosen), with the defaults: the RM, within 24 hours",
            {"survey_id": SURVEY_ID, "question_key": "speed", "op": "eq", "value": "slow"},
        ),
    },
    workorders.AlertRuleEdit: {
        "tighter_sla": BodyExample(
            "Due within 4 business hours from now on",
            {"sla_hours": 4, "sla_kind": "business_hours"},
            "Work orders already open keep their SLA.",
        ),
        "wider": BodyExample("Widen to scores of 7 or less", {"op": "lte", "value": 7}),
        "pause": BodyExample("Turn the rule off", {"active": False}),
    },
    workorders.WorkOrderTransition: {
        "start": BodyExample(
            "The RM starts on it",
            {"to": "in_progress", "note": "已电话联系客户，了解具体情况，正在协调处理。"},
        ),
        "resolve": BodyExample(
            "Resolved",
            {
                "to": "resolved",
                "note": "已向客户解释并给出改进措施，网点增开了理财专窗，客户表示理解。",
            },
        ),
        "close": BodyExample(
            "Closed with its root cause",
            {"to": "closed", "note": "回访确认客户满意，结单。", "root_cause": "wait_time"},
            "Closing may name an active root cause (`GET /api/v1/work-orders/root-causes`).",
        ),
        "reopen": BodyExample(
            "Reopened: the fix did not hold",
            {"to": "in_progress", "note": "客户再次反映排队时间过长，重新跟进。"},
        ),
    },
    workorders.RootCauseCreate: {
        "new": BodyExample("A new root cause", {"code": "queue_system", "label": "叫号系统故障"}),
        "retire": BodyExample(
            "Retire a root cause (same code: its label and state change)",
            {"code": "environment", "label": "网点环境与设施", "active": False},
            "Work orders closed with it keep it; it is no longer offered for closing.",
        ),
    },
    tracking.Beacon: {
        "open": BodyExample(
            "The page was visibly rendered: an open",
            {"code": SHARE_CODE, "visitor_id": VISITOR_ID, "type": "open", "event_id": EVENT_ID},
            "The viewer page's script sends these; a fetch of the page never counts an open."
            " The same `event_id` again counts once.",
        ),
        "heartbeat": BodyExample(
            "A heartbeat: 5 s more of visible reading time",
            {
                "code": SHARE_CODE,
                "visitor_id": VISITOR_ID,
                "type": "heartbeat",
                "ms": 5000,
                "event_id": EVENT_ID_2,
            },
        ),
        "page_view": BodyExample(
            "Page 2 scrolled into view",
            {
                "code": SHARE_CODE,
                "visitor_id": VISITOR_ID,
                "type": "page_view",
                "page": 2,
                "event_id": "7d1f3b5a-2c4e-4a6b-8d0f-9e1c3a5b7d24",
            },
        ),
        "cta": BodyExample(
            "The customer tapped 我有兴趣，请联系我",
            {
                "code": SHARE_CODE,
                "visitor_id": VISITOR_ID,
                "type": "cta",
                "event_id": "e4b6d8f0-3a5c-4e7a-9b1d-2f4a6c8e0b35",
            },
        ),
    },
}
"""Examples by request body type; every operation taking that type shows them."""

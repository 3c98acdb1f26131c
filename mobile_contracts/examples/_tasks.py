"""Request examples of tasks: templates (with a visit form), dispatches, an RM's submission,
reschedule, cancellation and confirmation request, and the rules that turn bank events
into tasks."""

from __future__ import annotations

import msgspec

from mobile_contracts.examples._common import (
    ATTACHMENT_ID,
    CUSTOMER_ID,
    CUSTOMER_ID_2,
    ORG_UNIT_ID,
    TEMPLATE_ID,
    USER_ID,
    BodyExample,
)
from mobile_contracts.v1 import tasks

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

TASK_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
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
    tasks.Reassignment: {
        "to_colleague": BodyExample(
            "Hand the task to another RM of my subtree",
            {"assignee_id": USER_ID},
            "An active RM; a task about a customer only to the RM who owns them now.",
        ),
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
}

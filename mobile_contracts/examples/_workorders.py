"""Request examples of work orders: the alert rules that open them from survey answers, a
work order's transitions, and the root causes it may be closed with."""

from __future__ import annotations

import msgspec

from mobile_contracts.examples._common import SURVEY_ID, BodyExample
from mobile_contracts.v1 import workorders

WORK_ORDER_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
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
}

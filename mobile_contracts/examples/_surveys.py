"""Request examples of surveys: a customer NPS survey and a staff pulse (with their skip
logic), editing a draft, sending a survey to customers or staff, and a submission."""

from __future__ import annotations

import msgspec

from mobile_contracts.examples._common import (
    CUSTOMER_ID,
    CUSTOMER_ID_2,
    ORG_UNIT_ID,
    TEMPLATE_ID,
    USER_ID,
    USER_ID_2,
    BodyExample,
)
from mobile_contracts.v1 import survey_delivery, surveys

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

SURVEY_EXAMPLES: dict[type[msgspec.Struct], dict[str, BodyExample]] = {
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
}

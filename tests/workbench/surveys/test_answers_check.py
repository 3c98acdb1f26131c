"""Answers checked against a published version, as the survey page and staff inbox store them."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from mobile_contracts.v1.surveys import Question
from workbench.surveys import answers
from workbench.surveys.answers import AnswersInvalid

QUESTIONS = msgspec.convert(
    [
        {"key": "nps", "type": "nps", "text": "您向朋友推荐我行的可能性？", "required": True},
        {
            "key": "reason",
            "type": "text",
            "text": "哪里让您不满意？",
            "required": True,
            "show_if": {"key": "nps", "in": [0, 1, 2, 3, 4, 5, 6]},
        },
        {
            "key": "channel",
            "type": "single",
            "text": "您通常如何联系客户经理？",
            "options": [
                {"value": "wechat", "label": "微信"},
                {"value": "phone", "label": "电话"},
                {"value": "branch", "label": "网点"},
            ],
        },
        {
            "key": "interests",
            "type": "multi",
            "text": "您关注哪些产品？",
            "options": [
                {"value": "funds", "label": "基金"},
                {"value": "pension", "label": "养老", "tag": "养老关注"},
                {"value": "insurance", "label": "保险"},
            ],
        },
        {
            "key": "wechat_speed",
            "type": "rating",
            "text": "微信回复速度",
            "required": True,
            "show_if": {"key": "channel", "in": ["wechat"]},
        },
    ],
    list[Question],
)


def check(submitted: dict[str, Any]) -> answers.Checked:
    return answers.check(QUESTIONS, submitted)


def errors(submitted: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(AnswersInvalid) as caught:
        check(submitted)
    assert caught.value.status == 422
    assert caught.value.code == "survey.answers_invalid"
    return caught.value.errors


def test_a_promoter_skips_the_reason_and_texts_are_kept_apart() -> None:
    checked = check({"nps": 9, "channel": "phone", "interests": ["pension", "funds"]})
    # Options in the question's order, whatever order the page sent them in.
    assert checked.answers == {"nps": 9, "channel": "phone", "interests": ["funds", "pension"]}
    assert checked.texts == {}
    assert checked.tags == ["养老关注"]


def test_a_detractor_must_say_why_and_the_text_is_not_among_the_answers() -> None:
    assert errors({"nps": 3}) == {"reason": "此题必答"}
    # A form sends digits as text: read as the form's (JSON sends numbers, and "3" is refused).
    checked = check(answers.without_hidden(QUESTIONS, {"nps": "3", "reason": "  等待时间太长  "}))
    assert checked.answers == {"nps": 3}
    assert checked.texts == {"reason": "等待时间太长"}


def test_a_hidden_question_must_stay_empty() -> None:
    assert errors({"nps": 10, "reason": "很好"}) == {"reason": "此题无需作答"}
    assert errors({"nps": 8, "channel": "phone", "wechat_speed": 5}) == {
        "wechat_speed": "此题无需作答"
    }
    # Empty values of hidden questions are fine: the page sends every field.
    checked = check({"nps": 8, "reason": "", "channel": "phone", "wechat_speed": None})
    assert checked.answers == {"nps": 8, "channel": "phone"}


def test_a_question_shown_by_a_choice_is_required_when_shown() -> None:
    assert errors({"nps": 8, "channel": "wechat"}) == {"wechat_speed": "此题必答"}
    assert check({"nps": 8, "channel": "wechat", "wechat_speed": 4}).answers["wechat_speed"] == 4


@pytest.mark.parametrize(
    ("submitted", "key"),
    [
        ({"nps": 11}, "nps"),
        ({"nps": -1}, "nps"),
        ({"nps": 7.5}, "nps"),
        ({"nps": True}, "nps"),
        ({"nps": "七"}, "nps"),
        ({"nps": "１"}, "nps"),  # full-width digit
        ({"nps": 8, "channel": "email"}, "channel"),
        ({"nps": 8, "channel": ["phone"]}, "channel"),
        ({"nps": 8, "interests": ["funds", "funds"]}, "interests"),
        ({"nps": 8, "interests": ["stocks"]}, "interests"),
        ({"nps": 8, "interests": [1]}, "interests"),
        ({"nps": 8, "channel": "wechat", "wechat_speed": 0}, "wechat_speed"),
        ({"nps": 8, "channel": "wechat", "wechat_speed": 6}, "wechat_speed"),
        ({"nps": 2, "reason": 5}, "reason"),
        ({"nps": 2, "reason": "长" * 2001}, "reason"),
    ],
)
def test_a_bad_value_is_named_and_nothing_is_taken(submitted: dict[str, Any], key: str) -> None:
    assert key in errors(submitted)


def test_an_unknown_question_and_a_missing_required_one_are_both_named() -> None:
    assert errors({"age": 30}) == {"age": "没有这个问题", "nps": "此题必答"}


def test_a_bad_score_hides_what_depends_on_it_instead_of_requiring_it() -> None:
    # nps 15 is wrong; the reason (shown for 0-6 only) is then not asked for as well.
    assert errors({"nps": 15}) == {"nps": "请选择 0 到 10 之间的分数"}

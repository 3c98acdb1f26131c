"""The ends of a survey page's scales say what its questions say: the demo NPS question asks
"0 分最不可能，10 分最可能" and the 1–5 question "1 分很不满意，5 分很满意", and the scales under
them read the same words (they said 0 完全不可能 / 10 非常愿意 and 1 非常不满意 / 5 非常满意)."""

from __future__ import annotations

import re

import pytest

from tests.workbench.surveys.test_public_survey_page import invite
from workbench.surveys.demo import NPS_QUESTIONS

pytestmark = pytest.mark.usefixtures("demo_bank")
_ENDS = re.compile(r'<div class="ends"><span>([^<]*)</span><span>([^<]*)</span></div>')


async def test_each_scales_ends_read_as_its_question_words_them(client, db, settings):
    path, _ = await invite(client, db, settings, questions=NPS_QUESTIONS, title="客户拜访满意度")
    html = (await client.get(path)).text
    ends = _ENDS.findall(html)
    assert ends == [("0 最不可能", "10 最可能"), ("1 很不满意", "5 很满意")]
    for question in (q for q in NPS_QUESTIONS if q["type"] in ("nps", "rating")):
        worded = re.search(r"（(\d+) 分(.+)，(\d+) 分(.+)）", question["text"])
        assert worded is not None, question["text"]
        low, low_words, high, high_words = worded.groups()
        assert (f"{low} {low_words}", f"{high} {high_words}") in ends
    assert 'aria-label="0 到 10 分，0 分最不可能，10 分最可能"' in html
    assert 'aria-label="1 到 5 分，1 分很不满意，5 分很满意"' in html

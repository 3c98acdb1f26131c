"""The survey editor's form, as words and back: skip logic written as option labels, scores and
ranges; keys and option values filled in; what the editor shows for saved questions."""

from __future__ import annotations

import msgspec
import pytest
from multidict import MultiDict

from mobile_contracts.v1.surveys import Question
from workbench.surveys.console import _design_form as editor


def posted(*questions: dict[str, str], options: dict[int, list[str]] | None = None) -> MultiDict:
    data: MultiDict = MultiDict(title="回访")
    for n, q in enumerate(questions, 1):
        data.add("q", str(n))
        for name, value in q.items():
            data.add(f"q{n}.{name}", value)
        for m, label in enumerate((options or {}).get(n, []), 1):
            data.add(f"q{n}.o", str(m))
            data.add(f"q{n}.o{m}.label", label)
    return data


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("0-6", list(range(7))),
        ("0～3、9，10", [0, 1, 2, 3, 9, 10]),
        ("9到10", [9, 10]),
        ("7,7,8", [7, 8]),
        ("²", ["²"]),  # not a score: kept as written, publishing flags it
    ],
)
def test_scores_and_ranges_of_an_nps_question(written, expected):
    form = editor.read_form(posted(
        {"type": "nps", "text": "推荐吗？"},
        {"type": "text", "text": "为什么？", "show_key": "q1", "show_in": written},
    ))  # fmt: skip
    questions = editor.questions_of(form)
    assert questions is not None, [q.problems for q in form.questions]
    assert questions[1].show_if is not None
    assert questions[1].show_if.in_ == expected


def test_choices_are_named_by_label_or_value_and_get_values_of_their_own():
    form = editor.read_form(posted(
        {"type": "multi", "text": "关注哪些？"},
        {"type": "text", "text": "说说理财", "show_key": "q1", "show_in": "理财、o1"},
        options={1: ["存款", "理财"]},
    ))  # fmt: skip
    questions = editor.questions_of(form)
    assert questions is not None
    assert [o.value for o in questions[0].options] == ["o1", "o2"]
    assert questions[1].show_if is not None
    assert questions[1].show_if.in_ == ["o2", "o1"]


def test_saved_questions_read_back_in_words():
    questions = msgspec.convert(
        [
            {"key": "nps", "type": "nps", "text": "推荐吗？"},
            {"key": "a", "type": "single", "text": "业务？",
             "options": [{"value": "dep", "label": "存款"}, {"value": "wm", "label": "理财"}],
             "show_if": {"key": "nps", "in": [0, 1, 2, 3, 4, 5, 6, 9, 10]}},
            {"key": "b", "type": "text", "text": "为什么？", "show_if": {"key": "a", "in": ["wm"]}},
        ],
        list[Question],
    )  # fmt: skip
    rows = editor.rows_of(questions)
    assert [r.show_in for r in rows] == ["", "0-6、9-10", "理财"]
    assert [r.flaws for r in rows] == [[], [], []]
    again = editor.questions_of(editor.EditorForm(title="回访", questions=rows))
    assert again == questions  # the form says exactly what was saved


def test_a_type_that_takes_no_options_drops_those_left_from_another():
    form = editor.read_form(posted({"type": "rating", "text": "满意吗？"}, options={1: ["是"]}))
    questions = editor.questions_of(form)
    assert questions is not None
    assert questions[0].options == []

"""The survey editor's form: questions as form rows and back, without any JSON for the editor.

A question is a row of fields named `q{n}.<field>` (n: the row's number on the page, listed in
order by the repeated `q` field), its options rows `q{n}.o{m}.<field>`. The rows come back in
the page's order, then by their `order` number (how a page without script moves one); a ticked
`remove` drops one; an option row without value and label is an empty spare. A key or option
value left empty is filled in (q1, q2 ...; o1, o2 ...). Skip logic is a question to look at and
the answers that show this one, written as option labels or values, or scores and ranges
("0-6"). What cannot be a question is said in Chinese beside its row; what cannot be published
(the logic) too, as flaws. Each message names the fields it concerns (`Note.fields`): the
page marks them invalid (`aria-invalid`, `aria-describedby` to the message) and a refused page
takes the person to the first one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from mobile_contracts.v1 import surveys as wire
from workbench.surveys import logic
from workbench.visible import reads_otherwise, shows_something

TYPE_LABELS = {
    wire.QuestionType.SINGLE: "单选",
    wire.QuestionType.MULTI: "多选",
    wire.QuestionType.NPS: "NPS 0-10",
    wire.QuestionType.RATING: "评分 1-5",
    wire.QuestionType.TEXT: "文本",
}
AUDIENCE_LABELS = {wire.Audience.CUSTOMER: "客户", wire.Audience.STAFF: "员工"}
STATUS_LABELS = {
    wire.SurveyStatus.DRAFT: "草稿",
    wire.SurveyStatus.PUBLISHED: "已发布",
    wire.SurveyStatus.ARCHIVED: "已归档",
}
SPARE_OPTIONS = 2  # empty option rows under a choice question, for a page without script
MAX_ROWS = wire.MAX_QUESTIONS + 20  # rows read from one form at most
_ROW = re.compile(r"^[0-9]{1,4}$")
_SEPARATORS = re.compile(r"[,，、;；\s]+")
_RANGE = re.compile(r"^(\d{1,2})\s*(?:-|~|～|至|到)\s*(\d{1,2})$")
READS_OTHERWISE = "{what}不能含控制字符或改变文字方向的字符（可能从别处复制而来），请重新输入。"
# The blank starter's hints: a draft may keep them, but customers must never be asked them.
STARTER_TEXT = "请输入题目"
STARTER_LABELS = ("选项一", "选项二")
_OPTION_PARTS = ("label", "value", "tag")
# A question card's fields in the order the page shows them (options between text and logic).
_CARD_ORDER = {"type": 0, "text": 1, "show_key": 3, "show_in": 4, "key": 5}
_FIELD_NAMES = {
    "type": "题型",
    "text": "题目",
    "show_key": "显示条件",
    "show_in": "显示这道题的答案",
    "key": "题目编号",
    "label": "选项文字",
    "value": "选项值",
    "tag": "客户标签",
}
_OPTION_PATH = re.compile(r"\$\.options\[(\d+)\]\.(label|value|tag)")


@dataclass
class OptionRow:
    value: str = ""
    label: str = ""
    tag: str = ""


@dataclass(frozen=True)
class Note:
    """A message beside a question: `problem` (not saved) or `flaw` (not published), and the
    card's fields it concerns ("text", "show_key", "o2.label"), marked invalid on the page."""

    kind: str
    text: str
    fields: tuple[str, ...]


@dataclass
class QuestionRow:
    """One question as the editor shows it; `problems`: why it is not a question yet;
    `flaws`: why it cannot be published; `notes`: both, with the fields they concern (add them
    with `refuse` and `flag`)."""

    row: str
    key: str = ""
    type: str = wire.QuestionType.SINGLE.value
    text: str = ""
    required: bool = False
    options: list[OptionRow] = field(default_factory=list)
    show_key: str = ""
    show_in: str = ""
    problems: list[str] = field(default_factory=list)
    flaws: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def is_choice(self) -> bool:
        return self.type in (wire.QuestionType.SINGLE, wire.QuestionType.MULTI)

    def refuse(self, text: str, *fields: str) -> None:
        """Why this row is not a question yet, beside `fields` (the text when none is named)."""
        self.problems.append(text)
        self.notes.append(Note("problem", text, fields or ("text",)))

    def flag(self, text: str, *fields: str) -> None:
        """Why this question cannot be published, beside `fields`; said once."""
        if text not in self.flaws:
            self.flaws.append(text)
            self.notes.append(Note("flaw", text, fields or ("text",)))

    @property
    def messages(self) -> list[tuple[str, Note]]:
        """The notes as the card lists them, problems first, each with its element id."""
        ordered = sorted(self.notes, key=lambda note: note.kind != "problem")
        return [(f"q{self.row}-note-{n}", note) for n, note in enumerate(ordered, 1)]

    def messages_at(self, area: str) -> list[tuple[str, Note]]:
        """The messages shown under one part of the card ("text", "options", "logic", "key"):
        the part of the first field each concerns."""
        return [(i, note) for i, note in self.messages if _area(note.fields[0]) == area]

    def described_by(self, name: str) -> str:
        """The ids of the messages about the card's field `name` (empty: it is fine)."""
        return " ".join(note_id for note_id, note in self.messages if name in note.fields)

    def invalid_fields(self) -> list[str]:
        """The card's fields some message concerns, in the order the page shows them."""
        names = {name for note in self.notes for name in note.fields}
        return sorted(names, key=_card_place)


def _area(name: str) -> str:
    if name in ("type", "text"):
        return "text"
    if name in ("show_key", "show_in"):
        return "logic"
    return "key" if name == "key" else "options"


def _card_place(name: str) -> tuple[int, int, int]:
    if name in _CARD_ORDER:
        return (_CARD_ORDER[name], 0, 0)
    number, _, part = name[1:].partition(".")
    return (2, int(number), _OPTION_PARTS.index(part))


@dataclass
class EditorForm:
    title: str = ""
    after_template_id: str = ""
    questions: list[QuestionRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # of the whole form
    errors: dict[str, str] = field(default_factory=dict)  # by field (title), said beside it

    @property
    def invalid(self) -> bool:
        return bool(self.problems or self.errors) or any(q.problems for q in self.questions)


def fields_to_fix(form: EditorForm) -> list[tuple[str, str]]:
    """Every field a message concerns, in page order, as (element id, what it is in words):
    the first is where a refused page takes the person."""
    found = [(name, label) for name, label in _FORM_FIELDS if form.errors.get(name)]
    for number, q in enumerate(form.questions, 1):
        found.extend(
            (f"q{q.row}.{name}", f"第 {number} 题的{_field_name(name)}")
            for name in q.invalid_fields()
        )
    return found


_FORM_FIELDS = (("title", "问卷标题"), ("after_template_id", "任务完成后自动发送"))


def _field_name(name: str) -> str:
    if name in _FIELD_NAMES:
        return _FIELD_NAMES[name]
    number, _, part = name[1:].partition(".")
    return f"选项 {number} 的{_FIELD_NAMES[part]}"


# ---- questions -> rows -----------------------------------------------------------------------


def rows_of(
    questions: Sequence[wire.Question], flaws: Sequence[logic.Flaw] | None = None
) -> list[QuestionRow]:
    """The saved questions as editor rows, with their flaws (`flaws`: the survey's, which know
    its published versions; else those of the questions alone)."""
    rows = [
        QuestionRow(
            row=str(n),
            key=q.key,
            type=q.type.value,
            text=q.text,
            required=q.required,
            options=[OptionRow(o.value, o.label, o.tag or "") for o in q.options],
            show_key=q.show_if.key if q.show_if else "",
            show_in=_answers_text(q.show_if, questions) if q.show_if else "",
        )
        for n, q in enumerate(questions, 1)
    ]
    mark_flaws(rows, questions, flaws)
    mark_starter_hints(rows)
    return rows


def with_spares(rows: Iterable[QuestionRow]) -> list[QuestionRow]:
    """Rows with empty option rows under each choice question (to type into without script)."""
    result = []
    for q in rows:
        spares = [OptionRow() for _ in range(SPARE_OPTIONS)] if q.is_choice else []
        result.append(dataclasses.replace(q, options=[*q.options, *spares]))
    return result


def blank_row(rows: Sequence[QuestionRow]) -> QuestionRow:
    """A new single-choice question at the end, with a free key and row number."""
    taken = {q.key for q in rows}
    number = max((int(q.row) for q in rows), default=0) + 1
    return QuestionRow(row=str(number), key=_free("q", taken, start=len(rows) + 1))


def _answers_text(condition: wire.ShowIf, questions: Sequence[wire.Question]) -> str:
    """`show_if.in` as the editor writes it: option labels, or scores with ranges folded."""
    target = next((q for q in questions if q.key == condition.key), None)
    if target is not None and target.type in logic.CHOICE:
        labels = {o.value: o.label for o in target.options}
        return "、".join(labels.get(str(v), str(v)) for v in condition.in_)
    scores = sorted({v for v in condition.in_ if isinstance(v, int)})
    others = [str(v) for v in condition.in_ if not isinstance(v, int)]
    return "、".join([*_ranges(scores), *others])


def _ranges(scores: list[int]) -> list[str]:
    parts: list[str] = []
    start = previous = None
    for score in [*scores, None]:
        if start is not None and (score is None or score != (previous or 0) + 1):
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = None
        if score is not None and start is None:
            start = score
        previous = score
    return parts


# ---- form -> rows -> questions ---------------------------------------------------------------


def read_form(data: Any) -> EditorForm:
    """The editor's rows as posted (removed ones dropped, reordered), nothing checked yet."""
    form = EditorForm(
        title=shown_text(data, "title"),
        after_template_id=form_text(data, "after_template_id").strip(),
    )
    seen: list[str] = []
    for row in _all(data, "q"):
        if _ROW.match(row) and row not in seen and len(seen) < MAX_ROWS:
            seen.append(row)
    ordered = []
    for position, row in enumerate(seen):
        prefix = f"q{row}."
        if form_text(data, prefix + "remove"):
            continue
        options = []
        for option_row in _all(data, prefix + "o")[: wire.MAX_OPTIONS + 10]:
            if not _ROW.match(option_row):
                continue
            option_prefix = f"{prefix}o{option_row}."
            option = OptionRow(
                value=form_text(data, option_prefix + "value").strip(),
                label=shown_text(data, option_prefix + "label"),
                tag=form_text(data, option_prefix + "tag").strip(),
            )
            if option.value or option.label or option.tag:
                options.append(option)
        question = QuestionRow(
            row=row,
            key=form_text(data, prefix + "key").strip(),
            type=form_text(data, prefix + "type").strip() or wire.QuestionType.SINGLE.value,
            text=shown_text(data, prefix + "text"),
            required=bool(form_text(data, prefix + "required")),
            options=options,
            show_key=form_text(data, prefix + "show_key").strip(),
            show_in=form_text(data, prefix + "show_in").strip(),
        )
        # A row moved by its number goes before the row that kept that number.
        order = _order(form_text(data, prefix + "order"), position)
        ordered.append((order, order == position + 1, position, question))
    form.questions = [item[-1] for item in sorted(ordered, key=lambda item: item[:3])]
    return form


def questions_of(form: EditorForm) -> list[wire.Question] | None:
    """The form's questions (keys and option values filled in), or None when a row is not a
    question yet (its `problems` say why; the form's too)."""
    title = title_error(form.title)
    if title:
        form.errors["title"] = title
    if not form.questions:
        form.problems.append("问卷至少需要一道题。")
    elif len(form.questions) > wire.MAX_QUESTIONS:
        form.problems.append(f"一份问卷最多 {wire.MAX_QUESTIONS} 道题。")
    taken = {q.key for q in form.questions if q.key}
    for number, q in enumerate(form.questions, 1):
        if not q.key:
            q.key = _free("q", taken, start=number)
            taken.add(q.key)
        values = {o.value for o in q.options if o.value}
        for option in q.options:
            if not option.value and option.label:
                option.value = _free("o", values, start=1)
                values.add(option.value)
    by_key = {q.key: q for q in form.questions}
    questions = []
    for q in form.questions:
        question = _question(q, by_key)
        if question is not None:
            questions.append(question)
    if form.invalid:
        return None
    return questions


def title_error(title: str) -> str | None:
    """Why `title` (as `shown_text` read it) cannot be a survey's title, or None."""
    if not title:
        return "请填写问卷标题。"
    if reads_otherwise(title):
        return READS_OTHERWISE.format(what="问卷标题")
    if len(title) > 200:
        return "问卷标题最多 200 个字。"
    return None


def _question(q: QuestionRow, by_key: Mapping[str, QuestionRow]) -> wire.Question | None:
    if q.type not in {t.value for t in wire.QuestionType}:
        q.refuse("请选择题型。", "type")
        return None
    body: dict[str, Any] = {"key": q.key, "type": q.type, "text": q.text, "required": q.required}
    if q.is_choice:
        body["options"] = [
            {"value": o.value, "label": o.label, **({"tag": o.tag} if o.tag else {})}
            for o in q.options
        ]
        empty = _option_fields(q, "label", lambda o: not o.label)
        garbled = _option_fields(q, "label", lambda o: reads_otherwise(o.label))
        if empty:
            q.refuse("每个选项都要填写选项文字。", *empty)
        elif garbled:
            q.refuse(READS_OTHERWISE.format(what="选项文字"), *garbled)
        # A tag is given to the customer who chooses the option: one that shows nothing would
        # be a blank tag in their profile (the service refuses it too, as a whole page).
        blank_tags = _option_fields(q, "tag", lambda o: bool(o.tag) and not shows_something(o.tag))
        garbled_tags = _option_fields(q, "tag", lambda o: reads_otherwise(o.tag))
        if blank_tags:
            q.refuse("客户标签不能只有空格或不可见字符：请填写标签文字，或留空。", *blank_tags)
        elif garbled_tags:
            q.refuse(READS_OTHERWISE.format(what="客户标签"), *garbled_tags)
    else:
        q.options = []  # left from another type: this one takes none
    if q.show_key and q.show_key not in by_key:
        q.refuse(
            f"显示条件引用的题目“{q.show_key}”已不在问卷中（编号改过或题目已删除），"
            "请重新选择，或选“总是显示”。",
            "show_key",
        )
    elif not q.show_key and q.show_in:
        q.refuse(
            "填写了显示这道题的答案，但没有选择依据哪道题：请选择题目，或清空答案。", "show_key"
        )
    elif q.show_key:
        answers = _answers(q.show_in, by_key.get(q.show_key))
        if not answers:
            q.refuse("请填写显示这道题的答案，例如：0-6，或选项文字。", "show_in")
        else:
            body["show_if"] = {"key": q.show_key, "in": answers}
    try:
        question = msgspec.convert(body, wire.Question)
    except msgspec.ValidationError as exc:
        where = _shape_field(str(exc), q)
        if not q.described_by(where):  # an empty label is said once, not as "too long" too
            q.refuse(_shape_message(str(exc)), where)
        return None
    return None if q.problems else question


def _option_fields(q: QuestionRow, part: str, wrong: Callable[[OptionRow], bool]) -> list[str]:
    """The names of the option fields (`o{m}.label` ...) of the options that are `wrong`."""
    return [f"o{m}.{part}" for m, option in enumerate(q.options, 1) if wrong(option)]


def _answers(text: str, target: QuestionRow | None) -> list[str | int]:
    """What `show_in` names: option values (by value or label) of a choice question, scores and
    ranges of an NPS or rating question; anything else as written (publishing flags it)."""
    answers: list[str | int] = []
    for token in (t for t in _SEPARATORS.split(text) if t):
        if target is not None and target.is_choice:
            by_label = {o.label: o.value for o in target.options}
            values = {o.value for o in target.options}
            answers.append(token if token in values else by_label.get(token, token))
            continue
        span = _RANGE.match(token)
        if span and int(span.group(1)) <= int(span.group(2)):
            answers.extend(range(int(span.group(1)), int(span.group(2)) + 1))
        elif token.isascii() and token.isdigit() and len(token) <= 3:
            answers.append(int(token))
        else:
            answers.append(token)
    unique: list[str | int] = []
    for answer in answers:
        if not any(type(answer) is type(u) and answer == u for u in unique):
            unique.append(answer)
    return unique[: wire.MAX_OPTIONS]


_SHAPE_MESSAGES = (
    ("$.key", "题目编号须以小写字母开头，只含小写字母、数字和下划线，最多 40 个字符。"),
    ("$.text", "请填写题目内容（最多 500 字）。"),
    ("].value", "选项值只能包含字母、数字、下划线、点和短横线，最多 40 个字符。"),
    ("].label", "选项文字最多 200 字。"),
    ("].tag", "客户标签最多 20 个字。"),
    ("$.options", f"一道题最多 {wire.MAX_OPTIONS} 个选项。"),
    ("$.show_if.key", "显示条件引用的题目编号写法不对：请先改正那道题的编号。"),
    ("$.show_if", "显示条件的答案太多，或写法不对。"),
)


def _shape_message(error: str) -> str:
    for where, message in _SHAPE_MESSAGES:
        if where in error:
            return message
    return "这道题的内容不完整，请检查。"


_SHAPE_FIELDS = (
    ("$.key", "key"),
    ("$.text", "text"),
    ("$.show_if.key", "show_key"),
    ("$.show_if", "show_in"),
)


def _shape_field(error: str, q: QuestionRow) -> str:
    """The card's field a shape error (msgspec's `... - at `$.options[1].value``) is about."""
    option = _OPTION_PATH.search(error)
    if option:
        return f"o{int(option.group(1)) + 1}.{option.group(2)}"
    if "$.options" in error:  # too many: the first one over
        return f"o{min(len(q.options), wire.MAX_OPTIONS + 1)}.label"
    return next((name for where, name in _SHAPE_FIELDS if where in error), "text")


# ---- logic flaws, in Chinese, beside the questions they concern ------------------------------


def survey_flaws(survey: wire.Survey) -> list[logic.Flaw]:
    """The flaws the service found in the survey's draft (its published versions considered)."""
    return [logic.Flaw(f.key, f.code, f.detail) for f in survey.flaws]


def mark_flaws(
    rows: Sequence[QuestionRow],
    questions: Sequence[wire.Question],
    flaws: Sequence[logic.Flaw] | None = None,
) -> None:
    """Put each publication flaw beside the question (row) it concerns."""
    by_key = {q.key: q for q in questions}
    for flaw in logic.flaws(questions) if flaws is None else flaws:
        text = flaw_text(flaw, by_key.get(flaw.key))
        for row in rows:
            if row.key == flaw.key:
                row.flag(text, *flaw_fields(flaw.code, row))


_FLAW_FIELDS = {
    "duplicate_key": "key",
    "cycle": "show_key",
    "unknown_reference": "show_key",
    "forward_reference": "show_key",
    "unusable_reference": "show_key",
    "no_start": "show_key",
    "unknown_value": "show_in",
    "type_changed": "type",
    "options_not_allowed": "type",
}


def flaw_fields(code: str, row: QuestionRow) -> list[str]:
    """The card's fields a publication flaw is about: where the officer fixes it."""
    if code == "too_few_options":  # the first empty option row, to type one more into
        return [f"o{len(row.options) + 1}.label"]
    if code in ("duplicate_option", "duplicate_label"):
        part = "value" if code == "duplicate_option" else "label"
        seen: set[str] = set()
        again = []
        for m, option in enumerate(row.options, 1):
            said = option.value if part == "value" else option.label.strip()
            if said in seen:
                again.append(f"o{m}.{part}")
            seen.add(said)
        return again or ["text"]
    return [_FLAW_FIELDS.get(code, "text")]


def mark_starter_hints(rows: Sequence[QuestionRow]) -> None:
    """Flag the blank starter's hints still in a question: a draft may keep them, but
    publishing them would ask customers "请输入题目" (`holds_starter_hints`)."""
    for row in rows:
        if row.text == STARTER_TEXT:
            row.flag(f"“{STARTER_TEXT}”是新建问卷时的示例文字，请改成要问的题目。", "text")
        hints = [o.label for o in row.options if o.label in STARTER_LABELS]
        if row.is_choice and hints:
            labels = "、".join(f"“{label}”" for label in hints)
            where = _option_fields(row, "label", lambda o: o.label in STARTER_LABELS)
            row.flag(f"{labels}是新建问卷时的示例选项，请改成客户看到的选项文字。", *where)


def holds_starter_hints(questions: Sequence[wire.Question]) -> bool:
    """Whether a question still holds the blank starter's hints (publishing is refused)."""
    return any(
        q.text == STARTER_TEXT or any(o.label in STARTER_LABELS for o in q.options)
        for q in questions
    )


def unplaced_flaws(
    questions: Sequence[wire.Question], flaws: Sequence[logic.Flaw] | None = None
) -> list[str]:
    """The flaws of no question in particular (shown above the questions)."""
    keys = {q.key for q in questions}
    found = logic.flaws(questions) if flaws is None else flaws
    return [flaw_text(f, None) for f in found if f.key not in keys]


def flaw_text(flaw: logic.Flaw, question: wire.Question | None) -> str:
    """What a flaw means for the marketing officer."""
    ref = question.show_if.key if question is not None and question.show_if else ""
    kind = TYPE_LABELS.get(question.type, "") if question is not None else ""
    texts = {
        "duplicate_key": f"题目编号“{flaw.key}”重复了，每道题的编号必须不同。",
        "cycle": "显示条件绕成了一个圈：这道题最终取决于它自己。",
        "unknown_reference": f"显示条件引用的题目“{ref}”不存在。",
        "forward_reference": f"显示条件引用了后面的题目“{ref}”，只能引用排在前面的题目。",
        "unusable_reference": f"“{ref}”是文本题，不能作为显示条件。",
        "unknown_value": f"显示条件中的答案不在“{ref}”的选项或分数范围内。",
        "too_few_options": "选择题至少需要 2 个选项。",
        "duplicate_option": "有两个选项的值相同。",
        "duplicate_label": "有两个选项的文字相同，客户无法区分，请改成不同的文字。",
        "type_changed": (
            f"题目编号“{flaw.key}”在已发布的版本中是另一种题型；结果按编号合并各版本的答案，"
            "换题型会把新旧答案混在一起。请保留原题型，或给这道题换一个新编号。"
        ),
        "options_not_allowed": f"{kind}题不设选项。",
        "no_start": "第一题必须总是显示，不能设置显示条件。",
    }
    return texts.get(flaw.code, flaw.detail)


# ---- helpers ---------------------------------------------------------------------------------


def _free(prefix: str, taken: set[str], *, start: int) -> str:
    number = max(start, 1)
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def _order(text: str, position: int) -> int:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else position + 1


def form_text(data: Any, name: str) -> str:
    """A form field's text (empty when missing or a file)."""
    value = data.get(name)
    return value if isinstance(value, str) else ""


def shown_text(data: Any, name: str) -> str:
    """A title, question or option text as typed, trimmed; text that shows nothing (spaces or
    invisible characters only, `workbench.visible`) is empty, said "请填写…" like spaces."""
    value = form_text(data, name)
    return value.strip() if shows_something(value) else ""


def _all(data: Any, name: str) -> list[str]:
    values = data.getall(name, []) if hasattr(data, "getall") else [data.get(name)]
    return [v for v in values if isinstance(v, str)]

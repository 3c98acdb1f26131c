"""Poster titles wrap as Chinese is typeset: no closing punctuation at a line's start, no
opening punctuation at its end, and a Latin word or number kept whole."""

from __future__ import annotations

from PIL import Image, ImageDraw

from workbench.brochures.artwork import font
from workbench.shares.poster import NOT_AT_END, NOT_AT_START, _lines

TITLES = [
    "客户满意度回访（2026年第四季度）",
    "稳健理财计划「安心盈」第12期，欢迎咨询！",
    "Global Equity Fund（QDII）：全球配置，分散风险。",
]


def test_titles_wrap_without_punctuation_at_the_wrong_end_at_any_width() -> None:
    pen = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    for title in TITLES:
        for width in range(240, 700, 7):  # six characters a line and more
            lines = _lines(pen, title, 40, width, max_lines=50)
            assert "".join(lines).replace(" ", "") == title.replace(" ", ""), (title, width)
            for line in lines[1:]:
                assert line[0] not in NOT_AT_START, (title, width, lines)
            for line in lines[:-1]:
                assert line[-1] not in NOT_AT_END, (title, width, lines)
            words = [w for line in lines for w in line.split()]
            for word in ("Global", "Equity", "Fund", "QDII", "2026", "12"):
                if word in title and pen.textlength(word, font=font(40)) <= width:
                    assert any(word in w for w in words), (title, width, lines)

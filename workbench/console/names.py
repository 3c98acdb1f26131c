"""What is wrong with a name typed into a console form, said so the person can fix it.

A unit's, a person's or a root cause's name must show on one line exactly as typed
(`workbench.visible.one_line_shown`, which the services check too): one message for every way
it fails sent people looking for a fault in a name that was filled and short."""

from __future__ import annotations

import unicodedata

from workbench.visible import DIRECTION, shows_something

# Characters that end a line: the control characters that do, and the line and paragraph
# separators.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def name_problem(name: str, *, what: str, max_length: int = 100) -> str | None:
    """Why `name` (trimmed) cannot be saved, naming the field `what` ("机构名称"); None if it
    can: empty, only spaces or invisible characters, too long, or a line break, a tab, a
    direction control or another control character, which would not show as typed."""
    if not name:
        return f"请填写{what}。"
    if not shows_something(name):
        return f"请填写{what}：不能只有空格或看不见的字符。"
    if len(name) > max_length:
        return f"{what}最多 {max_length} 个字，请删减。"
    if any(c in LINE_BREAKS for c in name):
        return f"{what}不能换行（含有换行符），请写在一行内。"
    if "\t" in name:
        return f"{what}不能含制表符（Tab），请改用空格。"
    if any(c in DIRECTION for c in name):
        return (
            f"{what}含有改变文字方向的字符（可能从别处复制而来），显示出来会与输入的顺序不同，"
            "请删除后重新输入。"
        )
    if any(unicodedata.category(c) == "Cc" for c in name):
        return f"{what}不能含控制字符（可能从别处复制而来），请重新输入。"
    return None

"""Personal data of customers: normalization for blind indexes, validation, and masking."""

from __future__ import annotations

import re
import unicodedata

from mobile_contracts.v1.identity import Role
from workbench.visible import invisible

# Two-character surnames: "surname" search must take both characters for these.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 "  # noqa: SIM905
    "独孤 南宫 西门 百里 呼延 万俟 申屠 公冶 太史 濮阳 澹台 钟离 闻人 赫连".split()
)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalize_name(name: str) -> str:
    """NFKC, outer space trimmed, inner runs of space folded, Latin letters case-folded."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


# The dot between the parts of a name (阿依古丽·买买提) as keyboards and fonts type it, after NFKC
# (which makes ． and ﹒ a "."): · • ・ ‧ . ∙ ⋅, with any space around it, or a space alone (every
# width of space is one " " after `normalize_name`); and the zero-width ones, which show nothing.
_NAME_SEPARATOR = re.compile(
    r" ?[.\u00b7\u2022\u30fb\u2027\u2219\u22c5\-\u2010-\u2015] ?| |[\u200b-\u200d\u2060\ufeff]"
)


def comparable_name(name: str) -> str:
    """A name as it is matched: `normalize_name` without the separators between its parts (a
    dot in any of its forms, a dash, a space of any width), which a phone keyboard makes hard to
    type alike or at all: 阿依古丽·买买提 is 阿依古丽买买提, 王　小明 is 王小明. Real-name
    verification compares names so, and the name's blind indexes (search, the feed's change
    check) hold it so (`name_key`); what is stored and shown keeps the name as the bank sent it."""
    return _NAME_SEPARATOR.sub("", normalize_name(name))


def name_key(name: str) -> str:
    """What a name's blind index (and a search for it) hashes: `comparable_name`."""
    return comparable_name(name)


def surname_key(name: str) -> str:
    """What a name's surname blind index hashes: its family name (`surname`), compared as
    `comparable_name`. A search text is looked up as a surname whole (`name_key`)."""
    return comparable_name(surname(normalize_name(name)))


def name_key_before(name: str) -> str:
    """What a name's blind index hashed before names were indexed as `comparable_name` (spaces
    folded, separators kept): rows the feed has not rewritten since, nor `reindex`, hold it."""
    return normalize_name(name)


def search_id_number(text: str) -> str | None:
    """An ID number as a person types it, in groups split by spaces of any width (as the
    verification page takes it): `normalize_id_number` of it without the spaces, or None."""
    return normalize_id_number("".join(unicodedata.normalize("NFKC", text).split()))


def surname(normalized_name: str) -> str:
    """The family name: first character, or two for compound surnames, or a Latin last word."""
    if " " in normalized_name:  # "zhang wei" style: the family name is written first
        return normalized_name.split(" ", 1)[0]
    if normalized_name[:2] in COMPOUND_SURNAMES:
        return normalized_name[:2]
    return normalized_name[:1]


def normalize_phone(phone: str) -> str | None:
    """Eleven-digit mainland mobile number without the country code, or None if not one."""
    text = unicodedata.normalize("NFKC", phone).strip()
    if (text.startswith("+") and not text.startswith("+86")) or (
        text.startswith("00") and not text.startswith("0086")
    ):
        return None  # another country's number, whatever its digits look like
    digits = re.sub(r"[\s()+-]", "", text)
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits if _MOBILE.match(digits) else None


def normalize_id_number(id_number: str) -> str | None:
    """An 18-character resident ID number (GB 11643) with a valid check digit, or None."""
    value = unicodedata.normalize("NFKC", id_number).strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return None
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return value if _ID_CHECK[total % 11] == value[17] else None


def id_check_digit(first17: str) -> str:
    """The check character of an ID number's first 17 digits (used to make demo data)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


# ---- masking: nobody gets plaintext through the API ------------------------------------------

# Characters that show nothing (a soft hyphen, zero-width spaces and joiners, direction marks,
# a BOM): pasted or typed inside a number, they must not cut it into parts each shown in part.
SHOWS_NOTHING_IN_NUMBER = "\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
# What people type between the groups of a number (a regex class's content): spaces of any width
# (no-break, thin, ideographic), dashes and hyphens (en, em, minus), dots, commas, slashes,
# underscores, in their ASCII and full-width forms, and the characters above.
NUMBER_SEPARATORS = (
    "\\s\\-－.．_＿,，、/／·・\u2010-\u2015\u2212\ufe58\ufe63" + SHOWS_NOTHING_IN_NUMBER
)
# Phones, ID and account numbers, in any digits (a Chinese keyboard types full-width ones): six
# digits or more whatever separates their groups (an ID's final X kept with it); or, as always,
# six characters or more of digits, X, spaces, dashes and dots (a short number in groups). The
# first needs six digits, so a list ("1, 2, 3") stays as typed. `workbench.surveys.terms` drops
# the words holding one (LONG_NUMBER_TERM: this pattern after NFKC; keep the two the same).
_LONG_NUMBER = re.compile(
    rf"\d(?:[{NUMBER_SEPARATORS}*＊XxＸｘ]*\d){{5,}}"
    rf"(?:[ \-－.．　{SHOWS_NOTHING_IN_NUMBER}]*[XxＸｘ])?"
    r"|\d[\dXxＸｘ*＊ \-－.．　]{4,}[\dXxＸｘ]"
)
_SHOWS_NOTHING = re.compile(f"[{SHOWS_NOTHING_IN_NUMBER}]")


def mask_long_numbers(text: str) -> str:
    """Free text (a survey's text answer) with every number of six characters or more masked,
    keeping its first three and last two: a customer who types their phone or ID number into a
    comment does not hand it to whoever reads the comments. (Characters that show nothing go:
    the first three shown are three that show.)"""

    def mask(match: re.Match[str]) -> str:
        digits = _SHOWS_NOTHING.sub("", match.group(0))  # still six or more: see _LONG_NUMBER
        return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]

    return _LONG_NUMBER.sub(mask, text)


def name_characters(name: str) -> list[str]:
    """The characters a reader counts in a name, as stored: without the separators between its
    parts that `comparable_name` drops (a dot, a dash, a space of any width, a zero-width
    character) nor other characters that show nothing (`workbench.visible.invisible`): 李 四,
    李·四 and 李四 with a zero-width space inside are 李四, two characters."""
    return [c for c in name if comparable_name(c) and not invisible(c)]


def mask_name(name: str) -> str:
    """张三 → 张*, 张小三 → 张*三, 欧阳娜娜 → 欧**娜; counted as `name_characters` (李 四 → 李*,
    阿依古丽·买买提 → 阿*****提)."""
    chars = name_characters(name)
    if len(chars) <= 1:
        return "*"
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def mask_phone(phone: str) -> str:
    """13812341234 → 138****1234."""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "*" * 4


def mask_id_number(id_number: str) -> str:
    """110101199003071234 → 110***********1234."""
    if len(id_number) <= 7:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


def masked_for(role: Role, *, name: str, phone: str, id_number: str) -> tuple[str, str, str]:
    """(name, phone, id_number) as this role may see them. Every role sees masks today; the
    policy lives here so a stricter role (e.g. an auditor seeing only the surname) is one line."""
    if role in (Role.RM, Role.BRANCH_HEAD):
        return mask_name(name), mask_phone(phone), mask_id_number(id_number)
    return "*", "*" * 4, "*" * 4

"""The words of a text answer, as results count them.

Chinese has no spaces between words: rjieba (the Python binding of jieba-rs, a maintained Rust
port of jieba with its dictionary built in) segments the text into words. What says nothing is
dropped: stop words (`stopwords_zh.txt`), punctuation, numbers and single characters (很, 好,
了 ...). Latin words are lower-cased. Each word counts once per answer, in the order it first
appears; an answer yields at most MAX_TERMS words.

A number of six characters or more, or of six digits whatever is typed between them (a phone,
an ID, passport or account number, a chat id; `mask_long_numbers`) is masked wherever staff read
an answer, so no word holding one, or any part of one, is a term: the terms are shown in clear,
searched and stored in clear.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

import rjieba

# The very pattern `mask_long_numbers` masks in the answers shown.
from workbench.customers.personal_data import _LONG_NUMBER

MAX_TERMS = 40
MAX_TERM_LENGTH = 40

# A term (NFKC-normalised, lower-cased) holding a number `mask_long_numbers` masks: its pattern
# (six digits or more with anything typed between them: spaces, dashes, dots, commas, slashes,
# underscores, characters that show nothing, x, *; or a digit, 4 or more digits, x, *, spaces,
# dashes or dots, then a digit or x) as it reads after NFKC and lower-casing (NFKC makes every
# width of space one " ", and full-width commas, slashes, dashes and the underscore ASCII ones).
# Its digits are ASCII: NFKC turns full-width ones into them and rjieba cuts any other digit off
# as a character of its own. Migration 0047 deletes the terms stored before by this same pattern
# (PostgreSQL reads it alike, \uXXXX escapes included); keep the two the same.
_BETWEEN_DIGITS = (
    r"\t\n\v\f\r\u001c-\u001f \u0085\u1680\u2028\u2029"  # spaces (U+00A0 and the like: " ")
    r"\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"  # shows nothing
    r"\u2010-\u2015\u2212\u00b7\u3001\u30fb.,/_*x-"  # dashes, dots, commas, slash, _, x, *
)
LONG_NUMBER_TERM = re.compile(
    rf"[0-9](?:[{_BETWEEN_DIGITS}]*[0-9]){{5,}}|[0-9][0-9x* .-]{{4,}}[0-9x]"
)


@cache
def stop_words() -> frozenset[str]:
    """The stop words shipped with the package."""
    text = resources.files("workbench.surveys").joinpath("stopwords_zh.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def holds_long_number(term: str) -> bool:
    """Whether a term (as stored: NFKC-normalised, lower-cased) holds a number of six
    characters or more: never a term (see LONG_NUMBER_TERM)."""
    return LONG_NUMBER_TERM.search(term) is not None


def terms(text: str) -> list[str]:
    """The distinct words of one answer that say something, in order of first appearance."""
    text = unicodedata.normalize("NFKC", text)
    masked = [match.span() for match in _LONG_NUMBER.finditer(text)]
    found: list[str] = []
    seen: set[str] = set()
    stops = stop_words()
    for token, start, end in rjieba.tokenize(text):
        word = token.strip().lower()
        if len(word) < 2 or len(word) > MAX_TERM_LENGTH or word in stops or word in seen:
            continue
        if not any(_is_letter(ch) for ch in word):  # punctuation, digits, symbols
            continue
        # A long number, or a part of one beside a letter ("e1234" of "E1234 5678"): the
        # answer shows it masked, so its words must not show it.
        if holds_long_number(word) or any(s < end and start < e for s, e in masked):
            continue
        seen.add(word)
        found.append(word)
        if len(found) == MAX_TERMS:
            break
    return found


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")

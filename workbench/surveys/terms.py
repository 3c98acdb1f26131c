"""The words of a text answer, as results count them.

Chinese has no spaces between words: rjieba (the Python binding of jieba-rs, a maintained Rust
port of jieba with its dictionary built in) segments the text into words. What says nothing is
dropped: stop words (`stopwords_zh.txt`), punctuation, numbers and single characters (很, 好,
了 ...). Latin words are lower-cased. Each word counts once per answer, in the order it first
appears; an answer yields at most MAX_TERMS words.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources

import rjieba

MAX_TERMS = 40
MAX_TERM_LENGTH = 40


@cache
def stop_words() -> frozenset[str]:
    """The stop words shipped with the package."""
    text = resources.files("workbench.surveys").joinpath("stopwords_zh.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def terms(text: str) -> list[str]:
    """The distinct words of one answer that say something, in order of first appearance."""
    text = unicodedata.normalize("NFKC", text)
    found: list[str] = []
    seen: set[str] = set()
    stops = stop_words()
    for token in rjieba.cut(text):
        word = token.strip().lower()
        if len(word) < 2 or len(word) > MAX_TERM_LENGTH or word in stops or word in seen:
            continue
        if not any(_is_letter(ch) for ch in word):  # punctuation, digits, symbols
            continue
        seen.add(word)
        found.append(word)
        if len(found) == MAX_TERMS:
            break
    return found


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")

"""Whether text shows what it says: the rule names, titles and notes follow alike.

Text that shows nothing (spaces, line breaks, zero-width and other format characters, Hangul
fillers and the like only) makes a blank row in every list; control characters, line breaks and
direction overrides make a name or a title read otherwise than it was typed (a name that reads
backwards, or on two lines)."""

from __future__ import annotations

import unicodedata

# Characters that change how the text around them reads (right-to-left overrides and isolates).
DIRECTION = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Characters that are letters, marks or symbols by their category but are drawn blank: the
# Hangul fillers (U+3164 is what a "blank" name in a chat app is typed with), the blank Braille
# pattern, the combining grapheme joiner, the Khmer inherent vowels, the Mongolian free
# variation selectors, the variation selectors and the Khitan filler. A text of these alone
# shows nothing, as one of spaces does.
DRAWN_BLANK = frozenset(
    "\u115f\u1160\u3164\uffa0"  # Hangul choseong, jungseong, compatibility, half-width fillers
    "\u2800"  # Braille pattern blank
    "\u034f"  # combining grapheme joiner
    "\u17b4\u17b5"  # Khmer inherent vowels aq and aa
    "\u180b\u180c\u180d\u180f"  # Mongolian free variation selectors
    "\U00016fe4"  # Khitan small script filler
    + "".join(map(chr, range(0xFE00, 0xFE10)))  # variation selectors 1-16
    + "".join(map(chr, range(0xE0100, 0xE01F0)))  # variation selectors 17-256
)


def invisible(c: str) -> bool:
    """Whether a character shows nothing where it stands (a format or control character, or
    one drawn blank: DRAWN_BLANK), spaces aside."""
    return c in DRAWN_BLANK or unicodedata.category(c) in ("Cf", "Cc")


def shows_something(text: str) -> bool:
    """Whether a character is neither a space nor invisible (`invisible`)."""
    return any(not c.isspace() and not invisible(c) for c in text)


# Control characters, and the line and paragraph separators (U+2028, U+2029: a line break that
# is not a control character).
BREAKING = frozenset({"Cc", "Zl", "Zp"})


def reads_otherwise(text: str) -> bool:
    """Whether a control character, a line break or a direction override changes how one line
    reads."""
    return any(unicodedata.category(c) in BREAKING or c in DIRECTION for c in text)


def one_line_shown(text: str) -> bool:
    """Whether a name, a title or a label (one line) shows what it says: something to see, and
    no control character or direction override."""
    return shows_something(text) and not reads_otherwise(text)


def reads_as(text: str) -> str:
    """What a reader tells a name by: letter case, Unicode forms (NFKC: "é" typed as one
    character or two), runs of spaces and invisible characters (`invisible`: a soft hyphen, a
    zero-width space, a variation selector) aside. Two names with one key read the same."""
    seen = "".join(c for c in unicodedata.normalize("NFKC", text) if not invisible(c))
    return " ".join(seen.split()).casefold()

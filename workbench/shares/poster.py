"""The share poster: a phone-screen PNG an RM posts to a chat or shows to a customer.

750 x 1334 (a phone screen at 2x): the bank's name on a band, the brochure's first page, its
title, the RM's name (the one the share page names; with none, no such line), the link's QR
code and "长按识别二维码查看" (WeChat opens a QR code in an image on a long press). Chinese text
is drawn with the font the brochure artwork uses (installed with the project). `draw` is pure
and CPU-bound: callers run it in a thread.

What people typed (a title, a name, the bank's name) may hold characters the font has no glyph
for (an emoji): drawn, each would be an empty box. Text is drawn through `drawable`, which keeps
what the font covers (a character it lacks may stand as its compatibility form, 𝐀 as A) and
leaves the rest out.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import segno
from PIL import Image, ImageDraw

from workbench.brochures.artwork import font
from workbench.media import images

WIDTH, HEIGHT = 750, 1334
LAYOUT = "poster-v4"  # part of a rendered poster's blob key: a new layout is a new poster
CALL = "长按识别二维码查看"
# The risk note at the foot when none is given; shares give the one their product's page shows
# (`tracking.viewer.risk_note`: a deposit is not told "理财非存款").
DISCLAIMER = "产品有风险，投资须谨慎"
BRAND = (200, 16, 46)  # the bank's red of the pages the poster leads to (#c8102e)
_INK = (34, 34, 34)
_GREY = (120, 120, 120)
_PAGE_BOX = (40, 140, WIDTH - 40, 880)  # left, top, right, bottom
_QR_BOX = 236
_MAX_PAGE_PIXELS = 4096 * 4096  # sources are stored fitted in 4096 x 4096


@dataclass(frozen=True)
class PosterFacts:
    """What a poster says."""

    bank: str
    title: str
    rm_name: str  # the RM the customer should turn to; "" names no one (no contact line)
    url: str
    note: str = DISCLAIMER  # the product's risk note, as its page words it


def draw(facts: PosterFacts, page: bytes | None) -> bytes:
    """The poster as PNG bytes; without a readable `page` image its place stays a plain panel."""
    poster = Image.new("RGB", (WIDTH, HEIGHT), (244, 246, 250))
    pen = ImageDraw.Draw(poster)
    pen.rectangle((0, 0, WIDTH, 110), fill=BRAND)
    pen.text((40, 30), _fit(pen, facts.bank, 40, WIDTH - 80), font=font(40), fill="white")
    _page(poster, pen, page)
    y = _PAGE_BOX[3] + 20
    for line in _lines(pen, facts.title, 40, WIDTH - 80, max_lines=2):
        pen.text((40, y), line, font=font(40), fill=_INK)
        y += 56
    pen.line((40, 1040, WIDTH - 40, 1040), fill=(220, 222, 228), width=2)
    qr = _qr(facts.url)
    poster.paste(qr, (WIDTH - 40 - qr.width, 1062))
    text_width = WIDTH - 80 - _QR_BOX - 24
    y = 1186
    if facts.rm_name:
        pen.text((40, 1074), "您的客户经理", font=font(26), fill=_GREY)
        pen.text((40, 1112), _fit(pen, facts.rm_name, 44, text_width), font=font(44), fill=_INK)
    else:  # no active RM to name: no contact line, the call to scan moves up
        y = 1110
    pen.text((40, y), _fit(pen, CALL, 30, text_width), font=font(30), fill=BRAND)
    pen.text((40, y + 50), _fit(pen, facts.bank, 24, text_width), font=font(24), fill=_GREY)
    small = font(20)
    note = _fit(pen, facts.note.rstrip("。"), 20, WIDTH - 80)
    pen.text(((WIDTH - pen.textlength(note, font=small)) / 2, 1300), note,
             font=small, fill=_GREY)  # fmt: skip
    out = io.BytesIO()
    poster.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _page(poster: Image.Image, pen: ImageDraw.ImageDraw, page: bytes | None) -> None:
    """The first page, as large as fits its box, on a white card."""
    left, top, right, bottom = _PAGE_BOX
    pen.rectangle(_PAGE_BOX, fill="white", outline=(225, 228, 235), width=2)
    if page is None:
        return
    box = (right - left - 16, bottom - top - 16)
    try:
        img = images.decode(images.open_image(page, max_pixels=_MAX_PAGE_PIXELS), max_side=max(box))
    except images.UnacceptableImage:
        return
    with img:
        shown = img.convert("RGB")
    shown.thumbnail(box, Image.Resampling.LANCZOS)
    x = left + (right - left - shown.width) // 2
    y = top + (bottom - top - shown.height) // 2
    poster.paste(shown, (x, y))


def _qr(url: str) -> Image.Image:
    """The link's QR code, as large as fits `_QR_BOX` in whole pixels per module."""
    code = segno.make(url, error="m")
    modules = code.symbol_size(scale=1, border=2)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(1, _QR_BOX // modules), border=2)
    buffer.seek(0)
    with Image.open(buffer) as img:
        return img.convert("RGB")


# Chinese line breaking (kinsoku): these never begin a line, and these never end one.
NOT_AT_START = frozenset("，。、；：！？）》」』】〕〉”’…—·%,.;:!?)]}>")
NOT_AT_END = frozenset("（《「『【〔〈“‘([{<")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&._%+-]*|\s+|.", re.S)


def _lines(
    pen: ImageDraw.ImageDraw, text: str, size: int, width: int, *, max_lines: int
) -> list[str]:
    """`text` wrapped to `width`, at most `max_lines` lines, the last one cut with an ellipsis
    when there is more. Chinese wraps between any two characters but never puts closing
    punctuation at a line's start or opening punctuation at its end (the character before goes
    down with it); a Latin word or number wraps whole unless it alone is wider than a line.
    Characters the font lacks are left out (`drawable`)."""
    text = drawable(text)
    face = font(size)

    def fits(candidate: str) -> bool:
        return pen.textlength(candidate, font=face) <= width

    units: list[str] = []
    for piece in _WORD.findall(" ".join(text.split())):
        if len(piece) > 1 and not piece.isspace() and not fits(piece):
            units.extend(piece)  # a word wider than a line: by characters
        else:
            units.append(piece)
    lines: list[list[str]] = []
    line: list[str] = []
    for unit in units:
        if not line or fits("".join(line) + unit):
            line.append(unit)
            continue
        carried: list[str] = []
        if unit in NOT_AT_START:  # what it closes goes down with it
            while len(line) > 1:
                carried.insert(0, line.pop())
                if carried[0] not in NOT_AT_START and not carried[0].isspace():
                    break
        while len(line) > 1 and line[-1] in NOT_AT_END:
            carried.insert(0, line.pop())
        lines.append(line)
        line = [u for u in [*carried, unit] if not u.isspace()] if not unit.isspace() else carried
    if line:
        lines.append(line)
    shown = ["".join(parts).strip() for parts in lines]
    if len(shown) > max_lines:
        shown = shown[:max_lines]
        shown[-1] = _fit(pen, shown[-1], size, width, cut=True)
    return shown


@cache
def _covered() -> frozenset[int]:
    """The code points the posters' font has glyphs for (its character map, read once)."""
    from fontTools.ttLib import TTFont  # with WeasyPrint; only its character map is read

    with TTFont(font(10).path, lazy=True) as face:
        return frozenset(face.getBestCmap())


def drawable(text: str) -> str:
    """`text` as the posters' font can draw it: each character it lacks replaced by its
    compatibility form when the font has that (NFKC: 𝐀 as A, ① as 1), else left out (an emoji,
    a variation selector), so that no empty box is drawn; spaces collapsed."""
    covered = _covered()
    kept = []
    for char in text:
        if ord(char) in covered or char.isspace():
            kept.append(char)
            continue
        plain = unicodedata.normalize("NFKC", char)
        if plain != char and all(ord(c) in covered for c in plain):
            kept.append(plain)
    return " ".join("".join(kept).split())


def _fit(pen: ImageDraw.ImageDraw, text: str, size: int, width: int, *, cut: bool = False) -> str:
    """`text` (as the font can draw it) cut (with an ellipsis) to fit `width`; `cut`: it goes
    on, so the ellipsis is drawn even when it would fit."""
    text = drawable(text)
    face = font(size)
    if not cut and pen.textlength(text, font=face) <= width:
        return text
    while text and pen.textlength(text + "…", font=face) > width:
        text = text[:-1]
    return text + "…"

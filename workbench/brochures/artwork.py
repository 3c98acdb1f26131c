"""Brochure page images drawn from a product's facts: the demo bank's brochures.

Real-looking pages with Chinese text (Noto Sans SC, installed with the project by the
`pylopdf-fonts-zh-cn` package; nothing is downloaded at run time): a cover with the product's
name, risk level and a headline, a page of selling points, and a page with an illustrative chart.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1240, 1754  # A4 portrait at 150 dpi
RISK_NAMES = {1: "低风险", 2: "中低风险", 3: "中风险", 4: "中高风险", 5: "高风险"}
# The footer: the product's risk note (by its category: `tracking.viewer.risk_note`, which the
# share page and poster print under these pages, so the two never disagree), then this.
DISCLAIMER = "本材料仅供参考，不构成要约。"
PALETTES = [
    ((12, 74, 140), (46, 134, 222)),
    ((120, 24, 36), (198, 58, 64)),
    ((16, 102, 82), (48, 170, 130)),
    ((92, 52, 140), (150, 104, 210)),
    ((150, 94, 18), (222, 160, 52)),
]


@dataclass(frozen=True)
class Sheet:
    """What the pages say."""

    bank: str
    title: str
    product_name: str
    product_code: str
    risk_level: int  # 1-5
    headline: str
    points: tuple[str, ...]
    palette: int = 0
    # The product category's risk note, as `tracking.viewer.risk_note` words it.
    risk_note: str = "产品有风险，投资须谨慎。"


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    """Noto Sans SC at `size` pixels (also what share posters are drawn with)."""
    from pylopdf_fonts_zh_cn import sans_path

    return ImageFont.truetype(str(sans_path()), size)


def pages(sheet: Sheet, *, count: int = 3) -> list[bytes]:
    """`count` (1-3) page images as JPEG bytes."""
    drawn = [_cover(sheet), _points(sheet), _chart(sheet)][: max(1, min(count, 3))]
    return [_jpeg(page) for page in drawn]


def _cover(sheet: Sheet) -> Image.Image:
    dark, light = PALETTES[sheet.palette % len(PALETTES)]
    page = _gradient(dark, light)
    rings = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    ring = ImageDraw.Draw(rings)
    rng = random.Random(sheet.product_code)  # noqa: S311 - decoration, not security
    for _ in range(6):
        r = rng.randint(160, 460)
        x, y = rng.randint(WIDTH // 2, WIDTH + 150), rng.randint(900, HEIGHT)
        ring.ellipse((x - r, y - r, x + r, y + r), outline=(255, 255, 255, 60), width=4)
    page = Image.alpha_composite(page.convert("RGBA"), rings).convert("RGB")
    draw = ImageDraw.Draw(page)
    draw.text((90, 90), sheet.bank, font=font(44), fill="white")
    draw.text((90, 420), sheet.title, font=font(96), fill="white")
    draw.text((90, 560), sheet.product_name, font=font(56), fill=(230, 238, 255))
    _wrap(draw, sheet.headline, (90, 700), font(44), WIDTH - 180, fill="white")
    _badge(draw, (90, 1180), f"R{sheet.risk_level} {RISK_NAMES[sheet.risk_level]}")
    draw.text((90, 1290), f"产品代码 {sheet.product_code}", font=font(38), fill="white")
    _footer(draw, sheet, (255, 255, 255))
    return page


def _points(sheet: Sheet) -> Image.Image:
    dark, _ = PALETTES[sheet.palette % len(PALETTES)]
    page = Image.new("RGB", (WIDTH, HEIGHT), (250, 250, 247))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, WIDTH, 220), fill=dark)
    draw.text((90, 70), f"{sheet.product_name} · 产品要点", font=font(60), fill="white")
    y = 330
    for number, point in enumerate(sheet.points, start=1):
        draw.ellipse((90, y, 160, y + 70), fill=dark)
        draw.text((112, y + 6), str(number), font=font(44), fill="white")
        y = _wrap(draw, point, (200, y), font(46), WIDTH - 300, fill=(40, 40, 40)) + 70
    _badge(draw, (90, HEIGHT - 420), f"风险等级 R{sheet.risk_level}", fill=dark)
    _footer(draw, sheet, (90, 90, 90))
    return page


def _chart(sheet: Sheet) -> Image.Image:
    dark, light = PALETTES[sheet.palette % len(PALETTES)]
    page = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(page, "RGBA")
    draw.text((90, 90), "历史表现（示例数据）", font=font(64), fill=dark)
    rng = random.Random(sheet.product_code + "chart")  # noqa: S311 - illustration
    left, top, right, bottom = 140, 300, WIDTH - 90, 1200
    draw.line((left, bottom, right, bottom), fill=(120, 120, 120), width=3)
    draw.line((left, top, left, bottom), fill=(120, 120, 120), width=3)
    values, value = [], 1.0
    for _ in range(24):
        value *= 1 + rng.uniform(-0.012, 0.02) * (sheet.risk_level / 2)
        values.append(value)
    low, high = min(values) * 0.98, max(values) * 1.02
    for step in range(1, 5):
        y = bottom - (bottom - top) * step / 5
        draw.line((left, y, right, y), fill=(230, 230, 230), width=2)
    points = [
        (left + (right - left) * i / 23, bottom - (bottom - top) * (v - low) / (high - low))
        for i, v in enumerate(values)
    ]
    draw.polygon([(left, bottom), *points, (right, bottom)], fill=(*light, 40))
    draw.line(points, fill=light, width=8, joint="curve")
    for month in range(0, 24, 6):
        x = left + (right - left) * month / 23
        label = month_label(month + 1)
        width = draw.textlength(label, font=font(32))
        draw.text((x - width / 2, bottom + 20), label, font=font(32), fill=(90, 90, 90))
    _wrap(
        draw, "过往业绩不代表未来表现。示例数据仅用于展示，不构成收益承诺。",
        (90, 1320), font(40), WIDTH - 180, fill=(80, 80, 80),
    )  # fmt: skip
    _footer(draw, sheet, (90, 90, 90))
    return page


def month_label(month: int) -> str:
    """The chart's axis label of its `month`-th month (1-24): counted, as "第13月", since "13月"
    reads as a calendar month that does not exist."""
    return f"第{month}月"


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    column = Image.new("RGB", (1, HEIGHT))
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        column.putpixel(
            (0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    return column.resize((WIDTH, HEIGHT))


Colour = str | tuple[int, ...]


def _badge(
    draw: ImageDraw.ImageDraw, at: tuple[int, int], text: str, fill: Colour = "white"
) -> None:
    face = font(44)
    x, y = at
    width = draw.textlength(text, font=face)
    draw.rounded_rectangle((x, y, x + width + 60, y + 80), radius=40, outline=fill, width=4)
    draw.text((x + 30, y + 10), text, font=face, fill=fill)


def _footer(draw: ImageDraw.ImageDraw, sheet: Sheet, colour: tuple[int, int, int]) -> None:
    text = sheet.risk_note + DISCLAIMER
    _wrap(draw, text, (90, HEIGHT - 200), font(32), WIDTH - 180, fill=colour)


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    at: tuple[int, int],
    font: ImageFont.FreeTypeFont,
    width: int,
    *,
    fill: Colour,
) -> int:
    """Draw `text` wrapped to `width` (Chinese wraps between any two characters); the y below."""
    x, y = at
    line = ""
    height = math.ceil(font.size * 1.45)
    for char in text:
        if draw.textlength(line + char, font=font) > width:
            draw.text((x, y), line, font=font, fill=fill)
            y, line = y + height, char
        else:
            line += char
    if line:
        draw.text((x, y), line, font=font, fill=fill)
        y += height
    return y


def _jpeg(page: Image.Image) -> bytes:
    out = io.BytesIO()
    page.save(out, format="JPEG", quality=88, optimize=True)
    return out.getvalue()

"""Photos and signatures attached to tasks: allow-list, bomb guard, no metadata, resize, watermark.

Pure and CPU-bound (no database, no HTTP): ``process_photo`` can take a few hundred milliseconds on
a phone photo, so async callers run it in a worker thread::

    photo = await asyncio.to_thread(process_photo, raw, stamp=stamp)

The checks (allow-list by content, declared pixel count before any pixel is decoded, Pillow's bomb
error) are shared with brochure images: ``workbench.media.images``.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from workbench.errors import DomainError
from workbench.media import images

JPEG_QUALITY = 85
MAX_STAMP_CHARS = 64


class PhotoRejected(DomainError):
    """The upload is not an acceptable image; ``code`` says why."""

    status, title = 422, "Attachment refused"

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.code = code


@dataclass(frozen=True)
class Stamp:
    """What the watermark says. ``customer`` is already masked by the caller and shown as given."""

    rm: str
    customer: str
    taken_at: datetime  # timezone-aware
    tz: str  # IANA name of the bank's time zone, e.g. "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.taken_at.utcoffset() is None:
            raise ValueError("Stamp.taken_at must be timezone-aware")
        ZoneInfo(self.tz)  # an unknown zone fails here, not halfway through an upload

    def lines(self) -> list[str]:
        local = self.taken_at.astimezone(ZoneInfo(self.tz))
        offset = local.strftime("%z")
        name = local.tzname() or ""
        zone = f"{name} " if name and name[0] not in "+-" else ""
        when = f"{local:%Y-%m-%d %H:%M} {zone}{offset[:3]}:{offset[3:5]}"
        return [f"RM: {_ascii(self.rm)}", f"Customer: {_ascii(self.customer)}", when]


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    content_type: str  # "image/jpeg" (photos) or "image/png" (signatures)
    width: int
    height: int
    sha256: str


def process_photo(
    raw: bytes,
    *,
    stamp: Stamp,
    max_pixels: int = 40_000_000,
    max_side: int = 2048,
    signature: bool = False,
) -> ProcessedPhoto:
    """Validate ``raw``, apply EXIF orientation, drop all metadata, fit the longer side in
    ``max_side``, watermark photos (not signatures) and re-encode: JPEG photos, PNG signatures.

    Raises PhotoRejected (422) with ``attachment.not_an_image``, ``attachment.format_not_allowed``
    or ``attachment.too_large``. Synchronous and CPU-bound: run it with ``asyncio.to_thread``.
    """
    upright = images.upright(_open(raw, max_pixels, max_side))
    pixels = images.normalise_mode(upright, keep_alpha=signature)
    pixels.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if not signature:
        _watermark(pixels, stamp)
    clean = images.without_metadata(pixels)
    out = io.BytesIO()
    if signature:
        clean.save(out, "PNG", optimize=True)
    else:
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    data = out.getvalue()
    return ProcessedPhoto(
        data=data,
        content_type="image/png" if signature else "image/jpeg",
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


_CODES: dict[images.Reason, str] = {
    "unreadable": "attachment.not_an_image",
    "format": "attachment.format_not_allowed",
    "pixels": "attachment.too_large",
    "damaged": "attachment.not_an_image",
}


def _open(raw: bytes, max_pixels: int, max_side: int) -> Image.Image:
    """Open and decode ``raw``, refusing bad formats and oversized images before decoding."""
    try:
        return images.decode(images.open_image(raw, max_pixels=max_pixels), max_side=max_side)
    except images.UnacceptableImage as exc:
        raise PhotoRejected(_CODES[exc.reason], exc.detail) from exc


def _watermark(img: Image.Image, stamp: Stamp) -> None:
    """Darken a band along the bottom of the RGB ``img`` and write the stamp lines in it."""
    width, height = img.size
    size = max(8, min(max(width, height) // 55, width // 20))
    lines = stamp.lines()
    pad, line_height = max(2, size // 3), round(size * 1.25)
    band_height = min(height, line_height * len(lines) + 2 * pad)
    top = height - band_height
    band = img.crop((0, top, width, height)).convert("RGBA")
    band = Image.alpha_composite(band, Image.new("RGBA", band.size, (0, 0, 0, 150)))
    draw = ImageDraw.Draw(band)
    font = ImageFont.load_default(size=size)
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * line_height), line, font=font, fill=(255, 255, 255, 255))
    img.paste(band.convert("RGB"), (0, top))


def _ascii(text: str) -> str:
    """The built-in font is Latin only: fold accents, replace anything else with '?'."""
    out: list[str] = []
    for ch in text[:MAX_STAMP_CHARS]:
        if " " <= ch <= "~":
            out.append(ch)
            continue
        folded = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
        out.append(folded if folded and folded.isprintable() else "?")
    return "".join(out)

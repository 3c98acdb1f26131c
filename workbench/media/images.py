"""Image checking shared by task photos and brochure pages, and `ingest`, which turns an uploaded
brochure page into a clean source image.

Recognised by content, never by name: Pillow must identify an allowed format (JPEG, MPO - a
JPEG with a multi-picture index, as many phone cameras write -, PNG, WEBP) and, for brochure
pages, puremagic must agree that the file starts as that format. The declared pixel count is
checked before any
pixel data is decoded (Pillow's process-wide `Image.MAX_IMAGE_PIXELS` and the warnings filters
are left alone: changing them is not thread-safe; Pillow's own bomb error is mapped to the same
refusal). A file that starts as an allowed format but cannot be read is damaged, not another
format; so is a PNG whose data ends before the rows its header declares (Pillow would fill the
missing rows in without a word: its PNG decoder stops quietly at the end of the data).

`ingest` also refuses polyglots, files whose bytes are at the same time another document: a zip
archive (found from its end, as zip readers do), HTML or script markup anywhere in the file, or
something puremagic recognises after the image's last byte. Then it turns the image upright
(EXIF orientation), converts it to sRGB, fits it in `max_side` and re-encodes it from the pixels
alone: no EXIF, XMP, ICC profile, text chunk or comment survives. PNG stays PNG (transparency
kept); JPEG and WEBP are re-encoded at high quality.

Pure and CPU-bound (no database, no I/O): async callers run `ingest` with `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import puremagic
from PIL import Image, ImageCms, ImageOps

from workbench.errors import DomainError

# What Pillow detects from the bytes.
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
Reason = Literal["unreadable", "format", "pixels", "damaged"]
SourceFormat = Literal["jpeg", "png", "webp"]
CONTENT_TYPES: dict[str, str] = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_PILLOW_TO_SOURCE: dict[str, SourceFormat] = {
    "JPEG": "jpeg",
    "MPO": "jpeg",
    "PNG": "png",
    "WEBP": "webp",
}
JPEG_QUALITY = 92
WEBP_QUALITY = 90
# Markup that makes a file an HTML or script document too. Each needs 6 or more exact bytes, so
# that compressed image data matches one by chance about once in 10^5 twenty-megabyte files.
_MARKUP = re.compile(
    rb"<(?:script|iframe|object|embed|html[\s>]|body[\s>]|!doctype\s|\?php\s|svg\s[^>]*xmlns)",
    re.IGNORECASE,
)
_PADDING = b"\x00\xff \t\r\n"
# A PNG's channels by colour type (grey, RGB, palette, grey + alpha, RGBA).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# The Adam7 passes of an interlaced PNG: first column and row, column and row steps.
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))  # fmt: skip
_INFLATE_STEP = 1 << 20  # counting a PNG's data a megabyte at a time, none of it kept


class UnacceptableImage(Exception):
    """Why `open_image` refused: each caller maps `reason` to its own error code."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class ImageRefused(DomainError):
    """A brochure image that is not accepted; `code` says why."""

    status, title = 422, "Image refused"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 20_000_000
    max_pixels: int = 50_000_000
    max_side: int = 4096  # the longer side of the stored source


@dataclass(frozen=True)
class SourceImage:
    sha256: bytes  # of `data`, the normalised bytes
    data: bytes
    format: SourceFormat
    width: int
    height: int
    content_type: str


# ---- shared with task photos -------------------------------------------------------------------


def open_image(raw: bytes, *, max_pixels: int) -> Image.Image:
    """Identify `raw` from its bytes and check format and declared size, and that a PNG's data
    holds every row its header declares (counted, not kept); no pixel is decoded. The caller
    closes the image (or passes it to `decode`)."""
    try:
        img = Image.open(io.BytesIO(raw))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnacceptableImage("pixels", "The image has too many pixels") from exc
    except Exception as exc:  # UnidentifiedImageError, and plugins raise SyntaxError etc.
        raise UnacceptableImage("unreadable", "The file is not a readable image") from exc
    try:
        if img.format not in ALLOWED_FORMATS:
            raise UnacceptableImage(
                "format", f"{img.format} images are not accepted; send JPEG, PNG or WEBP"
            )
        width, height = img.size
        if width < 1 or height < 1:
            raise UnacceptableImage("unreadable", "The image has no pixels")
        if width * height > max_pixels:
            raise UnacceptableImage("pixels", "The image has too many pixels")
        if img.format == "PNG" and not _png_data_complete(raw):
            raise UnacceptableImage(
                "damaged", "The image data is incomplete: it ends before the image does"
            )
    except BaseException:
        img.close()
        raise
    return img


def decode(img: Image.Image, *, max_side: int) -> Image.Image:
    """Decode the pixels of an opened image (a JPEG at a reduced scale when it is much larger
    than `max_side`); a truncated or corrupt file is refused. Closes `img` on failure."""
    try:
        if img.format in {"JPEG", "MPO"}:
            img.draft(None, (max_side, max_side))  # libjpeg scales down while decoding
        try:
            img.load()
        except Exception as exc:
            raise UnacceptableImage("damaged", "The image data is damaged") from exc
    except BaseException:
        img.close()
        raise
    return img


def upright(img: Image.Image) -> Image.Image:
    """A copy turned as its EXIF orientation says (unreadable EXIF: as stored). Closes `img`."""
    try:
        try:
            turned = ImageOps.exif_transpose(img)
        except Exception:  # unreadable EXIF: the pixels are fine, keep them as stored
            turned = img.copy()
        return turned if turned is not img else img.copy()
    finally:
        img.close()


def normalise_mode(img: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """RGB (transparency flattened onto white) or, when `keep_alpha`, RGBA if there is any.
    An image already in the wanted mode is returned itself, not copied."""
    if img.mode == "RGB" and "transparency" not in img.info:
        return img
    if img.mode == "RGBA" and keep_alpha:
        return img
    if img.mode.startswith("I"):  # 16/32-bit grey: convert() would clip, scale down instead
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode not in ("RGBA", "LA", "PA") and "transparency" not in img.info:
        return img.convert("RGB")
    rgba = img.convert("RGBA")
    if keep_alpha:
        return rgba
    return flatten(rgba)


def flatten(rgba: Image.Image) -> Image.Image:
    """An RGBA image composed onto white, as RGB."""
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def without_metadata(img: Image.Image) -> Image.Image:
    """A fresh image with the same pixels: no info, EXIF, ICC profile or XMP comes along."""
    clean = Image.new(img.mode, img.size)
    clean.paste(img)
    return clean


# ---- brochure page images -------------------------------------------------------------------


def ingest(raw: bytes, *, limits: ImageLimits) -> SourceImage:
    """Check `raw` and return it as a clean source image; ImageRefused (422) otherwise, with
    `image.not_allowed`, `image.too_large`, `image.too_many_pixels` or `image.corrupt`."""
    if not raw:
        raise ImageRefused("image.corrupt", "The file is empty")
    if len(raw) > limits.max_bytes:
        raise ImageRefused(
            "image.too_large",
            f"The image is {len(raw):,} bytes; at most {limits.max_bytes:,} are accepted",
        )
    try:
        img = open_image(raw, max_pixels=limits.max_pixels)
    except UnacceptableImage as exc:
        raise _refusal(exc, raw, limits) from exc
    try:
        fmt = _PILLOW_TO_SOURCE[str(img.format)]
        _refuse_polyglots(raw, fmt)
        if getattr(img, "is_animated", False) and img.format != "MPO":
            raise ImageRefused("image.not_allowed", "Animated images are not accepted")
        icc = img.info.get("icc_profile")
    except BaseException:
        img.close()
        raise
    try:
        pixels = upright(decode(img, max_side=limits.max_side))
    except UnacceptableImage as exc:
        raise _refusal(exc, raw, limits) from exc
    pixels = normalise_mode(_to_srgb(pixels, icc), keep_alpha=fmt != "jpeg")
    pixels.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    clean = without_metadata(pixels)
    out = io.BytesIO()
    if fmt == "png":
        clean.save(out, "PNG")
    elif fmt == "webp":
        clean.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    else:
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    data = out.getvalue()
    return SourceImage(
        sha256=hashlib.sha256(data).digest(),
        data=data,
        format=fmt,
        width=clean.width,
        height=clean.height,
        content_type=CONTENT_TYPES[fmt],
    )


_CODES: dict[Reason, str] = {
    "unreadable": "image.not_allowed",
    "format": "image.not_allowed",
    "pixels": "image.too_many_pixels",
    "damaged": "image.corrupt",
}


def _refusal(exc: UnacceptableImage, raw: bytes, limits: ImageLimits) -> ImageRefused:
    if exc.reason == "unreadable":
        accepted = _accepted_kind(raw)
        if accepted is not None:  # an accepted format Pillow cannot read: damaged, truncated
            return ImageRefused(
                "image.corrupt",
                f"The file is a damaged or incomplete {accepted} image: it cannot be read",
            )
        kind = _recognised(raw)
        detail = (
            f"The file is {kind}; only JPEG, PNG and WEBP images are accepted"
            if kind
            else "The file is not a readable image; send JPEG, PNG or WEBP"
        )
        return ImageRefused("image.not_allowed", detail)
    if exc.reason == "pixels":
        return ImageRefused(
            "image.too_many_pixels",
            f"{exc.detail}; at most {limits.max_pixels:,} (width x height) are accepted",
        )
    return ImageRefused(_CODES[exc.reason], exc.detail)


def _recognised(raw: bytes) -> str | None:
    """What puremagic takes `raw` for (e.g. "Scalable Vector Graphics Image"), if anything."""
    try:
        found = puremagic.magic_string(raw)
    except (puremagic.PureError, ValueError):
        return None
    best = found[0] if found else None
    return f"a {best.name}" if best is not None and best.confidence >= 0.3 else None


def _accepted_kind(raw: bytes) -> str | None:
    """ "JPEG", "PNG" or "WEBP" when puremagic takes the start of `raw` for an accepted format."""
    try:
        found = puremagic.magic_string(raw)
    except (puremagic.PureError, ValueError):
        return None
    for fmt, content_type in CONTENT_TYPES.items():
        if found and found[0].mime_type == content_type:
            return fmt.upper()
    return None


def _png_data_complete(raw: bytes) -> bool:
    """Whether the PNG's image data (its IDAT chunks, inflated and counted a step at a time)
    holds every row its header declares. Called once the declared size passed the pixel limit,
    and stops at the declared size: a bomb costs no more than a real image of that size."""
    try:
        width, height, depth, colour, _, _, interlace = struct.unpack_from(">IIBBBBB", raw, 16)
    except struct.error:
        return False
    channels = _PNG_CHANNELS.get(colour)
    if channels is None:
        return False
    bits = channels * depth  # per pixel
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    wanted = 0
    for x0, y0, dx, dy in passes:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            wanted += rows * (1 + -(-(columns * bits) // 8))  # a filter byte, then the pixels
    inflater, found = zlib.decompressobj(), 0
    try:
        for data in _png_idat(raw):
            pending: bytes | memoryview = data
            while found < wanted:
                out = inflater.decompress(pending, _INFLATE_STEP)
                found += len(out)
                pending = inflater.unconsumed_tail
                if not out and not pending:
                    break
            if found >= wanted or inflater.eof:
                break
    except zlib.error:
        return False
    return found >= wanted


def _png_idat(raw: bytes) -> Iterator[memoryview]:
    """The data of a PNG's IDAT chunks, which follow each other (as Pillow reads them)."""
    view, at, seen = memoryview(raw), 8, False
    while at + 8 <= len(raw):
        length, kind = struct.unpack_from(">I4s", raw, at)
        if kind == b"IDAT":
            seen = True
            yield view[at + 8 : min(at + 8 + length, len(raw))]
        elif seen:
            return
        at += 12 + int(length)


def _refuse_polyglots(raw: bytes, fmt: SourceFormat) -> None:
    """Refuse a file that is also another kind of document, or does not start as `fmt`."""
    try:
        found = puremagic.magic_string(raw)
    except (puremagic.PureError, ValueError):
        found = []
    if not found or found[0].mime_type != CONTENT_TYPES[fmt]:
        raise ImageRefused(
            "image.not_allowed", "The file's content is not what its image format says"
        )
    if zipfile.is_zipfile(io.BytesIO(raw)):
        raise ImageRefused("image.not_allowed", "The image is also a zip archive")
    if _MARKUP.search(raw):
        raise ImageRefused("image.not_allowed", "The image contains HTML or script markup")
    tail = raw[_image_end(raw, fmt) :].strip(_PADDING)
    if tail and (kind := _recognised(tail)):
        raise ImageRefused("image.not_allowed", f"The image has {kind} appended")


def _image_end(raw: bytes, fmt: SourceFormat) -> int:
    """Where the image's own bytes end (what follows was appended); len(raw) if unknown."""
    try:
        if fmt == "png":
            return _png_end(raw)
        if fmt == "webp":
            return min(8 + int(struct.unpack_from("<I", raw, 4)[0]), len(raw))
        return _jpeg_end(raw)
    except (struct.error, IndexError):
        return len(raw)


def _png_end(raw: bytes) -> int:
    at = 8
    while at + 8 <= len(raw):
        length, kind = struct.unpack_from(">I4s", raw, at)
        at += 12 + int(length)
        if kind == b"IEND":
            return at
    return len(raw)


def _jpeg_end(raw: bytes) -> int:
    """After the last EOI of the JPEG (or MPO) images that follow each other from the start."""
    at, end = 0, len(raw)
    while raw.startswith(b"\xff\xd8", at):
        at = _jpeg_frame_end(raw, at + 2)
        if at < 0:
            return len(raw)
        end = at
        while at < len(raw) and raw[at] in b"\x00\xff" and not raw.startswith(b"\xff\xd8", at):
            at += 1
    return end


def _jpeg_frame_end(raw: bytes, at: int) -> int:
    """The offset after the EOI of the frame whose markers start at `at`; -1 if none."""
    while at + 4 <= len(raw):
        if raw[at] != 0xFF:
            return -1
        marker = raw[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xD9:  # EOI
            return at + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            at += 2
            continue
        (length,) = struct.unpack_from(">H", raw, at + 2)
        at += 2 + int(length)
        if marker == 0xDA:  # SOS: entropy-coded data up to the next marker that is not RSTn
            while at + 1 < len(raw):
                if raw[at] == 0xFF and raw[at + 1] != 0 and not 0xD0 <= raw[at + 1] <= 0xD7:
                    break
                at += 1
    return -1


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """The pixels in sRGB, converted from the embedded ICC profile if there is one (a broken
    profile is ignored: the pixels are taken as sRGB, as a browser would)."""
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return img  # palette and 16-bit images: taken as sRGB
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            img,
            source,
            ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode="RGBA" if img.mode == "RGBA" else "RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img
    return converted if converted is not None else img

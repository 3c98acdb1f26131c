"""Renditions of a brochure page image: the sizes and formats the apps load.

Three sizes (phone: at most 1080 px wide, tablet: 2048, thumb: 320), each as WebP (for the apps)
and JPEG (for anything else); never upscaled, sRGB (sources are converted when ingested), no
metadata. A spec's name carries all its parameters (`phone-w1080-q80.webp`) and a rendition's
blob key carries the source's hash and the spec (`brochures/r/<source hex>-<spec>`): a changed
image or a changed spec is a new key, so nothing stale is ever served for it.

`build` is pure and CPU-bound: the worker runs it in a thread (`workbench.media.jobs`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from PIL import Image

from workbench.errors import NotFound
from workbench.media import images

Format = Literal["webp", "jpeg"]
SIZES: dict[str, int] = {"phone": 1080, "tablet": 2048, "thumb": 320}
QUALITY: dict[Format, int] = {"webp": 80, "jpeg": 85}
_MAX_SOURCE_PIXELS = 4096 * 4096  # sources are stored fitted in 4096 x 4096


@dataclass(frozen=True)
class RenditionSpec:
    size: str  # phone, tablet, thumb
    max_width: int
    fmt: Format
    quality: int

    @property
    def name(self) -> str:
        return f"{self.size}-w{self.max_width}-q{self.quality}.{self.fmt}"

    @property
    def content_type(self) -> str:
        return images.CONTENT_TYPES[self.fmt]

    def blob_key(self, source_sha256: bytes) -> str:
        return f"brochures/r/{source_sha256.hex()}-{self.name}"


SPECS: tuple[RenditionSpec, ...] = tuple(
    RenditionSpec(size, width, fmt, QUALITY[fmt])
    for size, width in SIZES.items()
    for fmt in ("webp", "jpeg")
)
SPEC_NAMES: tuple[str, ...] = tuple(s.name for s in SPECS)
BY_NAME: dict[str, RenditionSpec] = {s.name: s for s in SPECS}


def spec_for(size: str, fmt: str) -> RenditionSpec:
    """The current spec of a size (`phone`, `tablet`, `thumb`) and format (`webp`, `jpeg`);
    404 `rendition.not_found` for any other."""
    for spec in SPECS:
        if spec.size == size and spec.fmt == fmt:
            return spec
    raise NotFound("rendition")


@dataclass(frozen=True)
class Built:
    spec: RenditionSpec
    data: bytes
    width: int
    height: int


def build(source: bytes, specs: Sequence[RenditionSpec]) -> list[Built | Exception]:
    """Each spec's rendition of the source image (in order), or the exception that stopped it.
    A source that cannot be decoded raises: every spec fails with it."""
    widest = max(s.max_width for s in specs)
    img = images.decode(images.open_image(source, max_pixels=_MAX_SOURCE_PIXELS), max_side=widest)
    scaled: dict[int, Image.Image] = {}
    # Widest first, each size scaled from the one before: one full-size resize per image, and
    # the full-size pixels are let go as soon as they are no longer needed.
    current = images.normalise_mode(img, keep_alpha=True)
    if current is not img:
        img.close()
    for width in sorted({s.max_width for s in specs}, reverse=True):
        if current.width > width:
            current = current.resize(
                (width, max(1, round(current.height * width / current.width))),
                Image.Resampling.LANCZOS,
            )
        current.info = {}  # nothing of the source's info (a JPEG comment...) is written
        scaled[width] = current
    del img, current
    results: list[Built | Exception] = []
    for spec in specs:
        try:
            results.append(_encode(spec, scaled[spec.max_width]))
        except Exception as exc:  # one spec's failure is its own
            results.append(exc)
    return results


def _encode(spec: RenditionSpec, pixels: Image.Image) -> Built:
    out = io.BytesIO()
    if spec.fmt == "webp":
        clean = pixels
        clean.save(out, "WEBP", quality=spec.quality, method=4)
    else:
        clean = images.flatten(pixels) if pixels.mode == "RGBA" else pixels
        clean.info = {}
        clean.save(out, "JPEG", quality=spec.quality, optimize=True, progressive=True)
    return Built(spec=spec, data=out.getvalue(), width=clean.width, height=clean.height)


# Per size, the names of its WebP and JPEG specs (what a page shows of each size).
PAIRS: dict[str, tuple[str, str]] = {
    size: (spec_for(size, "webp").name, spec_for(size, "jpeg").name) for size in SIZES
}

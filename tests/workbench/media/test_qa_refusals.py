"""Damaged page images are refused as damaged: a PNG of no pixels is `image.corrupt` saying so
(never "a PNG; only ... PNG ... accepted"), a PNG whose data stops before the rows its header
declares is refused rather than stored with the missing rows filled in, and a truncated JPEG or
WEBP is refused too. Signed media URLs answer HEAD like GET, without the body."""

from __future__ import annotations

import struct
import zlib

import pytest
from PIL import Image

from tests.workbench.media.conftest import decode, encode
from workbench.media.images import ImageLimits, ImageRefused, ingest

LIMITS = ImageLimits()
BLOB = bytes(range(256)) * 40  # 10,240 bytes
KEY = "brochures/r/00ff-phone-w1080-q80.webp"


def refused(raw: bytes) -> ImageRefused:
    with pytest.raises(ImageRefused) as caught:
        ingest(raw, limits=LIMITS)
    assert caught.value.status == 422
    return caught.value


def chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int, height: int, rows: int, *, interlaced: bool = False) -> bytes:
    """An RGB PNG declaring width x height whose one IDAT is a complete zlib stream of `rows`
    rows (unfiltered; of the first Adam7 passes when `interlaced`), then IEND."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, int(interlaced))
    line = width if not interlaced else -(-width // 8)  # the first pass: every 8th column
    data = b"".join(b"\x00" + bytes([n % 251]) * (3 * line) for n in range(rows))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(data))
        + chunk(b"IEND", b"")
    )


def assert_says_damaged(error: ImageRefused) -> None:
    assert error.code == "image.corrupt", error.detail
    assert "damaged" in error.detail or "incomplete" in error.detail, error.detail
    assert "only JPEG, PNG and WEBP" not in error.detail


def test_a_png_of_no_pixels_is_damaged_not_of_another_format():
    error = refused(png(0, 0, 0))

    assert_says_damaged(error)
    assert "PNG" in error.detail


@pytest.mark.parametrize(("width", "height"), [(300, 300), (7000, 7000)])
def test_a_png_with_fewer_rows_than_its_header_declares_is_refused(width, height):
    raw = png(width, height, 10)
    assert len(raw) < 5000

    assert_says_damaged(refused(raw))


def test_an_interlaced_png_with_missing_passes_is_refused():
    assert_says_damaged(refused(png(300, 300, 10, interlaced=True)))


def test_a_png_whose_data_holds_every_row_is_kept_whole():
    image = ingest(png(300, 200, 200), limits=LIMITS)

    assert (image.width, image.height) == (300, 200)
    kept = decode(image.data).convert("RGB")
    assert kept.getpixel((150, 199)) == (199, 199, 199)  # the last row, as sent


@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "RGB", "RGBA", "I;16"])
def test_complete_pngs_of_every_kind_still_pass(mode):
    """Bit depths from 1 to 16, one to four channels: each declares its rows' size its way."""
    if mode == "I;16":
        img = Image.new("I;16", (37, 23), 3000)
    else:
        img = Image.effect_noise((37, 23), 50).convert(mode)

    image = ingest(encode(img, "PNG"), limits=LIMITS)

    assert (image.width, image.height) == (37, 23)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_a_truncated_jpeg_webp_or_png_is_damaged(fmt):
    whole = encode(Image.effect_noise((400, 300), 60).convert("RGB"), fmt)
    for keep in (len(whole) * 9 // 10, len(whole) // 2, 200, 60):
        error = refused(whole[:keep])
        assert_says_damaged(error)


@pytest.fixture
async def media(make_client, store_kind, store):
    """An app on each blob store in turn, with one blob stored."""
    await store.put(KEY, BLOB, content_type="image/webp")
    return await make_client(**store_kind)


async def test_head_on_a_signed_url_answers_what_get_does_without_the_body(media):
    url = media.app.state.media_signer.url(KEY, 3600)
    got = await media.get(url)

    asked = await media.head(url)

    assert asked.status_code == 200, asked.text
    assert asked.content == b""
    for header in ("content-length", "content-type", "etag", "accept-ranges", "cache-control",
                   "x-content-type-options"):  # fmt: skip
        assert asked.headers[header] == got.headers[header], header
    assert asked.headers["content-length"] == str(len(BLOB))
    cached = await media.head(url, headers={"If-None-Match": got.headers["etag"]})
    assert (cached.status_code, cached.content) == (304, b"")
    missing = media.app.state.media_signer.url("brochures/r/never-stored.webp", 3600)
    for bad in (missing, url.replace("sig=", "sig=A"), f"/media/{KEY}"):
        gone = await media.head(bad)
        assert gone.status_code == 404, bad
        assert gone.content == b""

"""Task photos and signatures: only real JPEG/PNG/WEBP pass, bombs are refused before decoding,
no metadata survives, EXIF orientation is applied, photos carry a visible watermark."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfoNotFoundError

import pytest
from PIL import Image, ImageCms, ImageStat

from workbench.tasks.photos import PhotoRejected, ProcessedPhoto, Stamp, process_photo

STAMP = Stamp(
    rm="rm01",
    customer="110***********123X",
    taken_at=datetime(2026, 11, 22, 2, 30, tzinfo=UTC),
    tz="Asia/Shanghai",
)
LIGHT_GREY = (200, 200, 200)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def decode(photo: ProcessedPhoto) -> Image.Image:
    img = Image.open(io.BytesIO(photo.data))
    img.load()
    return img


def brightness(img: Image.Image, box: tuple[int, int, int, int]) -> float:
    return float(ImageStat.Stat(img.convert("L").crop(box)).mean[0])


def png_declaring(width: int, height: int) -> bytes:
    """A valid 10x10 PNG whose IHDR is patched to declare width x height (CRC fixed up)."""
    data = bytearray(encode(Image.new("RGB", (10, 10), "white"), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def rejected(raw: bytes, max_pixels: int = 40_000_000) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        process_photo(raw, stamp=STAMP, max_pixels=max_pixels)
    assert caught.value.status == 422
    return caught.value


def test_phone_jpeg_loses_exif_gps_xmp_and_icc_and_is_turned_upright():
    # Stored sideways: left half red, right half blue; orientation 6 means "rotate 90° clockwise"
    # to display, so upright the red half is on top.
    stored = Image.new("RGB", (800, 600), "blue")
    stored.paste((255, 0, 0), (0, 0, 400, 600))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneCo"
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>GPSLatitude 39.9</rdf:RDF></x:xmpmeta>'
    raw = encode(stored, "JPEG", exif=exif, xmp=xmp, icc_profile=srgb, comment=b"home address")
    source = Image.open(io.BytesIO(raw))
    assert source.getexif().get_ifd(0x8825)  # the input really carries GPS

    photo = process_photo(raw, stamp=STAMP, max_side=400)

    out = decode(photo)
    assert out.format == "JPEG"
    assert photo.content_type == "image/jpeg"
    assert dict(out.getexif()) == {}
    for key in ("exif", "xmp", "icc_profile", "comment"):
        assert key not in out.info
    for marker in (b"Exif", b"PhoneCo", b"adobe:ns:meta", b"home address"):
        assert marker not in photo.data
    assert (photo.width, photo.height) == out.size == (300, 400)  # 800x600 turned, then fitted
    assert out.getpixel((150, 60))[0] > 200  # red on top
    assert out.getpixel((150, 300))[2] > 200  # blue below


def test_longer_side_is_fitted_and_sha256_describes_the_bytes():
    raw = encode(Image.new("RGB", (3000, 1000), LIGHT_GREY), "JPEG")
    photo = process_photo(raw, stamp=STAMP, max_side=1024)
    assert (photo.width, photo.height) == (1024, 341)
    assert decode(photo).size == (1024, 341)
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()

    small = process_photo(encode(Image.new("RGB", (640, 480), LIGHT_GREY), "PNG"), stamp=STAMP)
    assert (small.width, small.height) == (640, 480)  # never enlarged


def test_photo_gets_a_visible_watermark_band_at_the_bottom_only():
    raw = encode(Image.new("RGB", (3000, 2000), LIGHT_GREY), "JPEG")
    stamped = decode(process_photo(raw, stamp=STAMP))
    plain = decode(process_photo(raw, stamp=STAMP, signature=True))  # same resize, no stamp
    assert stamped.size == plain.size == (2048, 1365)
    width, height = stamped.size
    bottom = (0, height - height // 20, width, height)
    top = (0, 0, width, height // 2)

    assert brightness(plain, bottom) - brightness(stamped, bottom) > 60
    assert abs(brightness(plain, top) - brightness(stamped, top)) < 3
    band = stamped.convert("L").crop(bottom)
    assert band.getextrema()[1] > 220  # white text inside the dark band


def test_watermark_text_depends_on_the_stamp():
    raw = encode(Image.new("RGB", (1200, 900), LIGHT_GREY), "JPEG")
    other = Stamp("rm05", "310***********9876", STAMP.taken_at, STAMP.tz)
    first = decode(process_photo(raw, stamp=STAMP)).convert("L")
    second = decode(process_photo(raw, stamp=other)).convert("L")
    width, height = first.size
    band = (0, height - height // 8, width, height)
    top = (0, 0, width, height // 2)
    assert first.crop(top).tobytes() == second.crop(top).tobytes()
    assert first.crop(band).tobytes() != second.crop(band).tobytes()


def test_stamp_shows_bank_local_time_and_survives_non_ascii_text():
    stamp = Stamp(
        rm="张伟 José",
        customer="110***********123X\n",
        taken_at=datetime(2026, 11, 22, 2, 30, tzinfo=UTC),
        tz="Asia/Shanghai",
    )
    assert stamp.lines() == [
        "RM: ?? Jose",
        "Customer: 110***********123X?",
        "2026-11-22 10:30 CST +08:00",
    ]
    raw = encode(Image.new("RGB", (400, 300), LIGHT_GREY), "JPEG")
    assert decode(process_photo(raw, stamp=stamp)).format == "JPEG"


def test_stamp_needs_an_aware_time_and_a_known_zone():
    with pytest.raises(ValueError, match="timezone-aware"):
        Stamp("rm01", "x", datetime(2026, 11, 22, 10, 30), "Asia/Shanghai")
    with pytest.raises(ZoneInfoNotFoundError):
        Stamp("rm01", "x", STAMP.taken_at, "Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("PNG", {}),
        ("WEBP", {"quality": 90}),
        ("JPEG", {}),
        ("MPO", {"save_all": True, "append_images": [Image.new("RGB", (320, 240), "blue")]}),
    ],
)
def test_jpeg_png_webp_are_accepted_and_become_jpeg(fmt: str, params: dict[str, object]):
    raw = encode(Image.new("RGB", (320, 240), LIGHT_GREY), fmt, **params)
    photo = process_photo(raw, stamp=STAMP)
    assert decode(photo).format == "JPEG"
    assert (photo.width, photo.height) == (320, 240)


def test_transparent_png_photo_is_flattened_onto_white():
    img = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    photo = decode(process_photo(encode(img, "PNG"), stamp=STAMP))
    assert photo.mode == "RGB"
    assert min(photo.getpixel((200, 20))) > 245


def test_sixteen_bit_grey_png_keeps_its_tones():
    img = Image.new("I;16", (200, 200), 30000)  # 30000/65535 ≈ 117/255
    out = decode(process_photo(encode(img, "PNG"), stamp=STAMP, signature=True))
    assert 110 <= brightness(out, (0, 0, 200, 200)) <= 125


PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"


def tiny(fmt: str) -> bytes:
    return encode(Image.new("RGB", (64, 64), LIGHT_GREY), fmt)


def truncated_jpeg() -> bytes:
    noise = Image.frombytes("RGB", (256, 256), random.Random(1).randbytes(256 * 256 * 3))
    raw = encode(noise, "JPEG")
    return raw[: len(raw) // 2]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(tiny("GIF"), "attachment.format_not_allowed", id="gif"),
        pytest.param(tiny("BMP"), "attachment.format_not_allowed", id="bmp"),
        pytest.param(tiny("TIFF"), "attachment.format_not_allowed", id="tiff"),
        pytest.param(PDF, "attachment.not_an_image", id="pdf"),
        pytest.param(
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b"<script>alert(1)</script></svg>",
            "attachment.not_an_image",
            id="svg",
        ),
        pytest.param(b"just some text, not a photo\n", "attachment.not_an_image", id="text"),
        pytest.param(random.Random(7).randbytes(4096), "attachment.not_an_image", id="random"),
        pytest.param(b"", "attachment.not_an_image", id="empty"),
        pytest.param(truncated_jpeg(), "attachment.not_an_image", id="truncated-jpeg"),
    ],
)
def test_anything_but_an_allowed_image_is_refused(raw: bytes, code: str):
    assert rejected(raw).code == code


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(50_000, 50_000, id="beyond-pillow-hard-limit"),
        pytest.param(
            10_000,
            10_000,
            id="pillow-warning-as-error",
            marks=pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning"),
        ),
        pytest.param(
            10_000,
            10_000,
            id="pillow-warning-ignored",
            marks=pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
        ),
        pytest.param(8_000, 6_000, id="over-our-default-limit"),
    ],
)
def test_decompression_bomb_is_refused_before_decoding(width: int, height: int):
    # The pixel data is only 10x10: had the image been decoded, it would fail as damaged data
    # (not_an_image), or allocate gigabytes; too_large proves the header alone decided.
    assert rejected(png_declaring(width, height)).code == "attachment.too_large"


@pytest.mark.parametrize(
    ("size", "accepted"),
    [((100, 99), True), ((100, 100), True), ((101, 100), False), ((100, 101), False)],
)
def test_max_pixels_is_the_inclusive_limit(size: tuple[int, int], accepted: bool):
    raw = encode(Image.new("RGB", size, LIGHT_GREY), "PNG")
    if accepted:
        assert process_photo(raw, stamp=STAMP, max_pixels=10_000).width == size[0]
    else:
        assert rejected(raw, max_pixels=10_000).code == "attachment.too_large"


def test_signature_is_png_keeps_transparency_and_has_no_watermark():
    sig = Image.new("RGBA", (1600, 600), (0, 0, 0, 0))
    sig.paste((0, 0, 0, 255), (200, 250, 1400, 280))  # the stroke
    info = Image.Exif()
    info[0x010F] = "SignPad"
    raw = encode(sig, "PNG", exif=info)

    photo = process_photo(raw, stamp=STAMP, max_side=800, signature=True)

    out = decode(photo)
    assert out.format == "PNG"
    assert photo.content_type == "image/png"
    assert (photo.width, photo.height) == out.size == (800, 300)
    assert "exif" not in out.info
    assert dict(out.getexif()) == {}
    assert out.mode == "RGBA"
    bottom = out.crop((0, 270, 800, 300))
    assert bottom.getextrema()[3] == (0, 0)  # still fully transparent: no band, no text
    assert out.getpixel((400, 132))[3] == 255  # the stroke survived


def test_signature_from_opaque_jpeg_stays_white_at_the_bottom():
    raw = encode(Image.new("RGB", (600, 200), (255, 255, 255)), "JPEG")
    out = decode(process_photo(raw, stamp=STAMP, signature=True))
    assert out.format == "PNG"
    assert brightness(out, (0, 150, 600, 200)) > 250

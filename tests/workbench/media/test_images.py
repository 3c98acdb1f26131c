"""Brochure page images: only real JPEG/PNG/WEBP pass, whatever they are called; polyglots, bombs,
oversized and damaged files are refused before their pixels are decoded; what is kept is upright,
in sRGB and free of every piece of metadata."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from tests.workbench.media.conftest import decode, encode
from workbench.media.images import ImageLimits, ImageRefused, SourceImage, ingest

LIMITS = ImageLimits()


def refused(raw: bytes, limits: ImageLimits = LIMITS) -> ImageRefused:
    with pytest.raises(ImageRefused) as caught:
        ingest(raw, limits=limits)
    assert caught.value.status == 422
    assert caught.value.detail
    return caught.value


def tiny(fmt: str, mode: str = "RGB", **params: object) -> bytes:
    return encode(Image.new(mode, (40, 30), (200, 30, 30)), fmt, **params)


def png_declaring(width: int, height: int) -> bytes:
    """A valid 10x10 PNG whose IHDR is patched to declare width x height (CRC fixed up)."""
    data = bytearray(tiny("PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def a_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("payload.html", "<script>alert(document.cookie)</script>")
    return buf.getvalue()


EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 40 30\n%%EndComments\n"
    b"newpath 0 0 moveto 40 30 lineto stroke\nshowpage\n%%EOF\n"
)
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">'
    b'<rect width="40" height="30" fill="red"/><script>alert(1)</script></svg>'
)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(tiny("TIFF"), id="tiff"),
        pytest.param(EPS, id="eps"),
        pytest.param(SVG, id="svg"),
        pytest.param(tiny("GIF"), id="gif"),
        pytest.param(tiny("BMP"), id="bmp"),
        pytest.param(b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", id="pdf"),
        pytest.param(b"<!DOCTYPE html><html><body>hi</body></html>", id="html"),
        pytest.param(a_zip(), id="zip"),
        pytest.param(b"just some text, not an image\n", id="text"),
    ],
)
def test_only_jpeg_png_and_webp_are_accepted_by_content(raw):
    # Whatever the file is called (nothing here has a name): only its bytes count.
    assert refused(raw).code == "image.not_allowed"


def test_the_refusal_names_what_the_file_is():
    assert "TIFF" in refused(tiny("TIFF")).detail
    assert "Scalable Vector Graphics" in refused(SVG).detail


@pytest.mark.parametrize(("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                                   ("WEBP", "image/webp")])  # fmt: skip
def test_allowed_formats_pass_and_keep_their_format(fmt, content_type):
    image = ingest(tiny(fmt), limits=LIMITS)

    assert image.content_type == content_type
    assert image.format == fmt.lower()
    assert (image.width, image.height) == (40, 30)
    assert decode(image.data).format == fmt
    assert image.sha256 == hashlib.sha256(image.data).digest()


def test_an_mpo_from_a_phone_camera_is_a_jpeg():
    """A JPEG with a multi-picture index (a second, depth or preview image) after it."""
    first, second = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")
    raw = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(raw)).format == "MPO"

    image = ingest(raw, limits=LIMITS)

    assert image.format == "jpeg"
    assert decode(image.data).convert("RGB").getpixel((20, 15))[0] > 200  # the first picture


def test_animated_images_are_refused():
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue")]
    for fmt in ("PNG", "WEBP"):
        raw = encode(frames[0], fmt, save_all=True, append_images=frames[1:])
        assert refused(raw).code == "image.not_allowed"


def test_a_jpeg_with_a_zip_appended_is_refused():
    raw = tiny("JPEG") + a_zip()
    assert Image.open(io.BytesIO(raw)).format == "JPEG"  # Pillow alone would take it
    assert zipfile.is_zipfile(io.BytesIO(raw))  # and so does any zip reader

    assert refused(raw).code == "image.not_allowed"


def test_a_png_with_html_appended_is_refused():
    raw = tiny("PNG") + b"<html><body><script>fetch('/api/v1/me')</script></body></html>"
    assert refused(raw).code == "image.not_allowed"


def test_a_png_with_script_in_a_text_chunk_is_refused():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    assert refused(tiny("PNG", pnginfo=info)).code == "image.not_allowed"


def test_a_jpeg_with_a_pdf_appended_is_refused():
    raw = tiny("JPEG") + b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    assert refused(raw).code == "image.not_allowed"


def test_padding_after_the_image_is_fine():
    """Some cameras pad a JPEG after its end marker; that is not a second document."""
    image = ingest(tiny("JPEG") + b"\x00" * 512, limits=LIMITS)
    assert image.format == "jpeg"


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8000, 8000), (50_001, 1000)])
def test_decompression_bombs_are_refused_before_decoding(width, height):
    """The file declares more pixels than allowed; its data holds 10x10 pixels, so decoding it
    would fail as damaged: `too_many_pixels` shows nothing was decoded."""
    raw = png_declaring(width, height)
    assert len(raw) < 1000

    error = refused(raw)

    assert error.code == "image.too_many_pixels"
    assert "50,000,000" in error.detail


def test_the_pixel_limit_is_configurable():
    assert refused(tiny("PNG"), ImageLimits(max_pixels=1000)).code == "image.too_many_pixels"
    assert ingest(tiny("PNG"), limits=ImageLimits(max_pixels=1200)).width == 40


def test_oversized_files_are_refused_by_their_byte_size():
    raw = tiny("PNG")
    error = refused(raw, ImageLimits(max_bytes=len(raw) - 1))
    assert error.code == "image.too_large"
    assert f"{len(raw) - 1:,}" in error.detail
    assert refused(b"\xff\xd8" + b"\x00" * 30_000_001).code == "image.too_large"


def test_truncated_or_empty_files_are_corrupt():
    whole = encode(Image.effect_noise((400, 300), 60).convert("RGB"), "JPEG")
    assert refused(whole[: len(whole) // 2]).code == "image.corrupt"
    assert refused(b"").code == "image.corrupt"


def test_a_png_with_a_broken_data_chunk_is_corrupt():
    raw = bytearray(encode(Image.effect_noise((200, 200), 60).convert("RGB"), "PNG"))
    idat = raw.index(b"IDAT")
    raw[idat + 40 : idat + 60] = b"\x00" * 20
    assert refused(bytes(raw)).code == "image.corrupt"


def portrait_phone_photo() -> bytes:
    """Stored sideways (800x600): left half red, right half blue, with orientation 6 ("rotate
    90° clockwise to display"), so upright it is 600x800 with the red half on top. It carries
    GPS, camera make and model, XMP, an ICC profile and a comment."""
    stored = Image.new("RGB", (800, 600), "blue")
    stored.paste((255, 0, 0), (0, 0, 400, 600))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneCo"
    exif[0x0110] = "PhoneCo X1"
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>GPSLatitude 39.9</rdf:RDF></x:xmpmeta>'
    return encode(stored, "JPEG", exif=exif, xmp=xmp, icc_profile=srgb, comment=b"home address")


def assert_no_metadata(image: SourceImage) -> None:
    out = decode(image.data)
    assert dict(out.getexif()) == {}
    for key in ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "Comment"):
        assert key not in out.info, key
    for needle in (b"Exif", b"PhoneCo", b"GPS", b"xmpmeta", b"home address", b"ICC_PROFILE"):
        assert needle not in image.data, needle


def test_exif_gps_and_camera_are_gone_and_orientation_is_applied():
    raw = portrait_phone_photo()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the input carries GPS

    image = ingest(raw, limits=LIMITS)

    assert (image.width, image.height) == (600, 800)  # portrait, as the phone showed it
    out = decode(image.data).convert("RGB")
    top, bottom = out.getpixel((300, 150)), out.getpixel((300, 650))
    assert (top[0] > 200, top[2] < 60) == (True, True), top  # red on top
    assert (bottom[0] < 60, bottom[2] > 200) == (True, True), bottom
    assert_no_metadata(image)


def test_png_keeps_its_transparency_and_loses_its_text_chunks():
    img = Image.new("RGBA", (60, 40), (0, 128, 255, 255))
    img.paste((0, 0, 0, 0), (0, 0, 30, 40))  # left half fully transparent
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Marketing Dept")
    info.add_itxt("Description", "内部资料", lang="zh")

    image = ingest(encode(img, "PNG", pnginfo=info), limits=LIMITS)

    out = decode(image.data)
    assert image.format == "png"
    assert out.mode == "RGBA"
    assert out.getpixel((10, 20))[3] == 0
    assert out.getpixel((50, 20)) == (0, 128, 255, 255)
    assert not getattr(out, "text", {})
    assert b"Marketing" not in image.data


def test_a_webp_keeps_its_transparency():
    img = Image.new("RGBA", (60, 40), (0, 128, 255, 255))
    img.paste((0, 0, 0, 0), (0, 0, 30, 40))
    out = decode(ingest(encode(img, "WEBP", lossless=True), limits=LIMITS).data)
    assert out.mode == "RGBA"
    assert out.getpixel((10, 20))[3] == 0


def test_large_images_are_fitted_in_the_maximum_side():
    raw = encode(Image.new("RGB", (5000, 2500), "white"), "JPEG")
    image = ingest(raw, limits=LIMITS)
    assert (image.width, image.height) == (4096, 2048)


def adobe_rgb_like_profile() -> bytes:
    """A minimal ICC v2 matrix/TRC profile with Adobe RGB (1998) primaries (D50) and gamma 2.2:
    a wider colour space than sRGB, as a camera or a design tool may embed."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    gamma = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    tags = [
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    table, body = struct.pack(">I", len(tags)), b""
    start = 128 + 4 + 12 * len(tags)
    for sig, data in tags:
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", start + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28
        + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48
    )  # fmt: skip
    return header + table + body


def test_a_wide_gamut_image_is_converted_to_srgb():
    icc = adobe_rgb_like_profile()
    colour = (100, 180, 60)
    raw = encode(Image.new("RGB", (20, 20), colour), "PNG", icc_profile=icc)
    expected = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), colour),
        ImageCms.ImageCmsProfile(io.BytesIO(icc)),
        ImageCms.createProfile("sRGB"),
        outputMode="RGB",
    )
    assert expected is not None
    want = expected.getpixel((0, 0))
    assert abs(want[0] - colour[0]) > 50  # the two spaces really differ

    image = ingest(raw, limits=LIMITS)

    out = decode(image.data)
    assert "icc_profile" not in out.info
    got = out.convert("RGB").getpixel((10, 10))
    assert all(abs(g - w) <= 2 for g, w in zip(got, want, strict=True)), (got, want)


def test_the_same_image_gives_the_same_bytes():
    raw = portrait_phone_photo()
    assert ingest(raw, limits=LIMITS).sha256 == ingest(raw, limits=LIMITS).sha256

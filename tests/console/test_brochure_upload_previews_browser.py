"""The upload form's page previews in a real browser: a file the browser cannot draw though it
is named .png (an SVG or a PDF renamed, an empty file) says 无法预览 on its card, as a GIF
does, instead of a broken image whose alt text runs under the page number."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console.brochure_data import page_image

pytestmark = pytest.mark.usefixtures("demo_bank")

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="60" height="80"><rect width="60"' \
      b' height="80" fill="red"/></svg>'  # fmt: skip
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def test_a_file_the_browser_cannot_draw_says_it_cannot_be_previewed(
    page, sign_in, shot, tmp_path: Path
):
    from playwright.async_api import expect

    files = {
        "封面.jpg": page_image(),
        "矢量图.png": SVG,
        "空文件.png": b"",
        "文档.png": PDF,
        "动图.gif": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    }
    paths = []
    for name, data in files.items():
        (path := tmp_path / name).write_bytes(data)
        paths.append(str(path))

    await sign_in(page, "marketing")
    await page.goto("/console/brochures/new")
    await page.locator("#page-files").set_input_files(paths)
    cards = page.locator(".page-card")
    await expect(cards).to_have_count(5)

    # The JPEG is drawn; every other card says it cannot be previewed, with no image left.
    await expect(cards.nth(0).locator("img")).to_have_js_property("complete", True)
    assert await cards.nth(0).locator("img").evaluate("img => img.naturalWidth") > 0
    for n in range(1, 5):
        await expect(cards.nth(n).locator(".thumb-wait")).to_have_text("无法预览")
        await expect(cards.nth(n).locator("img")).to_have_count(0)
    # The renamed files are not refused here (the server judges them when they are sent);
    # the GIF is, by its type.
    assert [await cards.nth(n).get_attribute("class") for n in range(5)] == [
        "page-card", "page-card", "page-card", "page-card", "page-card is-refused",
    ]  # fmt: skip

    # Reordering draws the cards again: a card that could not be drawn stays so.
    await page.get_by_role("button", name="第 2 页前移").click()
    await expect(cards.nth(0).locator(".thumb-wait")).to_have_text("无法预览")
    await expect(cards.nth(1).locator("img")).to_have_count(1)
    await expect(cards.locator(".thumb-wait")).to_have_count(4)
    await shot(page, "brochure-upload-unpreviewable", sizes=("desktop",))

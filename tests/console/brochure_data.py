"""Brochures for console tests: products, page images, and a console client that also speaks
the API (to arrange brochures in their states as marketing and compliance do)."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from tests.console.conftest import ORIGIN, Client, csrf_of, sign_in_as
from tests.customers_data import feed, headers_of, product_row
from workbench.db import create_pool
from workbench.media.jobs import build_renditions
from workbench.media.store import LocalBlobStore
from workbench.seed import DEMO_PASSWORD
from workbench.settings import Settings

API = "/api/v1/brochures"
PRODUCTS = [
    ("WM90", "稳享90天理财", "wealth", "R2"),
    ("TECH01", "科技成长股票基金", "fund", "R4"),
    ("CASH01", "天天盈现金管理", "cash", "R1"),
]


def page_image(
    colour: tuple[int, int, int] = (20, 90, 160),
    size: tuple[int, int] = (600, 800),
    *,
    label: str = "",
    fmt: str = "JPEG",
) -> bytes:
    """A page image: a coloured sheet with a white band (and a label, for a person to see)."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 60, size[0] - 40, 200), fill=(255, 255, 255))
    if label:
        draw.text((60, 110), label, fill=colour)
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def tiff_image() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 50), "red").save(out, format="TIFF")
    return out.getvalue()


def corrupt_jpeg() -> bytes:
    data = page_image()
    return data[: len(data) // 2]  # a JPEG that stops half way


async def add_products(client: Client) -> None:
    admin = await headers_of(client, "admin")
    rows = [
        product_row(code, name=name, category=category, risk_level=risk)
        for code, name, category, risk in PRODUCTS
    ]
    await feed(client, admin, "products", rows)


@dataclass
class Desk:
    """A console client signed in as one staff member, and the API as marketing/compliance."""

    client: Client
    settings: Settings
    blob_dir: Path
    api: dict[str, dict[str, str]]  # bearer headers by login
    token: str = ""  # the console's CSRF token for the signed-in user

    async def sign_in(self, login: str, password: str = DEMO_PASSWORD) -> str:
        """Sign out whoever is signed in, and sign in as `login`."""
        if self.token:
            await self.post("/console/sign-out")
        self.client.cookies.clear()
        response = await sign_in_as(self.client, login, password=password)
        assert response.status_code == 303, response.text
        self.token = csrf_of((await self.client.get("/console")).text)
        return self.token

    async def headers(self, login: str) -> dict[str, str]:
        if login not in self.api:
            self.api[login] = await headers_of(self.client, login)
        return self.api[login]

    async def upload(
        self, *pages: bytes, login: str = "marketing", **fields: Any
    ) -> dict[str, Any]:
        """Upload through the API (as the app's marketing user would)."""
        body = {"title": "稳享90天", "product_code": "WM90", "talk_track": "稳健理财",
                "tags": ["理财"], **fields}  # fmt: skip
        response = await self.client.post(
            API,
            files=[
                ("meta", (None, json.dumps(body, ensure_ascii=False), "application/json")),
                *[("pages", (f"p{n}.jpg", d, "image/jpeg")) for n, d in enumerate(pages)],
            ],
            headers=await self.headers(login),
        )
        assert response.status_code == 201, response.text
        made: dict[str, Any] = response.json()
        return made

    async def act(self, brochure_id: str, action: str, login: str, **body: Any) -> Any:
        response = await self.client.post(
            f"{API}/{brochure_id}/{action}", json=body or None, headers=await self.headers(login)
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        """A console form post, as the page sends it (Origin and the CSRF field)."""
        fields = {"_csrf_token": self.token, **(data or {})}
        return await self.client.post(path, data=fields, headers={"Origin": ORIGIN}, **kw)

    async def page(self, path: str, status: int = 200) -> str:
        response = await self.client.get(path)
        assert response.status_code == status, response.text
        html: str = response.text
        return html

    async def build_renditions(self) -> int:
        pool = await create_pool(self.settings.database_url, max_size=2)
        try:
            ctx = {"pool": pool, "blobs": LocalBlobStore(str(self.blob_dir)),
                   "settings": self.settings, "media_run_seconds": 60}  # fmt: skip
            return await build_renditions(ctx)
        finally:
            await pool.close()


async def open_desk(make_console: Any, settings: Settings, tmp_path: Path) -> Desk:
    """A console whose blob store is a folder of the test, with the demo products fed: the desk
    of the brochure tests (each file's `desk` fixture)."""
    blob_dir = tmp_path / "blobs"
    client = await make_console(blob_dir=str(blob_dir))
    await add_products(client)
    return Desk(client=client, settings=settings, blob_dir=blob_dir, api={})


def text_of(html: str) -> str:
    """The page's visible text, roughly: tags removed, whitespace collapsed."""
    without = re.sub(r"<(script|style|template)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without)).strip()


__all__ = ["Desk", "add_products", "corrupt_jpeg", "csrf_of", "page_image", "text_of", "tiff_image"]

"""Brochures over HTTP: an app with a blob folder, the demo bank, and the rendition worker."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mobile_contracts.v1.identity import Role
from tests.customers_data import feed, headers_of, product_row
from tests.tasks_data import unit
from workbench.access import Caller
from workbench.db import create_pool
from workbench.identity import queries as identity_queries
from workbench.media.jobs import build_renditions
from workbench.media.store import LocalBlobStore

BROCHURES = "/api/v1/brochures"
STUDIO = "/api/v1/studio/brochures"


def page_image(
    colour: tuple[int, int, int] = (20, 90, 160), size: tuple[int, int] = (600, 800)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG", quality=90)
    return out.getvalue()


def meta(**fields: Any) -> str:
    body = {"title": "稳享90天", "product_code": "WM90", "talk_track": "稳健理财", "tags": ["理财"]}
    return json.dumps({**body, **fields}, ensure_ascii=False)


def multipart(meta_json: str, pages: tuple[bytes, ...] | list[bytes]) -> list[Any]:
    """The parts of an upload: `meta`, then one `pages` file per page (always multipart, also
    when there is no file)."""
    return [
        ("meta", (None, meta_json, "application/json")),
        *[("pages", (f"p{n}.jpg", data, "image/jpeg")) for n, data in enumerate(pages)],
    ]


@dataclass
class Studio:
    client: Any
    marketing: dict[str, str]
    compliance: dict[str, str]
    admin: dict[str, str]
    rm: dict[str, str]
    settings: Any
    blob_dir: Path
    marketing_unit: str = str(unit("head-office"))

    async def upload(self, *pages: bytes, **fields: Any) -> dict[str, Any]:
        response = await self.client.post(
            BROCHURES,
            files=multipart(meta(**fields), pages),
            headers=self.marketing,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def edit(self, brochure_id: str, *pages: bytes, **fields: Any) -> Any:
        return await self.client.put(
            f"{BROCHURES}/{brochure_id}",
            files=multipart(meta(**fields), pages),
            headers=self.marketing,
        )

    async def act(self, brochure_id: str, action: str, who: str, **body: Any) -> Any:
        headers = {"marketing": self.marketing, "compliance": self.compliance}[who]
        return await self.client.post(
            f"{BROCHURES}/{brochure_id}/{action}", json=body or None, headers=headers
        )

    async def live(self, *pages: bytes, **fields: Any) -> dict[str, Any]:
        """A brochure uploaded, submitted, approved and published (live now)."""
        made = await self.upload(*(pages or (page_image(),)), **fields)
        for action, who in (("submit", "marketing"), ("approve", "compliance")):
            response = await self.act(made["id"], action, who)
            assert response.status_code == 200, response.text
        response = await self.act(made["id"], "publish", "marketing")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def catalogue(self, headers: dict[str, str] | None = None, **params: Any) -> list[Any]:
        response = await self.client.get(BROCHURES, params=params, headers=headers or self.rm)
        assert response.status_code == 200, response.text
        items: list[Any] = response.json()["items"]
        return items

    async def build_renditions(self) -> int:
        pool = await create_pool(self.settings.database_url, max_size=2)
        try:
            ctx = {"pool": pool, "blobs": LocalBlobStore(str(self.blob_dir)),
                   "settings": self.settings, "media_run_seconds": 60}  # fmt: skip
            return await build_renditions(ctx)
        finally:
            await pool.close()


@pytest.fixture
async def studio(make_client, settings, demo_bank, tmp_path) -> AsyncIterator[Studio]:
    blob_dir = tmp_path / "blobs"
    client = await make_client(blob_dir=str(blob_dir))
    admin = await headers_of(client, "admin")
    products = [product_row(code, risk_level=risk) for code, risk in
                (("WM90", "R2"), ("TECH01", "R4"), ("CASH01", "R1"))]  # fmt: skip
    await feed(client, admin, "products", products)
    return Studio(
        client=client,
        marketing=await headers_of(client, "marketing"),
        compliance=await headers_of(client, "compliance"),
        admin=admin,
        rm=await headers_of(client, "rm01"),
        settings=settings,
        blob_dir=blob_dir,
    )


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["id"] for i in items}


def new_id() -> str:
    return str(uuid.uuid4())


async def rm_caller(db: Any, login_: str) -> Caller:
    """An RM as the API authenticates them, for calling the views with a `now` of our own."""
    user = await identity_queries.user_for_login(db, login_)
    return Caller(
        user_id=user["id"], role=Role(user["role"]), org_unit_id=user["org_unit_id"],
        session_id=uuid.UUID(int=0), device_id="test",
    )  # fmt: skip

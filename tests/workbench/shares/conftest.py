"""Shares over HTTP: the brochure studio (a blob folder, the demo bank, products), one live
brochure, a customer of rm01's and one of rm02's, and the people who share or look."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.customers_data import customer_ids, customer_row, feed, headers_of
from tests.workbench.brochures.conftest import Studio, page_image, studio  # noqa: F401 (fixture)

SHARES = "/api/v1/shares"
PAGE_COLOUR = (20, 90, 160)  # the live brochure's first page


@dataclass
class Desk:
    studio: Studio
    brochure: dict[str, Any]  # live, owned by the head office: every RM may share it
    customer: uuid.UUID  # rm01's: 张小三
    other_customer: uuid.UUID  # rm02's
    rm01: dict[str, str]
    rm02: dict[str, str]
    base_url: str

    @property
    def client(self) -> Any:
        return self.studio.client

    async def share(self, headers: dict[str, str] | None = None, **body: Any) -> Any:
        """POST /shares (rm01 unless told) of the live brochure over wechat unless told."""
        payload = {"brochure_id": self.brochure["id"], "channel": "wechat", **body}
        return await self.client.post(SHARES, json=payload, headers=headers or self.rm01)

    async def made(self, **body: Any) -> dict[str, Any]:
        response = await self.share(**body)
        assert response.status_code == 201, response.text
        made: dict[str, Any] = response.json()
        return made

    async def get(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        """GET an absolute URL the API gave (its path, on the test client)."""
        path = url.removeprefix(self.base_url)
        return await self.client.get(path, headers=headers or self.rm01, **kw)


@pytest.fixture
async def desk(studio: Studio, db: Any) -> Desk:  # noqa: F811 (the fixture imported above)
    brochure = await studio.live(page_image(PAGE_COLOUR), title="稳享90天")
    await feed(studio.client, studio.admin, "customers", [
        customer_row("S-1", name="张小三", owner="rm01", seq=1),
        customer_row("S-2", name="李四", owner="rm02", seq=2),
    ])  # fmt: skip
    ids = await customer_ids(db)
    return Desk(
        studio=studio,
        brochure=brochure,
        customer=ids["S-1"],
        other_customer=ids["S-2"],
        rm01=studio.rm,
        rm02=await headers_of(studio.client, "rm02"),
        base_url=studio.settings.public_base_url.rstrip("/"),
    )

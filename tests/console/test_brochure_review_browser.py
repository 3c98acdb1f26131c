"""The stale approval, in a real browser: compliance opens a brochure's review page (content A);
meanwhile a colleague rejects it and marketing replaces its content with B and resubmits it (the
same version). Clicking 审核通过 on the tab still showing A approves nothing: the page comes back
saying the content changed, with B, who rejected A, when and why, and what changed since. Only a
second click, on B, approves B."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.console.brochure_data import page_image
from tests.serving import serving
from tests.tasks_data import unit
from workbench.customers.feeds import upsert_products
from workbench.db import use_json_codecs
from workbench.seed import DEMO_PASSWORD, DEMO_PRODUCTS
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")
TITLE_A = "稳享90天 · A版"
TITLE_B = "稳享90天 · B版：稳赚不赔 保证收益20%"
COLLEAGUE = "合规部 二号"


@pytest.fixture
def studio_settings(settings: Settings, tmp_path: Path) -> Settings:
    return replace(settings, blob_dir=str(tmp_path / "blobs"))


@pytest.fixture
async def console_server(studio_settings: Settings, db: Any) -> AsyncIterator[str]:
    """The console with the demo bank's products, on a blob folder of its own (overrides the
    harness's server)."""
    from mobile_contracts.v1.customers import ProductFeedRow

    await use_json_codecs(db)
    async with db.transaction():
        await upsert_products(
            db,
            rows=[
                ProductFeedRow(code=code, name=name, category=category, risk_level=f"R{risk}")
                for code, name, category, risk, _ in DEMO_PRODUCTS
            ],
        )
    async with serving(studio_settings) as base:
        yield base


class Api:
    """The API as marketing, a second compliance officer and the admin use it meanwhile."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    async def sign_in(self, login: str, password: str = DEMO_PASSWORD) -> None:
        signed = await self.client.post(
            "/api/v1/auth/login",
            json={"login": login, "password": password,
                  "device": {"device_id": f"review-test-{login}", "platform": "ios"}},
        )  # fmt: skip
        assert signed.status_code == 200, signed.text
        self.tokens[login] = signed.json()["access_token"]

    def headers(self, login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[login]}"}

    async def call(self, method: str, path: str, login: str, **kw: Any) -> Any:
        response = await self.client.request(method, path, headers=self.headers(login), **kw)
        assert response.status_code in (200, 201), response.text
        return response.json()


def meta(title: str, talk_track: str) -> tuple[str, tuple[None, str]]:
    body = {"title": title, "product_code": "WM90", "talk_track": talk_track, "tags": ["理财"]}
    return "meta", (None, json.dumps(body, ensure_ascii=False))


async def test_an_approval_from_a_tab_showing_replaced_content_approves_nothing(
    page, sign_in, shot, console_server
):
    from playwright.async_api import expect

    async with httpx.AsyncClient(base_url=console_server) as client:
        api = Api(client)
        for login in ("marketing", "admin"):
            await api.sign_in(login)
        await api.call(
            "POST", "/api/v1/admin/users", "admin",
            json={"login": "compliance2", "name": COLLEAGUE, "role": "compliance",
                  "org_unit_id": str(unit("head-office")), "password": "a-long-password-2"},
        )  # fmt: skip
        await api.sign_in("compliance2", "a-long-password-2")
        made = await api.call(
            "POST", "/api/v1/brochures", "marketing",
            files=[meta(TITLE_A, "稳健理财，产品有风险。"),
                   ("pages", ("p1.jpg", page_image(), "image/jpeg"))],
        )  # fmt: skip
        brochure = made["id"]
        await api.call("POST", f"/api/v1/brochures/{brochure}/submit", "marketing")

        # Compliance opens the review page: content A.
        await sign_in(page, "compliance")
        await page.wait_for_load_state("networkidle")
        await page.goto(f"/console/brochures/review/{brochure}")
        await page.wait_for_load_state("networkidle")
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"审核：{TITLE_A}")

        # Meanwhile: a colleague rejects it; marketing puts B in its place and resubmits.
        await api.call(
            "POST", f"/api/v1/brochures/{brochure}/reject", "compliance2",
            json={"reason": "措辞需调整"},
        )  # fmt: skip
        await api.call(
            "PUT", f"/api/v1/brochures/{brochure}", "marketing",
            files=[meta(TITLE_B, "保证收益20%，稳赚不赔。")],
        )  # fmt: skip
        await api.call("POST", f"/api/v1/brochures/{brochure}/submit", "marketing")

        # The tab still shows A: its approval approves nothing.
        async with page.expect_navigation():
            await page.get_by_role("button", name="审核通过").click()
        await page.wait_for_load_state("networkidle")
        await expect(page.get_by_role("alert")).to_contain_text("内容已变化，本次审核未生效")
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"审核：{TITLE_B}")
        await expect(page.locator("#last-review-line")).to_contain_text(f"上次退回：{COLLEAGUE}")
        await expect(page.locator("#last-review-line")).to_contain_text("：措辞需调整")
        await expect(page.locator("#last-review ins").first).to_have_text("B")
        await shot(page, "review-content-changed", sizes=("desktop", "tablet-portrait"))
        studio = await api.call("GET", f"/api/v1/studio/brochures/{brochure}", "marketing")
        assert (studio["latest"]["status"], studio["latest"]["approved"]) == (
            "pending_review", False,
        )  # fmt: skip

        # Having seen B, compliance approves B.
        async with page.expect_navigation():
            await page.get_by_role("button", name="审核通过").click()
        await page.wait_for_load_state("networkidle")
        await expect(page.get_by_role("status")).to_have_text("已审核通过，可以发布了。")
        assert urlsplit(page.url).path == "/console/brochures/review"
        studio = await api.call("GET", f"/api/v1/studio/brochures/{brochure}", "marketing")
        assert studio["latest"]["approved"] is True
        assert studio["latest"]["title"] == TITLE_B
        assert [r["decision"] for r in studio["reviews"]] == ["approved", "rejected"]


async def test_a_voided_approval_and_a_blank_reason_read_plainly_on_the_review_page(
    page, sign_in, shot, console_server
):
    from playwright.async_api import expect

    async with httpx.AsyncClient(base_url=console_server) as client:
        api = Api(client)
        for login in ("marketing", "compliance"):
            await api.sign_in(login)
        made = await api.call(
            "POST", "/api/v1/brochures", "marketing",
            files=[meta(TITLE_A, "稳健理财，产品有风险。"),
                   ("pages", ("p1.jpg", page_image(), "image/jpeg"))],
        )  # fmt: skip
        brochure = made["id"]
        await api.call("POST", f"/api/v1/brochures/{brochure}/submit", "marketing")
        await api.call("POST", f"/api/v1/brochures/{brochure}/approve", "compliance")
        # Marketing edits the approved version (the approval is void) and resubmits it.
        await api.call(
            "PUT", f"/api/v1/brochures/{brochure}", "marketing",
            files=[meta(TITLE_B, "稳健理财，产品有风险。")],
        )  # fmt: skip
        await api.call("POST", f"/api/v1/brochures/{brochure}/submit", "marketing")

    await sign_in(page, "compliance")
    await page.wait_for_load_state("networkidle")
    await page.goto(f"/console/brochures/review/{brochure}")
    await page.wait_for_load_state("networkidle")
    await expect(page.locator("#last-review-line")).to_contain_text("上次审核通过")
    await expect(page.locator("#last-review-line")).to_contain_text("这次通过已失效")
    await expect(page.locator("#changes-voided")).to_contain_text("那次通过已失效")
    await expect(page.get_by_text("还没有已通过的版本可以对比")).to_have_count(0)

    # A reason of a zero-width space only: said under the reason, not in a banner.
    await page.get_by_label("退回原因").fill("\u200b")
    async with page.expect_navigation():
        await page.get_by_role("button", name="退回修改").click()
    await page.wait_for_load_state("networkidle")
    reason = page.get_by_label("退回原因")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#reason-error")).to_have_text("请填写退回原因，市场部会据此修改。")
    await expect(reason).to_have_accessible_description(re.compile("请填写退回原因"))
    await expect(page.locator("#action-error")).to_have_count(0)
    await shot(page, "review-voided-approval-reason", sizes=("desktop", "tablet-portrait"))

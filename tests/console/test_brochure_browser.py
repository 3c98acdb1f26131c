"""Brochures in a real browser, from upload to an RM's catalogue: marketing uploads a brochure
of two page images with the file picker, reorders the previews and submits it; compliance opens
the review queue, approves it and publishes it with a window; an RM's catalogue lists it. A
brochure's versions read on a tablet. Screenshots of each page at desktop and tablet sizes go to
tests/artifacts/console/."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.console.browser import TABLETS, settled, sideways
from tests.serving import serving
from workbench.brochures import artwork
from workbench.brochures.demo import seed_demo_brochures_from_settings
from workbench.customers.feeds import upsert_products
from workbench.db import create_pool, use_json_codecs
from workbench.media import jobs as media_jobs
from workbench.media import service as media_service
from workbench.media.jobs import build_renditions
from workbench.media.store import LocalBlobStore
from workbench.seed import DEMO_PASSWORD, DEMO_PRODUCTS
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")
TITLE = "稳盈增利 · 冬季版"


@pytest.fixture
def studio_settings(settings: Settings, tmp_path: Path) -> Settings:
    return replace(settings, blob_dir=str(tmp_path / "blobs"))


@pytest.fixture
async def console_server(
    studio_settings: Settings, db: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """The console with the demo bank's products and brochures (every state), renditions
    built, on a blob folder of its own (overrides the harness's server)."""
    from mobile_contracts.v1.customers import ProductFeedRow

    await use_json_codecs(db)
    with monkeypatch.context() as patched:
        remember_demo_images(patched)
        async with db.transaction():
            await upsert_products(
                db,
                rows=[
                    ProductFeedRow(code=code, name=name, category=category, risk_level=f"R{risk}")
                    for code, name, category, risk, _ in DEMO_PRODUCTS
                ],
            )
            await seed_demo_brochures_from_settings(db, studio_settings)
        await renditions(studio_settings)
    async with serving(studio_settings) as base:
        yield base


# The demo brochures' images as drawn, checked and built the first time in this process.
_REMEMBERED: dict[tuple[str, Hashable], Any] = {}


def remember_demo_images(patched: pytest.MonkeyPatch) -> None:
    """While seeding: the demo's page images drawn, checked and built into renditions once per
    process, each later seeding given the very same results (pure functions of their input:
    the same bytes, rows and files as drawing them again). Drawing the 50 pages and building
    their 300 renditions took ~25 s of each test's setup; the test's own upload is built for
    real, after this."""
    patched.setattr(artwork, "pages", _remembered("pages", artwork.pages, _sheet))
    patched.setattr(media_service, "ingest", _remembered("ingest", media_service.ingest, _raw))
    patched.setattr(media_jobs, "build", _remembered("build", media_jobs.build, _source))


def _remembered(name: str, function: Any, key: Callable[..., Hashable]) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        at = (name, key(*args, **kwargs))
        if at not in _REMEMBERED:
            made = function(*args, **kwargs)
            if name == "build" and any(isinstance(one, Exception) for one in made):
                return made  # a failure is not remembered
            _REMEMBERED[at] = made
        return _REMEMBERED[at]

    return call


def _sheet(sheet: artwork.Sheet, *, count: int = 3) -> Hashable:
    return (sheet, count)


def _raw(raw: bytes, *, limits: Any) -> Hashable:
    return (hashlib.sha256(raw).digest(), limits)


def _source(source: bytes, specs: Any) -> Hashable:
    return (hashlib.sha256(source).digest(), tuple(specs))


async def renditions(settings: Settings) -> int:
    """What the worker does a few seconds after an upload (a burst run)."""
    assert settings.blob_dir
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        ctx = {"pool": pool, "blobs": LocalBlobStore(settings.blob_dir), "settings": settings,
               "media_run_seconds": 120}  # fmt: skip
        return await build_renditions(ctx)
    finally:
        await pool.close()


def page_files(folder: Path) -> list[Path]:
    """Two page images a designer would export (drawn with Pillow)."""
    sheet = artwork.Sheet(
        bank="示例银行", title="稳盈增利", product_name="稳享90天理财", product_code="WM90",
        risk_level=2, headline="冬季限定，稳健增值", palette=2,
        points=("业绩比较基准稳健，波动较小", "90天一个周期，到期自动赎回",
                "适合风险承受能力C2及以上的客户"),
    )  # fmt: skip
    paths = []
    for n, data in enumerate(artwork.pages(sheet, count=2), start=1):
        path = folder / f"第{n}页.jpg"
        path.write_bytes(data)
        paths.append(path)
    return paths


@pytest.fixture
def shot(shot: Any) -> Any:
    """The harness's screenshots, taken from the top of the page (as it first shows)."""

    async def from_top(page: Any, name: str, **kw: Any) -> Any:
        await page.evaluate("window.scrollTo(0, 0)")
        return await shot(page, name, **kw)

    return from_top


async def follow(page: Any, target: Any) -> None:
    """Click a link or button that opens another page, and wait until that page has loaded
    (so that nothing of it is still loading when the test goes on)."""
    async with page.expect_navigation():
        await target.click()
    await settle(page)


async def settle(page: Any) -> None:
    """Wait until the page has stopped loading anything (the browser fetches the page's icon
    after the page itself; leaving before that would cut the fetch off, and its answer would
    go unchecked)."""
    await settled(page)


def path_of(page: Any) -> str:
    return urlsplit(page.url).path


async def test_a_brochure_goes_from_upload_to_an_rms_catalogue(
    page, sign_in, shot, console_server, studio_settings, tmp_path
):
    from playwright.async_api import expect

    # ---- marketing: the list, then the upload ----
    await sign_in(page, "marketing")
    await settle(page)
    nav = page.get_by_role("navigation", name="主导航")
    await follow(page, nav.get_by_role("link", name="产品宣传册"))
    assert path_of(page) == "/console/brochures"
    rows = page.locator(".brochure-row:not(.rows-head)")
    await expect(rows).to_have_count(20)
    await expect(page.locator(".thumb-img").first).to_be_visible()
    await shot(page, "brochures-list")
    await follow(page, page.get_by_role("link", name="已发布"))
    await expect(page.get_by_role("link", name="已发布")).to_have_attribute("aria-current", "true")
    await expect(rows.locator(".status-published").first).to_be_visible()
    await shot(page, "brochures-list-published", sizes=("desktop",))

    await follow(page, page.get_by_role("link", name="上传宣传册"))
    assert path_of(page) == "/console/brochures/new"
    await page.get_by_label("标题").fill(TITLE)
    await page.get_by_label("产品").select_option("WM90")
    await page.get_by_label("话术").fill(
        "冬季限定版本，业绩比较基准稳健。理财非存款，产品有风险，投资须谨慎。"
    )
    await page.get_by_label("标签").fill("理财、冬季、热销")
    first, second = page_files(tmp_path)
    scan = tmp_path / "扫描件.tiff"
    scan.write_bytes(b"II*\x00" + b"\x00" * 64)
    await page.locator("#page-files").set_input_files([str(second), str(first), str(scan)])
    cards = page.locator(".page-card")
    await expect(cards).to_have_count(3)
    await expect(page.locator("#page-count")).to_have_text("共 3 页")
    await expect(cards.nth(2)).to_have_class("page-card is-refused")
    await expect(cards.nth(2)).to_contain_text("不是可用的图片")
    await expect(page.get_by_role("alert")).to_contain_text("有 1 张图片不能使用")
    await shot(page, "brochure-upload-refused", sizes=("desktop",))
    await page.get_by_role("button", name="移除第 3 页").click()
    await expect(cards).to_have_count(2)
    # Picked in the wrong order: move the cover to the front.
    await expect(cards.nth(0).locator(".page-card-name")).to_have_text("第2页.jpg")
    await page.get_by_role("button", name="第 2 页前移").click()
    await expect(cards.locator(".page-card-name")).to_have_text(["第1页.jpg", "第2页.jpg"])
    await expect(cards.nth(0).locator("img")).to_have_attribute("src", re.compile(r"^blob:"))
    await shot(page, "brochure-upload")

    # A slow line (about 60 KB/s up), so that the progress bar is seen moving; once it has
    # been seen (and shot), the rest of the upload goes at full speed.
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 60_000},
    )
    async with page.expect_navigation(url="**/console/brochures/*", timeout=60_000):
        await page.get_by_role("button", name="上传为草稿").click()
        await expect(page.locator("#submit-button")).to_be_disabled()
        await expect(page.locator("#progress-text")).to_contain_text(re.compile(r"正在上传 [1-9]"))
        await shot(page, "brochure-uploading", sizes=("desktop",))
        await cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
    await settle(page)
    brochure_path = path_of(page)
    await expect(page.get_by_role("status")).to_have_text("已上传为草稿。")
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect(page.locator(".viewer-wait")).to_be_visible()  # renditions on their way
    assert await renditions(studio_settings) == 12  # two pages, six renditions each
    await page.reload()
    await settle(page)
    await expect(page.locator("#viewer-image")).to_have_attribute("alt", "第 1 页")
    await page.locator(".strip-item").nth(1).click()
    await expect(page.locator("#viewer-caption")).to_have_text("第 2 页，共 2 页")
    await shot(page, "brochure-draft")
    await follow(page, page.get_by_role("link", name="编辑"))
    await expect(page.locator(".page-card img")).to_have_count(2)  # the pages it has
    await expect(page.get_by_label("标题")).to_have_value(TITLE)
    # A page dropped on the zone joins the existing ones (not saved: the test goes back).
    dropped = await page.evaluate_handle(
        """(b64) => {
            const data = new DataTransfer();
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            data.items.add(new File([bytes], "第3页.jpg", {type: "image/jpeg"}));
            return data;
        }""",
        base64.b64encode(first.read_bytes()).decode(),
    )
    for event in ("dragenter", "dragover", "drop"):
        await page.dispatch_event("#dropzone", event, {"dataTransfer": dropped})
    await expect(page.locator(".page-card")).to_have_count(3)
    await expect(page.locator(".page-card").nth(2)).to_contain_text("第3页.jpg")
    await expect(page.locator("#page-count")).to_have_text("共 3 页")
    await shot(page, "brochure-edit", sizes=("desktop", "tablet-portrait"))
    await follow(page, page.get_by_role("link", name="返回"))
    await follow(page, page.get_by_role("button", name="提交合规审核"))
    await expect(page.get_by_role("status")).to_have_text("已提交合规审核。")
    await expect(page.locator(".page-lead .status")).to_have_text("待审核")
    await follow(page, page.get_by_role("button", name="退出登录"))
    assert path_of(page) == "/console/sign-in"
    await settle(page)

    # ---- compliance: the queue, the review, approval and publication ----
    await sign_in(page, "compliance")
    await settle(page)
    nav = page.get_by_role("navigation", name="主导航")
    await expect(nav.locator(".nav-badge")).to_have_text("，待审核 4")
    await expect(page.locator(".card-badge")).to_have_text("待审核 4")
    await shot(page, "home-compliance", sizes=("desktop", "tablet-portrait"))
    await page.goto("/console/brochures/review")
    await settle(page)
    queue = page.locator(".queue-rows .brochure-row")
    await expect(queue).to_have_count(4)
    await expect(queue.last).to_contain_text(TITLE)  # submitted last: at the end
    await shot(page, "review-queue")

    revised = queue.filter(has_text="新版本").first
    await follow(page, revised.get_by_role("link", name="审核"))
    await expect(page.locator(".changes-some")).to_be_visible()
    await expect(page.locator(".change-after").first).to_be_visible()
    await shot(page, "review-changes")

    await page.goto("/console/brochures/review")
    await settle(page)
    await follow(page, queue.filter(has_text=TITLE).get_by_role("link", name="审核"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"审核：{TITLE}")
    await expect(page.locator(".changes")).to_contain_text("首次提交")
    await expect(page.locator(".detail-side")).to_contain_text("R2 中低风险")
    await shot(page, "review-page")
    await follow(page, page.get_by_role("button", name="审核通过"))
    await expect(page.get_by_role("status")).to_have_text("已审核通过，可以发布了。")
    # On to the oldest version still waiting.
    assert path_of(page).startswith("/console/brochures/review/")
    assert path_of(page) != f"/console/brochures/review/{brochure_path.rsplit('/', 1)[1]}"
    await settle(page)

    await page.goto(brochure_path)
    await settle(page)
    zone = ZoneInfo(studio_settings.bank_timezone)
    until = (datetime.now(zone) + timedelta(days=30)).replace(hour=18, minute=0)
    await page.get_by_label("下架时间").fill(until.strftime("%Y-%m-%dT%H:%M"))
    await shot(page, "brochure-publish")
    await follow(page, page.get_by_role("button", name="发布", exact=True))
    await expect(page.get_by_role("status")).to_have_text(
        f"已发布：已上架，{until:%Y-%m-%d %H:%M} 自动下架。"
    )
    await expect(page.locator(".page-lead .status")).to_have_text("已发布 · 生效中")
    await shot(page, "brochure-published", sizes=("desktop", "tablet-portrait"))

    # ---- an RM's catalogue lists it ----
    async with httpx.AsyncClient(base_url=console_server) as api:
        signed = await api.post(
            "/api/v1/auth/login",
            json={"login": "rm01", "password": DEMO_PASSWORD,
                  "device": {"device_id": "browser-test-rm01", "platform": "ios"}},
        )  # fmt: skip
        assert signed.status_code == 200, signed.text
        token = signed.json()["access_token"]
        catalogue = await api.get(
            "/api/v1/brochures", params={"q": "冬季版"},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
    assert catalogue.status_code == 200, catalogue.text
    [item] = catalogue.json()["items"]
    assert (item["title"], item["product_code"], item["risk_level"]) == (TITLE, "WM90", "R2")
    assert [p["number"] for p in item["pages"]] == [1, 2]
    assert item["pages"][0]["tablet"]["webp"].startswith("/media/")
    assert datetime.fromisoformat(item["live_until"]) == until.replace(second=0, microsecond=0)


# How many lines the title of the first version (the newest) takes in the versions table.
TITLE_LINES = """(cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell.firstChild);
  return range.getClientRects().length;
}"""


async def test_a_versions_title_reads_on_a_tablet(page, sign_in, db):
    """On an upright tablet the versions table gave a title the room of two characters ("纯债增强
    · 春季版" over 4 lines); on a tablet the state now goes under the title, its column goes."""
    from playwright.async_api import expect

    brochure = await db.fetchval(
        "select brochure_id from brochure_versions where title = $1 limit 1", "纯债增强 · 春季版"
    )
    await sign_in(page, "marketing")
    for size, viewport in TABLETS.items():
        await page.set_viewport_size(viewport)
        await page.goto(f"/console/brochures/{brochure}")
        await settle(page)
        assert await sideways(page) == [], size
        versions = page.get_by_role("region", name="版本记录")
        title = versions.locator("tbody td.version-title").first
        await expect(title).to_contain_text("纯债增强 · 春季版")
        assert await title.evaluate(TITLE_LINES) == 1, size
        await expect(title.locator(".status")).to_have_text("已发布 · 生效中")
        await expect(versions.get_by_role("columnheader", name="状态")).to_be_hidden()

"""While a new version published to start later waits for its start, the console shows the
version still live as the one online (as RMs get it), the scheduled one as scheduled, and says
that unpublishing takes both off."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.console.brochure_data import Desk, open_desk, page_image, text_of

pytestmark = pytest.mark.usefixtures("demo_bank")
LIST = "/console/brochures"
API = "/api/v1/brochures"


@pytest.fixture
async def desk(make_console, settings, tmp_path) -> Desk:
    return await open_desk(make_console, settings, tmp_path)


def part(html: str, element_id: str) -> str:
    """The visible text of the element with this id (up to its closing tag of the same kind)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, flags=re.S)
    assert match, f"no #{element_id} on the page"
    return text_of(match.group(2))


async def test_the_live_version_is_online_and_the_scheduled_one_waits(desk, settings):
    made = await desk.upload(page_image(), title="第一版")
    brochure = made["id"]
    for action, who in (("submit", "marketing"), ("approve", "compliance"),
                        ("publish", "marketing")):  # fmt: skip
        await desk.act(brochure, action, who)
    edited = await desk.client.put(
        f"{API}/{brochure}",
        files=[("meta", (None, '{"title": "第二版", "product_code": "WM90"}', "application/json"))],
        headers=await desk.headers("marketing"),
    )
    assert edited.status_code == 200, edited.text
    await desk.act(brochure, "submit", "marketing")
    await desk.act(brochure, "approve", "compliance")
    starts = (datetime.now(UTC) + timedelta(minutes=5)).replace(second=0, microsecond=0)
    await desk.act(brochure, "publish", "marketing", live_from=starts.isoformat())
    at = starts.astimezone(ZoneInfo(settings.bank_timezone)).strftime("%Y-%m-%d %H:%M")

    await desk.sign_in("marketing")
    page = await desk.page(f"{LIST}/{brochure}")
    online = part(page, "online")
    assert online.startswith("线上版本 第 1 版 生效中")
    assert f"至 {at}" in online  # version 1 until version 2 starts
    scheduled = f"已发布的第2版（待生效）：{at.replace(' ', '')}起，长期有效；"
    scheduled += "到上架时间自动替换第1版。"
    assert scheduled in "".join(online.split())
    assert "下架第 1、2 版" in text_of(page)
    assert part(page, "unpublish-hint").startswith(
        "下架立即生效：线上的第 1 版立即下架，待生效的第 2 版也不再上架"
    )

    listed = text_of(await desk.page(LIST))
    assert "已发布 · 待生效" in listed  # the latest version, version 2
    assert f"线上第1版·生效中，至{at.replace(' ', '')}" in "".join(listed.split())

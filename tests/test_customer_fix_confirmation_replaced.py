"""A new QR confirmation link ends the task's earlier ones: a code shown to the wrong person stops
working the moment the RM asks for a new one. The old link's page says a newer code replaced it,
its confirm changes nothing, and its QR image is gone as an expired one's is; the new link
confirms the visit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workbench.tasks.test_confirmation import MASKED, Visit, visit
from tests.workbench.tasks.test_confirmation_qr_gone import _assert_gone

__all__ = ["visit"]

pytestmark = pytest.mark.usefixtures("demo_bank")

REPLACED = "此二维码已被新的二维码取代，请扫描客户经理出示的最新二维码"


def _page(response: Any, status: int, *texts: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    for text in texts:
        assert text in response.text
    if status != 200:
        assert "<form" not in response.text


async def test_a_new_link_ends_the_earlier_one_and_only_the_new_one_confirms(visit: Visit) -> None:
    v = visit
    old = await v.request()
    _page(await v.client.get(old["path"]), 200, MASKED)
    assert (await v.client.get(old["qr_png_url"], headers=v.rm01)).status_code == 200

    new = await v.request()
    # The old link: a page saying a newer code replaced it (GET, HEAD and its confirm alike),
    # and the confirm changes nothing.
    before = await v.state()
    _page(await v.client.get(old["path"]), 410, "二维码已失效", REPLACED)
    assert (await v.client.head(old["path"])).status_code == 410
    _page(await v.client.post(old["path"], data={}), 410, REPLACED)
    _page(await v.client.get(f"{old['path']}/done"), 410, REPLACED)
    assert await v.state() == before
    assert before["task"]["status"] == "awaiting_confirmation"
    # It is stored as ended (its expiry no later than now), the new one runs its 15 minutes.
    ended = await v.db.fetchval(
        "select expires_at <= now() from task_confirmations where id::text = $1",
        old["qr_png_url"].split("/confirmations/", 1)[1].split("/", 1)[0],
    )
    assert ended is True
    # The RM is never served the old code again: gone, as an expired code is.
    _assert_gone(await v.client.get(old["qr_png_url"], headers=v.rm01), "confirmation.expired")
    served = await v.client.get(new["qr_png_url"], headers=v.rm01)
    assert served.status_code == 200, served.text
    assert served.headers["content-type"].startswith("image/png")

    # The new link confirms the visit.
    _page(await v.client.get(new["path"]), 200, MASKED)
    confirmed = await v.client.post(new["path"], data={})
    _page(confirmed, 200, "确认成功")  # the client follows the 303 to the result page
    assert confirmed.url.path == f"{new['path']}/done"
    assert (await v.state())["task"]["status"] == "done"
    _page(await v.client.get(f"{new['path']}/done"), 200, "确认成功")
    # Afterwards the old link still says it was replaced, and confirms nothing.
    _page(await v.client.post(old["path"], data={}), 410, REPLACED)
    assert (
        await v.db.fetchval("select count(*) from task_confirmations where used_at is not null")
        == 1
    )


async def test_only_the_newest_of_several_links_confirms_and_other_tasks_keep_theirs(
    visit: Visit,
) -> None:
    v = visit
    other_task = await v.new_task()
    others = await v.request(other_task)
    links = [await v.request() for _ in range(3)]
    for old in links[:2]:
        _page(await v.client.post(old["path"], data={}), 410, REPLACED)
        _assert_gone(await v.client.get(old["qr_png_url"], headers=v.rm01), "confirmation.expired")
    assert (await v.state())["task"]["status"] == "awaiting_confirmation"
    _page(await v.client.post(links[2]["path"], data={}), 200, "确认成功")
    assert (await v.state())["task"]["status"] == "done"
    # Another task's link is its own: the links made for this task ended none of it.
    _page(await v.client.get(others["path"]), 200, MASKED)
    _page(await v.client.post(others["path"], data={}), 200, "确认成功")
    assert (await v.state(other_task))["task"]["status"] == "done"

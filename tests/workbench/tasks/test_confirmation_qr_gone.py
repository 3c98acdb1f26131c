"""The QR code of a confirmation is served only while its link can still confirm the visit: once
the customer confirmed with it, it expired or its task no longer awaits the customer, the RM gets
a problem+json 410 instead of a code whose scan lands on "已确认" or "已过期"."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workbench.tasks.test_confirmation import TASKS, Visit, visit

__all__ = ["visit"]

pytestmark = pytest.mark.usefixtures("demo_bank")


def _assert_gone(response: Any, code: str) -> None:
    assert response.status_code == 410, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def test_a_used_links_qr_code_is_gone(visit: Visit) -> None:
    v = visit
    answer = await v.request()
    assert (await v.client.get(answer["qr_png_url"], headers=v.rm01)).status_code == 200
    confirmed = await v.client.post(answer["path"], data={})
    assert confirmed.status_code in (200, 303), confirmed.text
    _assert_gone(await v.client.get(answer["qr_png_url"], headers=v.rm01), "confirmation.used")


async def test_an_expired_links_qr_code_is_gone_and_a_fresh_one_is_served(visit: Visit) -> None:
    v = visit
    answer = await v.request()
    await v.db.execute("update task_confirmations set expires_at = now() - interval '1 second'")
    _assert_gone(await v.client.get(answer["qr_png_url"], headers=v.rm01), "confirmation.expired")
    fresh = await v.request()
    served = await v.client.get(fresh["qr_png_url"], headers=v.rm01)
    assert served.status_code == 200, served.text
    assert served.headers["content-type"].startswith("image/png")


async def test_a_qr_code_of_a_task_no_longer_awaiting_the_customer_is_gone(visit: Visit) -> None:
    v = visit
    answer = await v.request()
    cancelled = await v.client.post(f"{TASKS}/{v.task}/cancel", json={}, headers=v.rm01)
    assert cancelled.status_code == 200, cancelled.text
    _assert_gone(await v.client.get(answer["qr_png_url"], headers=v.rm01), "confirmation.closed")

"""A customer page that says when its link stops working says the exact local time, to the
minute ("有效期至2027年1月4日 18:12"), never "2027年1月4日前有效": read on the 4th, that says the
link has expired already while it still works until the evening."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.workbench.public.test_link_guessing import survey_link
from tests.workbench.tasks.test_confirmation import visit  # noqa: F401

pytestmark = pytest.mark.usefixtures("demo_bank")
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the bank's time zone in the tests' settings


def local_at(days_ahead: int, at: time) -> datetime:
    """A moment `days_ahead` days from today, at `at` in Shanghai."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=days_ahead)
    return datetime.combine(day, at, tzinfo=SHANGHAI)


def note(html: str) -> str:
    """The page's text with tags dropped, to read the sentence as the customer does."""
    return re.sub(r"<[^>]+>", "", html)


async def test_the_survey_page_says_the_minute_its_link_expires(client, db, settings):
    assert settings.bank_timezone == "Asia/Shanghai"
    path = await survey_link(client, db, settings)
    expires = local_at(30, time(18, 12, 52))
    await db.execute("update survey_invitations set expires_at = $1", expires)
    page = await client.get(path)
    assert page.status_code == 200, page.text
    text = note(page.text)
    expected = f"有效期至{expires.year}年{expires.month}月{expires.day}日 18:12"
    assert f"链接仅可提交一次，{expected}。" in text
    assert "前有效" not in text


async def test_the_visit_confirmation_says_the_day_and_minute_its_qr_expires(
    visit: Any,  # noqa: F811
) -> None:
    link = await visit.request()
    # Just after midnight in Shanghai: still the day before in UTC.
    expires = local_at(1, time(0, 30, 59))
    await visit.db.execute("update task_confirmations set expires_at = $1", expires)
    page = await visit.client.get(link["path"])
    assert page.status_code == 200, page.text
    text = note(page.text)
    expected = f"有效期至{expires.year}年{expires.month}月{expires.day}日 00:30"
    assert f"二维码{expected}，仅可确认一次。" in text
    assert "前有效" not in text

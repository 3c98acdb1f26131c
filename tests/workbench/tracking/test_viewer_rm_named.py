"""Whom the customer's pages of a share name as their RM: the customer's RM now (a feed may have
moved the customer since the share), else the sharer, while active; with no active RM, none at
all (the pages read well without a name)."""

from __future__ import annotations

from typing import Any

from tests.customers_data import customer_row, feed
from tests.workbench.tracking.conftest import PHONE_SAFARI, to_customer
from tests.workbench.tracking.test_radar import end_window
from tests.workbench.tracking.test_radar_recipients import disable

PHONE = {"User-Agent": PHONE_SAFARI}


async def pages(shared: Any) -> tuple[str, str]:
    """The share page and the no-script form's result page, as the customer sees them."""
    page = await shared.client.get(f"/s/{shared.code}", headers=PHONE)
    assert page.status_code == 200, page.text
    sent = await shared.client.get(f"/s/{shared.code}/contact/sent", headers=PHONE)
    assert sent.status_code == 200, sent.text
    return page.text, sent.text


async def test_the_pages_name_the_customers_current_rm(shared: Any, db: Any) -> None:
    await to_customer(shared, db)  # rm01 张伟 shared it with their customer 张小三
    # The bank's feed hands 张小三 to rm05 (陈静): the pages name whom the customer turns to now.
    rows = [customer_row("R-1", name="张小三", owner="rm05", seq=1)]
    await feed(shared.client, shared.studio.admin, "customers", rows)
    page, sent = await pages(shared)
    assert "您的客户经理：陈静" in page
    assert "张伟" not in page
    assert "已告知您的客户经理 陈静，将尽快与您联系。" in sent
    assert "张伟" not in sent

    # 陈静 leaves (disabled): the sharer, still active, is named again.
    await db.execute("update users set active = false where login = 'rm05'")
    page, sent = await pages(shared)
    assert "您的客户经理：张伟" in page
    assert "陈静" not in page

    # Gone (past its window), the page names the customer's RM of now too.
    await db.execute("update users set active = true where login = 'rm05'")
    await end_window(db, shared)
    gone = await shared.client.get(f"/s/{shared.code}", headers=PHONE)
    assert gone.status_code == 410
    assert "请联系您的客户经理 陈静。" in gone.text
    assert "张伟" not in gone.text


async def test_a_share_to_no_one_whose_sharer_is_disabled_names_no_rm(shared: Any, db: Any) -> None:
    await disable(shared, db, "rm01")  # the admin disables the sharer
    page, sent = await pages(shared)
    assert "张伟" not in page
    assert "您的客户经理：" not in page  # no contact line at all
    assert "我有兴趣，请联系我" in page  # the rest of the page as ever
    assert "稳享90天" in page
    assert "张伟" not in sent
    assert "已告知您的客户经理，将尽快与您联系。" in sent
    await end_window(db, shared)
    gone = await shared.client.get(f"/s/{shared.code}", headers=PHONE)
    assert gone.status_code == 410
    assert "张伟" not in gone.text
    assert "如有需要，请联系您的客户经理。" in gone.text

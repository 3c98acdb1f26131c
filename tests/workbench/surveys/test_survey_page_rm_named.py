"""Whom the survey page /f/{token} names as the customer's RM: their RM now (a feed may have moved
the customer since the link was sent), else the RM it was sent for, while active; with no
active RM, none (the page reads well without a name)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish

pytestmark = pytest.mark.usefixtures("demo_bank")


async def set_owner(db: Any, customer: uuid.UUID, login: str) -> None:
    """The bank's feed hands the customer to another RM (their owner, as the feed writes it)."""
    await db.execute(
        "update customers set owner_id = (select id from users where login = $2) where id = $1",
        customer,
        login,
    )


async def set_active(db: Any, login: str, active: bool) -> None:
    await db.execute("update users set active = $2 where login = $1", login, active)


async def test_the_survey_page_names_the_customers_current_active_rm(
    client: Any, db: Any, settings: Any
) -> None:
    # rm01 (张伟) shares a survey with a customer of theirs: a link of their own.
    survey = await publish(db)
    (customer,) = await add_customers(db, 1, prefix=uuid.uuid4().hex[:6])
    shared = await client.post(
        "/api/v1/shares",
        json={"survey_id": str(survey), "customer_id": str(customer), "channel": "wechat"},
        headers=await headers_of(client, "rm01"),
    )
    assert shared.status_code == 201, shared.text
    path = shared.json()["url"].removeprefix(settings.public_base_url.rstrip("/"))

    async def named() -> str:
        page = await client.get(path)
        assert page.status_code == 200, page.text
        assert "<form" in page.text  # the form, as ever
        return str(page.text)

    assert "您的客户经理：张伟" in await named()
    # The customer moves to rm05 (陈静): the page names them.
    await set_owner(db, customer, "rm05")
    page = await named()
    assert "您的客户经理：陈静" in page
    assert "张伟" not in page
    # 陈静 disabled: the RM who shared it, still active, is named.
    await set_active(db, "rm05", False)
    assert "您的客户经理：张伟" in await named()
    # Both gone: no RM named at all.
    await set_active(db, "rm01", False)
    page = await named()
    assert "您的客户经理" not in page
    assert "张伟" not in page
    assert "陈静" not in page


async def test_a_delivered_link_names_the_customers_rm_of_now(
    client: Any, db: Any, settings: Any
) -> None:
    survey = await publish(db)
    (customer,) = await add_customers(db, 1, prefix=uuid.uuid4().hex[:6])
    sent = await client.post(
        f"{SURVEYS}/{survey}/deliveries",
        json={"customer_ids": [str(customer)]},
        headers=await headers_of(client, "rm01"),
    )
    assert sent.status_code == 201, sent.text
    path = sent.json()["recipients"][0]["url"].removeprefix(settings.public_base_url.rstrip("/"))
    await set_owner(db, customer, "rm06")  # 杨磊
    page = await client.get(path)
    assert page.status_code == 200, page.text
    assert "您的客户经理：杨磊" in page.text
    assert "张伟" not in page.text

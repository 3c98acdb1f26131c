"""The console's delivery progress page checks scope before anything else: another branch's
delivery is the 404 page whatever its survey's state; an archived survey's 409 would tell the
caller that the delivery exists (and whose survey was archived)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.console.conftest import signed_in
from tests.console.test_pages import console_page
from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, publish, unit

pytestmark = pytest.mark.usefixtures("demo_bank")
RATING = [{"key": "r", "type": "rating", "text": "满意度"}]


async def west_delivery(client: Any, db: Any) -> tuple[uuid.UUID, str]:
    """A survey sent by the west branch's head to their branch: (survey, progress page)."""
    survey = await publish(db, questions=RATING)
    await add_customers(db, 2, owner="rm05", prefix="W")
    made = await client.post(
        f"{SURVEYS}/{survey}/deliveries",
        json={"org_unit_id": str(unit("branch-west"))},
        headers=await headers_of(client, "bh.west"),
    )
    assert made.status_code in (201, 202), made.text
    return survey, f"/console/surveys/{survey}/deliveries/{made.json()['id']}"


async def test_another_branchs_delivery_of_an_archived_survey_is_the_404_page(
    console: Any, client: Any, db: Any
) -> None:
    survey, page = await west_delivery(client, db)
    archived = await client.post(
        f"{SURVEYS}/{survey}/archive", headers=await headers_of(client, "marketing")
    )
    assert archived.status_code == 200, archived.text
    await signed_in(console, "bh.east")
    html = console_page(await console.get(page), 404)
    assert "归档" not in html
    # A delivery that does not exist answers the same.
    console_page(await console.get(f"/console/surveys/{survey}/deliveries/{uuid.uuid4()}"), 404)


async def test_another_branchs_delivery_is_the_404_page_its_own_head_sees_it(
    make_console: Any, client: Any, db: Any
) -> None:
    _, page = await west_delivery(client, db)
    east = await make_console()
    await signed_in(east, "bh.east")
    console_page(await east.get(page), 404)
    west = await make_console()
    await signed_in(west, "bh.west")
    assert "发送进度" in console_page(await west.get(page), 200)

"""An optional query parameter sent empty is one not sent, on every API route: HTML forms and
generated clients send the filters left unset as `?status=&due_before=`, and were answered 422
("Invalid enum value ''") by the tasks inbox, the notifications, the catalogue... A required
parameter sent empty is still refused, naming it."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from litestar import get
from litestar.params import FromQuery, QueryParameter
from litestar.testing import AsyncTestClient

from tests.customers_data import headers_of
from tests.tasks_data import create_template, dispatch, field
from tests.workbench.brochures.conftest import Studio, studio
from tests.workbench.http.test_problems import assert_problem
from workbench.app import create_app
from workbench.db import use_json_codecs
from workbench.http.auth import PUBLIC
from workbench.http.empty_filters import KEEPS_EMPTY
from workbench.ids import uuid5_for
from workbench.notifications.service import notify

pytestmark = pytest.mark.usefixtures("demo_bank")
__all__ = ["studio"]  # the fixture, shared with the brochures' tests


async def listed(client: Any, url: str, headers: dict[str, str], query: str = "") -> Any:
    """The list's items (a list may also answer when it was listed: not compared)."""
    response = await client.get(f"{url}?{query}" if query else url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_the_tasks_inbox_with_empty_filters_is_the_inbox(client):
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin, field("note", "text"))
    for title in ("回访", "拜访"):
        await dispatch(client, admin, template["id"], title=title, org_unit="team-east-1")
    rm01 = await headers_of(client, "rm01")
    everything = await listed(client, "/api/v1/tasks", rm01)
    assert len(everything) == 2
    empty = "status=&due_before=&due_after=&limit=&cursor="
    assert await listed(client, "/api/v1/tasks", rm01, empty) == everything
    # A bare name is sent empty too; an empty item of a repeated filter is no item.
    assert await listed(client, "/api/v1/tasks", rm01, "status&due_before") == everything
    pending = await listed(client, "/api/v1/tasks", rm01, "status=pending")
    assert await listed(client, "/api/v1/tasks", rm01, "status=&status=pending") == pending


async def test_the_notification_list_with_empty_filters_is_the_list(client, db):
    await use_json_codecs(db)
    for n in range(3):
        await notify(db, user_id=uuid5_for("user:rm01"), category="customer.verified",
                     title=f"通知 {n}", body="正文", dedupe_key=f"empty-filters:{n}")  # fmt: skip
    rm01 = await headers_of(client, "rm01")
    everything = await listed(client, "/api/v1/notifications", rm01)
    assert len(everything) == 3
    assert await listed(client, "/api/v1/notifications", rm01, "unread=&limit=&cursor=") == (
        everything
    )


async def test_the_catalogue_with_empty_filters_is_the_catalogue(studio: Studio):
    live = await studio.live(product_code="WM90")
    everything = await listed(studio.client, "/api/v1/brochures", studio.rm)
    assert [item["id"] for item in everything] == [live["id"]]
    empty = "category=&tag=&risk_level=&q=&customer_id=&limit=&cursor="
    assert await listed(studio.client, "/api/v1/brochures", studio.rm, empty) == everything


async def test_the_customer_and_user_lists_with_empty_filters_are_the_lists(client):
    rm01 = await headers_of(client, "rm01")
    customers = await listed(client, "/api/v1/customers", rm01)
    empty = "q=&tag=&segment=&risk_level=&min_aum=&max_aum=&limit=&cursor="
    assert await listed(client, "/api/v1/customers", rm01, empty) == customers
    admin = await headers_of(client, "admin")
    users = await listed(client, "/api/v1/users", admin)
    assert len(users) > 1
    empty = "q=&role=&active=&org_unit_id=&limit=&cursor="
    assert await listed(client, "/api/v1/users", admin, empty) == users
    # The filters sent keep their values, spelt as sent (percent-encoded text included).
    rms = await listed(client, "/api/v1/users", admin, "role=rm&q=&active=")
    assert await listed(client, "/api/v1/users", admin, "role=rm") == rms
    assert {user["role"] for user in rms} == {"rm"}


@get("/test/kept", opt={PUBLIC: True, KEEPS_EMPTY: ["mark"]}, sync_to_thread=False)
def _kept(
    needed: Annotated[str, QueryParameter(min_length=1)],
    mark: FromQuery[str | None] = None,
    other: FromQuery[str | None] = None,
) -> dict[str, str | None]:
    return {"needed": needed, "mark": mark, "other": other}


async def test_only_optional_parameters_not_kept_empty_go_unsent(settings, client):
    app = create_app(settings)
    app.register(_kept)
    async with AsyncTestClient(app) as own:
        response = await own.get("/test/kept?needed=x&mark=&other=")
        assert response.status_code == 200, response.text
        # `mark` is one whose empty value the route keeps, as a value (`KEEPS_EMPTY`).
        assert response.json() == {"needed": "x", "mark": "", "other": None}
        refused = await own.get("/test/kept?needed=&other=")
        body = assert_problem(refused, 422, "request.validation_failed")
        assert body["errors"] == [{"path": "query.needed", "message": "must not be empty"}]
    # A real one: a period's ends are required, and sent empty they are refused by name.
    east = await headers_of(client, "bh.east")
    response = await client.get("/api/v1/team/progress?from=&to=", headers=east)
    body = assert_problem(response, 422, "request.validation_failed")
    assert [e["path"] for e in body["errors"]] == ["query.from", "query.to"]

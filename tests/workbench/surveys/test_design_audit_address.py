"""A survey's publication and archiving are in the audit trail with the address the decision came
from, as brochure decisions are: the client a trusted proxy names, never one an untrusted peer
claims; through the API and the console's editor alike."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.console.conftest import make_console, post_form, signed_in
from tests.console.test_survey_design_pages import create, editor_fields
from tests.customers_data import headers_of
from tests.helpers import FromPeer
from tests.tasks_data import user
from tests.workbench.surveys.design_data import SURVEYS, draft

__all__ = ["make_console"]  # the console's client, for the editor's forms

pytestmark = pytest.mark.usefixtures("demo_bank")

PROXY = "10.0.0.2"
AUTHOR_IP = "203.0.113.31"  # the marketing officer's browser or script, behind the bank's proxy
ELSEWHERE = "198.51.100.32"  # a peer that is no proxy of ours


def behind(client: AsyncTestClient[Litestar], peer: str, forwarded_for: str) -> None:
    """Send the client's requests from `peer`, naming `forwarded_for` as the client."""
    client._transport = FromPeer(client, peer)
    client.headers["X-Forwarded-For"] = forwarded_for


async def decisions(db: Any, survey_id: str) -> list[tuple[str, Any, str | None]]:
    rows = await db.fetch(
        "select action, actor_id, host(client_ip) as ip from audit_events"
        " where subject = $1 order by id",
        f"survey:{survey_id}",
    )
    return [(r["action"], r["actor_id"], r["ip"]) for r in rows]


async def test_publishing_and_archiving_through_the_api_record_the_callers_address(
    make_client: Any, db: Any
) -> None:
    client = await make_client(trusted_proxies=(f"{PROXY}/32",))
    behind(client, PROXY, AUTHOR_IP)
    marketing = await headers_of(client, "marketing")
    survey = await draft(client, marketing)
    url = f"{SURVEYS}/{survey['id']}"
    assert (await client.post(f"{url}/publish", headers=marketing)).status_code == 201
    assert (await client.post(f"{url}/archive", headers=marketing)).status_code == 200
    assert await decisions(db, survey["id"]) == [
        ("survey.published", user("marketing"), AUTHOR_IP),
        ("survey.archived", user("marketing"), AUTHOR_IP),
    ]

    # A relay header from a peer that is no proxy of ours is not believed.
    behind(client, ELSEWHERE, AUTHOR_IP)
    other = await draft(client, marketing)
    published = await client.post(f"{SURVEYS}/{other['id']}/publish", headers=marketing)
    assert published.status_code == 201, published.text
    assert await decisions(db, other["id"]) == [("survey.published", user("marketing"), ELSEWHERE)]


async def test_publishing_and_archiving_on_the_console_record_the_authors_address(
    make_console: Any, db: Any
) -> None:
    console = await make_console(trusted_proxies=(f"{PROXY}/32",))
    behind(console, PROXY, AUTHOR_IP)
    token = await signed_in(console, "marketing")
    edit = await create(console, token)
    survey_id = edit.split("/")[3]
    questions = [{"type": "nps", "text": "您有多大可能向亲友推荐我行？", "required": True}]
    fields = {**editor_fields("网点服务回访", questions), "action": "publish"}
    published = await post_form(console, edit, fields, token=token)
    assert published.status_code == 303, published.text
    archived = await post_form(console, f"/console/surveys/{survey_id}/archive", token=token)
    assert archived.status_code == 303, archived.text
    assert await decisions(db, survey_id) == [
        ("survey.published", user("marketing"), AUTHOR_IP),
        ("survey.archived", user("marketing"), AUTHOR_IP),
    ]

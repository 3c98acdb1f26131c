"""Marketing designs and publishes surveys but sends none: asked to send one they see, they are
told their role does not send surveys and who does (403), not that the survey does not exist.
A survey the caller cannot see at all is still not found (404); nothing is sent either way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.delivery_data import SURVEYS, add_customers, q, unit, user

pytestmark = pytest.mark.usefixtures("demo_bank")
PULSE = [q("mood", "rating", "本周工作状态如何？", required=True)]


async def _published(client: Any, headers: dict[str, str], audience: str) -> str:
    body = {"title": "员工脉搏调查", "audience": audience, "questions": PULSE}
    made = await client.post(SURVEYS, json=body, headers=headers)
    assert made.status_code == 201, made.text
    survey_id: str = made.json()["id"]
    published = await client.post(f"{SURVEYS}/{survey_id}/publish", headers=headers)
    assert published.status_code == 201, published.text
    return survey_id


async def _sent(db: Any) -> tuple[int, int]:
    deliveries = await db.fetchval("select count(*) from survey_deliveries")
    invitations = await db.fetchval("select count(*) from survey_invitations")
    return deliveries, invitations


async def test_marketing_is_told_their_role_does_not_send_the_survey_they_published(
    client: Any, db: Any
) -> None:
    marketing = await headers_of(client, "marketing")
    staff_survey = await _published(client, marketing, "staff")
    assert (await client.get(f"{SURVEYS}/{staff_survey}", headers=marketing)).status_code == 200

    refused = await client.post(f"{SURVEYS}/{staff_survey}/deliveries",
                                json={"user_ids": [str(user("rm01"))]},
                                headers=marketing)  # fmt: skip
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert problem["code"] == "auth.forbidden"
    # Who sends instead, so that an integrator does not look for a wrong id.
    for sender in ("admins", "branch heads", "RMs"):
        assert sender in problem["detail"]

    customer_survey = await _published(client, marketing, "customer")
    (customer,) = await add_customers(db, 1, owner="rm01", prefix="M")
    for body in ({"customer_ids": [str(customer)]}, {"org_unit_id": str(unit("branch-east"))}):
        again = await client.post(f"{SURVEYS}/{customer_survey}/deliveries", json=body,
                                  headers=marketing)  # fmt: skip
        assert (again.status_code, again.json()["code"]) == (403, "auth.forbidden")

    # A survey the caller cannot see at all stays unknown to them: compliance sees no survey,
    # an RM no staff survey.
    for login in ("compliance", "rm01"):
        unseen = await client.post(f"{SURVEYS}/{staff_survey}/deliveries",
                                   json={"user_ids": [str(user("rm01"))]},
                                   headers=await headers_of(client, login))  # fmt: skip
        assert unseen.status_code == 404, (login, unseen.text)
        assert unseen.json()["code"] == "survey.not_found"
    assert await _sent(db) == (0, 0)

    # The admin sends the same survey: it was the role, not the survey.
    admin = await headers_of(client, "admin")
    sent = await client.post(f"{SURVEYS}/{staff_survey}/deliveries",
                             json={"user_ids": [str(user("rm01"))]}, headers=admin)  # fmt: skip
    assert sent.status_code == 201, sent.text

"""`POST /brochures/{id}/approve` with `{}` (apps that always send a JSON body with a POST):
API.md defines no body for approve, so `{}` approves what is under review, as no body does; a
`content_hash` sent is still checked."""

from __future__ import annotations

import pytest

from tests.workbench.brochures.conftest import BROCHURES, STUDIO, page_image

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_approve_with_an_empty_object_approves_the_content_under_review(studio):
    made = await studio.upload(page_image())
    brochure = made["id"]
    assert (await studio.act(brochure, "submit", "marketing")).status_code == 200

    approved = await studio.client.post(
        f"{BROCHURES}/{brochure}/approve", json={}, headers=studio.compliance
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["latest"]["status"] == "approved"
    assert approved.json()["latest"]["approved"] is True


async def test_approve_still_checks_a_content_hash_when_one_is_sent(studio):
    made = await studio.upload(page_image())
    brochure = made["id"]
    assert (await studio.act(brochure, "submit", "marketing")).status_code == 200
    url = f"{BROCHURES}/{brochure}/approve"

    other = await studio.client.post(
        url, json={"content_hash": "0" * 64}, headers=studio.compliance
    )
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "brochure.content_changed"
    malformed = await studio.client.post(
        url, json={"content_hash": "xyz"}, headers=studio.compliance
    )
    assert malformed.status_code == 422, malformed.text
    view = await studio.client.get(f"{STUDIO}/{brochure}", headers=studio.compliance)
    assert view.json()["latest"]["status"] == "pending_review"

    null = await studio.client.post(url, json={"content_hash": None}, headers=studio.compliance)
    assert null.status_code == 200, null.text
    assert null.json()["latest"]["status"] == "approved"

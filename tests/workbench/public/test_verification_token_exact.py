"""A verification link sent before the short form (a signed token) opens only as it was
signed: padding added to it is "link invalid" and counts no attempt."""

from __future__ import annotations

import pytest

from tests.workbench.public.test_verification_page import (  # noqa: F401 (fixtures)
    RIGHT,
    _state,
    customers,
    invite,
    rm01,
)
from workbench.security.tokens import Keyring, LinkKind

pytestmark = pytest.mark.usefixtures("demo_bank")

WRONG = {**RIGHT, "name": "王五"}


async def test_a_signed_link_with_padding_added_is_invalid(
    client,
    settings,
    db,
    customers,  # noqa: F811
    invite,  # noqa: F811
):
    keyring = Keyring(settings.jwt_keys, issuer=settings.jwt_issuer)
    signed, _ = keyring.issue_link(
        LinkKind.VERIFICATION, subject=str(customers[0]), ttl_seconds=3600,
        token_id=str(invite["id"]),
    )  # fmt: skip
    before = await _state(db, customers[0])
    for other in (signed + "==", signed.replace(".", "==.", 1)):
        assert (await client.get(f"/v/{other}")).status_code == 404, other
        refused = await client.post(f"/v/{other}", data=WRONG, follow_redirects=False)
        assert refused.status_code == 404, other
        assert "set-cookie" not in refused.headers
    assert await _state(db, customers[0]) == before
    assert (await client.get(f"/v/{signed}")).status_code == 200

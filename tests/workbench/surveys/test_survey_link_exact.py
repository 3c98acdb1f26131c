"""A survey link opens only as it was made: a character added, changed or dropped (padding, a
line break, another spelling of the same bytes) is "链接无效" (404), before anything is stored,
so the page never puts such a token into a header after an answer was stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.workbench.surveys.test_public_survey_page import FORM, form, invite
from workbench.settings import JwtKey
from workbench.surveys.links import SurveyLinks

pytestmark = pytest.mark.usefixtures("demo_bank")

KEY = JwtKey(kid="2026", seed=b"n" * 32)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
GOOD = [("nps", "9"), ("visit", "branch"), ("rating", "5")]
INCOMPLETE = [("nps", "9")]


def spellings(token: str) -> list[str]:
    """Other spellings a lenient base64 decoder reads as the same bytes: padding, characters
    outside the alphabet, and the last character with other unused low bits."""
    last = B64.index(token[-1])
    same_bytes = [token[:-1] + B64[last ^ bits] for bits in (1, 2, 3)]
    return [token + "=", token + "==", token + "!!", token + "\r\n", token + " ", *same_bytes]


def test_a_token_is_read_in_its_one_spelling_only() -> None:
    links = SurveyLinks([KEY])
    invitation = uuid.uuid4()
    token = links.token(invitation)
    assert links.invitation_id(token) == invitation
    for other in spellings(token):
        assert links.invitation_id(other) is None, repr(other)


@pytest.mark.parametrize("suffix", ["!!", "==", "%0D%0A", "%0A%0A", "%20%20%20%20"])
async def test_a_link_with_more_characters_is_invalid_and_stores_nothing(
    client: Any, db: Any, settings: Any, suffix: str
) -> None:
    path, _ = await invite(client, db, settings)
    for answers in (GOOD, INCOMPLETE):
        refused = await client.post(
            path + suffix, content=form(answers), headers=FORM, follow_redirects=False
        )
        assert refused.status_code == 404, refused.text
        assert "链接无效" in refused.text
        assert "set-cookie" not in refused.headers
        assert "location" not in refused.headers
        as_json = await client.post(path + suffix, json={"answers": dict(GOOD)})
        assert as_json.status_code == 404
        assert as_json.headers["content-type"].startswith("application/problem+json")
    for page in ("", "/thanks"):
        opened = await client.get(path + suffix + page, follow_redirects=False)
        assert opened.status_code == 404, page
        assert "链接无效" in opened.text
    assert await db.fetchval("select count(*) from survey_responses") == 0

    # The link itself still works, once.
    assert (await client.get(path)).status_code == 200
    done = await client.post(path, content=form(GOOD), headers=FORM, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}/thanks"
    assert await db.fetchval("select count(*) from survey_responses") == 1


async def test_another_spelling_of_a_link_is_invalid(client: Any, db: Any, settings: Any) -> None:
    path, _ = await invite(client, db, settings)
    token = path.removeprefix("/f/")
    for other in spellings(token)[-3:]:
        assert (await client.get(f"/f/{other}")).status_code == 404, other
        answered = await client.post(f"/f/{other}", content=form(GOOD), headers=FORM)
        assert answered.status_code == 404, other
    assert await db.fetchval("select count(*) from survey_responses") == 0

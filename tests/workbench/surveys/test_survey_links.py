"""Single-use survey links: the token names its invitation only when the server made it."""

from __future__ import annotations

import uuid

from workbench.settings import JwtKey
from workbench.surveys.links import SurveyLinks

OLD = JwtKey(kid="2025", seed=b"o" * 32)
NEW = JwtKey(kid="2026", seed=b"n" * 32)


def test_a_token_names_its_invitation_and_the_url_carries_it() -> None:
    links = SurveyLinks([OLD])
    invitation = uuid.uuid4()
    token = links.token(invitation)
    assert links.invitation_id(token) == invitation
    assert links.url("https://wb.example.cn/", invitation) == f"https://wb.example.cn/f/{token}"
    assert len(token) <= 40  # short enough for an SMS and a coarse QR code


def test_forged_altered_and_malformed_tokens_name_nothing() -> None:
    links = SurveyLinks([OLD])
    token = links.token(uuid.uuid4())
    # A character in the middle (the last one also carries padding bits a decoder ignores).
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    other_server = SurveyLinks([JwtKey(kid="x", seed=b"x" * 32)]).token(uuid.uuid4())
    for bad in (flipped, other_server, "", "abc", token + "A", "é" * 35, "!" * 35, token[:-4]):
        assert links.invitation_id(bad) is None, bad


def test_links_made_before_a_key_rotation_keep_working() -> None:
    invitation = uuid.uuid4()
    before = SurveyLinks([OLD]).token(invitation)
    rotated = SurveyLinks([NEW, OLD])
    assert rotated.invitation_id(before) == invitation
    assert rotated.token(invitation) != before  # new links are made with the new key
    assert SurveyLinks([NEW]).invitation_id(before) is None  # once the old key is retired

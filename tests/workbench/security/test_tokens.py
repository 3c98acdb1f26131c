"""Signed tokens (RFC 8725): what the keyring issues, and every forgery it must refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.helpers import bearer
from workbench.security.tokens import AccessClaims, Keyring, LinkKind, TokenError
from workbench.settings import JwtKey

ISSUER = "rm-workbench"
AUDIENCE = f"{ISSUER}:api"
KEY_A = JwtKey(kid="key-a", seed=bytes(range(32)))
KEY_B = JwtKey(kid="key-b", seed=bytes(range(100, 132)))


def keyring(*keys: JwtKey, issuer: str = ISSUER) -> Keyring:
    return Keyring(keys or (KEY_A,), issuer=issuer)


def issue(ring: Keyring, **overrides: Any) -> tuple[str, AccessClaims]:
    args: dict[str, Any] = {
        "user_id": uuid.uuid4(),
        "session_id": uuid.uuid4(),
        "device_id": "device-00000001",
        "role": "rm",
        "org_unit_id": uuid.uuid4(),
        "ttl_seconds": 900,
    }
    return ring.issue_access(**(args | overrides))


def claims(**overrides: Any) -> dict[str, Any]:
    """A complete, valid access payload; pass a key with value None to drop it."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "did": "device-00000001",
        "role": "admin",
        "org": str(uuid.uuid4()),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 900,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def sign_ed25519(
    payload: dict[str, Any], key: JwtKey = KEY_A, *, kid: str | None = None, typ: str = "at+jwt"
) -> str:
    private = Ed25519PrivateKey.from_private_bytes(key.seed)
    return jwt.encode(
        payload,
        private,
        algorithm="EdDSA",
        headers={"kid": key.kid if kid is None else kid, "typ": typ},
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_by_hand(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None) -> str:
    """Build a JWT without pyjwt's safety checks (it rightly refuses some of these forgeries)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    if secret is None:
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def public_key_forms(key: JwtKey) -> list[bytes]:
    public = Ed25519PrivateKey.from_private_bytes(key.seed).public_key()
    return [
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        key.seed,
        b"secret",
    ]


# ---- what is issued --------------------------------------------------------------------------


def test_access_token_round_trip_and_header():
    ring = keyring()
    user_id, session_id, org = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token, issued = ring.issue_access(
        user_id=user_id,
        session_id=session_id,
        device_id="device-00000007",
        role="branch_head",
        org_unit_id=org,
        ttl_seconds=600,
    )
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    assert header["typ"] == "at+jwt"
    assert header["kid"] == "key-a"
    payload = jwt.decode(token, options={"verify_signature": False})
    for claim in ("exp", "iat", "iss", "aud", "sub", "jti"):
        assert claim in payload, claim
    assert payload["iss"] == ISSUER
    assert payload["aud"] == AUDIENCE
    assert payload["exp"] - payload["iat"] == 600

    verified = ring.verify_access(token)
    assert verified == issued
    assert verified.sub == str(user_id)
    assert verified.sid == str(session_id)
    assert verified.did == "device-00000007"
    assert verified.role == "branch_head"
    assert verified.org == str(org)


def test_each_access_token_has_its_own_jti():
    ring = keyring()
    first, _ = issue(ring)
    second, _ = issue(ring)
    assert ring.verify_access(first).jti != ring.verify_access(second).jti


def test_hand_built_valid_token_is_accepted():
    """Guards the forgery tests below: the only thing wrong with each of them is what they vary."""
    assert keyring().verify_access(sign_ed25519(claims())).role == "admin"


# ---- forgeries and wrong tokens --------------------------------------------------------------


@pytest.mark.parametrize("header_alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(header_alg):
    token = sign_by_hand({"alg": header_alg, "typ": "at+jwt", "kid": "key-a"}, claims(), None)
    with pytest.raises(TokenError):
        keyring().verify_access(token)


def test_hs256_signed_with_public_key_or_any_secret_is_refused():
    for secret in public_key_forms(KEY_A):
        token = sign_by_hand({"alg": "HS256", "typ": "at+jwt", "kid": "key-a"}, claims(), secret)
        with pytest.raises(TokenError):
            keyring().verify_access(token)


def test_unknown_kid_is_refused():
    token = sign_ed25519(claims(), KEY_B)  # a real key, just not a configured one
    with pytest.raises(TokenError):
        keyring(KEY_A).verify_access(token)
    for kid in ("", "../key-a", "key-a ", "KEY-A"):
        with pytest.raises(TokenError):
            keyring(KEY_A).verify_access(sign_ed25519(claims(), KEY_A, kid=kid))


def test_token_signed_by_another_key_under_a_known_kid_is_refused():
    forged = sign_ed25519(claims(), KEY_B, kid="key-a")
    with pytest.raises(TokenError):
        keyring(KEY_A).verify_access(forged)


def test_tampered_payload_is_refused():
    token = sign_ed25519(claims(role="rm"))
    header, _, signature = token.split(".")
    forged_payload = _b64(json.dumps(claims(role="admin")).encode())
    with pytest.raises(TokenError):
        keyring().verify_access(f"{header}.{forged_payload}.{signature}")


def test_wrong_issuer_is_refused():
    with pytest.raises(TokenError):
        keyring().verify_access(sign_ed25519(claims(iss="someone-else")))
    other_issuer_ring = keyring(issuer="other-bank")
    token, _ = issue(other_issuer_ring)
    with pytest.raises(TokenError):
        keyring().verify_access(token)


@pytest.mark.parametrize(
    "audience", ["rm-workbench:share", "rm-workbench", "another:api", ["rm-workbench:api", "x"]]
)
def test_wrong_audience_is_refused(audience):
    with pytest.raises(TokenError):
        keyring().verify_access(sign_ed25519(claims(aud=audience)))


@pytest.mark.parametrize("missing", ["jti", "exp", "iat", "iss", "aud", "sub"])
def test_token_missing_a_required_claim_is_refused(missing):
    with pytest.raises(TokenError):
        keyring().verify_access(sign_ed25519(claims(**{missing: None})))


def test_expiry_allows_30_seconds_of_clock_skew():
    ring = keyring()
    now = time.time()
    expired_long_ago, _ = issue(ring, ttl_seconds=900, now=now - 900 - 45)
    with pytest.raises(TokenError):
        ring.verify_access(expired_long_ago)
    just_expired, _ = issue(ring, ttl_seconds=900, now=now - 900 - 20)
    assert ring.verify_access(just_expired).exp < now


def test_token_issued_in_the_future_is_refused_beyond_skew():
    ring = keyring()
    now = time.time()
    from_the_future, _ = issue(ring, now=now + 120)
    with pytest.raises(TokenError):
        ring.verify_access(from_the_future)
    slightly_ahead, _ = issue(ring, now=now + 10)
    assert ring.verify_access(slightly_ahead).iat > now


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "eyJhbGciOiJFZERTQSJ9..", "..."])
def test_malformed_tokens_are_refused(garbage):
    with pytest.raises(TokenError):
        keyring().verify_access(garbage)


# ---- key rotation ----------------------------------------------------------------------------


def test_key_rotation_keeps_old_tokens_verifiable_until_the_old_key_is_dropped():
    old_ring = keyring(KEY_A)
    old_token, _ = issue(old_ring)

    rotated = keyring(KEY_B, KEY_A)
    assert rotated.verify_access(old_token).jti
    new_token, _ = issue(rotated)
    assert jwt.get_unverified_header(new_token)["kid"] == "key-b"
    assert rotated.verify_access(new_token).jti
    # Instances not yet rotated cannot verify the new tokens, and retired keys are refused.
    with pytest.raises(TokenError):
        old_ring.verify_access(new_token)
    retired = keyring(KEY_B)
    with pytest.raises(TokenError):
        retired.verify_access(old_token)
    assert retired.verify_access(new_token).jti


def test_rotation_also_applies_to_link_tokens():
    old_link, _ = keyring(KEY_A).issue_link(LinkKind.SHARE, subject="s", ttl_seconds=60)
    assert keyring(KEY_B, KEY_A).verify_link(LinkKind.SHARE, old_link).sub == "s"
    with pytest.raises(TokenError):
        keyring(KEY_B).verify_link(LinkKind.SHARE, old_link)


# ---- kinds of tokens never pass for one another ----------------------------------------------


def test_link_token_round_trip_with_data_and_token_id():
    ring = keyring()
    token, issued = ring.issue_link(
        LinkKind.SURVEY,
        subject="delivery-1",
        ttl_seconds=3600,
        data={"survey": 7},
        token_id="once-only-1",
    )
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == "key-a"
    verified = ring.verify_link(LinkKind.SURVEY, token)
    assert verified == issued
    assert verified.jti == "once-only-1"
    assert verified.data == {"survey": 7}


def test_every_kind_has_its_own_type_and_audience():
    ring = keyring()
    kinds = list(LinkKind)
    headers = {}
    audiences = {}
    for kind in kinds:
        token, _ = ring.issue_link(kind, subject="x", ttl_seconds=60)
        headers[kind] = jwt.get_unverified_header(token)["typ"]
        audiences[kind] = jwt.decode(token, options={"verify_signature": False})["aud"]
    access, _ = issue(ring)
    headers["access"] = jwt.get_unverified_header(access)["typ"]
    audiences["access"] = jwt.decode(access, options={"verify_signature": False})["aud"]
    assert len(set(headers.values())) == len(kinds) + 1
    assert len(set(audiences.values())) == len(kinds) + 1


def test_no_kind_of_token_passes_for_another():
    ring = keyring()
    access, _ = issue(ring)
    for issued_kind in LinkKind:
        link, _ = ring.issue_link(issued_kind, subject="customer-1", ttl_seconds=600)
        assert ring.verify_link(issued_kind, link).sub == "customer-1"
        with pytest.raises(TokenError):
            ring.verify_access(link)
        for other_kind in LinkKind:
            if other_kind is not issued_kind:
                with pytest.raises(TokenError):
                    ring.verify_link(other_kind, link)
    for kind in LinkKind:
        with pytest.raises(TokenError):
            ring.verify_link(kind, access)


def test_right_typ_with_wrong_audience_is_refused():
    """The audience is checked on its own, not only through the type header."""
    ring = keyring()
    payload = claims(aud=f"{ISSUER}:share", data={})
    with pytest.raises(TokenError):
        ring.verify_link(LinkKind.CONFIRMATION, sign_ed25519(payload, typ="wb-confirmation+jwt"))
    share_payload = claims(aud=f"{ISSUER}:confirmation")
    with pytest.raises(TokenError):
        ring.verify_access(sign_ed25519(share_payload, typ="at+jwt"))


# ---- over the API ----------------------------------------------------------------------------


async def test_link_token_is_not_an_access_token_on_the_api(client, settings):
    ring = Keyring(settings.jwt_keys, issuer=settings.jwt_issuer)
    for kind in LinkKind:
        link, _ = ring.issue_link(kind, subject=str(uuid.uuid4()), ttl_seconds=600)
        response = await client.get("/api/v1/me", headers=bearer({"access_token": link}))
        assert response.status_code == 401, kind
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "auth.invalid_token"


async def test_access_token_from_an_unconfigured_key_is_refused_on_the_api(client, settings):
    stranger = Keyring((JwtKey(kid=settings.signing_key.kid, seed=b"z" * 32),), issuer=ISSUER)
    token, _ = issue(stranger)
    response = await client.get("/api/v1/me", headers=bearer({"access_token": token}))
    assert response.status_code == 401
    assert response.json()["code"] == "auth.invalid_token"

"""Signed tokens (RFC 8725): access JWTs and every link token the product issues.

All tokens are EdDSA (Ed25519) JWTs signed by the first configured key and verified with whichever
configured key their `kid` names; any other `kid`, algorithm, type or audience is refused. Each
kind of token has its own `typ` header and audience, so a QR-confirmation token can never pass for
a share link, a survey link or an access token.
"""

from __future__ import annotations

import enum
import time
import uuid
from typing import Any

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from workbench.settings import JwtKey

ALGORITHM = "EdDSA"
CLOCK_SKEW_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]


class TokenError(Exception):
    """The token is malformed, forged, expired, or of another kind."""


class LinkKind(enum.StrEnum):
    """Kinds of signed tokens handed to customers or embedded in links."""

    SHARE = "share"
    CONFIRMATION = "confirmation"
    SURVEY = "survey"
    VERIFICATION = "verification"


class AccessClaims(msgspec.Struct, kw_only=True, frozen=True):
    """What an access token asserts about its bearer."""

    sub: str
    sid: str
    did: str
    role: str
    org: str
    jti: str
    exp: int
    iat: int


class LinkClaims(msgspec.Struct, kw_only=True, frozen=True):
    sub: str
    jti: str
    exp: int
    iat: int
    data: dict[str, Any] = {}


VERIFIED_CACHE_SIZE = 20_000  # access tokens remembered per process (about 10 MB)


class Keyring:
    """Configured Ed25519 keys: the first signs; all verify, looked up strictly by `kid`."""

    def __init__(self, keys: tuple[JwtKey, ...], *, issuer: str) -> None:
        if not keys:
            raise ValueError("at least one signing key is required")
        self.issuer = issuer
        self._signing_kid = keys[0].kid
        self._signing_key = Ed25519PrivateKey.from_private_bytes(keys[0].seed)
        self._verify_keys: dict[str, Ed25519PublicKey] = {
            k.kid: Ed25519PrivateKey.from_private_bytes(k.seed).public_key() for k in keys
        }
        self._verified: dict[str, AccessClaims] = {}

    @property
    def access_audience(self) -> str:
        return f"{self.issuer}:api"

    def issue_access(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        device_id: str,
        role: str,
        org_unit_id: uuid.UUID,
        ttl_seconds: int,
        now: float | None = None,
    ) -> tuple[str, AccessClaims]:
        issued = int(now if now is not None else time.time())
        claims = AccessClaims(
            sub=str(user_id),
            sid=str(session_id),
            did=device_id,
            role=role,
            org=str(org_unit_id),
            jti=uuid.uuid4().hex,
            iat=issued,
            exp=issued + ttl_seconds,
        )
        payload = msgspec.to_builtins(claims) | {"iss": self.issuer, "aud": self.access_audience}
        return self._sign(payload, typ="at+jwt"), claims

    def verify_access(self, token: str) -> AccessClaims:
        """The claims of a valid access token. An app sends the same token with every request
        for its whole life, so each process remembers the tokens it has verified until they
        expire (the signature check is most of a small request's CPU); revocation is still
        checked per request by the caller."""
        cached = self._verified.get(token)
        if cached is not None and cached.exp > time.time():
            return cached
        payload = self._verify(token, typ="at+jwt", audience=self.access_audience)
        try:
            claims = msgspec.convert(payload, AccessClaims)
        except msgspec.ValidationError as exc:
            raise TokenError(f"access token claims are incomplete: {exc}") from None
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def issue_link(
        self,
        kind: LinkKind,
        *,
        subject: str,
        ttl_seconds: int,
        data: dict[str, Any] | None = None,
        token_id: str | None = None,
    ) -> tuple[str, LinkClaims]:
        """Sign a link token of one kind; `token_id` lets the caller record single use."""
        issued = int(time.time())
        claims = LinkClaims(
            sub=subject,
            jti=token_id or uuid.uuid4().hex,
            iat=issued,
            exp=issued + ttl_seconds,
            data=data or {},
        )
        payload = msgspec.to_builtins(claims) | {
            "iss": self.issuer,
            "aud": _link_audience(self.issuer, kind),
        }
        return self._sign(payload, typ=f"wb-{kind.value}+jwt"), claims

    def verify_link(self, kind: LinkKind, token: str, *, allow_expired: bool = False) -> LinkClaims:
        """Claims of a genuine link token of this kind. `allow_expired` still checks everything
        but the expiry, so a page can say "this link expired" instead of "this link is broken"."""
        payload = self._verify(
            token,
            typ=f"wb-{kind.value}+jwt",
            audience=_link_audience(self.issuer, kind),
            verify_exp=not allow_expired,
        )
        try:
            return msgspec.convert(payload, LinkClaims)
        except msgspec.ValidationError as exc:
            raise TokenError(f"link token claims are incomplete: {exc}") from None

    def _sign(self, payload: dict[str, Any], *, typ: str) -> str:
        return jwt.encode(
            payload,
            self._signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self._signing_kid, "typ": typ},
        )

    def _verify(
        self, token: str, *, typ: str, audience: str, verify_exp: bool = True
    ) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("token is malformed") from None
        if header.get("alg") != ALGORITHM:
            raise TokenError("token algorithm is not allowed")
        if header.get("typ") != typ:
            raise TokenError("token is of another kind")
        key = self._verify_keys.get(str(header.get("kid")))
        if key is None:
            raise TokenError("token key id is unknown")
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_iat": True,
                    "verify_exp": verify_exp,
                    "strict_aud": True,
                },
            )
        except jwt.PyJWTError as exc:
            raise TokenError(f"token rejected: {type(exc).__name__}") from None
        return payload


def _link_audience(issuer: str, kind: LinkKind) -> str:
    return f"{issuer}:{kind.value}"

"""Single-use survey links `/f/{token}`: a token made from the invitation id and the server key.

Nothing secret is stored: the token is the invitation id and an HMAC-SHA256 tag (80 bits) of it
under a key derived from the JWT signing keys, so a link can be made again for a reminder and a
forged or altered token names no invitation. Keys rotate with the JWT keys: a link made under a
key still listed in WORKBENCH_JWT_KEYS keeps working.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Sequence

from workbench.settings import JwtKey

TAG_BYTES = 10
_PURPOSE = b"rm-workbench survey link v1"


class SurveyLinks:
    def __init__(self, keys: Sequence[JwtKey]) -> None:
        # Derived per purpose: a survey link's tag is useless for anything else the key signs.
        self._keys = [hmac.new(key.seed, _PURPOSE, hashlib.sha256).digest() for key in keys]

    def token(self, invitation_id: uuid.UUID) -> str:
        raw = invitation_id.bytes + self._tag(self._keys[0], invitation_id)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def invitation_id(self, token: str) -> uuid.UUID | None:
        """The invitation a token names, or None for anything forged, altered or malformed."""
        if not 20 <= len(token) <= 60 or not token.isascii():
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 16 + TAG_BYTES:
            return None
        invitation_id = uuid.UUID(bytes=raw[:16])
        tag = raw[16:]
        if any(hmac.compare_digest(tag, self._tag(key, invitation_id)) for key in self._keys):
            return invitation_id
        return None

    def url(self, base_url: str, invitation_id: uuid.UUID) -> str:
        return f"{base_url.rstrip('/')}/f/{self.token(invitation_id)}"

    @staticmethod
    def _tag(key: bytes, invitation_id: uuid.UUID) -> bytes:
        return hmac.new(key, invitation_id.bytes, hashlib.sha256).digest()[:TAG_BYTES]

"""Single-use survey links `/f/{token}`: a token made from the invitation id and the server key.

Nothing secret is stored: the token is the invitation id and an HMAC-SHA256 tag (80 bits) of it
under a key derived from the JWT signing keys, so a link can be made again for a reminder and a
forged or altered token names no invitation. Keys rotate with the JWT keys: a link made under a
key still listed in WORKBENCH_JWT_KEYS keeps working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence

from workbench.settings import JwtKey

TAG_BYTES = 10
_PURPOSE = b"rm-workbench survey link v1"
# The invitation id and the tag in unpadded base64url: 26 bytes, 35 characters.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{35}")


class SurveyLinks:
    def __init__(self, keys: Sequence[JwtKey]) -> None:
        # Derived per purpose: a survey link's tag is useless for anything else the key signs.
        self._keys = [hmac.new(key.seed, _PURPOSE, hashlib.sha256).digest() for key in keys]

    def token(self, invitation_id: uuid.UUID) -> str:
        return _text(invitation_id.bytes + self._tag(self._keys[0], invitation_id))

    def invitation_id(self, token: str) -> uuid.UUID | None:
        """The invitation a token names, or None for anything forged, altered or malformed: only
        the exact form `token` makes (one spelling per token; no character added, dropped or
        changed), so a token that names an invitation is safe in a URL, header or cookie path."""
        if not _TOKEN.fullmatch(token):
            return None
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if _text(raw) != token:  # unused low bits set: another spelling of the same bytes
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


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

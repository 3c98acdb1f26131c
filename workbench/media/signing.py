"""Short-lived signed media URLs: `/media/<key>?exp=<unix seconds>&sig=<base64url HMAC>`.

The HMAC-SHA256 covers the blob key and the expiry, under a key derived from the blind-index key
for this purpose only (as sync cursors derive theirs), so a URL can be neither moved to another
blob nor extended. The expiry is rounded up to the next `STEP` seconds: the same blob gets the
same URL for a few minutes, so the apps' image caches hit, and every URL lives at least its TTL.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import math
import time
import urllib.parse

PREFIX = "/media/"
STEP = 300
SIGNED_CACHE = 50_000  # URLs remembered per process (~10 MB)
_PURPOSE = b"workbench media url v1"


class MediaSigner:
    """Signs and checks media URLs with a key derived from `secret` (the blind-index key)."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
        # The same blob gets the same URL for STEP seconds: a catalogue page signs a thousand
        # URLs, nearly all signed a moment ago for someone else. A signature is a pure function
        # of (key, expiry), so remembering it changes nothing but the cost (per process, bounded).
        self._signed = functools.lru_cache(maxsize=SIGNED_CACHE)(self._signed_url)

    def _mac(self, key: str, exp: int) -> bytes:
        return hmac.new(self._key, f"{key}\n{exp}".encode(), hashlib.sha256).digest()

    def url(self, key: str, ttl_seconds: int, *, now: float | None = None) -> str:
        """The path and query of a URL that serves `key` for at least `ttl_seconds`."""
        # Rounded up: a URL signed at 12:00:00.9 lives until 13:00:01, never less than its TTL.
        at = math.ceil(time.time() if now is None else now) + ttl_seconds
        exp = -(-at // STEP) * STEP if ttl_seconds >= STEP else at
        return self._signed(key, exp)

    def _signed_url(self, key: str, exp: int) -> str:
        sig = _text(self._mac(key, exp))
        return f"{PREFIX}{urllib.parse.quote(key, safe='/')}?exp={exp}&sig={sig}"

    def verify(self, key: str, exp: str, sig: str, *, now: float | None = None) -> bool:
        """True if `sig` is this server's signature of `key` until `exp`, and `exp` is ahead;
        both exactly as `url` writes them (one spelling each: no character added or changed)."""
        if not exp.isascii() or not exp.isdigit() or len(exp) > 12 or str(int(exp)) != exp:
            return False
        expires = int(exp)
        if expires <= (time.time() if now is None else now):
            return False
        if not sig.isascii():
            return False
        return hmac.compare_digest(sig, _text(self._mac(key, expires)))


def _text(mac: bytes) -> str:
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")

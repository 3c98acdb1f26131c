"""Field encryption (AES-256-GCM) and blind indexes (HMAC-SHA256) for personal data.

A stored value is `0x01 | len(kid) | kid | nonce(12) | ciphertext+tag`: the key id travels with the
value, so after a key rotation old values still decrypt until `workbench rotate-keys` re-encrypts
them. The associated data binds a value to its column and record, so a ciphertext copied to
another row or column does not decrypt. Blind indexes are keyed hashes of normalized values: they
answer "equal?" without storing the value, and cannot be brute-forced without the key.

A stored value that cannot be decrypted (its key was dropped too early, the row is corrupt) must
not break a whole list or stall a queue: readers use `decrypt_or_none`, which logs the column and
row (never the value), counts it in `workbench_undecryptable_values_total` and lets the caller
show `UNREADABLE` or skip the value.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from prometheus_client import Counter

from workbench.settings import DataKey

_FORMAT = 1
_NONCE = 12

log = logging.getLogger("workbench.security.vault")

UNREADABLE = "***"  # shown where a stored value cannot be decrypted
# Per process, like every metric; the API's and the worker's registries both expose it.
UNDECRYPTABLE = Counter(
    "workbench_undecryptable_values_total",
    "stored encrypted values that could not be decrypted and were skipped, by column and reason",
    ["column", "reason"],
    registry=None,
)

Reason = Literal["unknown_key", "not_authentic", "malformed"]


class DecryptionError(Exception):
    """The value is corrupt, bound to another record, or under a key we do not have."""

    def __init__(self, message: str, *, reason: Reason, kid: str | None = None) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.kid = kid  # the key id the value names, when it names one we do not have


class FieldCipher:
    """Encrypts with the first configured data key; decrypts with any configured one."""

    def __init__(self, keys: tuple[DataKey, ...]) -> None:
        if not keys:
            raise ValueError("at least one data key is required")
        self.current_kid = keys[0].kid
        self._aead = {k.kid: AESGCM(k.key) for k in keys}
        self._prefix = key_prefix(self.current_kid)

    def encrypt(self, plaintext: str, *, aad: str) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = self._aead[self.current_kid].encrypt(nonce, plaintext.encode(), aad.encode())
        return self._prefix + nonce + sealed

    def decrypt(self, blob: bytes, *, aad: str) -> str:
        kid, nonce, sealed = _split(blob)
        aead = self._aead.get(kid)
        if aead is None:
            raise DecryptionError(
                f"no data key {kid!r} is configured", reason="unknown_key", kid=kid
            )
        try:
            return aead.decrypt(nonce, sealed, aad.encode()).decode()
        except InvalidTag:
            raise DecryptionError(
                "value does not authenticate for this record", reason="not_authentic"
            ) from None
        except UnicodeDecodeError:
            raise DecryptionError("value is not text", reason="malformed") from None

    def decrypt_or_none(self, blob: bytes, *, aad: str, column: str, row: object) -> str | None:
        """The plaintext, or None (logged and counted) when the value cannot be decrypted.
        `column` (`table.column`) and `row` (its key) say where it is, for the log."""
        try:
            return self.decrypt(blob, aad=aad)
        except DecryptionError as exc:
            undecryptable(exc, column=column, row=row)
            return None

    def needs_rotation(self, blob: bytes) -> bool:
        return key_id(blob) != self.current_kid


def key_prefix(kid: str) -> bytes:
    """The bytes every value stored under `kid` starts with (format, kid length, kid)."""
    encoded = kid.encode()
    return bytes([_FORMAT, len(encoded)]) + encoded


def key_id(blob: bytes) -> str:
    """The id of the key a stored value is encrypted under."""
    return _split(blob)[0]


def undecryptable(error: DecryptionError, *, column: str, row: object) -> None:
    """Log and count a stored value that could not be decrypted and is being skipped. The log
    names the column, the row's key and the reason, never the value."""
    UNDECRYPTABLE.labels(column, error.reason).inc()
    log.warning(
        "stored value cannot be decrypted; skipped",
        extra={"column": column, "row": str(row), "reason": error.reason, "key_id": error.kid},
    )


def _split(blob: bytes) -> tuple[str, bytes, bytes]:
    if len(blob) < 2 or blob[0] != _FORMAT:
        raise DecryptionError("unknown ciphertext format", reason="malformed")
    end = 2 + blob[1]
    if len(blob) < end + _NONCE + 16:
        raise DecryptionError("ciphertext is truncated", reason="malformed")
    try:
        kid = blob[2:end].decode()
    except UnicodeDecodeError:
        raise DecryptionError("unknown ciphertext format", reason="malformed") from None
    return kid, blob[end : end + _NONCE], blob[end + _NONCE :]


class BlindIndex:
    """Keyed, purpose-separated hashes of normalized values, for equality search."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, purpose: str, normalized: str) -> bytes:
        message = f"{purpose}\x00{normalized}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:16]


class Vault:
    """The personal-data keys of one process: field encryption and blind indexes."""

    def __init__(self, cipher: FieldCipher, blind_index: BlindIndex) -> None:
        self.cipher = cipher
        self.blind_index = blind_index

    @classmethod
    def from_settings(cls, data_keys: tuple[DataKey, ...], blind_index_key: bytes) -> Vault:
        return cls(FieldCipher(data_keys), BlindIndex(blind_index_key))

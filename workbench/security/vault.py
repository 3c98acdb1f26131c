"""Field encryption (AES-256-GCM) and blind indexes (HMAC-SHA256) for personal data.

A stored value is `0x01 | len(kid) | kid | nonce(12) | ciphertext+tag`: the key id travels with the
value, so after a key rotation old values still decrypt until `workbench rotate-keys` re-encrypts
them. The associated data binds a value to its column and record, so a ciphertext copied to
another row or column does not decrypt. Blind indexes are keyed hashes of normalized values: they
answer "equal?" without storing the value, and cannot be brute-forced without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from workbench.settings import DataKey

_FORMAT = 1
_NONCE = 12


class DecryptionError(Exception):
    """The value is corrupt, bound to another record, or under a key we do not have."""


class FieldCipher:
    """Encrypts with the first configured data key; decrypts with any configured one."""

    def __init__(self, keys: tuple[DataKey, ...]) -> None:
        if not keys:
            raise ValueError("at least one data key is required")
        self.current_kid = keys[0].kid
        self._aead = {k.kid: AESGCM(k.key) for k in keys}
        self._prefix = bytes([_FORMAT, len(self.current_kid)]) + self.current_kid.encode()

    def encrypt(self, plaintext: str, *, aad: str) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = self._aead[self.current_kid].encrypt(nonce, plaintext.encode(), aad.encode())
        return self._prefix + nonce + sealed

    def decrypt(self, blob: bytes, *, aad: str) -> str:
        kid, nonce, sealed = _split(blob)
        aead = self._aead.get(kid)
        if aead is None:
            raise DecryptionError(f"no data key {kid!r} is configured")
        try:
            return aead.decrypt(nonce, sealed, aad.encode()).decode()
        except InvalidTag:
            raise DecryptionError("value does not authenticate for this record") from None

    def needs_rotation(self, blob: bytes) -> bool:
        return key_id(blob) != self.current_kid


def key_id(blob: bytes) -> str:
    """The id of the key a stored value is encrypted under."""
    return _split(blob)[0]


def _split(blob: bytes) -> tuple[str, bytes, bytes]:
    if len(blob) < 2 or blob[0] != _FORMAT:
        raise DecryptionError("unknown ciphertext format")
    end = 2 + blob[1]
    if len(blob) < end + _NONCE + 16:
        raise DecryptionError("ciphertext is truncated")
    return blob[2:end].decode(), blob[end : end + _NONCE], blob[end + _NONCE :]


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

"""Settings key types: a token signing key (`JwtKey`) and a personal data key (`DataKey`), each
named by its kid, as the key lists of the settings hold them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JwtKey:
    """One Ed25519 signing key; the first configured key signs, all of them verify."""

    kid: str
    seed: bytes


@dataclass(frozen=True, slots=True)
class DataKey:
    """One AES-256 key for personal data; the first configured key encrypts, all decrypt."""

    kid: str
    key: bytes

"""Time-ordered UUIDs (version 7, RFC 9562): index-friendly and creatable offline by apps."""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    """A new UUIDv7: 48-bit Unix milliseconds, then 74 random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return uuid.UUID(int=value)


def uuid5_for(name: str) -> uuid.UUID:
    """A stable id derived from a name (the demo bank's fixed ids)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"rm-workbench:{name}")

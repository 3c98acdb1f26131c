"""Short codes of share links: 10 characters of base62 drawn from `secrets` (about 59.5 bits),
so a code cannot be guessed or enumerated. A code is unique (the database says so); a collision
is drawn again by the caller."""

from __future__ import annotations

import re
import secrets
import string

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
LENGTH = 10
SHAPE = re.compile(r"[0-9A-Za-z]{8,12}")  # what the table accepts (shares.code)


def new_code() -> str:
    """A fresh random code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def link(code: str, base_url: str) -> str:
    """The public URL of a share: `{base}/s/{code}`."""
    return f"{base_url.rstrip('/')}/s/{code}"

"""The names of downloaded files (exports and monthly reports), safe in a file system and in
the `Content-Disposition` header.

A unit's name is the bank's to choose (`北城支行 "North"/新`): characters a file system refuses
become `_`, and the real name goes in RFC 5987 `filename*` with every byte but letters, digits
and `-._~` percent-encoded (`urllib.parse.quote` keeps `/` by default, which some browsers cut
the name at and others refuse), next to an ASCII `filename` for old clients."""

from __future__ import annotations

import re
from urllib.parse import quote

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def safe_name(name: str) -> str:
    """`name` without characters a file system minds (each run of them becomes `_`)."""
    return _UNSAFE.sub("_", name)


def content_disposition(name: str, fallback: str) -> str:
    """`attachment` with the ASCII `fallback` and the real (Chinese) `name` in `filename*`."""
    real = quote(safe_name(name), safe="")
    return f"attachment; filename=\"{safe_name(fallback)}\"; filename*=UTF-8''{real}"

"""A zip member's name as the zip stores it, and the check a device makes on that name.

Python's zipfile cuts `ZipInfo.filename` at the first NUL byte (and, on Windows, turns `\\` into
`/`), while the app's unzipper reads the whole stored name: the server (`archive`) and the
device's reference code (`manifest.verify_package`, `applying.apply_diff`) must both judge the
name as stored, or a member stored as `files/a.js\\x00x` passes as `files/a.js`. Its own module
because `archive` imports `manifest`, and both need it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable


def stored_name(info: zipfile.ZipInfo) -> str:
    """The member's whole name as the zip stores it. `ZipInfo.filename` is cut at the first NUL
    byte (`a\\x00b.html` reads as `a`), which would hide the NUL from the name checks and sign
    the file under a name the uploader never gave; `orig_filename` keeps every character."""
    return info.orig_filename


def stored_name_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a downloaded member's name cannot be trusted, or None: a stored name that is not the
    name zipfile reads it by, or one holding a control character. A device never trusts the
    bytes it downloaded, so such a member is refused rather than read under a shortened name."""
    name = stored_name(info)
    if has_control_character(name):
        return f"a member's name holds a control character: {name[:100]!r}"
    if name != info.filename:
        return f"a member's stored name {name[:100]!r} is read as {info.filename[:100]!r}"
    return None


def first_untrusted_name(infos: Iterable[zipfile.ZipInfo]) -> str | None:
    """The problem of the first member whose name cannot be trusted (`stored_name_problem`),
    or None: checked of every member before any is read."""
    return next(filter(None, map(stored_name_problem, infos)), None)


def has_control_character(name: str) -> bool:
    """Whether a name holds a C0 control character or DEL (a NUL among them)."""
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)

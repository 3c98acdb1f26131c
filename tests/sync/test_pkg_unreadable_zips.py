"""Bytes that zipfile cannot read for reasons beyond a bad signature (a zip version it does not
support, an encrypted member, a truncated file) are refused like any damaged package, by the
upload intake, the verifier and the diff applier alike, never a crash."""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import UTC, datetime

import pytest

from sync.packages.applying import DiffRefused, apply_diff
from sync.packages.archive import PackageUnsafe, read_upload
from sync.packages.diffs import PackageUnreadable, read_package
from sync.packages.manifest import PackageRefused, verify_package


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.html", b"<p>hi</p>" * 50)
    return out.getvalue()


def with_version(data: bytes, version: int) -> bytes:
    """The zip with the central directory's "version needed to extract" set to `version`."""
    at = data.rindex(b"PK\x01\x02")
    return data[: at + 6] + struct.pack("<H", version) + data[at + 8 :]


def with_encryption_flag(data: bytes) -> bytes:
    """The zip with its member marked encrypted (general purpose bit 0)."""
    at = data.rindex(b"PK\x01\x02")
    (flags,) = struct.unpack("<H", data[at + 8 : at + 10])
    return data[: at + 8] + struct.pack("<H", flags | 1) + data[at + 10 :]


UNREADABLE = {
    "unsupported version": with_version(plain_zip(), 84),
    "encrypted member": with_encryption_flag(plain_zip()),
    "truncated": plain_zip()[:-30],
    "not a zip": b"PK\x03\x04 and then nothing a zip would have",
}


@pytest.mark.parametrize("data", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_zips_are_refused_everywhere(data: bytes) -> None:
    with pytest.raises(PackageUnsafe):
        read_upload(data)
    with pytest.raises(PackageRefused):
        verify_package(data, {}, installed_version=None, now=datetime.now(UTC))
    with pytest.raises(PackageUnreadable):
        read_package(data)
    with pytest.raises(DiffRefused):
        apply_diff(data, data, public_keys={}, installed_version=None, now=datetime.now(UTC))

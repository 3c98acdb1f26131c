"""Signed package manifests as the app verifies them: a round trip, any changed byte detected,
key rotation, and a replayed older, expired, or too-new-for-the-app manifest refused."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest

from sync.packages.manifest import (
    PackageRefused,
    PackageSigner,
    canonical,
    new_manifest,
    parse_keys_document,
    verify,
    verify_package,
    write_package,
)
from workbench.settings import JwtKey

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = JwtKey(kid="2025-a", seed=b"o" * 32)
NEW = JwtKey(kid="2026-b", seed=b"n" * 32)
FILES = {"index.html": b"<!doctype html><title>t</title>", "js/app.js": b"console.log(1)\n"}


def package(
    signer: PackageSigner,
    *,
    version: int = 5,
    files: dict[str, bytes] = FILES,
    issued: datetime = NOW,
    min_app: str = "2.3.0",
) -> bytes:
    manifest = new_manifest(
        app_id="h5",
        version=version,
        kind="h5",
        files=[
            {"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
            for p, d in files.items()
        ],
        min_app_version=min_app,
        issued_at=issued,
        expires_at=issued + timedelta(days=30),
    )
    _, signature = signer.sign(manifest)
    return write_package(manifest, signature, files.items())


def check(data: bytes, keys: dict[str, bytes], installed: int | None = 4, **kw: object) -> str:
    try:
        verify_package(data, keys, installed_version=installed, now=NOW, **kw)  # type: ignore[arg-type]
    except PackageRefused as refused:
        return refused.reason
    return "ok"


def test_round_trip_and_canonical_bytes() -> None:
    signer = PackageSigner([NEW])
    data = package(signer)
    manifest = verify_package(data, signer.public_keys(), installed_version=4, now=NOW)
    assert (manifest.app_id, manifest.version, manifest.key_id) == ("h5", 5, "2026-b")
    assert [f.path for f in manifest.files] == ["index.html", "js/app.js"]
    with zipfile.ZipFile(BytesIO(data)) as zf:
        raw = zf.read("manifest.json")
        assert sorted(zf.namelist()) == [
            "files/index.html", "files/js/app.js", "manifest.json", "manifest.sig",
        ]  # fmt: skip
    assert raw == canonical(json.loads(raw))
    assert b" " not in raw.replace(b"<!doctype html>", b"")
    # The key list as served parses back to the same keys.
    doc = {"keys": [{"key_id": k.key_id, "public_key": k.public_key, "alg": k.alg}
                    for k in signer.keys_document()]}  # fmt: skip
    assert parse_keys_document(doc) == signer.public_keys()


def test_one_changed_byte_anywhere_is_detected() -> None:
    signer = PackageSigner([NEW])
    keys = signer.public_keys()
    good = package(signer)
    with zipfile.ZipFile(BytesIO(good)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    for name, data in members.items():
        for at in (0, len(data) // 2, len(data) - 1):
            changed = bytearray(data)
            changed[at] ^= 0x01
            out = BytesIO()
            with zipfile.ZipFile(out, "w") as zf:
                for other, content in members.items():
                    zf.writestr(other, bytes(changed) if other == name else content)
            assert check(out.getvalue(), keys) != "ok", (name, at)
    # A file missing, or one more than listed.
    for extra, drop in ((("files/x.js", b"1"),), None), ((), "files/js/app.js"):
        out = BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for other, content in members.items():
                if other != drop:
                    zf.writestr(other, content)
            for name, content in extra:
                zf.writestr(name, content)
        assert check(out.getvalue(), keys) in ("file_extra", "file_missing")


def test_key_rotation_old_packages_still_verify_new_key_signs() -> None:
    before = PackageSigner([OLD])
    old_package = package(before, version=5)
    after = PackageSigner([NEW, OLD])  # rotated: the new key signs, the old one still verifies
    new_package = package(after, version=6)
    keys = after.public_keys()
    assert after.key_id == "2026-b"
    assert check(old_package, keys) == "ok"
    assert verify_package(new_package, keys, installed_version=5, now=NOW).key_id == "2026-b"
    # Once the old key is retired, its packages are refused; an unknown key id is refused.
    assert check(old_package, PackageSigner([NEW]).public_keys()) == "unknown_key"
    # A signature by another key under a known key id is a bad signature.
    forged = {"2025-a": PackageSigner([JwtKey("2025-a", b"x" * 32)]).public_keys()["2025-a"]}
    assert check(old_package, forged) == "bad_signature"
    # Package keys are not the token keys.
    assert PackageSigner([OLD]).public_keys()["2025-a"] != _token_public_key(OLD.seed)


def _token_public_key(seed: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_replayed_expired_and_too_new_for_the_app_refused() -> None:
    signer = PackageSigner([NEW])
    keys = signer.public_keys()
    data = package(signer, version=5)
    assert check(data, keys, installed=5) == "not_newer"  # replayed: the same version again
    assert check(data, keys, installed=7) == "not_newer"  # an older one: a rollback
    assert check(data, keys, installed=None) == "ok"  # a first install
    stale = package(signer, version=9, issued=NOW - timedelta(days=31))
    assert check(stale, keys) == "expired"
    needs_new_app = package(signer, min_app="2.10")
    assert check(needs_new_app, keys, app_version="2.9.9") == "app_too_old"
    assert check(needs_new_app, keys, app_version="2.10.0") == "ok"
    assert check(data, keys, app_id="other") == "wrong_app"
    # The manifest alone, with a signature that is not base64url: refused, never a crash.
    with zipfile.ZipFile(BytesIO(data)) as zf:
        raw = zf.read("manifest.json")
    with pytest.raises(PackageRefused) as refused:
        verify(raw, "!!not base64!!", keys, installed_version=None, now=NOW)
    assert refused.value.reason == "bad_signature"


def test_a_signed_manifest_naming_an_unsafe_path_is_refused() -> None:
    """Even signed: the app never writes outside its package folder."""
    signer = PackageSigner([NEW])
    for path in ("../escape.js", "/abs.js", "a\\b.js", "C:/x.js", "a//b.js", "a" * 1025):
        assert check(package(signer, files={path: b"1"}), signer.public_keys()) == "malformed"


def test_a_package_of_another_kind_than_expected_is_refused() -> None:
    """An H5 package signed under a media pack's app id is no media pack."""
    signer = PackageSigner([NEW])
    data = package(signer)
    assert check(data, signer.public_keys(), kind="media") == "wrong_kind"
    assert check(data, signer.public_keys(), kind="h5") == "ok"

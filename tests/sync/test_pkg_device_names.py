"""What the app does with a downloaded package or diff holding a member whose stored name has a
NUL or another control character (`files/a.js\\x00x`, which Python's zipfile reads as
`files/a.js` while the app's unzipper does not): it refuses it, as it refuses any other
tampering (`verify_package`: `malformed`; `apply_diff`: `DiffRefused`, so the app falls back to
the full package), instead of installing bytes under a name the signer never gave."""

from __future__ import annotations

import io
import zipfile

import pytest

from sync.packages.applying import DiffRefused
from sync.packages.diffs import make_diff, read_package, sha256_hex
from sync.packages.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    PackageRefused,
    canonical,
    new_manifest,
    verify_package,
)
from tests.sync.test_pkg_diffs import KEYS, NOW, SIGNER, apply, package, rewrite
from tests.sync.test_pkg_qa_fixes import with_stored_name

INDEX = b"<!doctype html><title>v2</title>"
SCRIPT = b"".join(b"const line%d = %d;\n" % (i, i) for i in range(500))


def package_zip(
    listed: dict[str, bytes], members: dict[str, bytes], manifest_as: str = MANIFEST_NAME
) -> bytes:
    """A package whose signed manifest lists `listed` and which holds `members` (whole member
    names), its manifest written under `manifest_as`."""
    manifest = new_manifest(
        app_id="h5.customer",
        version=2,
        kind="h5",
        files=[{"path": p, "size": len(d), "sha256": sha256_hex(d)} for p, d in listed.items()],
        min_app_version="2.0.0",
        issued_at=NOW,
        expires_at=NOW.replace(year=NOW.year + 1),
    )
    _, signature = SIGNER.sign(manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(manifest_as, canonical(manifest))
        zf.writestr(SIGNATURE_NAME, signature.encode("ascii"))
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def refusal(raw: bytes) -> PackageRefused:
    with pytest.raises(PackageRefused) as refused:
        verify_package(raw, KEYS, installed_version=1, now=NOW)
    return refused.value


def test_a_clean_package_of_the_same_files_is_installed() -> None:
    raw = package_zip(
        {"index.html": INDEX, "a.js": b"1"}, {"files/index.html": INDEX, "files/a.js": b"1"}
    )
    assert verify_package(raw, KEYS, installed_version=1, now=NOW).version == 2


@pytest.mark.parametrize(
    ("placeholder", "name", "listed", "members", "manifest_as"),
    [
        # Read as the signed `files/a.js`: its bytes would install under another name.
        ("files/a.jsXx", "files/a.js\x00x", {"a.js": b"1"}, {"files/a.jsXx": b"1"}, MANIFEST_NAME),
        # Read as the folder `files/css/`: skipped, so its unsigned bytes rode along unchecked.
        ("files/css/Xa.css", "files/css/\x00a.css", {}, {"files/css/Xa.css": b"x"}, MANIFEST_NAME),
        # Read as the manifest itself.
        ("manifest.jsonX", "manifest.json\x00", {}, {}, "manifest.jsonX"),
        # Any other control character is refused the same way (it was `file_extra`).
        ("files/aXb.js", "files/a\x01b.js", {}, {"files/aXb.js": b"1"}, MANIFEST_NAME),
    ],
)
def test_a_package_member_stored_with_a_control_character_is_refused(
    placeholder: str,
    name: str,
    listed: dict[str, bytes],
    members: dict[str, bytes],
    manifest_as: str,
) -> None:
    raw = package_zip(
        {"index.html": INDEX, **listed}, {"files/index.html": INDEX, **members}, manifest_as
    )
    refused = refusal(with_stored_name(raw, placeholder, name))
    assert refused.reason == "malformed"
    assert repr(name)[1:-1] in refused.detail  # the whole stored name, its control char shown


def diff_of(base: bytes) -> bytes:
    """A diff from `base` whose target patches app.js and carries new.txt whole."""
    target = {"app.js": SCRIPT.replace(b"line7 ", b"line7b "), "new.txt": b"fresh"}
    return make_diff(read_package(base), read_package(package(target, 2))).data


@pytest.mark.parametrize(
    ("member", "placeholder", "name"),
    [
        ("files/new.txt", "files/new.txtX", "files/new.txt\x00"),  # read as the full new.txt
        ("patches/app.js.bsdiff", "patches/app.js.bsdiffX", "patches/app.js.bsdiff\x00"),
        ("diff.json", "diff.jsonX", "diff.json\x00"),  # read as the diff's own document
        (None, "files/img/Xa.png", "files/img/\x00a.png"),  # one more member, never read
        (None, "files/aXb.txt", "files/a\x7fb.txt"),
    ],
)
def test_a_diff_member_stored_with_a_control_character_is_refused(
    member: str | None, placeholder: str, name: str
) -> None:
    base = package({"app.js": SCRIPT, "index.html": b"<p>v1</p>"}, 1)
    diff = diff_of(base)
    assert apply(base, diff) == {
        "app.js": SCRIPT.replace(b"line7 ", b"line7b "),
        "new.txt": b"fresh",
    }
    with zipfile.ZipFile(io.BytesIO(diff)) as archive:
        data = archive.read(member) if member else b"\x89PNG"
    renamed = rewrite(diff, {**({member: None} if member else {}), placeholder: data})
    tampered = with_stored_name(renamed, placeholder, name)
    with zipfile.ZipFile(io.BytesIO(tampered)) as archive:
        assert name.split("\x00")[0] in archive.namelist()  # zipfile's reading: cut at the NUL
    with pytest.raises(DiffRefused, match="control character") as refused:
        apply(base, tampered)
    assert repr(name)[1:-1] in refused.value.reason

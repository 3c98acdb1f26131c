"""An uploaded zip of H5 resources: a good one is read whole; every unsafe one is refused with
its reason (`package.unsafe`), before anything is stored."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import zipfile

import pytest

from sync.packages.archive import ArchiveLimits, PackageUnsafe, read_upload


def zip_of(*entries: tuple[str, bytes] | zipfile.ZipInfo, data: bytes = b"x") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry in entries:
            if isinstance(entry, zipfile.ZipInfo):
                zf.writestr(entry, data)
            else:
                zf.writestr(*entry)
    return out.getvalue()


def refused(raw: bytes, limits: ArchiveLimits | None = None) -> str:
    with pytest.raises(PackageUnsafe) as caught:
        read_upload(raw, limits)
    assert caught.value.status == 422
    assert caught.value.code == "package.unsafe"
    return caught.value.reason


def test_a_good_zip_is_read_with_sizes_and_hashes() -> None:
    files = read_upload(zip_of(("index.html", b"<p>hi</p>"), ("css/a.css", b"p{}"), ("css/", b"")))
    assert [(f.path, f.size) for f in files] == [("css/a.css", 3), ("index.html", 9)]
    assert files[1].sha256 == hashlib.sha256(b"<p>hi</p>").hexdigest()


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def test_every_unsafe_zip_is_refused() -> None:
    assert refused(b"not a zip at all") == "not_a_zip"
    assert refused(zip_of(("../evil.js", b"1"))) == "outside_root"
    assert refused(zip_of(("a/../../evil.js", b"1"))) == "outside_root"
    assert refused(zip_of(("/etc/passwd", b"1"))) == "absolute_path"
    assert refused(zip_of(("a\\..\\evil.js", b"1"))) == "bad_path"
    assert refused(zip_of(("C:/evil.js", b"1"))) == "bad_path"
    assert refused(zip_of(symlink("link"), data=b"/etc/passwd")) == "symlink"
    assert refused(zip_of(("a.js", b"1"), ("A.JS", b"2"))) == "duplicate_name"
    # "é" precomposed and decomposed: one name after Unicode NFC normalisation.
    assert refused(zip_of(("caf\u00e9.js", b"1"), ("cafe\u0301.js", b"2"))) == "duplicate_name"
    assert refused(zip_of(("a", b"1"), ("a/b.js", b"2"))) == "duplicate_name"
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile warns of it too
        assert refused(zip_of(("a.js", b"1"), ("a.js", b"1"))) == "duplicate_name"
    many = [(f"f{i}.js", b"1") for i in range(6)]
    assert refused(zip_of(*many), ArchiveLimits(max_files=5)) == "too_many_files"
    big = [("a.bin", bytes(range(256)) * 400), ("b.bin", bytes(range(256)) * 400)]
    assert refused(zip_of(*big), ArchiveLimits(max_unpacked_bytes=150_000)) == "too_large"
    # A zip bomb by ratio: 20 MB of zeros in a few kB.
    assert refused(zip_of(("zeros.bin", bytes(20_000_000)))) == "ratio"
    assert refused(zip_of()) == "empty"


def test_header_sizes_are_not_trusted() -> None:
    """A member whose header claims 10 bytes but unpacks to megabytes is stopped while read."""
    raw = bytearray(zip_of(("zeros.bin", bytes(3_000_000))))
    # Patch the uncompressed size in the local and the central headers to 10.
    size = (3_000_000).to_bytes(4, "little")
    assert raw.count(size) == 2
    raw = raw.replace(size, (10).to_bytes(4, "little"))
    assert refused(bytes(raw), ArchiveLimits(max_unpacked_bytes=1_000_000)) in (
        "too_large", "ratio", "corrupt",
    )  # fmt: skip


def test_a_nested_manifest_must_match_its_files() -> None:
    body = b"<p>hi</p>"
    entry = {"path": "index.html", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    good = json.dumps({"files": [entry]}).encode()
    files = read_upload(zip_of(("manifest.json", good), ("manifest.sig", b"s"),
                               ("files/index.html", body)))  # fmt: skip
    assert [f.path for f in files] == ["index.html"]
    lying = json.dumps({"files": [{**entry, "size": 3}]}).encode()
    assert refused(zip_of(("manifest.json", lying), ("files/index.html", body))) == (
        "manifest_mismatch"
    )
    assert refused(zip_of(("manifest.json", good), ("files/index.html", body),
                          ("files/extra.js", b"1"))) == "manifest_mismatch"  # fmt: skip


def test_every_path_the_diff_and_rollback_code_refuses_is_refused_on_upload() -> None:
    """One path rule (`manifest.path_problem`): a 5,000-character name was accepted here, and a
    later rollback to that package could not read it and silently rolled nobody forward."""
    from sync.packages.diffs import safe_path

    long_name = "a" * 5000 + ".js"
    for path in (long_name, "a:b/c.js", "x" * 1020 + "/y.js", "del\x7f.js"):
        assert refused(zip_of((path, b"1"))) == "bad_path", path[:20]
        with pytest.raises(ValueError, match="file path"):
            safe_path(path)
    nested = {"manifest.json": json.dumps({"files": [
        {"path": "a:b/c.js", "size": 1, "sha256": hashlib.sha256(b"1").hexdigest()}]}).encode(),
        "files/a:b/c.js": b"1"}  # fmt: skip
    assert refused(zip_of(*nested.items())) == "bad_path"
    kept = read_upload(zip_of(("b" * 1000 + "/c.js", b"1")))  # 1,006 characters: fine
    assert safe_path(kept[0].path) == kept[0].path

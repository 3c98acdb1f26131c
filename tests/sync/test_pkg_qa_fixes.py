"""Two defects a tester found in offline packages, as an admin and the app see them: a zip member
whose stored name holds a NUL byte (`a\\x00b.html`, which Python's zipfile reads as `a`) is refused
like any other control character (422 `package.unsafe`, `bad_path`) and stores nothing, and a
stored package holding one is no base for a diff; HEAD on a diff download answers the headers
its GET gives (Content-Length, ETag, Accept-Ranges), to the same callers, with the same 404s."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sync.packages.archive import PackageUnsafe, read_upload
from sync.packages.diffs import PackageUnreadable, offer, read_package, sha256_hex
from tests.customers_data import headers_of
from tests.sync.test_pkg_diffs import RELEASE_1, RELEASE_2, package, stored
from tests.sync.test_pkg_routes import ADMIN_PACKAGES, form, h5_zip
from tests.tasks_data import user
from workbench.media.store import LocalBlobStore

pytestmark = pytest.mark.usefixtures("demo_bank")


def with_stored_name(raw: bytes, placeholder: str, name: str) -> bytes:
    """`raw` with the member written as `placeholder` renamed to `name` (as many bytes) in its
    local header and the central directory: the name bytes a tool wrote, which no zip writer
    of Python's would."""
    old, new = placeholder.encode(), name.encode()
    assert len(old) == len(new)
    assert raw.count(old) == 2  # the local and the central header, nothing else
    return raw.replace(old, new)


def nul_zip(
    placeholder: str, name: str, others: dict[str, bytes] | None = None, data: bytes = b"<p>x</p>"
) -> bytes:
    """A zip of index.html, `others` and `data` stored under `name` (written as `placeholder`)."""
    files = {"index.html": b"<p>hi</p>", **(others or {}), placeholder: data}
    return with_stored_name(h5_zip(files), placeholder, name)


def test_the_zip_holds_the_whole_name_python_cuts_it_at_the_nul() -> None:
    raw = nul_zip("aXb.html", "a\x00b.html")
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        (info,) = [i for i in zf.infolist() if i.filename != "index.html"]
    assert (info.filename, info.orig_filename) == ("a", "a\x00b.html")


async def test_a_name_with_a_nul_is_refused_and_nothing_is_stored(
    make_client: Any, tmp_path: Path
) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    sent = await client.post(
        ADMIN_PACKAGES, files=form(nul_zip("aXb.html", "a\x00b.html")), headers=admin
    )
    assert sent.status_code == 422, sent.text
    problem = sent.json()
    assert (problem["code"], problem["reason"]) == ("package.unsafe", "bad_path")
    assert "a\\x00b.html" in problem["detail"]  # the whole name, its NUL shown, not `a`
    assert (await client.get(ADMIN_PACKAGES, headers=admin)).json()["items"] == []
    assert not (tmp_path / "blobs" / "packages").exists()
    # Refused the same way as \x01, which always was.
    one = await client.post(
        ADMIN_PACKAGES, files=form(nul_zip("aXb.html", "a\x01b.html")), headers=admin
    )
    assert (one.status_code, one.json()["reason"]) == (422, "bad_path")


@pytest.mark.parametrize(
    ("placeholder", "name", "others", "data"),
    [
        ("index.htmlX", "index.html\x00", None, b"1"),  # at the end: read as index.html
        ("X.html", "\x00.html", None, b"1"),  # at the start: read as "" (the root)
        ("css/Xa.css", "css/\x00a.css", None, b"1"),  # after a slash: read as folder `css/`
        ("fonts/Xa.ttf", "fonts/\x00a.ttf", None, b""),  # ...empty: dropped as a folder entry
        # Cut, it is another member's name but for case or Unicode normalisation: never a
        # duplicate of it, a name of its own with a NUL in it.
        ("INDEX.HTMLXjs", "INDEX.HTML\x00js", None, b"1"),
        ("cafe\u0301.jsXa", "cafe\u0301.js\x00a", {"caf\u00e9.js": b"1"}, b"1"),
    ],
)
def test_a_nul_anywhere_in_the_stored_name_is_a_bad_path(
    placeholder: str, name: str, others: dict[str, bytes] | None, data: bytes
) -> None:
    raw = nul_zip(placeholder, name, others, data)
    with pytest.raises(PackageUnsafe) as refused:
        read_upload(raw)
    assert refused.value.reason == "bad_path"
    assert repr(name)[1:-1] in str(refused.value.detail)


def test_a_stored_package_with_a_nul_in_a_name_is_no_base_for_a_diff() -> None:
    built = package({"aXb.js": b"1", "b.js": b"2"}, 1)
    raw = with_stored_name(built, "files/aXb.js", "files/a\x00b.js")
    with pytest.raises(PackageUnreadable, match="not plain"):
        read_package(raw)


async def assert_head_is_the_gets_headers(client: Any, url: str, who: dict[str, str]) -> None:
    got = await client.get(url, headers=who)
    assert got.status_code == 200, got.text
    asked = await client.head(url, headers=who)
    assert asked.status_code == 200, asked.text
    assert asked.content == b""
    assert asked.headers["content-length"] == got.headers["content-length"] == str(len(got.content))
    assert asked.headers["accept-ranges"] == "bytes"
    assert asked.headers["etag"] == got.headers["etag"] == f'"{sha256_hex(got.content)}"'
    assert asked.headers["content-type"] == got.headers["content-type"]
    # Range is for GET only: a HEAD with one still answers the whole file's headers.
    ranged = await client.head(url, headers={**who, "Range": "bytes=0-9"})
    assert (ranged.status_code, ranged.headers["content-length"]) == (200, str(len(got.content)))
    cached = await client.head(url, headers={**who, "If-None-Match": got.headers["etag"]})
    assert cached.status_code == 304


async def test_head_on_a_diff_download_answers_what_get_would_without_the_body(
    make_client: Any, db: asyncpg.Connection, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path)
    _, v1 = await stored(db, blobs, RELEASE_1, 1)
    v2_id, _ = await stored(db, blobs, RELEASE_2, 2)
    diff = await offer(db, blobs, target_package_id=v2_id, installed_sha256=sha256_hex(v1))
    assert diff is not None
    client = await make_client(blob_dir=str(tmp_path))
    rm = await headers_of(client, "rm01")
    await assert_head_is_the_gets_headers(client, diff.url, rm)
    assert (await client.head(diff.url)).status_code == 401
    missing = diff.url.replace(str(diff.id), str(uuid.uuid4()))
    assert (await client.head(missing, headers=rm)).status_code == 404


async def test_head_on_a_media_pack_diff_is_for_its_rm_only(
    make_client: Any, db: asyncpg.Connection, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path)
    _, v1 = await stored(db, blobs, RELEASE_1, 1, owner=user("rm01"))
    v2_id, _ = await stored(db, blobs, RELEASE_2, 2, owner=user("rm01"))
    diff = await offer(db, blobs, target_package_id=v2_id, installed_sha256=sha256_hex(v1))
    assert diff is not None
    client = await make_client(blob_dir=str(tmp_path))
    await assert_head_is_the_gets_headers(client, diff.url, await headers_of(client, "rm01"))
    other = await headers_of(client, "rm02")
    assert (await client.get(diff.url, headers=other)).status_code == 404
    assert (await client.head(diff.url, headers=other)).status_code == 404

"""Uploading an H5 package, as an admin and a security reviewer see it: the API goes on answering
while a package is unzipped and packed; a nested manifest.json above what a device reads, or a
folder entry holding data, is refused (`package.unsafe`) and stores nothing; every new version is
audited; a body without a `file` part names `file`; HEAD on a download answers its headers."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from litestar.testing import transport

from sync.packages import archive, store
from sync.packages.archive import PackageUnsafe, read_upload
from sync.packages.manifest import MAX_MANIFEST_BYTES
from tests.customers_data import headers_of
from tests.sync.test_pkg_routes import ADMIN_PACKAGES, form, h5_zip
from tests.tasks_data import user

pytestmark = pytest.mark.usefixtures("demo_bank")
WAIT = 10  # seconds a gated step waits for /healthz: only ever reached when the API is frozen


def nested_package(pad: int, body: bytes = b"<p>hi</p>") -> bytes:
    """A zip of a package built before (manifest.json listing files/index.html), its manifest
    padded with `pad` incompressible characters."""
    entry = {"path": "index.html", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    filler = "".join(hashlib.sha256(b"%d" % i).hexdigest() for i in range(pad // 64 + 1))[:pad]
    manifest = json.dumps({"files": [entry], "note": filler}).encode()
    return h5_zip({"manifest.json": manifest, "manifest.sig": b"s", "files/index.html": body})


async def nothing_stored(client: Any, admin: dict[str, str], tmp_path: Any) -> None:
    assert (await client.get(ADMIN_PACKAGES, headers=admin)).json()["items"] == []
    assert not (tmp_path / "blobs" / "packages").exists()


async def test_a_nested_manifest_above_what_a_device_reads_is_refused(
    make_client: Any, tmp_path: Any
) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    fits = await client.post(ADMIN_PACKAGES, files=form(nested_package(1000)), headers=admin)
    assert fits.status_code == 201, fits.text
    assert fits.json()["file_count"] == 1

    client = await make_client(blob_dir=str(tmp_path / "other"))
    huge = await client.post(
        ADMIN_PACKAGES, files=form(nested_package(MAX_MANIFEST_BYTES), app_id="h5.huge"),
        headers=admin,
    )  # fmt: skip
    assert huge.status_code == 422, huge.text
    problem = huge.json()
    assert (problem["code"], problem["reason"]) == ("package.unsafe", "too_large")
    assert "manifest.json" in problem["detail"]
    listed = await client.get(ADMIN_PACKAGES, params={"app_id": "h5.huge"}, headers=admin)
    assert listed.json()["items"] == []
    assert not (tmp_path / "other" / "packages").exists()


def test_a_huge_nested_manifest_is_refused_before_it_is_read_or_parsed() -> None:
    # Not JSON at all: refused for its size, never parsed (that would say manifest_mismatch).
    raw = h5_zip({"manifest.json": b"[" * (MAX_MANIFEST_BYTES + 1), "files/a.js": b"1"})
    with pytest.raises(PackageUnsafe) as caught:
        read_upload(raw)
    assert caught.value.reason == "too_large"
    assert "manifest.json" in str(caught.value.detail)
    # A header claiming a small manifest gets no further: read no further than that, the rest
    # of it makes the member unreadable (or, past the cap, too large), never parsed.
    big = nested_package(MAX_MANIFEST_BYTES)
    with zipfile.ZipFile(io.BytesIO(big)) as zf:
        real = zf.getinfo("manifest.json").file_size
    size = real.to_bytes(4, "little")
    assert big.count(size) == 2
    lying = big.replace(size, (1000).to_bytes(4, "little"))
    with pytest.raises(PackageUnsafe) as caught:
        read_upload(lying)
    assert caught.value.reason in ("too_large", "corrupt")
    assert "manifest.json" in str(caught.value.detail)


def folder_holding_data() -> bytes:
    """A zip whose member `abc/` holds bytes (made by renaming the member `abcd`)."""
    raw = h5_zip({"index.html": b"<p>hi</p>", "abcd": b"some data"})
    assert raw.count(b"abcd") == 2  # the local and the central header
    return raw.replace(b"abcd", b"abc/")


async def test_a_folder_entry_holding_data_is_refused(make_client: Any, tmp_path: Any) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    sent = await client.post(ADMIN_PACKAGES, files=form(folder_holding_data()), headers=admin)
    assert sent.status_code == 422, sent.text
    problem = sent.json()
    assert (problem["code"], problem["reason"]) == ("package.unsafe", "bad_path")
    assert "abc/" in problem["detail"]
    await nothing_stored(client, admin, tmp_path)
    # An empty folder entry is a folder, as ever.
    files = read_upload(h5_zip({"css/": b"", "css/a.css": b"p{}"}))
    assert [f.path for f in files] == ["css/a.css"]


async def test_the_api_answers_while_a_package_is_unzipped_and_packed(
    make_client: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unzipping (`archive.read_upload`) and packing (`write_package`) each wait, in the upload,
    until /healthz has been answered: if either ran on the API's event loop, /healthz could not
    be answered until it gave up waiting (`WAIT`), and it says so. (The test client runs the app
    on an event loop of its own; each request here is sent from a thread of its own.)"""
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    http = httpx.Client(
        base_url=str(client.base_url), transport=transport.TestClientTransport(client)
    )
    steps = ("unzip", "pack")
    entered = {step: threading.Event() for step in steps}
    healthz_answered = {step: threading.Event() for step in steps}
    saw_healthz: dict[str, bool] = {}

    def gated(step: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            entered[step].set()
            saw_healthz[step] = healthz_answered[step].wait(WAIT)
            return real(*args, **kwargs)

        return run

    monkeypatch.setattr(archive, "read_upload", gated("unzip", archive.read_upload))
    monkeypatch.setattr(store, "write_package", gated("pack", store.write_package))
    upload = asyncio.create_task(
        asyncio.to_thread(http.post, ADMIN_PACKAGES, files=form(h5_zip()), headers=admin)
    )
    for step in steps:
        assert await asyncio.to_thread(entered[step].wait, 2 * WAIT), step
        health = await asyncio.to_thread(http.get, "/healthz")
        assert health.status_code == 200
        healthz_answered[step].set()
    sent = await upload
    assert sent.status_code == 201, sent.text
    assert saw_healthz == {"unzip": True, "pack": True}  # /healthz answered during each step


async def test_every_new_version_is_audited_with_who_where_and_what(
    make_client: Any, tmp_path: Any, db: Any
) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    first = await client.post(ADMIN_PACKAGES, files=form(h5_zip()), headers=admin)
    assert first.status_code == 201, first.text
    again = await client.post(ADMIN_PACKAGES, files=form(h5_zip()), headers=admin)
    assert again.status_code == 200  # the same upload: nothing new signed, nothing audited
    second = await client.post(
        ADMIN_PACKAGES, files=form(h5_zip({"index.html": b"<p>2</p>"})), headers=admin
    )
    assert second.status_code == 201, second.text
    rows = await db.fetch(
        "select actor_id, subject, host(client_ip) as ip, detail from audit_events"
        " where action = 'offline_package.upload' order by id"
    )
    assert len(rows) == 2
    for row, sent in zip(rows, (first.json(), second.json()), strict=True):
        assert row["actor_id"] == user("admin")
        assert row["subject"] == f"offline_package:{sent['id']}"
        assert row["ip"]
        detail = row["detail"] if isinstance(row["detail"], dict) else json.loads(row["detail"])
        assert (detail["app_id"], detail["version"], detail["sha256"]) == (
            "h5.customer", sent["version"], sent["sha256"],
        )  # fmt: skip
    refused = await client.post(ADMIN_PACKAGES, files=form(folder_holding_data()), headers=admin)
    assert refused.status_code == 422
    count = "select count(*) from audit_events where action = 'offline_package.upload'"
    assert await db.fetchval(count) == 2


async def test_an_upload_without_a_file_names_file(make_client: Any, tmp_path: Any) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    fields = {"app_id": "h5.customer", "min_app_version": "2.3.0"}
    for sent in (
        await client.post(ADMIN_PACKAGES, data=fields, headers=admin),  # URL-encoded
        await client.post(
            ADMIN_PACKAGES, files=[(k, (None, v)) for k, v in fields.items()], headers=admin
        ),
    ):
        assert sent.status_code == 422, sent.text
        assert [e["path"] for e in sent.json()["errors"]] == ["$.file"]
    # The app-wide NUL check still runs first for this route.
    nul = await client.post(ADMIN_PACKAGES, files=form(h5_zip(), app_id="h5\x00x"), headers=admin)
    assert nul.status_code == 422
    assert "NUL" in nul.text
    # An RM still may not upload at all.
    rm = await headers_of(client, "rm01")
    assert (await client.post(ADMIN_PACKAGES, data=fields, headers=rm)).status_code == 403
    await nothing_stored(client, admin, tmp_path)


async def test_head_on_a_download_answers_its_headers_without_the_body(
    make_client: Any, tmp_path: Any
) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin, rm = await headers_of(client, "admin"), await headers_of(client, "rm01")
    package = (await client.post(ADMIN_PACKAGES, files=form(h5_zip()), headers=admin)).json()
    url = package["url"]
    got = await client.get(url, headers=rm)
    asked = await client.head(url, headers=rm)
    assert asked.status_code == 200, asked.text
    assert asked.content == b""
    assert asked.headers["content-length"] == str(package["size"]) == got.headers["content-length"]
    assert asked.headers["accept-ranges"] == "bytes"
    assert asked.headers["etag"] == got.headers["etag"] == f'"{package["sha256"]}"'
    assert asked.headers["content-type"] == got.headers["content-type"]
    # Range is for GET only: a HEAD with one still answers the whole file's headers.
    ranged = await client.head(url, headers={**rm, "Range": "bytes=0-9"})
    assert (ranged.status_code, ranged.headers["content-length"]) == (200, str(package["size"]))
    cached = await client.head(url, headers={**rm, "If-None-Match": got.headers["etag"]})
    assert cached.status_code == 304
    assert (await client.head(url)).status_code == 401
    missing = url.replace(package["id"], "00000000-0000-7000-8000-000000000000")
    assert (await client.head(missing, headers=rm)).status_code == 404

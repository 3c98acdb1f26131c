"""Offline packages over HTTP: an admin uploads a zip, gets a signed package of the next version;
anyone signed in downloads it whole or resumed by byte ranges (the same bytes), with its SHA-256
as ETag; an unsafe zip is refused and stores nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest

from sync.packages.archive import read_upload
from sync.packages.manifest import PackageSigner, parse_keys_document, verify_package
from sync.packages.store import store_package
from tests.customers_data import headers_of
from workbench.db import use_json_codecs
from workbench.media.store import LocalBlobStore
from workbench.settings import Settings

ADMIN_PACKAGES = "/api/v1/admin/offline-packages"
pytestmark = pytest.mark.usefixtures("demo_bank")


def h5_zip(files: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in (files or {"index.html": b"<!doctype html><p>hi</p>"}).items():
            zf.writestr(name, data)
    return out.getvalue()


def form(raw: bytes, app_id: str = "h5.customer", min_app: str = "2.3.0") -> list[Any]:
    return [
        ("file", ("h5.zip", raw, "application/zip")),
        ("app_id", (None, app_id)),
        ("min_app_version", (None, min_app)),
    ]


async def test_upload_list_and_resumed_download(make_client: Any, tmp_path: Any) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin, rm = await headers_of(client, "admin"), await headers_of(client, "rm01")
    script = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(2400))  # incompressible
    first = await client.post(ADMIN_PACKAGES, files=form(h5_zip()), headers=admin)
    assert first.status_code == 201, first.text
    second = await client.post(
        ADMIN_PACKAGES, files=form(h5_zip({"index.html": b"<p>2</p>", "js/app.js": script})),
        headers=admin,
    )  # fmt: skip
    assert second.status_code == 201, second.text
    body = second.json()
    assert (first.json()["version"], body["version"]) == (1, 2)
    assert body["file_count"] == 2
    assert body["url"].endswith(f"/{body['id']}/download")
    # RMs may not upload or list; admins list newest first.
    assert (await client.post(ADMIN_PACKAGES, files=form(h5_zip()), headers=rm)).status_code == 403
    listed = await client.get(ADMIN_PACKAGES, params={"app_id": "h5.customer"}, headers=admin)
    assert [p["version"] for p in listed.json()["items"]] == [2, 1]
    assert listed.json()["next_cursor"] is None
    # A page as every list answers: one at a time, each once, then the end.
    first_page = await client.get(ADMIN_PACKAGES, params={"limit": 1}, headers=admin)
    assert [p["version"] for p in first_page.json()["items"]] == [2]
    cursor = first_page.json()["next_cursor"]
    last_page = await client.get(ADMIN_PACKAGES, params={"limit": 1, "cursor": cursor},
                                 headers=admin)  # fmt: skip
    assert ([p["version"] for p in last_page.json()["items"]], last_page.json()["next_cursor"]) == (
        [1], None,
    )  # fmt: skip
    forged = await client.get(ADMIN_PACKAGES, params={"cursor": "zzz"}, headers=admin)
    assert (forged.status_code, forged.json()["code"]) == (400, "request.bad_cursor")
    # The earlier form, deprecated: a bare array.
    bare = await client.get(ADMIN_PACKAGES, params={"array": "true"}, headers=admin)
    assert [p["version"] for p in bare.json()] == [2, 1]

    whole = await client.get(body["url"], headers=rm)
    assert whole.status_code == 200
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"] == f'"{body["sha256"]}"'
    data = whole.content
    assert len(data) == body["size"]
    assert hashlib.sha256(data).hexdigest() == body["sha256"]
    # Interrupted after 1000 bytes, resumed from there (If-Range: still the same file).
    head = await client.get(body["url"], headers={**rm, "Range": "bytes=0-999"})
    assert head.status_code == 206
    assert head.headers["content-range"] == f"bytes 0-999/{len(data)}"
    rest = await client.get(
        body["url"], headers={**rm, "Range": "bytes=1000-", "If-Range": whole.headers["etag"]}
    )
    assert rest.status_code == 206
    assert head.content + rest.content == data
    # A stale If-Range gets the whole file; a range past the end 416; the known ETag 304.
    stale = await client.get(body["url"], headers={**rm, "Range": "bytes=5-", "If-Range": '"x"'})
    assert stale.status_code == 200
    assert stale.content == data
    past = await client.get(body["url"], headers={**rm, "Range": f"bytes={len(data)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(data)}"
    cached = await client.get(body["url"], headers={**rm, "If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304
    assert cached.content == b""

    # The device verifies it with the published keys, exactly as `verify-package` does.
    keys = await client.get("/api/v1/offline-packages/keys")
    assert keys.status_code == 200
    manifest = verify_package(
        data, parse_keys_document(keys.content), installed_version=1, now=datetime.now(UTC),
        app_version="2.3.0", app_id="h5.customer",
    )  # fmt: skip
    assert [(f.path, f.size) for f in manifest.files] == [("index.html", 8), ("js/app.js", 76800)]

    missing = await client.get(f"/api/v1/offline-packages/{uuid.uuid4()}/download", headers=rm)
    assert missing.status_code == 404
    assert (await client.get(body["url"])).status_code == 401


async def test_an_unsafe_zip_is_refused_and_stores_nothing(make_client: Any, tmp_path: Any) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    for raw, reason in ((h5_zip({"../evil.js": b"1"}), "outside_root"),
                        (h5_zip({"zeros": bytes(5_000_000)}), "ratio"),
                        (b"PK no zip", "not_a_zip")):  # fmt: skip
        response = await client.post(ADMIN_PACKAGES, files=form(raw), headers=admin)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert (problem["code"], problem["reason"]) == ("package.unsafe", reason)
    bad_app = await client.post(ADMIN_PACKAGES, files=form(h5_zip(), app_id="H5 !"), headers=admin)
    assert bad_app.status_code in (400, 422)
    listed = await client.get(ADMIN_PACKAGES, headers=admin)
    assert listed.json()["items"] == []
    assert not (tmp_path / "blobs" / "packages").exists()


async def test_a_media_pack_downloads_for_its_rm_only(
    make_client: Any, tmp_path: Any, settings: Settings, db: Any
) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    rm01, rm02 = await headers_of(client, "rm01"), await headers_of(client, "rm02")
    owner = await db.fetchval("select id from users where login = 'rm01'")
    await use_json_codecs(db)  # as every pooled connection (the worker's too) has
    async with db.transaction():
        row = await store_package(
            db, LocalBlobStore(tmp_path / "blobs"), PackageSigner(settings.jwt_keys),
            app_id="media", kind="media", files=read_upload(h5_zip({"p1.webp": b"RIFF"})),
            min_app_version="1.0", now=datetime.now(UTC), owner_id=owner,
        )  # fmt: skip
    url = f"/api/v1/offline-packages/{row['id']}/download"
    assert (await client.get(url, headers=rm01)).status_code == 200
    assert (await client.get(url, headers=rm02)).status_code == 404


async def test_the_media_pack_app_ids_are_not_for_h5_uploads(
    make_client: Any, tmp_path: Any
) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    for app_id in ("media-phone", "media-tablet"):
        sent = await client.post(ADMIN_PACKAGES, files=form(h5_zip(), app_id=app_id), headers=admin)
        assert sent.status_code == 422, sent.text
        assert "reserved for the brochure media packs" in sent.text
    assert (await client.get(ADMIN_PACKAGES, headers=admin)).json()["items"] == []


async def test_the_same_upload_again_makes_no_new_version(
    make_client: Any, tmp_path: Any, db: Any
) -> None:
    # Five uploads of one zip at once (a double click, a retry after a lost answer) made
    # versions 1 to 5 of identical content, each releasable on its own.
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    raw = h5_zip()
    answers = await asyncio.gather(
        *(client.post(ADMIN_PACKAGES, files=form(raw), headers=admin) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201], answers
    assert len({a.text for a in answers}) == 1  # the same package, the same body
    assert answers[0].json()["version"] == 1
    again = await client.post(ADMIN_PACKAGES, files=form(raw), headers=admin)
    assert (again.status_code, again.json()) == (200, answers[0].json())
    listed = await client.get(ADMIN_PACKAGES, params={"app_id": "h5.customer"}, headers=admin)
    assert [p["version"] for p in listed.json()["items"]] == [1]
    assert len(list((tmp_path / "blobs" / "packages").iterdir())) == 1

    # Another minimum app version or lifetime is another package; so are the files of an
    # older version: publishing them again is how a rollback by upload is made.
    newer = await client.post(ADMIN_PACKAGES, files=form(raw, min_app="2.4.0"), headers=admin)
    assert (newer.status_code, newer.json()["version"]) == (201, 2)
    other = await client.post(
        ADMIN_PACKAGES, files=[*form(raw, min_app="2.4.0"), ("expires_days", (None, "30"))],
        headers=admin,
    )  # fmt: skip
    assert (other.status_code, other.json()["version"]) == (201, 3)
    changed = await client.post(
        ADMIN_PACKAGES, files=form(h5_zip({"index.html": b"<p>2</p>"})), headers=admin
    )
    assert (changed.status_code, changed.json()["version"]) == (201, 4)
    back = await client.post(ADMIN_PACKAGES, files=form(raw), headers=admin)
    assert (back.status_code, back.json()["version"]) == (201, 5)
    again = await client.post(ADMIN_PACKAGES, files=form(raw), headers=admin)
    assert (again.status_code, again.json()["id"]) == (200, back.json()["id"])
    # Another app id is never answered this one's package.
    elsewhere = await client.post(ADMIN_PACKAGES, files=form(raw, app_id="h5.other"), headers=admin)
    assert (elsewhere.status_code, elsewhere.json()["version"]) == (201, 1)
    assert await db.fetchval("select count(*) from offline_packages") == 6


async def test_an_expired_latest_version_is_not_answered_again(
    make_client: Any, tmp_path: Any, db: Any
) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin = await headers_of(client, "admin")
    first = await client.post(ADMIN_PACKAGES, files=form(h5_zip()), headers=admin)
    assert first.status_code == 201, first.text
    await db.execute(
        "update offline_packages set issued_at = issued_at - interval '200 days',"
        " expires_at = expires_at - interval '200 days'"
    )
    renewed = await client.post(ADMIN_PACKAGES, files=form(h5_zip()), headers=admin)
    assert (renewed.status_code, renewed.json()["version"]) == (201, 2)

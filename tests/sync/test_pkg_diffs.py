"""Diff packages: a diff applied to its base gives exactly the target package's files; a diff
for another base, a tampered patch or file, or a forged manifest is refused (the app then takes
the full package)."""

from __future__ import annotations

import asyncio
import io
import json
import random
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.packages.applying import DiffRefused, apply_diff
from sync.packages.diffs import Diff, PackageFiles, make_diff, offer, read_package, sha256_hex
from sync.packages.manifest import (
    PackageSigner,
    new_manifest,
    parse_keys_document,
    write_package,
)
from tests.customers_data import headers_of
from tests.tasks_data import user
from workbench.media.store import BlobStoreUnavailable, LocalBlobStore
from workbench.settings import JwtKey, Settings

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SIGNER = PackageSigner([JwtKey(kid="pkg-test", seed=bytes(range(32)))])
KEYS = SIGNER.public_keys()


def package(files: dict[str, bytes], version: int, signer: PackageSigner = SIGNER) -> bytes:
    manifest = new_manifest(
        app_id="h5.customer",
        version=version,
        kind="h5",
        files=[{"path": p, "size": len(d), "sha256": sha256_hex(d)} for p, d in files.items()],
        min_app_version="2.0.0",
        issued_at=NOW - timedelta(hours=1),
        expires_at=NOW + timedelta(days=30),
    )
    _, signature = signer.sign(manifest)
    return write_package(manifest, signature, sorted(files.items()))


def apply(base: bytes | PackageFiles, diff: bytes, installed: int | None = 1) -> dict[str, bytes]:
    return apply_diff(base, diff, public_keys=KEYS, installed_version=installed, now=NOW)


def rewrite(diff: bytes, change: dict[str, bytes | None]) -> bytes:
    """The diff zip with some members replaced (None: removed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(diff)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in change:
                data = change[info.filename]
                if data is not None:
                    dst.writestr(info.filename, data)
            else:
                dst.writestr(info, src.read(info))
        for name, data in change.items():
            if data is not None and name not in src.namelist():
                dst.writestr(name, data)
    return out.getvalue()


def diff_json(diff: bytes) -> dict[str, object]:
    with zipfile.ZipFile(io.BytesIO(diff)) as archive:
        document: dict[str, object] = json.loads(archive.read("diff.json"))
        return document


PAGE = (
    "<!doctype html><html lang='zh-CN'><head><title>产品手册</title></head><body>"
    + "".join(
        f"<section id='p{i}'><h2>第 {i} 页</h2><p>理财产品说明 {i}</p></section>" for i in range(80)
    )
    + "</body></html>"
).encode()

_names = st.sampled_from(
    ["index.html", "app.js", "css/site.css", "img/logo.png", "a/b/c.txt", "数据.json"]
)
_text = st.text(alphabet="abcdefghij <>/=;{}\n中文", min_size=0, max_size=300).map(str.encode)
_binary = st.binary(min_size=0, max_size=300)
_tree = st.dictionaries(_names, st.one_of(_text, _binary), max_size=6)


@st.composite
def _edits(draw: st.DrawFn, old: bytes) -> bytes:
    data = bytearray(old)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=0, max_size=8))
        if data and draw(st.booleans()):
            del data[draw(st.integers(0, len(data) - 1))]
    return bytes(data)


@st.composite
def _releases(draw: st.DrawFn) -> tuple[dict[str, bytes], dict[str, bytes]]:
    base = draw(_tree)
    if draw(st.booleans()):
        base["page.html"] = PAGE
    target: dict[str, bytes] = {}
    for path, data in base.items():
        fate = draw(st.sampled_from(["keep", "edit", "delete", "replace"]))
        if fate == "keep":
            target[path] = data
        elif fate == "edit":
            target[path] = draw(_edits(data))
        elif fate == "replace":
            target[path] = draw(st.one_of(_text, _binary))
    for path, data in draw(_tree).items():
        target.setdefault("new/" + path, data)
    return base, target


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_releases())
def test_a_diff_applied_to_its_base_gives_exactly_the_target_files(
    release: tuple[dict[str, bytes], dict[str, bytes]],
) -> None:
    base_files, target_files = release
    base, target = package(base_files, 1), package(target_files, 2)
    diff = make_diff(read_package(base), read_package(target))

    assert apply(base, diff.data) == target_files
    document = diff_json(diff.data)
    assert document["base_sha256"] == sha256_hex(base)
    assert document["target_sha256"] == sha256_hex(target)
    # Unchanged files are not carried; deleted ones are listed.
    carried = {entry["path"] for entry in document["changed"]}  # type: ignore[attr-defined]
    assert carried == {p for p, d in target_files.items() if base_files.get(p) != d}
    assert document["deleted"] == sorted(set(base_files) - set(target_files))


def test_a_small_edit_to_a_page_travels_as_a_patch_much_smaller_than_the_package() -> None:
    script = b"".join(b"function f%d(x) { return x * %d; }\n" % (i, i) for i in range(2000))
    base = package({"page.html": PAGE, "app.js": script, "logo.bin": bytes(range(256)) * 40}, 1)
    edited = {
        "page.html": PAGE.replace("第 7 页".encode(), "第七页".encode()),
        "app.js": script.replace(b"f100(x)", b"f100(y)"),
        "logo.bin": bytes(range(256)) * 40,
    }
    target = package(edited, 2)
    diff = make_diff(read_package(base), read_package(target))

    modes = {e["path"]: e["mode"] for e in diff_json(diff.data)["changed"]}  # type: ignore[attr-defined]
    assert modes == {"app.js": "bsdiff", "page.html": "bsdiff"}
    assert diff.size < 0.2 * len(target)
    assert apply(base, diff.data) == edited
    # The same two packages always give the same diff bytes (one blob, whoever builds it).
    assert make_diff(read_package(base), read_package(target)).sha256 == diff.sha256


def test_a_replaced_binary_travels_whole_and_an_edited_one_as_a_patch() -> None:
    photo, rendition = random.Random(1).randbytes(64_000), random.Random(2).randbytes(64_000)
    base = package({"photo.webp": photo, "rendition.webp": rendition}, 1)
    edited = {"photo.webp": photo[:30_000] + b"EXIF" + photo[30_000:], "rendition.webp": PAGE * 9}
    diff = make_diff(read_package(base), read_package(package(edited, 2)))

    modes = {e["path"]: e["mode"] for e in diff_json(diff.data)["changed"]}  # type: ignore[attr-defined]
    assert modes == {"photo.webp": "bsdiff", "rendition.webp": "full"}
    assert apply(base, diff.data) == edited


def test_a_diff_for_another_base_is_refused() -> None:
    base = package({"index.html": b"<p>v1</p>", "app.js": b"let a = 1;"}, 1)
    other = package({"index.html": b"<p>v1</p>", "app.js": b"let a = 2;"}, 1)  # same version
    target = package({"index.html": b"<p>v2</p>", "app.js": b"let a = 1;"}, 2)
    diff = make_diff(read_package(base), read_package(target))

    with pytest.raises(DiffRefused, match="another base"):
        apply(other, diff.data)


def test_a_tampered_file_patch_or_manifest_is_refused() -> None:
    script = b"".join(b"const line%d = %d;\n" % (i, i) for i in range(500))
    base_files = {"app.js": script, "index.html": b"<p>v1</p>"}
    target_files = {"app.js": script.replace(b"line7 ", b"line7b "), "new.txt": b"fresh"}
    base = package(base_files, 1)
    diff = make_diff(read_package(base), read_package(package(target_files, 2))).data
    with zipfile.ZipFile(io.BytesIO(diff)) as archive:
        patch = archive.read("patches/app.js.bsdiff")
    assert apply(base, diff) == target_files

    middle = len(patch) // 2
    tampered_patch = patch[:middle] + bytes([patch[middle] ^ 1]) + patch[middle + 1 :]
    with pytest.raises(DiffRefused):
        apply(base, rewrite(diff, {"patches/app.js.bsdiff": tampered_patch}))
    with pytest.raises(DiffRefused, match="does not match"):
        apply(base, rewrite(diff, {"files/new.txt": b"fresH"}))
    with pytest.raises(DiffRefused, match="lacks"):
        apply(base, rewrite(diff, {"files/new.txt": None}))

    document = diff_json(diff)
    signed = str(document["target_manifest"])
    assert '"version":2' in signed
    forged = dict(document, target_manifest=signed.replace('"version":2', '"version":3'))
    with pytest.raises(DiffRefused, match="refused"):
        apply(base, rewrite(diff, {"diff.json": json.dumps(forged).encode()}))
    # Signed by a key the device does not know.
    stranger = PackageSigner([JwtKey(kid="pkg-test", seed=bytes(32))])
    foreign = make_diff(read_package(base), read_package(package(target_files, 2, stranger)))
    with pytest.raises(DiffRefused, match="refused"):
        apply(base, foreign.data)
    # A replayed diff to a version the device already has.
    with pytest.raises(DiffRefused, match="refused"):
        apply(base, diff, installed=2)
    # A path leaving the root, even with a valid manifest around it.
    escaping = dict(document, deleted=["../../etc/passwd"])
    with pytest.raises(DiffRefused, match="outside"):
        apply(base, rewrite(diff, {"diff.json": json.dumps(escaping).encode()}))
    with pytest.raises(DiffRefused):
        apply(base, b"not a zip")


# ---- offered to a device: only for a known base, only when meaningfully smaller -----------------


async def stored(
    db: asyncpg.Connection,
    blobs: LocalBlobStore,
    files: dict[str, bytes],
    version: int,
    owner: uuid.UUID | None = None,
) -> tuple[uuid.UUID, bytes]:
    """A stored package (its file in the blob store, its row), as publishing leaves it: an H5
    package, or with `owner` an RM's media pack."""
    data = package(files, version)
    sha256 = sha256_hex(data)
    await blobs.put(f"packages/{sha256}.zip", data, content_type="application/zip")
    package_id = uuid.uuid4()
    manifest = json.loads(read_package(data).manifest_bytes)
    await db.execute(
        """
        insert into offline_packages (id, app_id, version, kind, sha256, size, blob_key, manifest,
                                      signature, key_id, min_app_version, issued_at, expires_at,
                                      owner_id)
        values ($1, $2, $3, case when $12::uuid is null then 'h5' else 'media' end, $4, $5, $6,
                $7::jsonb, $8, $9, '2.0.0', $10, $11, $12)
        """,
        package_id,
        manifest["app_id"],
        version,
        sha256,
        len(data),
        f"packages/{sha256}.zip",
        json.dumps(manifest),
        read_package(data).signature,
        manifest["key_id"],
        NOW - timedelta(hours=1),
        NOW + timedelta(days=30),
        owner,
    )
    return package_id, data


SCRIPT = b"".join(
    b"export function rate%d(v) { return v * 1.0%d; }\n" % (i, i) for i in range(3000)
)
RELEASE_1 = {"brochure.html": PAGE, "brochure.js": SCRIPT, "logo.png": bytes(range(256)) * 64}
RELEASE_2 = dict(RELEASE_1, **{"brochure.js": SCRIPT.replace(b"rate42(v)", b"rate42(value)")})


async def test_a_device_on_a_known_base_is_offered_a_small_diff_built_once(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path)
    _, v1 = await stored(db, blobs, RELEASE_1, 1)
    v2_id, v2 = await stored(db, blobs, RELEASE_2, 2)
    other = await asyncpg.connect(settings.database_url)
    try:
        # Two API instances asked at once: one diff, one row, the same answer.
        first, second = await asyncio.gather(
            offer(db, blobs, target_package_id=v2_id, installed_sha256=sha256_hex(v1)),
            offer(other, blobs, target_package_id=v2_id, installed_sha256=sha256_hex(v1)),
        )
    finally:
        await other.close()
    assert first is not None
    assert second == first
    assert await db.fetchval("select count(*) from offline_package_diffs") == 1
    assert first.size < 0.2 * len(v2)
    assert first.url == f"/api/v1/offline-packages/diffs/{first.id}/download"

    downloaded = b"".join([chunk async for chunk in blobs.read(first.blob_key)])
    assert sha256_hex(downloaded) == first.sha256
    assert apply(v1, downloaded) == RELEASE_2
    # Asked again: the stored diff, nothing rebuilt.
    again = await offer(db, blobs, target_package_id=v2_id, installed_sha256=sha256_hex(v1))
    assert again == first


async def test_no_diff_for_an_unknown_or_foreign_base_or_when_not_smaller(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path)
    v1_id, v1 = await stored(db, blobs, RELEASE_1, 1)
    v2_id, v2 = await stored(db, blobs, RELEASE_2, 2)
    unknown = package(dict(RELEASE_1, extra=b"sideloaded"), 1)

    async def offered(target: uuid.UUID, installed: str | None) -> Diff | None:
        return await offer(db, blobs, target_package_id=target, installed_sha256=installed)

    assert await offered(v2_id, sha256_hex(unknown)) is None  # a base the server never issued
    assert await offered(v2_id, None) is None
    assert await offered(v2_id, "not a hash") is None
    assert await offered(v2_id, sha256_hex(v2)) is None  # already there
    assert await offered(v1_id, sha256_hex(v2)) is None  # a "base" newer than the target
    # The diff built against v1, offered to a device that holds another file: it never applies.
    diff = await offered(v2_id, sha256_hex(v1))
    assert diff is not None
    data = b"".join([chunk async for chunk in blobs.read(diff.blob_key)])
    with pytest.raises(DiffRefused, match="another base"):
        apply(unknown, data)

    # Every file replaced: the diff is about as large as the package, so none is offered.
    rewritten = {p: random.Random(p).randbytes(len(d)) for p, d in RELEASE_2.items()}
    v3_id, _ = await stored(db, blobs, rewritten, 3)
    assert await offered(v3_id, sha256_hex(v2)) is None
    # ...and remembered, so it is not built again on every request.
    assert (
        await db.fetchval(
            "select count(*) from offline_package_diffs where to_package_id = $1", v3_id
        )
        == 1
    )


class SilentStore(LocalBlobStore):
    """A blob store that stops answering (an object store outage)."""

    def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        raise BlobStoreUnavailable("no answer")


async def test_no_diff_while_the_blob_store_does_not_answer(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path)
    _, v1 = await stored(db, blobs, RELEASE_1, 1)
    v2_id, _ = await stored(db, blobs, RELEASE_2, 2)
    silent = SilentStore(tmp_path)
    assert await offer(db, silent, target_package_id=v2_id, installed_sha256=sha256_hex(v1)) is None
    assert await db.fetchval("select count(*) from offline_package_diffs") == 0
    # Once it answers again, the diff is built and offered.
    assert await offer(db, blobs, target_package_id=v2_id, installed_sha256=sha256_hex(v1))


@pytest.mark.usefixtures("demo_bank")
async def test_rms_with_the_same_media_pack_share_one_diff_file_and_only_their_own_base_counts(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path)
    mine, theirs = user("rm01"), user("rm02")
    _, v1 = await stored(db, blobs, RELEASE_1, 1, owner=mine)
    mine_v2, _ = await stored(db, blobs, RELEASE_2, 2, owner=mine)
    await stored(db, blobs, RELEASE_1, 1, owner=theirs)
    theirs_v2, _ = await stored(db, blobs, RELEASE_2, 2, owner=theirs)

    for_me = await offer(db, blobs, target_package_id=mine_v2, installed_sha256=sha256_hex(v1))
    for_them = await offer(db, blobs, target_package_id=theirs_v2, installed_sha256=sha256_hex(v1))
    assert for_me is not None
    assert for_them is not None
    assert for_them.id != for_me.id  # each RM downloads through a row of their own pack
    assert for_them.blob_key == for_me.blob_key
    assert len(list((tmp_path / "package-diffs").iterdir())) == 1
    # An H5 package with the same files is no base for anyone's media pack.
    h5_v1, _ = await stored(db, blobs, dict(RELEASE_1, note=b"h5"), 1)
    h5_sha = await db.fetchval("select sha256 from offline_packages where id = $1", h5_v1)
    assert await offer(db, blobs, target_package_id=mine_v2, installed_sha256=h5_sha) is None


_DAMAGE_BASE = {"app.js": SCRIPT, "index.html": PAGE, "gone.txt": b"old"}
_DAMAGE_TARGET = {"app.js": SCRIPT.replace(b"rate9(v)", b"rate9(w)"), "index.html": PAGE, "n": b"1"}
_DAMAGE_PKG = package(_DAMAGE_BASE, 1)
_DAMAGE_DIFF = make_diff(read_package(_DAMAGE_PKG), read_package(package(_DAMAGE_TARGET, 2))).data


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_DAMAGE_DIFF) - 1), st.integers(1, 255)), min_size=1))
def test_a_damaged_diff_is_refused_or_gives_exactly_the_target(
    damage: list[tuple[int, int]],
) -> None:
    data = bytearray(_DAMAGE_DIFF)
    for at, flip in damage:
        data[at] ^= flip
    try:
        files = apply(_DAMAGE_PKG, bytes(data))
    except DiffRefused:
        return
    assert files == _DAMAGE_TARGET  # a byte the app never reads (zip comments, padding bits)


def h5_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.usefixtures("demo_bank")
async def test_the_app_gets_a_diff_from_latest_resumes_its_download_and_rebuilds_the_release(
    make_client: Any, tmp_path: Path
) -> None:
    client = await make_client(blob_dir=str(tmp_path / "blobs"))
    admin, rm = await headers_of(client, "admin"), await headers_of(client, "rm01")
    ids = []
    for release in (RELEASE_1, RELEASE_2):
        made = await client.post(
            "/api/v1/admin/offline-packages",
            files=[
                ("file", ("h5.zip", h5_zip(release), "application/zip")),
                ("app_id", (None, "h5.customer")),
                ("min_app_version", (None, "2.0.0")),
            ],
            headers=admin,
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
        released = await client.post(
            f"/api/v1/admin/offline-packages/{ids[-1]}/release",
            json={"percent": 100},
            headers=admin,
        )
        assert released.status_code == 200, released.text
    v1 = (await client.get(f"/api/v1/offline-packages/{ids[0]}/download", headers=rm)).content
    keys = parse_keys_document((await client.get("/api/v1/offline-packages/keys")).content)

    latest = await client.get(
        "/api/v1/offline-packages/latest",
        params={"app": "h5.customer", "current": sha256_hex(v1)},
        headers=rm,
    )
    answer = latest.json()
    assert answer["version"] == 2
    assert answer["diff_size"] < 0.2 * answer["size"]
    # Interrupted after 100 bytes, resumed from there: the same file as one whole download.
    url = answer["diff_url"]
    head = await client.get(url, headers={**rm, "Range": "bytes=0-99"})
    assert head.status_code == 206
    rest = await client.get(
        url, headers={**rm, "Range": "bytes=100-", "If-Range": head.headers["etag"]}
    )
    assert rest.status_code == 206
    diff = head.content + rest.content
    assert sha256_hex(diff) == answer["diff_sha256"]
    assert head.headers["etag"] == f'"{answer["diff_sha256"]}"'
    unchanged = await client.get(url, headers={**rm, "If-None-Match": head.headers["etag"]})
    assert unchanged.status_code == 304

    rebuilt = apply_diff(v1, diff, public_keys=keys, installed_version=1, now=datetime.now(UTC))
    assert rebuilt == RELEASE_2
    # A device that holds a package the server never issued is offered no diff.
    stranger = await client.get(
        "/api/v1/offline-packages/latest",
        params={"app": "h5.customer", "current": "0" * 64},
        headers=rm,
    )
    assert stranger.json().get("diff_url") is None
    missing = await client.get(
        f"/api/v1/offline-packages/diffs/{uuid.uuid4()}/download", headers=rm
    )
    assert missing.status_code == 404

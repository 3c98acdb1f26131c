"""The blob store contract, run against the local folder store and a real S3 server alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench.media.store import BlobNotFound, BlobStore, InvalidKey, LocalBlobStore

DATA = bytes(range(256)) * 2000  # 512,000 bytes: several chunks


async def read_all(store: BlobStore, key: str, **span: int) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, **span)])


async def test_put_then_stat_and_read_it_back(store):
    info = await store.put("brochures/src/abc.jpeg", DATA, content_type="image/jpeg")
    assert (info.key, info.size, info.content_type) == (
        "brochures/src/abc.jpeg",
        len(DATA),
        "image/jpeg",
    )
    assert info.etag

    assert await store.stat("brochures/src/abc.jpeg") == info
    assert await read_all(store, "brochures/src/abc.jpeg") == DATA


async def test_reads_byte_ranges_inclusive_and_in_chunks(store):
    await store.put("a/b.bin", DATA, content_type="application/octet-stream")

    assert await read_all(store, "a/b.bin", start=0, end=0) == DATA[:1]
    assert await read_all(store, "a/b.bin", start=10, end=19) == DATA[10:20]
    assert await read_all(store, "a/b.bin", start=300_000) == DATA[300_000:]
    assert await read_all(store, "a/b.bin", start=len(DATA) - 1, end=len(DATA) + 50) == DATA[-1:]
    chunks = [chunk async for chunk in store.read("a/b.bin")]
    assert len(chunks) > 1  # streamed, not one buffer
    assert b"".join(chunks) == DATA


async def test_missing_keys(store):
    assert await store.stat("nothing/here.webp") is None
    with pytest.raises(BlobNotFound):
        await read_all(store, "nothing/here.webp")
    await store.delete("nothing/here.webp")  # nothing to do, no error


async def test_overwrite_replaces_content_and_changes_the_etag(store):
    first = await store.put("k/v.png", b"first version", content_type="image/png")
    second = await store.put("k/v.png", b"the second, longer version", content_type="image/webp")

    assert second.etag != first.etag
    assert await store.stat("k/v.png") == second
    assert (await store.stat("k/v.png")).content_type == "image/webp"
    assert await read_all(store, "k/v.png") == b"the second, longer version"


async def test_same_size_different_content_has_a_different_etag(store):
    first = await store.put("k/same.bin", b"A" * 100, content_type="application/octet-stream")
    second = await store.put("k/same.bin", b"B" * 100, content_type="application/octet-stream")
    assert first.size == second.size
    assert first.etag != second.etag


async def test_delete_removes_the_blob(store):
    await store.put("gone/soon.jpeg", b"bytes", content_type="image/jpeg")
    await store.delete("gone/soon.jpeg")
    assert await store.stat("gone/soon.jpeg") is None
    with pytest.raises(BlobNotFound):
        await read_all(store, "gone/soon.jpeg")


async def test_empty_blob(store):
    info = await store.put("e/empty", b"", content_type="text/plain")
    assert info.size == 0
    assert await read_all(store, "e/empty") == b""


ESCAPING = [
    "../outside",
    "a/../../outside",
    "a/./b",
    "/etc/passwd",
    "a//b",
    "a\\..\\b",
    ".hidden/x",
    "a/.meta",
    "",
    "a/b/",
    "x\x00y",
    "ünïcode",
    "a" * 600,
]


@pytest.mark.parametrize("key", ESCAPING)
async def test_keys_that_could_escape_the_root_are_refused(store, key):
    with pytest.raises(InvalidKey):
        await store.put(key, b"x", content_type="text/plain")
    with pytest.raises(InvalidKey):
        await store.stat(key)
    with pytest.raises(InvalidKey):
        await read_all(store, key)
    with pytest.raises(InvalidKey):
        await store.delete(key)


async def test_local_store_writes_nothing_outside_its_folder(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "root")
    for key in ESCAPING:
        with pytest.raises(InvalidKey):
            await store.put(key, b"x", content_type="text/plain")
    assert not (tmp_path / "outside").exists()
    assert not (tmp_path / "root").exists() or not any((tmp_path / "root").rglob("*"))


async def test_local_store_refuses_a_symlink_out_of_its_folder(tmp_path: Path):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, root / "link")
    store = LocalBlobStore(root)
    with pytest.raises(InvalidKey):
        await store.put("link/file", b"x", content_type="text/plain")
    assert list(elsewhere.iterdir()) == []


async def test_local_store_leaves_only_whole_files(tmp_path: Path):
    """Writes go through a temporary file renamed into place: no temporary file is left, and
    the blob is an ordinary file with exactly the bytes put."""
    store = LocalBlobStore(tmp_path / "root")
    await store.put("x/y.bin", DATA, content_type="application/octet-stream")
    await store.put("x/y.bin", DATA[:10], content_type="application/octet-stream")
    assert (tmp_path / "root" / "x" / "y.bin").read_bytes() == DATA[:10]
    assert sorted(p.name for p in (tmp_path / "root" / "x").iterdir()) == ["y.bin"]

"""Export files in the blob store, as parts of at most PART_BYTES each.

The blob store takes a blob as bytes at once (`BlobStore.put`); an export can be hundreds of
megabytes, so its file is stored in parts (`exports/<id>/part-00000`, ...) read one at a time
from the temporary file, and served by streaming the parts in order. Memory stays at one part
whatever the file's size, on any store (local folder or S3). Storing again under the same id
replaces the same keys: a re-run export leaves one file, never two.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from workbench.media.store import BlobStore

PART_BYTES = 8 * 1024 * 1024


def prefix(export_id: uuid.UUID) -> str:
    return f"exports/{export_id.hex}"


def part_key(file_key: str, number: int) -> str:
    return f"{file_key}/part-{number:05d}"


async def store(
    blobs: BlobStore,
    export_id: uuid.UUID,
    path: str,
    *,
    content_type: str,
    on_part: Callable[[], Awaitable[None]] | None = None,
) -> tuple[str, int, int]:
    """Put the file at `path` into the store in parts: (file key, parts, size in bytes);
    `on_part()` after each part (the worker renews its claim)."""
    key = prefix(export_id)
    parts = size = 0
    with open(path, "rb") as file:  # noqa: ASYNC230 - a local temporary file, read part by part
        while True:
            data = await asyncio.to_thread(file.read, PART_BYTES)
            if not data and parts:
                break
            await blobs.put(part_key(key, parts), data, content_type=content_type)
            parts += 1
            size += len(data)
            if on_part is not None:
                await on_part()
            if len(data) < PART_BYTES:
                break
    stale = parts  # parts an earlier, longer attempt left behind
    while await blobs.stat(part_key(key, stale)) is not None:
        await blobs.delete(part_key(key, stale))
        stale += 1
    return key, parts, size


async def read(blobs: BlobStore, file_key: str, parts: int) -> AsyncIterator[bytes]:
    """The stored file's bytes, part after part, in the store's chunks."""
    for number in range(parts):
        async for chunk in blobs.read(part_key(file_key, number)):
            yield chunk


async def delete(blobs: BlobStore, file_key: str, parts: int) -> None:
    """Remove every part of a stored file (missing parts are fine)."""
    for number in range(parts):
        await blobs.delete(part_key(file_key, number))

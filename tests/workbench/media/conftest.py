"""Blob stores for the media tests: a folder, and a real S3 server on 127.0.0.1 (moto, in memory;
no network needed), each test with a bucket of its own."""

from __future__ import annotations

import io
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from workbench.media.store import BlobStore, LocalBlobStore, S3BlobStore

ACCESS_KEY, SECRET_KEY, REGION = "wbtest", "wbtest-secret", "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # host:port


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(endpoint=f"127.0.0.1:{port}")
    finally:
        server.stop()


async def new_bucket(server: S3Server) -> str:
    from miniopy_async.api import Minio

    bucket = f"wbtest-{uuid.uuid4().hex[:12]}"
    client: Any = Minio(
        server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False, region=REGION
    )
    try:
        await client.make_bucket(bucket)
    finally:
        await client.close_session()
    return bucket


@pytest.fixture(params=["local", "s3"])
async def store_kind(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Settings overrides that select each blob store in turn (for apps and workers)."""
    if request.param == "local":
        return {"blob_store": "local", "blob_dir": str(tmp_path / "blobs")}
    server: S3Server = request.getfixturevalue("s3_server")
    return {
        "blob_store": "s3",
        "s3_endpoint": server.endpoint,
        "s3_bucket": await new_bucket(server),
        "s3_access_key": ACCESS_KEY,
        "s3_secret_key": SECRET_KEY,
        "s3_region": REGION,
        "s3_secure": False,
    }


@pytest.fixture
async def store(store_kind: dict[str, Any]) -> AsyncIterator[BlobStore]:
    """Each blob store in turn, empty."""
    blobs: BlobStore
    if store_kind["blob_store"] == "local":
        blobs = LocalBlobStore(store_kind["blob_dir"])
    else:
        blobs = S3BlobStore(
            endpoint=store_kind["s3_endpoint"],
            bucket=store_kind["s3_bucket"],
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region=REGION,
            secure=False,
        )
    yield blobs
    await blobs.close()


@pytest.fixture
def local_store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def photo(width: int, height: int, *, seed: int = 0) -> bytes:
    """A JPEG with detail everywhere (a gradient and noise), like a photo of a page."""
    img = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 40 + seed).convert("RGB")
    return encode(Image.blend(img, noise, 0.3), "JPEG", quality=90)

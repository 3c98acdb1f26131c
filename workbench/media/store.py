"""Blob storage behind one small interface: a local folder, or an S3-compatible object store.

Keys are relative paths of plain segments (`brochures/src/<hex>.jpeg`): letters, digits, `.`,
`_` and `-`, each segment starting with a letter or digit. So `..`, `.`, empty segments, hidden
names, absolute paths and backslashes are refused (`InvalidKey`) by both stores alike, before
anything is touched; the local store also refuses a key whose path leaves its folder through a
symbolic link.

`read` is an async generator: a missing blob raises `BlobNotFound` when it is first iterated.
A store that cannot answer raises `BlobStoreUnavailable` (a 503 when it reaches a request).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from workbench.errors import ServiceUnavailable

if TYPE_CHECKING:
    from workbench.settings import Settings

log = logging.getLogger("workbench.media.store")
CHUNK_BYTES = 256 * 1024
MAX_KEY_LENGTH = 512
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")
_OCTET_STREAM = "application/octet-stream"
_S3_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "ResourceNotFound"})
_S3_BUSY = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"})
_NO_ANSWER = "The media store does not answer; try again shortly"


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    etag: str  # opaque, without quotes; changes whenever the content is replaced
    content_type: str


class InvalidKey(ValueError):
    """The key is not a plain relative path inside the store."""


class BlobNotFound(KeyError):
    """No blob under that key."""


class BlobStoreUnavailable(ServiceUnavailable):
    """The blob store is not configured or does not answer."""

    code = "media.store_unavailable"


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str) -> BlobInfo:
        """Store `data` under `key`, replacing what was there, all at once or not at all."""
        ...

    async def stat(self, key: str) -> BlobInfo | None:
        """What is stored under `key`, or None."""
        ...

    def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes `start`..`end` (inclusive; None: to the end), streamed in chunks. An async
        generator: `BlobNotFound` is raised when it is first iterated."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; nothing happens if there is none."""
        ...

    async def close(self) -> None: ...


def check_key(key: str) -> str:
    """`key` if it is a plain relative path; otherwise InvalidKey."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidKey(f"not a plain relative blob key: {key[:80]!r}")
    return key


def _check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"bad byte range {start}-{end}")


class LocalBlobStore:
    """Blobs as plain files under one folder; each write is a temporary file renamed into place
    (after fsync), so a reader sees the old content or the new one, never a part. The content
    type of each blob is kept in `<folder>/.meta/<key>` (no key can start with a dot)."""

    def __init__(self, folder: str | os.PathLike[str], *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.root = Path(folder).resolve()
        self._chunk = chunk_bytes

    def _path(self, key: str, *, meta: bool = False) -> Path:
        check_key(key)
        path = self.root / ".meta" / key if meta else self.root / key
        if not path.resolve().is_relative_to(self.root):  # a symbolic link pointing outside
            raise InvalidKey(f"blob key leaves the store's folder: {key[:80]!r}")
        return path

    async def put(self, key: str, data: bytes, *, content_type: str) -> BlobInfo:
        return await asyncio.to_thread(self._put, key, data, content_type)

    def _put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        path, meta = self._path(key), self._path(key, meta=True)
        _write_atomically(meta, content_type.encode())
        st = _write_atomically(path, data)
        return BlobInfo(key=key, size=st.st_size, etag=_file_etag(st), content_type=content_type)

    async def stat(self, key: str) -> BlobInfo | None:
        return await asyncio.to_thread(self._stat, key)

    def _stat(self, key: str) -> BlobInfo | None:
        path = self._path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        try:
            content_type = self._path(key, meta=True).read_text().strip() or _OCTET_STREAM
        except (FileNotFoundError, NotADirectoryError):
            content_type = _OCTET_STREAM
        return BlobInfo(key=key, size=st.st_size, etag=_file_etag(st), content_type=content_type)

    async def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        _check_range(start, end)
        path = self._path(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobNotFound(key) from None
        try:
            await asyncio.to_thread(file.seek, start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = await asyncio.to_thread(
                    file.read, self._chunk if left is None else min(self._chunk, left)
                )
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            file.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    def _delete(self, key: str) -> None:
        for path in (self._path(key), self._path(key, meta=True)):
            path.unlink(missing_ok=True)

    async def close(self) -> None:
        return None


def _write_atomically(path: Path, data: bytes) -> os.stat_result:
    """Write `data` to a temporary file next to `path`, fsync, rename over `path`, fsync the
    folder. Returns the file's status (a rename keeps inode and times: the etag stays valid)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
            st = os.fstat(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return st


def _file_etag(st: os.stat_result) -> str:
    # A replaced file is a new inode with a new modification time: the etag changes with it.
    return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"


class S3BlobStore:
    """Blobs as objects of one bucket of an S3-compatible store (AWS S3, MinIO, Ceph, OSS...),
    through miniopy-async. A PUT replaces an object atomically; ETags are the store's."""

    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        secure: bool = True,
        chunk_bytes: int = CHUNK_BYTES,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        from miniopy_async.api import Minio

        # The region is given, so the client never asks the server for the bucket's location.
        self._client: Any = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region
        )
        self.bucket = bucket
        self._chunk = chunk_bytes
        self._timeouts = (connect_timeout, read_timeout)
        self._session_ready = False

    def _ready(self) -> Any:
        """The client, with our own HTTP session (short timeouts) made inside the event loop."""
        if not self._session_ready:
            import aiohttp

            connect, read = self._timeouts
            timeout = aiohttp.ClientTimeout(
                total=None, connect=connect, sock_connect=connect, sock_read=read
            )
            self._client.set_session(
                aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=64))
            )
            self._session_ready = True
        return self._client

    async def put(self, key: str, data: bytes, *, content_type: str) -> BlobInfo:
        check_key(key)
        async with _s3_errors():
            result = await self._ready().put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=content_type
            )
        etag = (result.etag or "").strip('"')
        return BlobInfo(key=key, size=len(data), etag=etag, content_type=content_type)

    async def stat(self, key: str) -> BlobInfo | None:
        from miniopy_async.error import S3Error

        check_key(key)
        try:
            async with _s3_errors():
                found = await self._ready().stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _S3_MISSING:
                return None
            raise
        return BlobInfo(
            key=key,
            size=int(found.size or 0),
            etag=(found.etag or "").strip('"'),
            content_type=found.content_type or _OCTET_STREAM,
        )

    async def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        from miniopy_async.error import S3Error

        check_key(key)
        _check_range(start, end)
        length = 0 if end is None else end - start + 1
        try:
            async with _s3_errors():
                response = await self._ready().get_object(
                    self.bucket, key, offset=start, length=length
                )
        except S3Error as exc:
            if exc.code in _S3_MISSING:
                raise BlobNotFound(key) from None
            if exc.code == "InvalidRange":  # starts past the end: nothing there, as locally
                return
            raise
        try:
            async with _s3_errors():
                async for chunk in response.content.iter_chunked(self._chunk):
                    yield chunk
        finally:
            response.release()

    async def delete(self, key: str) -> None:
        check_key(key)
        async with _s3_errors():
            await self._ready().remove_object(self.bucket, key)

    async def close(self) -> None:
        await self._client.close_session()
        self._session_ready = False


@contextlib.asynccontextmanager
async def _s3_errors() -> AsyncIterator[None]:
    """Transport failures and server-side errors of the object store become
    BlobStoreUnavailable; S3 answers about the object itself (no such key, bad range) pass."""
    import aiohttp
    from miniopy_async.error import MinioException, S3Error

    try:
        yield
    except S3Error as exc:
        status = getattr(getattr(exc, "response", None), "status", 0) or 0
        if status < 500 and exc.code not in _S3_BUSY:
            raise
        log.warning("the object store failed: %s", exc.code)
        raise BlobStoreUnavailable(_NO_ANSWER) from exc
    except (aiohttp.ClientError, TimeoutError, OSError, MinioException) as exc:
        log.warning("the object store did not answer: %s", type(exc).__name__)
        raise BlobStoreUnavailable(_NO_ANSWER) from exc


class UnconfiguredBlobStore:
    """Stands in when no store is configured (`WORKBENCH_BLOB_DIR` unset with the local store):
    every call answers 503, and the process logged why when it started."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _refuse(self) -> BlobStoreUnavailable:
        return BlobStoreUnavailable(f"Media storage is not configured: {self.reason}")

    async def put(self, key: str, data: bytes, *, content_type: str) -> BlobInfo:
        raise self._refuse()

    async def stat(self, key: str) -> BlobInfo | None:
        raise self._refuse()

    async def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        raise self._refuse()
        yield b""  # an async generator, like the real stores

    async def delete(self, key: str) -> None:
        raise self._refuse()

    async def close(self) -> None:
        return None


def blob_store_from_settings(settings: Settings) -> BlobStore:
    """The store the settings name (they were validated when read)."""
    if settings.blob_store == "s3":
        return S3BlobStore(  # the settings refuse s3 without endpoint, bucket and keys
            endpoint=settings.s3_endpoint or "",
            bucket=settings.s3_bucket or "",
            access_key=settings.s3_access_key or "",
            secret_key=settings.s3_secret_key or "",
            region=settings.s3_region,
            secure=settings.s3_secure,
        )
    if settings.blob_dir is None:
        reason = "set WORKBENCH_BLOB_DIR (or WORKBENCH_BLOB_STORE=s3)"
        log.warning("no blob store: brochure images cannot be stored or served; %s", reason)
        return UnconfiguredBlobStore(reason)
    return LocalBlobStore(settings.blob_dir)

"""Serving a package or diff file: its SHA-256 as strong ETag, one byte range, streaming.

The range parsing and `If-None-Match` matching are the media routes' own (`serve_blob`), whose
ETag is the store's; a package's ETag is its SHA-256, which the app already knows.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Stream

from workbench.errors import NotFound
from workbench.media.routes import _byte_range, _matches
from workbench.media.store import BlobStore, InvalidKey

CONTENT_TYPE = "application/zip"


async def serve_package(
    request: Request[Any, Any, Any], store: BlobStore, key: str, *, sha256: str
) -> Response[Any]:
    """Stream a package or diff file with its SHA-256 as strong ETag; one byte range (several
    ranges, or a malformed one, are answered whole); 416 for a range past the end."""
    try:
        info = await store.stat(key)
    except InvalidKey:
        info = None
    if info is None:
        raise NotFound("offline_package")
    etag = f'"{sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=31536000, immutable",
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers)
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if wanted is not None and (if_range is None or if_range.strip() == etag):
        span = _byte_range(wanted, info.size)
        if span is not None:
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
            headers["Content-Length"] = str(end - start + 1)
            return Stream(
                store.read(key, start=start, end=end),
                status_code=206,
                media_type=CONTENT_TYPE,
                headers=headers,
            )
    headers["Content-Length"] = str(info.size)
    return Stream(store.read(key), status_code=200, media_type=CONTENT_TYPE, headers=headers)

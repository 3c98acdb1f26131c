"""Serving a package or diff file: its SHA-256 as strong ETag, one byte range, streaming.

The media routes' `serve_blob` does it all; a package's ETag is its SHA-256, which the app
already knows, and its file never changes under its key.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from workbench.media.routes import serve_blob
from workbench.media.store import BlobStore

CONTENT_TYPE = "application/zip"


async def serve_package(
    request: Request[Any, Any, Any], store: BlobStore, key: str, *, sha256: str
) -> Response[Any]:
    """Stream a package or diff file with its SHA-256 as strong ETag; one byte range (several
    ranges, or a malformed one, are answered whole); 416 for a range past the end."""
    return await serve_blob(
        request, store, key, content_type=CONTENT_TYPE,
        cache_control="private, max-age=31536000, immutable", etag=sha256,
        missing="offline_package",
    )  # fmt: skip

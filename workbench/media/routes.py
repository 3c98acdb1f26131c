"""`GET /media/{key}` (and HEAD): a blob behind a short-lived signed URL, and `serve_blob`, the
answer of every route that serves a blob (ETag and `If-None-Match`, one byte range, streaming)."""

from __future__ import annotations

import re
import time
from typing import Any

from litestar import Request, Response, get, head
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from workbench.errors import DomainError, NotFound
from workbench.http.auth import PUBLIC
from workbench.media.signing import MediaSigner
from workbench.media.store import BlobStore, InvalidKey

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
MAX_AGE = 86400  # a signed URL is cached at most a day, and never past its expiry
# Served bytes are never taken for anything but what the content type says.
_HARDENING = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


class RangeNotSatisfiable(DomainError):
    status, code, title = 416, "media.range_not_satisfiable", "Range not satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__(f"The blob has {size} bytes", size=size)
        self.headers = {"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"}


async def serve_blob(
    request: Request[Any, Any, Any],
    store: BlobStore,
    key: str,
    *,
    content_type: str | None,
    cache_control: str,
    etag: str | None = None,
    missing: str = "media",
) -> Response[Any]:
    """Answer a GET for the blob `key`: 200 with the whole blob, 206 for one satisfiable
    `Range: bytes=a-b | a- | -n` (several ranges are answered whole), 416 for an unsatisfiable
    one, 304 when `If-None-Match` names its ETag; a missing blob is 404 `media.not_found`.
    The body is streamed from the store. `content_type` None: the one stored with the blob;
    `etag` None: the store's (offline packages give their SHA-256, which the app knows);
    `missing`: what a 404 names.

    A HEAD (for a route that also takes HEAD) answers the headers of the whole blob's 200 with
    no body: Content-Length, ETag, Accept-Ranges (a download manager asks them before it
    resumes); Range applies to GET only (RFC 9110), so a HEAD ignores it; If-None-Match holds."""
    try:
        info = await store.stat(key)
    except InvalidKey:
        info = None
    if info is None:
        raise NotFound(missing)
    etag = f'"{etag or info.etag}"'
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Accept-Ranges": "bytes",
        **_HARDENING,
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers)
    media_type = content_type or info.content_type
    if request.method == "HEAD":
        headers["Content-Length"] = str(info.size)
        return Response(content=b"", status_code=200, media_type=media_type, headers=headers)
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
                media_type=media_type,
                headers=headers,
            )
    headers["Content-Length"] = str(info.size)
    return Stream(store.read(key), status_code=200, media_type=media_type, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """`If-None-Match` compares weakly: `W/"x"` matches `"x"`; `*` matches anything."""
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) of a single `bytes=` range; None to answer the whole blob (no
    range, several, or a malformed one, which RFC 9110 says to ignore); RangeNotSatisfiable if
    it lies past the end."""
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = size - 1 if not last else min(int(last), size - 1)
        if last and int(last) < start:
            return None  # malformed: ignored
        if start >= size:
            raise RangeNotSatisfiable(size)
        return start, end
    if not last:
        return None  # "bytes=-" is malformed
    suffix = int(last)
    if suffix == 0 or size == 0:
        raise RangeNotSatisfiable(size)
    return max(size - suffix, 0), size - 1


@get(
    "/media/{key:path}",
    operation_id="media",
    opt={PUBLIC: True},
    include_in_schema=False,
    tags=["media"],
)
async def media(
    request: Request[Any, Any, Any],
    key: FromPath[str],
    exp: FromQuery[str] = "",
    sig: FromQuery[str] = "",
) -> Response[Any]:
    """A blob behind a signed URL (`MediaSigner.url`). A bad or expired signature and a missing
    blob are alike: 404."""
    return await _signed_blob(request, key, exp, sig)


@head("/media/{key:path}", opt={PUBLIC: True}, include_in_schema=False, tags=["media"])
async def media_head(
    request: Request[Any, Any, Any],
    key: FromPath[str],
    exp: FromQuery[str] = "",
    sig: FromQuery[str] = "",
) -> Response[None]:
    """What GET would answer for a signed URL, without the body (Content-Length, ETag,
    Accept-Ranges); the same 404s."""
    return await _signed_blob(request, key, exp, sig)


async def _signed_blob(
    request: Request[Any, Any, Any], key: str, exp: str, sig: str
) -> Response[Any]:
    key = key.lstrip("/")
    signer: MediaSigner = request.app.state.media_signer
    if not signer.verify(key, exp, sig):
        raise NotFound("media")
    left = max(int(exp) - int(time.time()), 0)
    return await serve_blob(
        request,
        request.app.state.blobs,
        key,
        content_type=None,
        cache_control=f"private, max-age={min(left, MAX_AGE)}, immutable",
    )


ROUTES = [media, media_head]

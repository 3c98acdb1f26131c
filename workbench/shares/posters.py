"""A share's poster, rendered once and kept in the blob store.

The blob key holds the share's id and a hash of everything the poster shows (layout, link,
title, RM's name, bank's name, which stored image the page is drawn from), so a poster is drawn
once, and again only when something it shows changed (the RM renamed, the customer moved to
another RM, the RM disabled, the phone rendition built after a first poster drawn from the
source image...). Serving it goes through `serve_blob` (ETag, `If-None-Match`).

A poster shows what the share page shows (`tracking.queries.viewer_share`, checked on every
request, as `GET /s/{code}` does): the RM the page names (the customer's RM now, else the
sharer, while active; with none, no such line), the title and first page of the brochure's
version live now, so once a new version replaced the shared one the poster shows the new one
(its key changes with the title and page: drawn anew); once the brochure is unpublished or past
its window, the poster is gone too (404 `brochure.not_found`, as the brochure itself), drawn or
not; once the bank closed the customer it was made for, the share ended with them (404
`customer.not_found`, as the customer, also after the bank reopens them).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime

import msgspec

from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.media import renditions
from workbench.media.store import BlobNotFound, BlobStore
from workbench.shares import codes, poster, queries, service
from workbench.tracking import queries as tracking_queries
from workbench.tracking.viewer import risk_note

PAGE_RENDITION = renditions.spec_for("phone", "jpeg").name  # what the first page is drawn from


class NotLive(NotFound):
    """The share's brochure is no longer live (unpublished or past its window)."""

    def __init__(self) -> None:
        super().__init__("brochure")
        self.detail = "The shared brochure is no longer live (unpublished or expired)"


class CustomerLeft(NotLive):
    """The share was made for a customer the bank has closed since: it ended with them (404
    `customer.not_found`, as the customer)."""

    def __init__(self) -> None:
        NotFound.__init__(self, "customer")
        self.detail = "The customer this share was made for has left the bank: the share ended"


async def poster_key(
    conn: Connection,
    *,
    caller: Caller,
    share_id: uuid.UUID,
    blobs: BlobStore,
    base_url: str,
    bank_name: str,
    now: datetime,
) -> str:
    """The blob key of the share's poster, drawn now if it is not stored yet. The sharing RM
    and branch heads of the unit it was shared from see it; anyone else 404. NotLive when its
    brochure is not live `now` (the share page's rule); drawn from the version live now."""
    rm_id, root = service.scope(caller, mine=False)
    row = await queries.visible_share(conn, share_id, rm_id=rm_id, scope_root=root)
    if row is None:
        raise NotFound("share")
    looked = await tracking_queries.viewer_share(conn, row["code"], now=now)
    if looked is not None and looked["customer_left"]:
        raise CustomerLeft()
    if looked is None or not looked["live"]:
        raise NotLive()
    facts = poster.PosterFacts(
        bank=bank_name, title=looked["title"], rm_name=looked["rm_name"] or "",
        url=codes.link(row["code"], base_url),
        note=risk_note(looked["category"], looked["risk_level"]),
    )  # fmt: skip
    first_page = bytes(looked["pages"][0])  # the live version's, as the share page shows it
    stored = await queries.page_image_keys(conn, first_page, rendition=PAGE_RENDITION)
    page_key = None if stored is None else stored["rendition_key"] or stored["source_key"]
    shown = msgspec.json.encode([poster.LAYOUT, facts.bank, facts.title, facts.rm_name,
                                 facts.url, facts.note, page_key])  # fmt: skip
    key = f"shares/posters/{share_id}-{hashlib.sha256(shown).hexdigest()[:20]}.png"
    if await blobs.stat(key) is None:
        page = await _read(blobs, page_key) if page_key else None
        png = await asyncio.to_thread(poster.draw, facts, page)
        await blobs.put(key, png, content_type="image/png")
    return key


async def _read(blobs: BlobStore, key: str) -> bytes | None:
    """A stored image, or None if it is gone (the poster is drawn without it)."""
    try:
        return b"".join([chunk async for chunk in blobs.read(key)])
    except BlobNotFound:
        return None

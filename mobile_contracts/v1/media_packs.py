"""Brochure media packs: the RM's signed pack of the brochures live for them, for offline use."""

from __future__ import annotations

import enum

import msgspec


class PackSize(enum.StrEnum):
    """phone: the 1080 px WebP renditions (app id `media-phone`); tablet: 2048 px
    (`media-tablet`)."""

    PHONE = "phone"
    TABLET = "tablet"


class MediaPackLatest(msgspec.Struct, kw_only=True):
    """My newest media pack of one size. Download it from `url` (Range and ETag: an interrupted
    download resumes), or the diff from `diff_url` when one is offered against the `current`
    pack I reported; check `sha256` and `size`, then verify its signed manifest with the keys
    of GET /offline-packages/keys before installing it (a version not above the installed one is
    refused). `index.json` in the pack lists its brochures and their pages' files."""

    app_id: str
    version: int
    url: str
    sha256: str
    size: int
    signature: str
    key_id: str
    up_to_date: bool = False  # `current` is this pack: nothing to download
    diff_url: str | None = None
    diff_sha256: str | None = None
    diff_size: int | None = None

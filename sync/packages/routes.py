"""Offline package routes: upload, list, public keys, download; with releases and media packs."""

from __future__ import annotations

from typing import Any

from sync.packages import media_routes, releases_routes

ROUTES: list[Any] = [*releases_routes.ROUTES, *media_routes.ROUTES]

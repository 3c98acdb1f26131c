"""Settings reading: which environment variables must be set, the parser of each field that has
its own, and DATABASE_URL read alone for commands that need nothing else."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from workbench.settings._errors import SettingsError
from workbench.settings._parsing import (
    _parse_bootstrap,
    _parse_bucket,
    _parse_cidrs,
    _parse_data_keys,
    _parse_holidays,
    _parse_host_port,
    _parse_int,
    _parse_jwt_keys,
    _parse_key_bytes,
    _parse_makeup_workdays,
    _parse_origins,
    _parse_timezone,
    _parse_url,
    _parse_version,
)

_REQUIRED = {"database_url", "redis_url", "jwt_keys", "data_keys", "blind_index_key"}


_PARSERS: dict[str, Callable[[str], Any]] = {
    "database_url": _parse_url(("postgresql", "postgres")),
    "redis_url": _parse_url(("redis", "rediss", "unix")),
    "jwt_keys": _parse_jwt_keys,
    "data_keys": _parse_data_keys,
    "blind_index_key": _parse_key_bytes,
    "min_app_version": _parse_version,
    "cors_origins": _parse_origins,
    "trusted_proxies": _parse_cidrs,
    "metrics_from": _parse_cidrs,
    "bootstrap_admin": _parse_bootstrap,
    "bank_timezone": _parse_timezone,
    "holidays": _parse_holidays,
    "makeup_workdays": _parse_makeup_workdays,
    "public_base_url": _parse_url(("http", "https")),
    "log_level": lambda raw: raw.strip().upper(),
    "log_format": lambda raw: raw.strip().lower(),
    "bank_name": lambda raw: raw.strip(),
    "apns_base_url": _parse_url(("https", "http")),
    "fcm_base_url": _parse_url(("https", "http")),
    "hms_base_url": _parse_url(("https", "http")),
    "hms_token_url": _parse_url(("https", "http")),
    "worker_metrics_port": _parse_int,
    "blob_store": lambda raw: raw.strip().lower(),
    "blob_dir": lambda raw: raw.strip(),
    "s3_endpoint": _parse_host_port,
    "s3_bucket": _parse_bucket,
}


def database_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """Just DATABASE_URL, for commands that need nothing else (`workbench migrate`)."""
    raw = (os.environ if environ is None else environ).get("DATABASE_URL", "")
    if not raw:
        raise SettingsError(["DATABASE_URL is required"])
    try:
        url: str = _PARSERS["database_url"](raw)
    except ValueError as exc:
        raise SettingsError([f"DATABASE_URL: {exc}"]) from None
    return url

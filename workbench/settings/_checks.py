"""Settings validation: the range and cross-field checks of parsed values (`_value_problems`:
positive numbers, bounds, key lists, push providers configured whole or not at all, the blob
store, no day both a holiday and a make-up working day), the push credential files read and
checked at start (`_credential_problems`), and the environment variable of a field, which their
messages name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

# Offline work older than a year is a wrong clock, not a long trip (and keeps time arithmetic
# far from the calendar's ends).
MAX_OFFLINE_DAYS = 366

_POSITIVE = (
    "redis_timeout_ms",
    "access_token_ttl_seconds",
    "refresh_token_ttl_seconds",
    "max_body_bytes",
    "login_limit_per_login",
    "login_limit_per_ip",
    "login_window_seconds",
    "link_guess_limit",
    "link_guess_window_seconds",
    "password_hash_memory_kib",
    "password_hash_iterations",
    "db_pool_max",
    "verification_ttl_seconds",
    "confirmation_ttl_seconds",
    "confirmation_radius_m",
    "max_photo_bytes",
    "media_url_ttl_seconds",
    "max_brochure_image_bytes",
    "max_brochure_image_pixels",
    "offline_package_max_files",
    "offline_package_max_unpacked_bytes",
    "offline_package_max_ratio",
    "push_device_cap_per_hour",
    "push_lease_seconds",
    "push_max_attempts",
    "push_batch_size",
    "push_loops",
    "push_timeout_seconds",
    "push_escalation_grace_minutes",
    "sync_retention_days",
    "tracking_retention_months",
    "tracking_loops",
    "sync_min_schema",
    "sync_offline_max_days",
    "attribution_window_days",
    "survey_link_days",
    "survey_contact_cap",
    "survey_contact_days",
    "survey_remind_after_days",
    "console_idle_minutes",
    "console_session_hours",
)

# A provider is configured completely or not at all.
_PROVIDER_GROUPS = (
    ("APNs", ("apns_key_file", "apns_key_id", "apns_team_id", "apns_topic")),
    ("HMS", ("hms_app_id", "hms_client_secret")),
)


def _value_problems(values: Mapping[str, Any]) -> list[str]:
    """Problems of parsed values; fields absent from `values` are not judged here."""
    problems = [
        f"{_env_name(name)} must be a positive number"
        for name in _POSITIVE
        if name in values and values[name] <= 0
    ]
    if not 0 <= values.get("refresh_retry_seconds", 0) <= 300:
        problems.append("WORKBENCH_REFRESH_RETRY_SECONDS must be between 0 and 300")
    if values.get("sync_offline_max_days", 7) > MAX_OFFLINE_DAYS:
        problems.append(f"WORKBENCH_SYNC_OFFLINE_MAX_DAYS must be at most {MAX_OFFLINE_DAYS}")
    if values.get("access_token_ttl_seconds", 0) > 3600:
        problems.append("WORKBENCH_ACCESS_TOKEN_TTL must be at most 3600: access tokens are short")
    if 0 < values.get("password_hash_memory_kib", 8) < 8:
        problems.append("WORKBENCH_ARGON2_MEMORY_KIB must be at least 8")
    for name in ("jwt_keys", "data_keys"):
        if name in values:
            kids = [k.kid for k in values[name]]
            if not kids:
                problems.append(f"{_env_name(name)} needs at least one key")
            elif len(set(kids)) != len(kids):
                problems.append(f"{_env_name(name)} has the same kid twice")
    for provider, group in _PROVIDER_GROUPS:
        given = [name for name in group if values.get(name)]
        if given and len(given) < len(group):
            missing = ", ".join(_env_name(name) for name in group if name not in given)
            problems.append(f"{provider} is half configured: also set {missing}")
    if values.get("push_lease_seconds", 30) <= values.get("push_timeout_seconds", 10):
        problems.append("WORKBENCH_PUSH_LEASE must be longer than WORKBENCH_PUSH_TIMEOUT")
    if values.get("log_level", "INFO") not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append("WORKBENCH_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    if values.get("log_format", "json") not in ("json", "text"):
        problems.append("WORKBENCH_LOG_FORMAT must be json or text")
    if "bank_name" in values and not 0 < len(values["bank_name"]) <= 40:
        problems.append("WORKBENCH_BANK_NAME must be 1 to 40 characters")
    problems += _blob_store_problems(values)
    if both := sorted(set(values.get("holidays", ())) & set(values.get("makeup_workdays", ()))):
        listed = ", ".join(day.isoformat() for day in both)
        problems.append(
            f"WORKBENCH_MAKEUP_WORKDAYS: {listed} also in WORKBENCH_HOLIDAYS: a day is either"
            " closed or open"
        )
    return problems


def _credential_problems(values: Mapping[str, Any]) -> list[str]:
    """The push credential files named are read and checked now, like any other value: a bad one
    stops the start with its variable named instead of failing the worker (or every push)."""
    from push.providers.apns import read_key
    from push.providers.fcm import read_service_account

    readers: tuple[tuple[str, Callable[[str], object]], ...] = (
        ("apns_key_file", read_key),
        ("fcm_service_account_file", read_service_account),
    )
    problems = []
    for name, read in readers:
        if path := values.get(name):
            try:
                read(path)
            except ValueError as exc:
                problems.append(f"{_env_name(name)}: {exc}")
    return problems


def _blob_store_problems(values: Mapping[str, Any]) -> list[str]:
    store = values.get("blob_store", "local")
    if store not in ("local", "s3"):
        return ["WORKBENCH_BLOB_STORE must be local or s3"]
    if store == "s3":
        needed = ("s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key")
        if missing := [_env_name(name) for name in needed if not values.get(name)]:
            return [f"WORKBENCH_BLOB_STORE=s3 also needs {', '.join(missing)}"]
    return []


def _env_name(field_name: str) -> str:
    from workbench.settings._struct import Settings  # here: the struct's module imports this one

    return next(str(f.metadata["env"]) for f in fields(Settings) if f.name == field_name)

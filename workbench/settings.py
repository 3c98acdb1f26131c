"""Settings: read once from environment variables into one typed, validated object."""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from workbench.media.images import ImageLimits

_VERSION = re.compile(r"^\d+(\.\d+){0,3}$")


class SettingsError(ValueError):
    """Raised with one readable line per bad environment variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def _env(name: str, help: str, **kw: Any) -> Any:
    """A settings field bound to an environment variable, documenting itself."""
    return field(metadata={"env": name, "help": help}, **kw)


@dataclass(frozen=True, slots=True)
class JwtKey:
    """One Ed25519 signing key; the first configured key signs, all of them verify."""

    kid: str
    seed: bytes


@dataclass(frozen=True, slots=True)
class DataKey:
    """One AES-256 key for personal data; the first configured key encrypts, all decrypt."""

    kid: str
    key: bytes


@dataclass(frozen=True)
class Settings:
    """Every knob of the service. Field metadata names the environment variable and explains it."""

    database_url: str = _env(
        "DATABASE_URL", "PostgreSQL URL; unset under `workbench dev` = embedded"
    )
    redis_url: str = _env("REDIS_URL", "Redis URL; unset under `workbench dev` = embedded")
    jwt_keys: tuple[JwtKey, ...] = _env(
        "WORKBENCH_JWT_KEYS",
        "comma-separated `kid:base64(32-byte Ed25519 seed)`; the first signs, the rest only verify",
    )
    data_keys: tuple[DataKey, ...] = _env(
        "WORKBENCH_DATA_KEYS",
        "comma-separated `kid:base64(32-byte AES key)` for personal data; the first encrypts;"
        " each must open its kid's key check (a kid names one key for good)",
    )
    blind_index_key: bytes = _env(
        "WORKBENCH_BLIND_INDEX_KEY", "base64 of a 32-byte HMAC key for searchable blind indexes"
    )
    jwt_issuer: str = _env("WORKBENCH_JWT_ISSUER", "`iss` of every token", default="rm-workbench")
    access_token_ttl_seconds: int = _env(
        "WORKBENCH_ACCESS_TOKEN_TTL", "access JWT lifetime in seconds", default=900
    )
    refresh_token_ttl_seconds: int = _env(
        "WORKBENCH_REFRESH_TOKEN_TTL", "refresh token lifetime in seconds", default=30 * 86400
    )
    refresh_retry_seconds: int = _env(
        "WORKBENCH_REFRESH_RETRY_SECONDS",
        "how long the last rotated refresh token may be presented again (an app retrying a"
        " refresh whose answer it lost); 0: never",
        default=30,
    )
    verification_ttl_seconds: int = _env(
        "WORKBENCH_VERIFICATION_TTL",
        "life of a real-name verification link, seconds",
        default=7 * 86400,
    )
    confirmation_ttl_seconds: int = _env(
        "WORKBENCH_CONFIRMATION_TTL",
        "life of a customer QR confirmation link, seconds",
        default=900,
    )
    confirmation_radius_m: int = _env(
        "WORKBENCH_CONFIRMATION_RADIUS_M",
        "RM and customer further apart than this (metres) flag a confirmation",
        default=500,
    )
    max_photo_bytes: int = _env(
        "WORKBENCH_MAX_PHOTO_BYTES",
        "largest accepted photo or signature upload",
        default=15_000_000,
    )
    min_app_version: str | None = _env(
        "WORKBENCH_MIN_APP_VERSION", "apps sending a lower X-App-Version get 426", default=None
    )
    cors_origins: tuple[str, ...] = _env(
        "WORKBENCH_CORS_ORIGINS", "comma-separated allowed browser origins", default=()
    )
    max_body_bytes: int = _env(
        "WORKBENCH_MAX_BODY_BYTES", "larger request bodies answer 413", default=2_000_000
    )
    login_limit_per_login: int = _env(
        "WORKBENCH_LOGIN_LIMIT_PER_LOGIN", "failed login attempts per login per window", default=10
    )
    login_limit_per_ip: int = _env(
        "WORKBENCH_LOGIN_LIMIT_PER_IP",
        "failed login attempts per client IP per window",
        default=100,
    )
    login_window_seconds: int = _env(
        "WORKBENCH_LOGIN_WINDOW", "rate-limit window for login attempts, seconds", default=900
    )
    link_guess_limit: int = _env(
        "WORKBENCH_LINK_GUESS_LIMIT",
        "unknown codes one client address may open on customers' link pages (/s/, /f/, /c/,"
        " /v/) per window; beyond it those pages answer it 429 (a survey or verification link"
        " whose signature checks out is served still)",
        default=30,
    )
    link_guess_window_seconds: int = _env(
        "WORKBENCH_LINK_GUESS_WINDOW",
        "window of the link guessing limit, seconds, from an address's first unknown code",
        default=600,
    )
    trusted_proxies: tuple[str, ...] = _env(
        "WORKBENCH_TRUSTED_PROXIES",
        "comma-separated CIDRs whose relay headers are believed for the client IP"
        " (X-Forwarded-For, else Forwarded, else X-Real-IP)",
        default=(),
    )
    metrics_from: tuple[str, ...] = _env(
        "WORKBENCH_METRICS_FROM",
        "comma-separated CIDRs that may read /metrics (others: 404); by default loopback and"
        " private networks, where Prometheus scrapes from",
        default=(
            "127.0.0.0/8",
            "::1/128",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "fc00::/7",
        ),
    )
    bootstrap_admin: tuple[str, str] | None = _env(
        "WORKBENCH_BOOTSTRAP_ADMIN",
        "`login:password` of an admin created at start if missing",
        default=None,
    )
    bank_timezone: str = _env(
        "WORKBENCH_TIMEZONE",
        "the bank's time zone (due dates, quiet hours)",
        default="Asia/Shanghai",
    )
    password_hash_memory_kib: int = _env(
        "WORKBENCH_ARGON2_MEMORY_KIB", "Argon2id memory cost in KiB", default=65536
    )
    password_hash_iterations: int = _env(
        "WORKBENCH_ARGON2_ITERATIONS", "Argon2id time cost", default=3
    )
    redis_prefix: str = _env(
        "WORKBENCH_REDIS_PREFIX", "prefix of every Redis key and queue name", default="wb:"
    )
    redis_timeout_ms: int = _env(
        "WORKBENCH_REDIS_TIMEOUT_MS",
        "milliseconds to wait for Redis to connect or answer before the request answers 503",
        default=2000,
    )
    migrate_on_start: bool = _env(
        "WORKBENCH_MIGRATE_ON_START",
        "apply pending migrations when the API or a worker starts",
        default=True,
    )
    db_pool_max: int = _env(
        "WORKBENCH_DB_POOL_MAX", "PostgreSQL connections per process", default=20
    )
    public_base_url: str = _env(
        "WORKBENCH_PUBLIC_BASE_URL",
        "base URL of customer-facing links",
        default="http://127.0.0.1:8000",
    )
    bank_name: str = _env(
        "WORKBENCH_BANK_NAME",
        "the bank's name in the header of every customer page (link and QR code pages)",
        default="示例银行",
    )
    console_idle_minutes: int = _env(
        "WORKBENCH_CONSOLE_IDLE_MINUTES",
        "the staff console signs a browser out after this many minutes without a request",
        default=30,
    )
    console_session_hours: int = _env(
        "WORKBENCH_CONSOLE_SESSION_HOURS",
        "a staff console sign-in ends after this many hours, however active",
        default=12,
    )
    log_level: str = _env("WORKBENCH_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR", default="INFO")
    log_format: str = _env(
        "WORKBENCH_LOG_FORMAT",
        "`json` (one object a line, for machines) or `text` (short lines for a person;"
        " `workbench dev` sets it)",
        default="json",
    )
    # ---- push ------------------------------------------------------------------------------
    apns_key_file: str | None = _env(
        "WORKBENCH_APNS_KEY_FILE", "the team's APNs auth key (.p8) from Apple", default=None
    )
    apns_key_id: str | None = _env("WORKBENCH_APNS_KEY_ID", "key id of the .p8 key", default=None)
    apns_team_id: str | None = _env(
        "WORKBENCH_APNS_TEAM_ID", "Apple developer team id", default=None
    )
    apns_topic: str | None = _env(
        "WORKBENCH_APNS_TOPIC", "the app's bundle id (apns-topic)", default=None
    )
    apns_base_url: str = _env(
        "WORKBENCH_APNS_BASE_URL",
        "APNs endpoint (sandbox: https://api.sandbox.push.apple.com)",
        default="https://api.push.apple.com",
    )
    fcm_service_account_file: str | None = _env(
        "WORKBENCH_FCM_SERVICE_ACCOUNT_FILE",
        "Google service-account JSON of the Firebase project",
        default=None,
    )
    fcm_base_url: str = _env(
        "WORKBENCH_FCM_BASE_URL", "FCM HTTP v1 endpoint", default="https://fcm.googleapis.com"
    )
    hms_app_id: str | None = _env("WORKBENCH_HMS_APP_ID", "Huawei AppGallery app id", default=None)
    hms_client_secret: str | None = _env(
        "WORKBENCH_HMS_CLIENT_SECRET", "Huawei app secret (OAuth client secret)", default=None
    )
    hms_base_url: str = _env(
        "WORKBENCH_HMS_BASE_URL",
        "HMS Push Kit endpoint",
        default="https://push-api.cloud.huawei.com",
    )
    hms_token_url: str = _env(
        "WORKBENCH_HMS_TOKEN_URL",
        "Huawei OAuth token endpoint",
        default="https://oauth-login.cloud.huawei.com/oauth2/v3/token",
    )
    push_log_unconfigured: bool = _env(
        "WORKBENCH_PUSH_LOG_UNCONFIGURED",
        "deliver to the log instead of failing when a platform's provider is not configured"
        " (`workbench dev` turns this on)",
        default=False,
    )
    push_device_cap_per_hour: int = _env(
        "WORKBENCH_PUSH_DEVICE_CAP",
        "alerts per device per hour; more are folded into one summary (critical ones pass)",
        default=10,
    )
    push_lease_seconds: int = _env(
        "WORKBENCH_PUSH_LEASE", "seconds a worker holds a claimed notification", default=30
    )
    push_max_attempts: int = _env(
        "WORKBENCH_PUSH_MAX_ATTEMPTS", "deliveries tried before a notification fails", default=8
    )
    push_batch_size: int = _env(
        "WORKBENCH_PUSH_BATCH", "notifications claimed per round by one delivery loop", default=200
    )
    push_loops: int = _env("WORKBENCH_PUSH_LOOPS", "delivery loops per worker process", default=2)
    push_timeout_seconds: int = _env(
        "WORKBENCH_PUSH_TIMEOUT", "seconds to wait for a provider's answer", default=10
    )
    push_escalation_grace_minutes: int = _env(
        "WORKBENCH_PUSH_ESCALATION_GRACE",
        "minutes after the due time before an open task is escalated to the branch head",
        default=60,
    )
    sync_retention_days: int = _env(
        "WORKBENCH_SYNC_RETENTION_DAYS",
        "days the sync change log (tombstones included) is kept; older cursors start over",
        default=90,
    )
    tracking_retention_months: int = _env(
        "WORKBENCH_TRACKING_RETENTION_MONTHS",
        "months of raw share hits kept (monthly partitions; older ones are dropped daily)",
        default=13,
    )
    tracking_loops: int = _env(
        "WORKBENCH_TRACKING_LOOPS",
        "beacon consumer loops per worker process (one batch's Python work overlaps another's"
        " wait on PostgreSQL and Redis)",
        default=2,
    )
    sync_min_schema: int = _env(
        "WORKBENCH_SYNC_MIN_SCHEMA",
        "oldest client sync schema served (older apps get sync.schema_too_old)",
        default=1,
    )
    sync_offline_max_days: int = _env(
        "WORKBENCH_SYNC_OFFLINE_MAX_DAYS",
        "days back an offline mutation's `occurred_at` (the device's time of the RM's work) is"
        " believed; an older one (or one ahead of the server's clock) records the push's time",
        default=7,
    )
    attribution_window_days: int = _env(
        "WORKBENCH_ATTRIBUTION_WINDOW_DAYS",
        "a reported conversion is attributed to the last share of its product to its customer"
        " made at most this many days before it (else to none)",
        default=30,
    )
    # ---- surveys ---------------------------------------------------------------------------
    survey_link_days: int = _env(
        "WORKBENCH_SURVEY_LINK_DAYS",
        "days a survey invitation (link or inbox) can be answered",
        default=30,
    )
    survey_contact_cap: int = _env(
        "WORKBENCH_SURVEY_CONTACT_CAP",
        "most survey messages (invitations and reminders, all surveys) a customer gets in"
        " WORKBENCH_SURVEY_CONTACT_DAYS; a recipient at the cap is skipped",
        default=2,
    )
    survey_contact_days: int = _env(
        "WORKBENCH_SURVEY_CONTACT_DAYS", "the window of the contact cap, days", default=7
    )
    survey_remind_after_days: int = _env(
        "WORKBENCH_SURVEY_REMIND_AFTER_DAYS",
        "days after the invitation (or the last reminder) before an unanswered one is reminded",
        default=3,
    )
    survey_max_reminders: int = _env(
        "WORKBENCH_SURVEY_MAX_REMINDERS",
        "most reminders per unanswered invitation (0: none)",
        default=1,
    )
    # ---- media (brochure images) -----------------------------------------------------------
    blob_store: str = _env(
        "WORKBENCH_BLOB_STORE",
        "where images are kept: `local` (the folder WORKBENCH_BLOB_DIR) or `s3` (an"
        " S3-compatible object store, WORKBENCH_S3_*)",
        default="local",
    )
    blob_dir: str | None = _env(
        "WORKBENCH_BLOB_DIR",
        "folder of the local blob store (`workbench dev`: <data dir>/blobs); unset, images"
        " can be neither stored nor served (503) and the API and worker warn when they start",
        default=None,
    )
    s3_endpoint: str | None = _env(
        "WORKBENCH_S3_ENDPOINT", "`host[:port]` of the S3-compatible object store", default=None
    )
    s3_bucket: str | None = _env("WORKBENCH_S3_BUCKET", "bucket of the blobs", default=None)
    s3_access_key: str | None = _env("WORKBENCH_S3_ACCESS_KEY", "S3 access key id", default=None)
    s3_secret_key: str | None = _env("WORKBENCH_S3_SECRET_KEY", "S3 secret key", default=None)
    s3_region: str = _env("WORKBENCH_S3_REGION", "S3 region of the bucket", default="us-east-1")
    s3_secure: bool = _env(
        "WORKBENCH_S3_SECURE", "reach the object store over HTTPS (false: plain HTTP)", default=True
    )
    media_url_ttl_seconds: int = _env(
        "WORKBENCH_MEDIA_URL_TTL", "life of a signed media URL (/media/...), seconds", default=3600
    )
    max_brochure_image_bytes: int = _env(
        "WORKBENCH_MAX_BROCHURE_IMAGE_BYTES",
        "largest accepted brochure page image, bytes",
        default=20_000_000,
    )
    max_brochure_image_pixels: int = _env(
        "WORKBENCH_MAX_BROCHURE_IMAGE_PIXELS",
        "most pixels (width x height) of an accepted brochure page image",
        default=50_000_000,
    )
    offline_package_max_files: int = _env(
        "WORKBENCH_OFFLINE_PACKAGE_MAX_FILES",
        "most files an uploaded offline package zip may hold",
        default=2000,
    )
    offline_package_max_unpacked_bytes: int = _env(
        "WORKBENCH_OFFLINE_PACKAGE_MAX_UNPACKED_BYTES",
        "most bytes an uploaded offline package zip may unpack to",
        default=200 * 1024 * 1024,
    )
    offline_package_max_ratio: int = _env(
        "WORKBENCH_OFFLINE_PACKAGE_MAX_RATIO",
        "highest compression ratio of an uploaded offline package zip, per file and overall",
        default=100,
    )
    worker_metrics_port: int | None = _env(
        "WORKBENCH_WORKER_METRICS_PORT",
        "port of the worker's Prometheus endpoint (unset: none)",
        default=None,
    )

    @property
    def signing_key(self) -> JwtKey:
        return self.jwt_keys[0]

    @property
    def image_limits(self) -> ImageLimits:
        """What a brochure page image may be (WORKBENCH_MAX_BROCHURE_IMAGE_*)."""
        from workbench.media.images import ImageLimits

        return ImageLimits(
            max_bytes=self.max_brochure_image_bytes, max_pixels=self.max_brochure_image_pixels
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every field; raise SettingsError listing each bad value."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            name = f.metadata["env"]
            raw = env.get(name)
            if raw is None or raw == "":
                if f.name in _REQUIRED:
                    problems.append(f"{name} is required ({f.metadata['help']})")
                continue
            try:
                values[f.name] = _PARSERS.get(f.name, _parse_by_default(f.default))(raw)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
        # Range and cross-field checks run on whatever parsed, so one start lists every problem.
        defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
        problems += _value_problems({**defaults, **values})
        problems += _credential_problems(values)
        if problems:
            raise SettingsError(problems)
        return cls(**values)

    def validate(self) -> None:
        """Range, cross-field and push credential file checks, with one message per problem."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if problems := _value_problems(values) + _credential_problems(values):
            raise SettingsError(problems)


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


_REQUIRED = {"database_url", "redis_url", "jwt_keys", "data_keys", "blind_index_key"}


def _env_name(field_name: str) -> str:
    return next(str(f.metadata["env"]) for f in fields(Settings) if f.name == field_name)


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _parse_int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None


def _parse_by_default(default: Any) -> Callable[[str], Any]:
    if isinstance(default, bool):
        return _parse_bool
    if isinstance(default, int):
        return _parse_int
    return str


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _parse_named_keys(raw: str) -> list[tuple[str, bytes]]:
    keys = []
    for entry in _split(raw):
        kid, sep, b64 = entry.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", kid):
            raise ValueError("each key must look like `kid:base64key` with a plain kid")
        keys.append((kid, _parse_key_bytes(b64, f"key {kid!r}")))
    return keys


def _parse_key_bytes(b64: str, what: str = "the key") -> bytes:
    try:
        secret = base64.b64decode(b64.strip(), validate=True)
    except ValueError:
        raise ValueError(f"{what} is not valid base64") from None
    if len(secret) != 32:
        raise ValueError(f"{what} must decode to 32 bytes, got {len(secret)}")
    return secret


def _parse_jwt_keys(raw: str) -> tuple[JwtKey, ...]:
    return tuple(JwtKey(kid=kid, seed=secret) for kid, secret in _parse_named_keys(raw))


def _parse_data_keys(raw: str) -> tuple[DataKey, ...]:
    return tuple(DataKey(kid=kid, key=secret) for kid, secret in _parse_named_keys(raw))


def _parse_version(raw: str) -> str:
    if not _VERSION.match(raw.strip()):
        raise ValueError(f"expected a version like 3.2.0, got {raw!r}")
    return raw.strip()


def _parse_origins(raw: str) -> tuple[str, ...]:
    origins = _split(raw)
    for origin in origins:
        if origin == "*" or not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ValueError(f"{origin!r} is not an origin like https://app.bank.example (no '*')")
    return tuple(origins)


def _parse_cidrs(raw: str) -> tuple[str, ...]:
    cidrs = _split(raw)
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ValueError(f"{cidr!r} is not an IP network") from None
    return tuple(cidrs)


def _parse_bootstrap(raw: str) -> tuple[str, str]:
    login, sep, password = raw.partition(":")
    if not sep or not login or len(password) < 8:
        raise ValueError("expected `login:password` with a password of at least 8 characters")
    return (login.strip(), password)


def _parse_timezone(raw: str) -> str:
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a region folder
        raise ValueError(f"{raw!r} is not a known time zone") from None
    return raw


def _parse_host_port(raw: str) -> str:
    host = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?", host):
        raise ValueError(f"expected host[:port] without a scheme or path, got {raw!r}")
    return host


def _parse_bucket(raw: str) -> str:
    bucket = raw.strip()
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise ValueError(f"{raw!r} is not a bucket name (3-63 of a-z, 0-9, '.' and '-')")
    return bucket


def _parse_url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not raw.startswith(tuple(f"{s}://" for s in schemes)):
            raise ValueError(
                f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        if problem := _url_problem(raw):
            raise ValueError(problem)
        return raw

    return parse


# What a URL's host may be: a name or IPv4 address, or an IPv6 address (with its zone) in
# brackets; a colon outside brackets is an unbracketed IPv6 address or a second port.
_URL_HOST = re.compile(r"[^\s\[\]:/?#@]*|\[[0-9A-Fa-f:.]+(%[^\s\[\]/?#@]+)?\]")


def _url_problem(raw: str) -> str | None:
    """What is wrong with a URL the clients would refuse with a traceback (asyncpg, redis-py,
    httpx), or None. The message never repeats the URL or a part of it: a password that was not
    percent-escaped ('/', '@' or ':' in it) lands in any part."""
    try:
        parts = urlsplit(raw)
    except ValueError:
        return "is not a valid URL (an IPv6 address goes in brackets, like [::1]:5432)"
    scheme = parts.scheme
    if scheme == "unix":  # a Redis socket: unix:///path/to/redis.sock?db=0
        return _redis_db_problem("", parts.query)
    hosts = parts.netloc.rpartition("@")[2]
    # PostgreSQL takes a list of hosts (`h1:5432,h2:5432`) for failover; the others one host.
    for host in hosts.split(",") if scheme in ("postgresql", "postgres") else [hosts]:
        name, port = _host_and_port(host)
        if not _URL_HOST.fullmatch(name) or (port is not None and ":" in port):
            return (
                "the host is not a name or an address (an IPv6 address goes in brackets, like"
                " [::1]:5432)"
            )
        if port is not None and not _is_port(port):
            return "the port must be a number from 1 to 65535"
        if scheme in ("http", "https") and not name:
            return "the URL names no host"
    if scheme in ("postgresql", "postgres"):
        for port in parse_qs(parts.query).get("port", []):
            if not all(_is_port(p) for p in port.split(",")):
                return "the port must be a number from 1 to 65535"
    if scheme in ("redis", "rediss"):
        return _redis_db_problem(parts.path, parts.query)
    return None


def _is_port(text: str) -> bool:
    return re.fullmatch(r"[0-9]{1,5}", text) is not None and 0 < int(text) < 65536


def _host_and_port(host: str) -> tuple[str, str | None]:
    """`host[:port]` or `[v6][:port]` split; an empty port is none (the default)."""
    if host.startswith("["):
        end = host.find("]")
        name, rest = (host[: end + 1], host[end + 1 :]) if end >= 0 else (host, "")
        if rest and not rest.startswith(":"):
            return host, None  # junk after the brackets: the host check refuses it
        return name, rest[1:] or None
    name, _, port = host.partition(":")
    return name, port or None


def _redis_db_problem(path: str, query: str) -> str | None:
    numbers = [path.removeprefix("/")] if path.removeprefix("/") else []
    numbers += parse_qs(query).get("db", [])
    if not all(re.fullmatch(r"[0-9]{1,9}", n) for n in numbers):
        return "the database number (the path, or ?db=) must be a whole number, like /0"
    return None


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

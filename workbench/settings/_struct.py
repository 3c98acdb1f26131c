"""The Settings struct: every knob of the service in one frozen dataclass whose fields name their
environment variable and explain themselves (`_env`), with what derives from them (the signing
key, a brochure image's limits, the bank's working days), `from_env` (read, parse and check every
variable at once) and `validate`. One class, so one module: its fields cannot be spread over
modules without changing the class."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import date
from typing import TYPE_CHECKING, Any

from workbench.settings._checks import _credential_problems, _value_problems
from workbench.settings._errors import SettingsError
from workbench.settings._keys import DataKey, JwtKey
from workbench.settings._parsing import _parse_by_default
from workbench.settings._reading import _PARSERS, _REQUIRED

if TYPE_CHECKING:
    from workbench.media.images import ImageLimits
    from workbench.workorders.sla import WorkCalendar


def _env(name: str, help: str, **kw: Any) -> Any:
    """A settings field bound to an environment variable, documenting itself."""
    return field(metadata={"env": name, "help": help}, **kw)


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
    holidays: tuple[date, ...] = _env(
        "WORKBENCH_HOLIDAYS",
        "comma-separated dates (2027-01-01) and ranges (2027-02-06..2027-02-14, at most 31 days)"
        " the bank is closed, any year: work-order business hours skip them, whatever the"
        " chinese-calendar package says (enter the State Council's arrangement of a year the"
        " package does not know yet)",
        default=(),
    )
    makeup_workdays: tuple[date, ...] = _env(
        "WORKBENCH_MAKEUP_WORKDAYS",
        "comma-separated Saturdays and Sundays (2027-02-20) the bank works (调休): work-order"
        " business hours count them, whatever the chinese-calendar package says",
        default=(),
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

    @property
    def work_calendar(self) -> WorkCalendar:
        """The bank's working days of work-order SLAs (WORKBENCH_HOLIDAYS and
        WORKBENCH_MAKEUP_WORKDAYS over the chinese-calendar package)."""
        from workbench.workorders.sla import WorkCalendar

        return WorkCalendar(
            holidays=frozenset(self.holidays), makeup_workdays=frozenset(self.makeup_workdays)
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
